import LLMCache

/// Rebuilds the response a non-streamed `POST /v1/responses` would have
/// returned from the events of a streamed one (`"stream": true`).
///
/// The Responses API ends a stream with an event that carries the whole
/// response: `response.completed`, or `response.incomplete` when the model
/// stopped early (`max_output_tokens`, a content filter). That event's
/// `response` is the answer, the same object, `id` included, that the
/// non-streamed call returns, so the deltas before it need not be joined.
/// One repair is made: when the terminal event's `output` is missing or empty
/// but `response.output_item.done` events carried items (some
/// OpenAI-compatible servers send a slim final event), `output` is made of
/// those items in `output_index` order.
///
/// A stream is not a whole answer (``isComplete`` false) when it ends before
/// its terminal event, ends with `response.failed`, or carries an `error`
/// event, an event with a top-level `"error"` member, or data that is not a
/// JSON object. Events after the terminal one are not part of the answer and
/// are ignored. A bare `[DONE]` (which some compatible servers add) is
/// neither counted nor an error.
///
/// Each event is parsed once and only the final response and the finished
/// items are kept, so assembly takes time linear in the stream's size. A
/// value type: use one per stream.
public struct ResponsesStreamAssembler: StreamAssembling {
    /// The terminal event's `response`, once a `response.completed` or
    /// `response.incomplete` arrived.
    private var terminal: [String: JSONValue]?
    /// Items of `response.output_item.done` events by `output_index`, for a
    /// terminal event without output.
    private var doneItems: [Int: JSONValue] = [:]
    /// Where a finished item without an `output_index` goes: after the last.
    private var nextItemIndex = 0
    /// Whether an event said the stream failed: `error`, `response.failed`,
    /// a top-level `"error"`, or data that is not a JSON object.
    public private(set) var sawError = false
    /// Whether a terminal event (`response.completed`, `response.incomplete`,
    /// `response.failed`) or an `error` event was consumed.
    public private(set) var sawEnd = false
    /// Events consumed, a bare `[DONE]` excluded.
    public private(set) var eventCount = 0
    /// One past the highest `sequence_number` consumed; 0 before any. The
    /// number an event a relay appends (``errorEvent(message:sequenceNumber:)``)
    /// should carry to keep the numbering increasing.
    public private(set) var nextSequenceNumber = 0

    /// An assembler that has consumed nothing.
    public init() {}

    /// Consumes the data of one event.
    public mutating func consume(event data: [UInt8]) {
        if data == SSEParser.doneMarker { return }
        eventCount += 1
        // Nothing after the terminal event is part of the answer.
        guard !sawEnd else { return }
        guard let parsed = try? JSONValue(parsing: data), case .object(let event) = parsed else {
            sawError = true
            return
        }
        if let number = event["sequence_number"]?.numberValue?.intValue, number >= nextSequenceNumber {
            nextSequenceNumber = number + 1
        }
        if let error = event["error"], error != .null {
            sawError = true
        }
        switch event["type"]?.stringValue {
        case "response.completed", "response.incomplete":
            sawEnd = true
            guard case .object(let response)? = event["response"] else {
                sawError = true
                return
            }
            terminal = response
        case "response.failed", "error":
            sawEnd = true
            sawError = true
        case "response.output_item.done":
            guard let item = event["item"] else { return }
            let index = event["output_index"]?.numberValue?.intValue ?? nextItemIndex
            doneItems[index] = item
            nextItemIndex = max(nextItemIndex, index + 1)
        default:
            return
        }
    }

    /// Whether the stream ended with `response.completed` or
    /// `response.incomplete` and no event before it reported an error.
    public var isComplete: Bool { sawEnd && !sawError && terminal != nil }

    /// The terminal event's `response`, with `output` filled from the
    /// finished items when that event had none; `null` before a terminal
    /// event. Meaningful once ``isComplete``.
    public var response: JSONValue {
        guard var response = terminal else { return .null }
        let output = response["output"]?.arrayValue
        if output?.isEmpty ?? true, !doneItems.isEmpty {
            response["output"] = .array(doneItems.keys.sorted().map { doneItems[$0]! })
        }
        return .object(response)
    }

    /// ``errorEvent(message:sequenceNumber:)`` numbered 0: a static call
    /// cannot know how far the stream got. Use the other form with
    /// ``nextSequenceNumber`` where the assembler is at hand.
    public static func errorEvent(message: String) -> [UInt8] {
        errorEvent(message: message, sequenceNumber: 0)
    }

    /// An `error` event ending a stream the relay had to cut (code
    /// `timeout`), framed `event: error`.
    ///
    /// The data carries the fields of the documented Responses `error` event
    /// (`type`, `code`, `message`, `param`, `sequence_number`) and, in
    /// addition, the same error nested under `"error"` as OpenAI actually
    /// sends it: the openai SDKs raise an `APIError` with the message only
    /// when a streamed event has an `"error"` object, and otherwise hand the
    /// event on as data.
    public static func errorEvent(message: String, sequenceNumber: Int) -> [UInt8] {
        let body: JSONValue = .object([
            "type": .string("error"),
            "code": .string("timeout"),
            "message": .string(message),
            "param": .null,
            "sequence_number": .number(JSONNumber(sequenceNumber)),
            "error": .object([
                "type": .string("upstream_error"),
                "code": .string("timeout"),
                "message": .string(message),
                "param": .null,
            ]),
        ])
        return SSEParser.event(named: "error", body.jsonBytes)
    }
}
