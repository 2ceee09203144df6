import Foundation

import Crypto

/// Splits a request into the part matched by meaning and everything else.
///
/// Two requests may be semantic candidates of each other only when everything
/// else — model, sampling parameters, tools, response format, system prompt,
/// earlier turns, namespace, endpoint — is identical: the hash of that is the *scope*.
/// The matched text is the last user turn by default, or the last `turns` user
/// turns joined by newlines. Non-text content parts (images, audio) stay in the
/// scope, so a question about another picture is never a candidate.
public struct SemanticScope: Hashable, Sendable {
    /// The hash of everything but the matched text.
    public let key: CacheKey
    /// The text compared by meaning.
    public let text: String

    /// The scope and text of `request`, or `nil` when it has nothing to match
    /// by meaning (no user turn or prompt text, or an embeddings request).
    ///
    /// - Parameters:
    ///   - turns: how many of the last user turns are matched; at least 1.
    ///   - ignoredFields: top-level fields that never change the answer
    ///     (the fingerprint's `ignoredFields`).
    public init?(request: LLMRequest, namespace: String, turns: Int = 1, ignoredFields: Set<String> = Fingerprint.Configuration().ignoredFields) {
        guard var members = request.body.objectValue, members["input"] == nil else { return nil }
        for field in ignoredFields { members.removeValue(forKey: field) }
        var texts: [String] = []
        if case .array(var messages)? = members["messages"] {
            var remaining = max(1, turns)
            for index in messages.indices.reversed() where remaining > 0 {
                guard case .object(var message) = messages[index], message["role"]?.stringValue == "user" else { continue }
                switch message["content"] {
                case .string(let text)?:
                    texts.append(text)
                    message["content"] = .null
                case .array(var parts)?:
                    var partTexts: [String] = []
                    for (p, part) in parts.enumerated() {
                        guard case .object(var fields) = part, fields["type"]?.stringValue == "text", let text = fields["text"]?.stringValue else { continue }
                        partTexts.append(text)
                        fields["text"] = .null
                        parts[p] = .object(fields)
                    }
                    texts.append(partTexts.joined(separator: "\n"))
                    message["content"] = .array(parts)
                default:
                    continue
                }
                messages[index] = .object(message)
                remaining -= 1
            }
            members["messages"] = .array(messages)
        } else if case .string(let prompt)? = members["prompt"] {
            texts = [prompt]
            members["prompt"] = .null
        }
        let text = texts.reversed().joined(separator: "\n")
        // A scan that stops at the first non-blank, not Foundation's trimmed
        // copy: that went through UTF-16 and took 1.5 s for a 3 MB prompt.
        guard text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else { return nil }
        var bytes = Array("llm-cache/scope/v\(Fingerprint.version)\n".utf8)
        JSONWriter.writeString(namespace, into: &bytes)
        bytes.append(0x0A)
        // As in the key: a body valid for two endpoints is two questions.
        if request.endpoint != .chatCompletions {
            JSONWriter.writeString(request.endpoint.path, into: &bytes)
            bytes.append(0x0A)
        }
        bytes.append(contentsOf: Array("turns:\(max(1, turns))\n".utf8))
        JSONWriter.write(.object(members), canonical: true, into: &bytes)
        var hasher = SHA256()
        hasher.update(data: bytes)
        self.key = CacheKey(digest: hasher.finalize())
        self.text = text
    }
}
