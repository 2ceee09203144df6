import LLMCache

/// Replays a stored `message` (the answer of `POST /v1/messages`) as the
/// event stream Anthropic sends when the request asked for `"stream": true`,
/// for a caller that streams and hits the cache.
///
/// The events, in Anthropic's order:
/// 1. `message_start`: the message with `content: []`, `stop_reason` and
///    `stop_sequence` `null`, and its usage as the API reports it at the
///    start: input and cache counts final, `output_tokens` at most 1. Every
///    other field is there already, because the SDKs' accumulators copy only
///    the stop reason, stop sequence and token counts from `message_delta`.
/// 2. A `ping`.
/// 3. For each content block, in order: `content_block_start`, its deltas,
///    `content_block_stop`.
///    - `text`: starts with `"text": ""`; `text_delta` pieces; then one
///      `citations_delta` per citation.
///    - `tool_use` and `server_tool_use`: start with `"input": {}`;
///      `input_json_delta` pieces of the input as compact JSON.
///    - `thinking`: starts with `"thinking": ""` and `"signature": ""`;
///      `thinking_delta` pieces, then one `signature_delta`.
///    - any other type (`redacted_thinking`, `web_search_tool_result`, …):
///      whole in its `content_block_start`, as Anthropic sends them.
/// 4. `message_delta` with `delta: {stop_reason, stop_sequence}` (and
///    `stop_details`, `container` when the message has them) and the final
///    cumulative `usage`.
/// 5. `message_stop`.
///
/// ``MessagesStreamAssembler`` fed these events gives back the stored
/// message exactly, and the official SDKs' stream accumulators
/// (`messages.stream()`'s `get_final_message()`) rebuild it too.
/// A value type; safe to use from any task.
public struct MessagesStreamReplay: Sendable {
    /// The largest number of characters of text, thinking or tool input in
    /// one delta. Pieces end after a space when one is in their second half,
    /// so words stay whole. Default 16: a few words, like a model's tokens.
    public var pieceLength: Int

    public init(pieceLength: Int = 16) {
        self.pieceLength = max(1, pieceLength)
    }

    /// The events `message` streams as (the data of each, which carries its
    /// own `type`), or `nil` if it is not a message object: `"type":
    /// "message"` with a `content` array of objects.
    public func events(of message: JSONValue) -> [JSONValue]? {
        guard case .object(let fields) = message, fields["type"]?.stringValue == "message",
              let content = fields["content"]?.arrayValue
        else { return nil }
        var blocks: [[String: JSONValue]] = []
        blocks.reserveCapacity(content.count)
        for block in content {
            guard case .object(let blockFields) = block else { return nil }
            blocks.append(blockFields)
        }

        var start = fields
        start["content"] = .array([])
        for key in ["stop_reason", "stop_sequence"] where start[key] != nil { start[key] = .null }
        var finalUsage: [String: JSONValue]?
        if case .object(let usage)? = fields["usage"] {
            finalUsage = usage
            var startUsage = usage
            // Anthropic counts the first output token or so in message_start.
            if let output = usage["output_tokens"]?.numberValue?.intValue {
                startUsage["output_tokens"] = .number(JSONNumber(min(output, 1)))
            }
            start["usage"] = .object(startUsage)
        }

        var events: [JSONValue] = [
            .object(["type": .string("message_start"), "message": .object(start)]),
            .object(["type": .string("ping")]),
        ]
        for (position, block) in blocks.enumerated() {
            replay(block, index: .number(JSONNumber(position)), into: &events)
        }

        var delta: [String: JSONValue] = [:]
        for key in ["stop_reason", "stop_sequence", "stop_details", "container"] {
            if let value = fields[key] { delta[key] = value }
        }
        var messageDelta: [String: JSONValue] = ["type": .string("message_delta"), "delta": .object(delta)]
        if let finalUsage {
            messageDelta["usage"] = .object(finalUsage.filter { Self.deltaUsageKeys.contains($0.key) })
        }
        events.append(.object(messageDelta))
        events.append(.object(["type": .string("message_stop")]))
        return events
    }

    /// The whole stream as `text/event-stream` bytes, each event framed with
    /// its `event:` line as Anthropic frames them (the SDKs dispatch on it),
    /// or `nil` if `message` is not a message object.
    public func eventStream(of message: JSONValue) -> [UInt8]? {
        guard let events = events(of: message) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(events.count * 160)
        for event in events {
            out.append(contentsOf: SSEParser.event(named: event["type"]?.stringValue ?? "", event.jsonBytes))
        }
        return out
    }

    /// The usage fields a `message_delta` carries: the cumulative counts.
    /// The rest (`cache_creation`, `service_tier`, …) is known at the start.
    static let deltaUsageKeys: Set<String> = [
        "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
        "server_tool_use", "output_tokens_details",
    ]

    /// Appends the events of one content block.
    private func replay(_ block: [String: JSONValue], index: JSONValue, into events: inout [JSONValue]) {
        var opening = block
        var deltas: [JSONValue] = []
        switch block["type"]?.stringValue {
        case "text":
            guard case .string(let text)? = block["text"] else { break }
            opening["text"] = .string("")
            for piece in pieces(text) {
                deltas.append(.object(["type": .string("text_delta"), "text": .string(piece)]))
            }
            if case .array(let citations)? = block["citations"], !citations.isEmpty {
                opening["citations"] = nil
                for citation in citations {
                    deltas.append(.object(["type": .string("citations_delta"), "citation": citation]))
                }
            }
        case "tool_use", "server_tool_use":
            // The SDKs rebuild `input` from input_json_delta for these two
            // types only; any other block with an input is sent whole.
            guard let input = block["input"] else { break }
            opening["input"] = .object([:])
            let text = String(decoding: input.jsonBytes, as: UTF8.self)
            for piece in pieces(text) {
                deltas.append(.object(["type": .string("input_json_delta"), "partial_json": .string(piece)]))
            }
        case "thinking":
            guard case .string(let thinking)? = block["thinking"] else { break }
            opening["thinking"] = .string("")
            for piece in pieces(thinking) {
                deltas.append(.object(["type": .string("thinking_delta"), "thinking": .string(piece)]))
            }
            if case .string(let signature)? = block["signature"] {
                opening["signature"] = .string("")
                if !signature.isEmpty {
                    deltas.append(.object(["type": .string("signature_delta"), "signature": .string(signature)]))
                }
            }
        default:
            break
        }
        events.append(.object(["type": .string("content_block_start"), "index": index, "content_block": .object(opening)]))
        for delta in deltas {
            events.append(.object(["type": .string("content_block_delta"), "index": index, "delta": delta]))
        }
        events.append(.object(["type": .string("content_block_stop"), "index": index]))
    }

    /// `text` cut into pieces of at most ``pieceLength`` characters, ending
    /// after a space where the second half of a piece has one.
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
