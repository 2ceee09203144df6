import LLMCache

/// Turns a complete response back into the events of a stream, the way the
/// provider would have sent it: a role chunk, reasoning (`reasoning_content`,
/// `reasoning`, …) and then the content in several small chunks, each tool
/// call's id and name and then its arguments in pieces, a finish chunk per
/// choice, an optional usage chunk, and `[DONE]`.
///
/// Everything stored is replayed, so that ``StreamAssembler`` gives back the
/// same response: every chunk carries the response's top-level fields
/// (`service_tier`, `system_fingerprint`, provider fields such as
/// `citations`); message fields without a streaming form of their own
/// (`annotations`, `audio`, …) come in one chunk after the content, choice
/// fields (e.g. `stop_reason`) on the finish chunk. When `logprobs.content`
/// spells the content token by token, each token is a chunk of its own with
/// its logprobs entry, as OpenAI streams them; otherwise the whole `logprobs`
/// rides on the first content chunk. `logprobs.refusal` and the legacy
/// `logprobs.tokens` are replayed the same way.
///
/// Works on `chat.completion` (giving `chat.completion.chunk` events) and
/// `text_completion` bodies. Stateless; safe to use from any task.
public struct StreamReplay: Sendable {
    /// The largest number of characters of content or arguments in one chunk.
    /// Pieces end after a space when one is near, so words stay whole.
    /// Default 16: a few words, like a model's tokens. Content whose stored
    /// logprobs spell it is cut at its tokens instead, whatever their length.
    public var pieceLength: Int

    public init(pieceLength: Int = 16) {
        self.pieceLength = max(1, pieceLength)
    }

    /// The chunk objects `response` streams as, or `nil` if it is neither a
    /// chat nor a text completion. `[DONE]` is not included.
    ///
    /// - Parameter includeUsage: add a final chunk with no choices and the
    ///   response's usage (what `stream_options.include_usage` asks for).
    public func chunks(of response: JSONValue, includeUsage: Bool = false) -> [JSONValue]? {
        guard case .object(let fields) = response, let choices = fields["choices"]?.arrayValue else { return nil }
        let legacy = fields["object"]?.stringValue == "text_completion"
        guard legacy || fields["object"]?.stringValue == "chat.completion" || choices.allSatisfy({ $0["message"] != nil }) else { return nil }
        var header = fields
        header["choices"] = nil
        header["usage"] = nil
        header["object"] = .string(legacy ? "text_completion" : "chat.completion.chunk")
        var out: [JSONValue] = []
        for (position, choice) in choices.enumerated() {
            let choice = choice.objectValue ?? [:]
            let index = choice["index"] ?? .number(JSONNumber(position))
            var emitter = Emitter(header: header, index: index, legacy: legacy)
            if legacy {
                replayText(of: choice, into: &emitter)
            } else {
                replayMessage(of: choice, into: &emitter)
            }
            out += emitter.finish(choice)
        }
        if includeUsage, let usage = fields["usage"], usage != .null {
            var object = header
            object["choices"] = .array([])
            object["usage"] = usage
            out.append(.object(object))
        }
        return out
    }

    /// The whole stream as `text/event-stream` bytes, `[DONE]` included, or
    /// `nil` if `response` is not a chat or text completion.
    public func eventStream(of response: JSONValue, includeUsage: Bool = false) -> [UInt8]? {
        guard let chunks = chunks(of: response, includeUsage: includeUsage) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chunks.count * 200)
        for chunk in chunks { out.append(contentsOf: SSEParser.event(chunk.jsonBytes)) }
        out.append(contentsOf: SSEParser.event(SSEParser.doneMarker))
        return out
    }

    /// `text` cut into pieces of at most ``pieceLength`` characters, ending
    /// after a space where the last half of a piece has one.
    func pieces(_ text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            var end = rest.index(rest.startIndex, offsetBy: pieceLength, limitedBy: rest.endIndex) ?? rest.endIndex
            if end < rest.endIndex {
                let window = rest[rest.index(rest.startIndex, offsetBy: pieceLength / 2)..<end]
                if let space = window.lastIndex(of: " ") { end = rest.index(after: space) }
            }
            out.append(String(rest[..<end]))
            rest = rest[end...]
        }
        return out
    }

    /// Cuts a chat choice's message into deltas.
    private func replayMessage(of choice: [String: JSONValue], into emitter: inout Emitter) {
        let message = choice["message"]?.objectValue ?? [:]
        var first: [String: JSONValue] = ["role": message["role"] ?? .string("assistant")]
        var reasoning: [(key: String, text: String)] = []
        var others: [String: JSONValue] = [:]
        var calls: [JSONValue] = []
        for (key, value) in message {
            switch (key, value) {
            case ("role", _):
                continue
            // OpenAI's first chunk carries empty content (null when the
            // message only calls tools) and a null or empty refusal; the text
            // follows in pieces.
            case ("content", .string), ("refusal", .string):
                first[key] = .string("")
            case ("content", .null), ("refusal", .null):
                first[key] = .null
            case ("tool_calls", .array(let array)) where !array.isEmpty && array.allSatisfy({ $0.objectValue != nil }):
                calls = array
            case (_, .string(let text)) where Self.isReasoning(key):
                first[key] = .string("")
                reasoning.append((key, text))
            default:
                others[key] = value
            }
        }
        if first["content"] == nil { first["content"] = .null }
        emitter.emit(["delta": .object(first)], logprobs: .null)
        // Models think before they answer: reasoning streams first.
        for (key, text) in reasoning.sorted(by: { $0.key < $1.key }) {
            for piece in pieces(text) { emitter.emit(["delta": .object([key: .string(piece)])]) }
        }
        let content = message["content"]?.stringValue
        let refusal = message["refusal"]?.stringValue
        let logprobs = choice["logprobs"] ?? .null
        var contentTokens: [JSONValue]?
        var refusalTokens: [JSONValue]?
        var byToken = false
        if case .object(let members) = logprobs, members.keys.allSatisfy({ $0 == "content" || $0 == "refusal" }) {
            let contentLogprobs = members["content"] ?? .null
            let refusalLogprobs = members["refusal"] ?? .null
            contentTokens = Self.entries(contentLogprobs, spelling: content)
            refusalTokens = Self.entries(refusalLogprobs, spelling: refusal)
            byToken = (contentLogprobs == .null || contentTokens != nil) && (refusalLogprobs == .null || refusalTokens != nil)
                && (contentTokens != nil || refusalTokens != nil)
        }
        if !byToken, logprobs != .null { emitter.pendingLogprobs = logprobs }
        for (key, text, tokens) in [("content", content, contentTokens), ("refusal", refusal, refusalTokens)] {
            guard let text else { continue }
            if byToken, let tokens, case .object(let members) = logprobs {
                for entry in tokens {
                    let entryLogprobs = JSONValue.object(members.mapValues { _ in .null }.merging([key: .array([entry])]) { $1 })
                    emitter.emit(["delta": .object([key: entry["token"]!])], logprobs: entryLogprobs)
                }
            } else {
                for piece in pieces(text) { emitter.emit(["delta": .object([key: .string(piece)])]) }
            }
        }
        if !others.isEmpty { emitter.emit(["delta": .object(others)]) }
        for (callPosition, call) in calls.enumerated() {
            let callIndex = JSONValue.number(JSONNumber(callPosition))
            var opening = call.objectValue ?? [:]
            opening["index"] = callIndex
            var arguments: [String] = []
            if case .object(var function) = opening["function"], let whole = function["arguments"]?.stringValue {
                arguments = pieces(whole)
                function["arguments"] = .string("")
                opening["function"] = .object(function)
            }
            emitter.emit(["delta": .object(["tool_calls": .array([.object(opening)])])])
            for piece in arguments {
                let increment: JSONValue = .object(["index": callIndex, "function": .object(["arguments": .string(piece)])])
                emitter.emit(["delta": .object(["tool_calls": .array([increment])])])
            }
        }
    }

    /// Cuts a legacy choice's text into pieces, one per token when its
    /// logprobs spell the text.
    private func replayText(of choice: [String: JSONValue], into emitter: inout Emitter) {
        let text = choice["text"]?.stringValue ?? ""
        let logprobs = choice["logprobs"] ?? .null
        if case .object(let members) = logprobs,
           let tokens = members["tokens"]?.arrayValue, !tokens.isEmpty,
           tokens.allSatisfy({ $0.stringValue != nil }),
           tokens.lazy.compactMap(\.stringValue).joined() == text,
           members.allSatisfy({ key, value in
               Self.legacyLogprobsKeys.contains(key) && (value == .null || value.arrayValue?.count == tokens.count)
           })
        {
            for (position, token) in tokens.enumerated() {
                let entry = members.mapValues { value in value.arrayValue.map { JSONValue.array([$0[position]]) } ?? .null }
                emitter.emit(["text": token], logprobs: .object(entry))
            }
            return
        }
        if logprobs != .null { emitter.pendingLogprobs = logprobs }
        for piece in pieces(text) { emitter.emit(["text": .string(piece)]) }
    }

    /// The arrays of a legacy completion's `logprobs`, one element per token.
    private static let legacyLogprobsKeys: Set<String> = ["tokens", "token_logprobs", "top_logprobs", "text_offset"]

    /// Whether a message field carries the model's reasoning, which providers
    /// stream in pieces ahead of the answer (`reasoning_content`, `reasoning`).
    private static func isReasoning(_ key: String) -> Bool {
        key.contains("reasoning") || key.contains("thinking")
    }

    /// The entries of a `logprobs.content` (or `.refusal`) array when their
    /// tokens, joined, are exactly `text`.
    private static func entries(_ logprobs: JSONValue, spelling text: String?) -> [JSONValue]? {
        guard let text, case .array(let entries) = logprobs, !entries.isEmpty else { return nil }
        var spelled = ""
        for entry in entries {
            guard let token = entry["token"]?.stringValue else { return nil }
            spelled += token
        }
        return spelled == text ? entries : nil
    }

    /// Builds the chunks of one choice.
    private struct Emitter {
        let header: [String: JSONValue]
        let index: JSONValue
        let legacy: Bool
        var chunks: [JSONValue] = []
        /// A whole `logprobs` that rides on the next chunk emitted.
        var pendingLogprobs: JSONValue?

        init(header: [String: JSONValue], index: JSONValue, legacy: Bool) {
            self.header = header
            self.index = index
            self.legacy = legacy
        }

        /// Adds a chunk of this choice with `fields` (`delta` or `text`);
        /// without `logprobs`, the pending one if any.
        mutating func emit(_ fields: [String: JSONValue], logprobs: JSONValue? = nil, finishReason: JSONValue = .null) {
            var choice = fields
            choice["index"] = index
            choice["finish_reason"] = finishReason
            if let logprobs {
                choice["logprobs"] = logprobs
            } else {
                choice["logprobs"] = pendingLogprobs ?? .null
                pendingLogprobs = nil
            }
            var object = header
            object["choices"] = .array([.object(choice)])
            chunks.append(.object(object))
        }

        /// The chunks, ended by the finish chunk, which also carries the
        /// choice's fields the format does not define.
        mutating func finish(_ stored: [String: JSONValue]) -> [JSONValue] {
            var fields = stored.filter { !["index", "message", "text", "delta", "logprobs", "finish_reason"].contains($0.key) }
            fields[legacy ? "text" : "delta"] = legacy ? .string("") : .object([:])
            emit(fields, finishReason: stored["finish_reason"] ?? .null)
            return chunks
        }
    }
}
