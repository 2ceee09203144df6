import LLMCache

/// Turns a complete response back into the events of a stream, the way the
/// provider would have sent it: a role chunk, the content in several small
/// chunks, each tool call's id and name and then its arguments in pieces, a
/// finish chunk per choice, an optional usage chunk, and `[DONE]`.
///
/// Works on `chat.completion` (giving `chat.completion.chunk` events) and
/// `text_completion` bodies. Stateless; safe to use from any task.
public struct StreamReplay: Sendable {
    /// The largest number of characters of content or arguments in one chunk.
    /// Pieces end after a space when one is near, so words stay whole.
    /// Default 16: a few words, like a model's tokens.
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
        var header: [String: JSONValue] = ["object": .string(legacy ? "text_completion" : "chat.completion.chunk")]
        for name in ["id", "created", "model", "system_fingerprint"] {
            if let value = fields[name] { header[name] = value }
        }
        func chunk(_ choice: [String: JSONValue]) -> JSONValue {
            var object = header
            object["choices"] = .array([.object(choice)])
            return .object(object)
        }
        var out: [JSONValue] = []
        for (position, choice) in choices.enumerated() {
            let index = choice["index"] ?? .number(JSONNumber(position))
            let finish = choice["finish_reason"] ?? .null
            if legacy {
                for piece in pieces(choice["text"]?.stringValue ?? "") {
                    out.append(chunk(["index": index, "text": .string(piece), "finish_reason": .null, "logprobs": .null]))
                }
                out.append(chunk(["index": index, "text": .string(""), "finish_reason": finish, "logprobs": .null]))
                continue
            }
            let message = choice["message"]?.objectValue ?? [:]
            var first: [String: JSONValue] = ["role": message["role"] ?? .string("assistant")]
            // OpenAI's first chunk carries the role and empty content (or null
            // content when the message only calls tools).
            first["content"] = message["content"].map { $0 == .null ? .null : .string("") } ?? .null
            out.append(chunk(["index": index, "delta": .object(first), "finish_reason": .null, "logprobs": .null]))
            if let content = message["content"]?.stringValue {
                for piece in pieces(content) {
                    out.append(chunk(["index": index, "delta": .object(["content": .string(piece)]), "finish_reason": .null, "logprobs": .null]))
                }
            }
            if let refusal = message["refusal"]?.stringValue {
                for piece in pieces(refusal) {
                    out.append(chunk(["index": index, "delta": .object(["refusal": .string(piece)]), "finish_reason": .null, "logprobs": .null]))
                }
            }
            for (callPosition, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
                let callIndex = JSONValue.number(JSONNumber(callPosition))
                let function = call["function"]?.objectValue ?? [:]
                let opening: JSONValue = .object([
                    "index": callIndex,
                    "id": call["id"] ?? .null,
                    "type": call["type"] ?? .string("function"),
                    "function": .object(["name": function["name"] ?? .string(""), "arguments": .string("")]),
                ])
                out.append(chunk(["index": index, "delta": .object(["tool_calls": .array([opening])]), "finish_reason": .null, "logprobs": .null]))
                for piece in pieces(function["arguments"]?.stringValue ?? "") {
                    let increment: JSONValue = .object(["index": callIndex, "function": .object(["arguments": .string(piece)])])
                    out.append(chunk(["index": index, "delta": .object(["tool_calls": .array([increment])]), "finish_reason": .null, "logprobs": .null]))
                }
            }
            out.append(chunk(["index": index, "delta": .object([:]), "finish_reason": finish, "logprobs": .null]))
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
}
