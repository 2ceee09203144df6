import LLMCache

/// Turns a stored Responses API response back into the events of a stream
/// (`POST /v1/responses` with `"stream": true`), the way OpenAI would have
/// sent it:
///
/// 1. `response.created` and `response.in_progress`, with the response as it
///    stood before any output: `status: "in_progress"`, `output: []`,
///    `usage: null`, `completed_at`, `incomplete_details` and `error` null
///    where the response has them; every other field as stored.
/// 2. Per output item, in order (`output_index` its position):
///    `response.output_item.added` with the item as it opens (status
///    `in_progress`; no content, arguments or summary yet), then its parts,
///    then `response.output_item.done` with the stored item.
///    - `message`: each content part opens with `response.content_part.added`
///      and closes with `response.content_part.done` (the stored part).
///      An `output_text` part streams its text as `response.output_text.delta`
///      events (one per token when its `logprobs` spell the text, each with
///      its entry; otherwise pieces of at most ``pieceLength`` characters),
///      then one `response.output_text.annotation.added` per annotation, then
///      `response.output_text.done`. A `refusal` part streams as
///      `response.refusal.delta` and `response.refusal.done`.
///    - `function_call`: `response.function_call_arguments.delta` pieces and
///      `response.function_call_arguments.done`.
///    - `reasoning`: each summary part as `response.reasoning_summary_part.added`,
///      `response.reasoning_summary_text.delta` pieces,
///      `response.reasoning_summary_text.done` and
///      `response.reasoning_summary_part.done`; reasoning `content` text as
///      content parts with `response.reasoning_text.delta` and `.done`.
///      `encrypted_content` rides on the item from the start.
///    - Any other item (`web_search_call`, `file_search_call`, `mcp_call`,
///      `custom_tool_call`, …), and any part of a kind not named here: only
///      its added and done events, carrying it whole.
/// 3. `response.completed` with the stored response exactly
///    (`response.incomplete` when its status is `incomplete`,
///    `response.failed` when `failed`).
///
/// Every event has a `sequence_number` counting from 0, and the `item_id`,
/// `output_index`, `content_index`, `summary_index` and `annotation_index`
/// the API sends. The order is the one the openai SDKs' stream accumulators
/// require: `response.created` first, an item's added event before any event
/// about its parts, a part's added event before its deltas, indexes without
/// gaps. ``ResponsesStreamAssembler`` fed the events gives back the stored
/// response exactly.
///
/// Stateless; safe to use from any task.
public struct ResponsesStreamReplay: Sendable {
    /// The largest number of characters of text, arguments or summary in one
    /// delta. Pieces end after a space when one is near, so words stay
    /// whole. Default 16: a few words, like a model's tokens. Text whose
    /// stored logprobs spell it is cut at its tokens instead.
    public var pieceLength: Int

    /// A replay cutting text into pieces of at most `pieceLength`
    /// characters (default 16; values below 1 count as 1).
    public init(pieceLength: Int = 16) {
        self.pieceLength = max(1, pieceLength)
    }

    /// The event objects `response` streams as, or `nil` when it is not a
    /// Responses API response (an object with `"object": "response"` and an
    /// `output` array).
    public func events(of response: JSONValue) -> [JSONValue]? {
        guard case .object(let fields) = response, fields["object"]?.stringValue == "response",
              let output = fields["output"]?.arrayValue
        else { return nil }
        var emitter = Emitter(splitter: StreamReplay(pieceLength: pieceLength))
        var opening = fields
        opening["status"] = .string("in_progress")
        opening["output"] = .array([])
        opening["usage"] = .null
        for key in ["completed_at", "incomplete_details", "error"] where opening[key] != nil {
            opening[key] = .null
        }
        emitter.emit("response.created", ["response": .object(opening)])
        emitter.emit("response.in_progress", ["response": .object(opening)])
        for (position, item) in output.enumerated() {
            emitter.replay(item: item, at: position)
        }
        let final: String
        switch fields["status"]?.stringValue {
        case "incomplete": final = "response.incomplete"
        case "failed": final = "response.failed"
        default: final = "response.completed"
        }
        emitter.emit(final, ["response": response])
        return emitter.events
    }

    /// The whole stream as `text/event-stream` bytes, each event framed
    /// `event: <type>\ndata: <json>\n\n` as the Responses API frames them, or
    /// `nil` when `response` is not a Responses API response.
    public func eventStream(of response: JSONValue) -> [UInt8]? {
        guard let events = events(of: response) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(events.count * 240)
        for event in events {
            out.append(contentsOf: SSEParser.event(named: event["type"]?.stringValue ?? "", event.jsonBytes))
        }
        return out
    }
}

extension ResponsesStreamReplay {
    /// Builds the events of one stream, numbering them.
    private struct Emitter {
        let splitter: StreamReplay
        var events: [JSONValue] = []

        init(splitter: StreamReplay) {
            self.splitter = splitter
        }

        mutating func emit(_ type: String, _ fields: [String: JSONValue]) {
            var event = fields
            event["type"] = .string(type)
            event["sequence_number"] = .number(JSONNumber(events.count))
            events.append(.object(event))
        }

        /// `text` in delta-sized pieces; none for empty text.
        func pieces(_ text: String) -> [String] {
            splitter.pieces(text)
        }

        mutating func replay(item: JSONValue, at position: Int) {
            let outputIndex = JSONValue.number(JSONNumber(position))
            guard case .object(let fields) = item else {
                emit("response.output_item.added", ["output_index": outputIndex, "item": item])
                emit("response.output_item.done", ["output_index": outputIndex, "item": item])
                return
            }
            let place = Place(itemID: fields["id"] ?? .string(""), outputIndex: outputIndex)
            switch fields["type"]?.stringValue {
            case "message" where fields["content"]?.arrayValue != nil:
                replayMessage(fields, place)
            case "function_call" where fields["arguments"]?.stringValue != nil:
                replayFunctionCall(fields, place)
            case "reasoning":
                replayReasoning(fields, place)
            default:
                var opening = fields
                if opening["status"] != nil { opening["status"] = .string("in_progress") }
                emit("response.output_item.added", ["output_index": outputIndex, "item": .object(opening)])
            }
            emit("response.output_item.done", ["output_index": outputIndex, "item": item])
        }

        private mutating func replayMessage(_ fields: [String: JSONValue], _ place: Place) {
            var opening = fields
            opening["content"] = .array([])
            opening["status"] = .string("in_progress")
            emit("response.output_item.added", ["output_index": place.outputIndex, "item": .object(opening)])
            for (index, part) in (fields["content"]?.arrayValue ?? []).enumerated() {
                let at = place.with(.number(JSONNumber(index)))
                switch (part["type"]?.stringValue, part["text"]?.stringValue, part["refusal"]?.stringValue) {
                case ("output_text", let text?, _):
                    replayOutputText(part, text: text, at)
                case ("refusal", _, let refusal?):
                    var start = part.objectValue ?? [:]
                    start["refusal"] = .string("")
                    emit("response.content_part.added", at.fields(["part": .object(start)]))
                    for piece in pieces(refusal) {
                        emit("response.refusal.delta", at.fields(["delta": .string(piece)]))
                    }
                    emit("response.refusal.done", at.fields(["refusal": .string(refusal)]))
                    emit("response.content_part.done", at.fields(["part": part]))
                default:
                    emit("response.content_part.added", at.fields(["part": part]))
                    emit("response.content_part.done", at.fields(["part": part]))
                }
            }
        }

        private mutating func replayOutputText(_ part: JSONValue, text: String, _ at: Place) {
            var start = part.objectValue ?? [:]
            start["text"] = .string("")
            start["annotations"] = .array([])
            if start["logprobs"] != nil { start["logprobs"] = .array([]) }
            emit("response.content_part.added", at.fields(["part": .object(start)]))
            let logprobs = part["logprobs"]
            if let tokens = Self.entries(logprobs, spelling: text) {
                for entry in tokens {
                    emit("response.output_text.delta", at.fields(["delta": entry["token"]!, "logprobs": .array([entry])]))
                }
            } else {
                for piece in pieces(text) {
                    emit("response.output_text.delta", at.fields(["delta": .string(piece), "logprobs": .array([])]))
                }
            }
            for (index, annotation) in (part["annotations"]?.arrayValue ?? []).enumerated() {
                emit("response.output_text.annotation.added", at.fields([
                    "annotation_index": .number(JSONNumber(index)),
                    "annotation": annotation,
                ]))
            }
            emit("response.output_text.done", at.fields([
                "text": .string(text),
                "logprobs": logprobs?.arrayValue.map(JSONValue.array) ?? .array([]),
            ]))
            emit("response.content_part.done", at.fields(["part": part]))
        }

        private mutating func replayFunctionCall(_ fields: [String: JSONValue], _ place: Place) {
            let arguments = fields["arguments"]?.stringValue ?? ""
            var opening = fields
            opening["arguments"] = .string("")
            opening["status"] = .string("in_progress")
            emit("response.output_item.added", ["output_index": place.outputIndex, "item": .object(opening)])
            for piece in pieces(arguments) {
                emit("response.function_call_arguments.delta", place.fields(["delta": .string(piece)]))
            }
            var done = place.fields(["arguments": .string(arguments)])
            if let name = fields["name"], name.stringValue != nil { done["name"] = name }
            emit("response.function_call_arguments.done", done)
        }

        private mutating func replayReasoning(_ fields: [String: JSONValue], _ place: Place) {
            var opening = fields
            if opening["summary"] != nil { opening["summary"] = .array([]) }
            if opening["content"] != nil { opening["content"] = .array([]) }
            if opening["status"] != nil { opening["status"] = .string("in_progress") }
            emit("response.output_item.added", ["output_index": place.outputIndex, "item": .object(opening)])
            for (index, part) in (fields["summary"]?.arrayValue ?? []).enumerated() {
                let at = place.summary(.number(JSONNumber(index)))
                guard part["type"]?.stringValue == "summary_text", let text = part["text"]?.stringValue else {
                    emit("response.reasoning_summary_part.added", at.fields(["part": part]))
                    emit("response.reasoning_summary_part.done", at.fields(["part": part]))
                    continue
                }
                var start = part.objectValue ?? [:]
                start["text"] = .string("")
                emit("response.reasoning_summary_part.added", at.fields(["part": .object(start)]))
                for piece in pieces(text) {
                    emit("response.reasoning_summary_text.delta", at.fields(["delta": .string(piece)]))
                }
                emit("response.reasoning_summary_text.done", at.fields(["text": .string(text)]))
                emit("response.reasoning_summary_part.done", at.fields(["part": part]))
            }
            for (index, part) in (fields["content"]?.arrayValue ?? []).enumerated() {
                let at = place.with(.number(JSONNumber(index)))
                guard part["type"]?.stringValue == "reasoning_text", let text = part["text"]?.stringValue else {
                    emit("response.content_part.added", at.fields(["part": part]))
                    emit("response.content_part.done", at.fields(["part": part]))
                    continue
                }
                var start = part.objectValue ?? [:]
                start["text"] = .string("")
                emit("response.content_part.added", at.fields(["part": .object(start)]))
                for piece in pieces(text) {
                    emit("response.reasoning_text.delta", at.fields(["delta": .string(piece)]))
                }
                emit("response.reasoning_text.done", at.fields(["text": .string(text)]))
                emit("response.content_part.done", at.fields(["part": part]))
            }
        }

        /// The entries of an `output_text` part's `logprobs` when their
        /// tokens, joined, are exactly `text`: the API streams such text one
        /// token per delta.
        private static func entries(_ logprobs: JSONValue?, spelling text: String) -> [JSONValue]? {
            guard case .array(let entries)? = logprobs, !entries.isEmpty else { return nil }
            var spelled = ""
            for entry in entries {
                guard let token = entry["token"]?.stringValue else { return nil }
                spelled += token
            }
            return spelled == text ? entries : nil
        }
    }

    /// Where an event belongs: its item, and the part within it.
    private struct Place {
        var itemID: JSONValue
        var outputIndex: JSONValue
        var partKey: String?
        var partIndex: JSONValue?

        init(itemID: JSONValue, outputIndex: JSONValue) {
            self.itemID = itemID
            self.outputIndex = outputIndex
        }

        /// The same item's content part `index`.
        func with(_ index: JSONValue) -> Place {
            var place = self
            place.partKey = "content_index"
            place.partIndex = index
            return place
        }

        /// The same item's summary part `index`.
        func summary(_ index: JSONValue) -> Place {
            var place = self
            place.partKey = "summary_index"
            place.partIndex = index
            return place
        }

        /// `extra` with the item's id and indexes.
        func fields(_ extra: [String: JSONValue]) -> [String: JSONValue] {
            var fields = extra
            fields["item_id"] = itemID
            fields["output_index"] = outputIndex
            if let partKey, let partIndex { fields[partKey] = partIndex }
            return fields
        }
    }
}
