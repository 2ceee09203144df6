import Foundation

import Crypto

/// Splits a request into the part matched by meaning and everything else.
///
/// Two requests may be semantic candidates of each other only when everything
/// else — model, sampling parameters, tools, response format, system prompt,
/// earlier turns, namespace, endpoint — is identical: the hash of that is the *scope*.
/// The matched text is the last user turn by default, or the last `turns` user
/// turns joined by newlines: user messages of chat and Anthropic requests, user
/// items (or a string `input`) of Responses API requests, a completion's
/// `prompt`. Non-text content parts (images, audio) stay in the
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
        guard !request.endpoint.isAPI(.embeddings),
              // What the key leaves out (cache_control, metadata, ...) is out of the scope too.
              case .object(var members) = RequestSchema.keyed(request.body, as: request.endpoint.requestKind)
        else { return nil }
        for field in ignoredFields { members.removeValue(forKey: field) }
        var texts: [String] = []
        var remaining = max(1, turns)
        if request.endpoint.isAPI(.responses) {
            switch members["input"] {
            case .string(let input)?:
                texts = [input]
                members["input"] = .null
            case .array(var items)?:
                for index in items.indices.reversed() where remaining > 0 && LLMRequest.isUserMessage(items[index]) {
                    guard let text = Self.takeText(from: &items[index]) else { continue }
                    texts.append(text)
                    remaining -= 1
                }
                members["input"] = .array(items)
            default:
                return nil
            }
        } else if members["input"] != nil {
            // An embeddings body sent elsewhere: nothing to match by meaning.
            return nil
        } else if case .array(var messages)? = members["messages"] {
            for index in messages.indices.reversed() where remaining > 0 && messages[index]["role"]?.stringValue == "user" {
                guard let text = Self.takeText(from: &messages[index]) else { continue }
                texts.append(text)
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
        Fingerprint.writeEndpoint(request.endpoint, into: &bytes)
        bytes.append(contentsOf: Array("turns:\(max(1, turns))\n".utf8))
        JSONWriter.write(.object(members), canonical: true, into: &bytes)
        var hasher = SHA256()
        hasher.update(data: bytes)
        self.key = CacheKey(digest: hasher.finalize())
        self.text = text
    }

    /// The text of a user message (its `content` string, or its text parts
    /// joined by newlines), taken out of it: the message keeps everything
    /// else, so images and other parts stay in the scope. `nil` when the
    /// content is neither a string nor an array.
    private static func takeText(from message: inout JSONValue) -> String? {
        guard case .object(var fields) = message else { return nil }
        switch fields["content"] {
        case .string(let text)?:
            fields["content"] = .null
            message = .object(fields)
            return text
        case .array(var parts)?:
            var texts: [String] = []
            for (p, part) in parts.enumerated() {
                guard case .object(var partFields) = part, LLMRequest.isTextPart(partFields["type"]?.stringValue),
                      let text = partFields["text"]?.stringValue
                else { continue }
                texts.append(text)
                partFields["text"] = .null
                parts[p] = .object(partFields)
            }
            fields["content"] = .array(parts)
            message = .object(fields)
            return texts.joined(separator: "\n")
        default:
            return nil
        }
    }
}
