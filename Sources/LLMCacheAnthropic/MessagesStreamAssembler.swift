import LLMCache

/// Rebuilds the `message` a non-streamed `POST /v1/messages` would have
/// returned from the events of a streamed one (Anthropic's Messages API).
///
/// Each event's data carries its own `"type"`, so the `event:` lines a relay's
/// ``SSEParser`` drops are not needed. The events are merged the way the
/// format defines, keeping every field they carry:
/// - `message_start`: the message's skeleton — `id`, `type`, `role`, `model`,
///   `usage` and any other field — with its (normally empty) `content`.
/// - `content_block_start`: the block at `index`, as sent, whatever its type
///   (text, tool_use, server_tool_use, thinking, redacted_thinking,
///   web_search_tool_result, types added later).
/// - `content_block_delta`: `text_delta` appends to the block's `text`,
///   `thinking_delta` to its `thinking`; `signature_delta` sets its
///   `signature` (as the official SDKs do); `citations_delta` appends its
///   `citation` to the block's `citations`; `input_json_delta` pieces are
///   joined and parsed into `input` at `content_block_stop` (no text at all
///   gives `{}`). A delta of another type is merged member by member into the
///   block: strings and arrays appended, objects merged, anything else
///   replaced.
/// - `message_delta`: every member of its `delta` (`stop_reason`,
///   `stop_sequence`, `stop_details`, `container`, …) replaces the message's,
///   except that a `null` replaces only the `stop_` fields;
///   its `usage` is cumulative, so each non-null field it carries replaces the
///   one `message_start` gave, and the fields it leaves out keep their value.
/// - `message_stop` ends the answer (``sawEnd``); `ping` and event types the
///   format adds later are skipped.
///
/// A stream is complete only if it reached `message_stop` after a
/// `message_start`, with no `error` event (e.g. `overloaded_error`), no data
/// that is not a JSON object, no block started twice, no delta or stop for a
/// block that was never started, and tool input that parses as JSON. A block
/// the stream never stopped is finished at `message_stop`.
///
/// Each piece is appended in place, so assembly takes time linear in the
/// stream's size. A value type: use one per stream.
public struct MessagesStreamAssembler: StreamAssembling {
    /// The message's fields from `message_start` and `message_delta`, `content` excluded.
    private var message: [String: JSONValue]?
    /// Blocks in the order they started.
    private var blocks: [Block] = []
    /// Position in ``blocks`` of each block `index`.
    private var positions: [Int: Int] = [:]
    /// Whether an event showed that the stream cannot be trusted whole.
    public private(set) var sawError = false
    /// Whether `message_stop` was seen.
    public private(set) var sawStop = false
    /// Events consumed, `ping` excluded.
    public private(set) var eventCount = 0

    public init() {}

    /// Consumes the data of one event. Events after `message_stop` are not
    /// part of the answer and are skipped.
    public mutating func consume(event data: [UInt8]) {
        guard !sawStop else { return }
        guard let event = try? JSONValue(parsing: data), case .object(let fields) = event else {
            eventCount += 1
            sawError = true
            return
        }
        let type = fields["type"]?.stringValue ?? ""
        if type == "ping" { return }
        eventCount += 1
        switch type {
        case "message_start":
            guard message == nil, case .object(var start)? = fields["message"] else {
                sawError = true
                return
            }
            // A message that starts with content (a continuation) keeps it.
            for (position, block) in (start["content"]?.arrayValue ?? []).enumerated() {
                guard case .object(let blockFields) = block else { continue }
                open(Block(blockFields), at: position)
            }
            start["content"] = nil
            message = start
        case "content_block_start":
            guard message != nil, let index = fields["index"]?.numberValue?.intValue,
                  case .object(let blockFields)? = fields["content_block"], positions[index] == nil
            else {
                sawError = true
                return
            }
            open(Block(blockFields), at: index)
        case "content_block_delta":
            guard let position = position(of: fields), case .object(let delta)? = fields["delta"] else {
                sawError = true
                return
            }
            blocks[position].apply(delta)
        case "content_block_stop":
            guard let position = position(of: fields) else {
                sawError = true
                return
            }
            if !blocks[position].finish() { sawError = true }
        case "message_delta":
            guard message != nil else {
                sawError = true
                return
            }
            applyMessageDelta(fields)
        case "message_stop":
            sawStop = true
            // A block the stream never stopped still has its tool input to parse.
            for position in blocks.indices {
                if !blocks[position].finish() { sawError = true }
            }
            if message == nil { sawError = true }
        case "error":
            sawError = true
        default:
            // Anthropic may add event types; its versioning policy asks
            // clients to skip the ones they do not know.
            break
        }
    }

    /// Whether the stream ended as a complete answer: `message_stop` after a
    /// `message_start`, and nothing that made it untrustworthy.
    public var isComplete: Bool { sawStop && !sawError && message != nil }

    /// ``sawStop``: `message_stop` ends a Messages stream.
    public var sawEnd: Bool { sawStop }

    /// An `error` event in Anthropic's shape, of type `timeout_error` (the
    /// type Anthropic documents for a request that timed out, HTTP 504 when
    /// not streaming), framed with its `event: error` line, which the SDKs
    /// dispatch on.
    public static func errorEvent(message: String) -> [UInt8] {
        SSEParser.event(named: "error", AnthropicErrorBody(kind: .timeout, message: message).bytes)
    }

    /// The assembled message.
    public var response: JSONValue {
        var object = message ?? [:]
        let ordered = positions.sorted { $0.key < $1.key }
        object["content"] = .array(ordered.map { blocks[$0.value].json })
        return .object(object)
    }

    private mutating func open(_ block: Block, at index: Int) {
        positions[index] = blocks.count
        blocks.append(block)
    }

    /// The position of the started block a delta or stop event names.
    private func position(of fields: [String: JSONValue]) -> Int? {
        guard let index = fields["index"]?.numberValue?.intValue else { return nil }
        return positions[index]
    }

    private mutating func applyMessageDelta(_ fields: [String: JSONValue]) {
        guard var object = message else { return }
        // Releases the stored copy so the members below change in place.
        message = nil
        for (name, value) in fields {
            switch name {
            case "type":
                continue
            case "delta":
                for (key, member) in value.objectValue ?? [:] {
                    // A null stop field says there is none (`stop_sequence`
                    // when the turn ended otherwise); a null `container`
                    // keeps the one message_start gave, as the SDKs do.
                    if member == .null, !key.hasPrefix("stop_") { continue }
                    object[key] = member
                }
            case "usage":
                guard case .object(let counts) = value else { continue }
                var usage = object["usage"]?.objectValue ?? [:]
                for (key, count) in counts where count != .null { usage[key] = count }
                object["usage"] = .object(usage)
            default:
                // A member the format adds to the event (a beta's
                // `context_management`) belongs to the message.
                object[name] = value
            }
        }
        message = object
    }
}

extension MessagesStreamAssembler {
    /// One content block being put together.
    ///
    /// What the deltas append is kept apart from the block's other fields,
    /// in storage of its own that is appended to in place: folding each piece
    /// into a `JSONValue` would copy the whole text every time and make a
    /// long answer quadratic to assemble.
    struct Block: Sendable {
        /// The fields as started, or as last replaced.
        var fields: [String: JSONValue]
        /// Text appended to string fields (`text`, `thinking`, …).
        var appendedText: [String: String] = [:]
        /// Elements appended to array fields (`citations`, …).
        var appendedElements: [String: [JSONValue]] = [:]
        /// The `partial_json` pieces joined, once an `input_json_delta` came.
        var inputText: [UInt8] = []
        var sawInputJSON = false

        init(_ start: [String: JSONValue]) {
            fields = start
        }

        mutating func apply(_ delta: [String: JSONValue]) {
            switch delta["type"]?.stringValue {
            case "text_delta":
                if let text = delta["text"] { merge(text, into: "text") }
            case "thinking_delta":
                if let thinking = delta["thinking"] { merge(thinking, into: "thinking") }
            case "signature_delta":
                // The SDKs set the signature rather than join it: it comes whole.
                if let signature = delta["signature"] { replace("signature", with: signature) }
            case "citations_delta":
                if let citation = delta["citation"] { append(citation, to: "citations") }
            case "input_json_delta":
                sawInputJSON = true
                if let piece = delta["partial_json"]?.stringValue { inputText.append(contentsOf: piece.utf8) }
            default:
                for (key, value) in delta where key != "type" { merge(value, into: key) }
            }
        }

        /// Adds one streamed piece to the field `key`: `null` changes nothing,
        /// strings and arrays are appended, objects merged member by member,
        /// anything else replaces what was there.
        private mutating func merge(_ piece: JSONValue, into key: String) {
            switch piece {
            case .null:
                return
            case .string(let more):
                if appendedText[key] == nil {
                    // Text appends to a string (or to nothing); it replaces anything else.
                    if let base = fields[key], base.stringValue == nil, base != .null { fields[key] = nil }
                    appendedElements[key] = nil
                }
                appendedText[key, default: ""] += more
            case .array(let more):
                if appendedElements[key] == nil {
                    if let base = fields[key], base.arrayValue == nil, base != .null { fields[key] = nil }
                    appendedText[key] = nil
                }
                appendedElements[key, default: []] += more
            case .object(let more):
                // Deltas of objects are rare (no type Anthropic documents
                // sends one), so they are merged into the value directly.
                let merged = Self.merge(more, into: value(of: key))
                replace(key, with: merged)
            default:
                replace(key, with: piece)
            }
        }

        private mutating func append(_ element: JSONValue, to key: String) {
            if appendedElements[key] == nil {
                if let base = fields[key], base.arrayValue == nil { fields[key] = nil }
                appendedText[key] = nil
            }
            appendedElements[key, default: []].append(element)
        }

        private mutating func replace(_ key: String, with value: JSONValue) {
            fields[key] = value
            appendedText[key] = nil
            appendedElements[key] = nil
        }

        /// `more` merged member by member into `base` by the same rules.
        private static func merge(_ more: [String: JSONValue], into base: JSONValue?) -> JSONValue {
            var members = base?.objectValue ?? [:]
            for (key, value) in more {
                switch (members[key], value) {
                case (_, .null):
                    continue
                case (.string(let text)?, .string(let piece)):
                    members[key] = .string(text + piece)
                case (.array(let list)?, .array(let elements)):
                    members[key] = .array(list + elements)
                case (let existing, .object(let nested)):
                    members[key] = merge(nested, into: existing)
                default:
                    members[key] = value
                }
            }
            return .object(members)
        }

        /// Parses the joined tool input into `input`; false if it is not JSON.
        mutating func finish() -> Bool {
            guard sawInputJSON else { return true }
            sawInputJSON = false
            defer { inputText = [] }
            if inputText.allSatisfy(Self.isWhitespace) {
                // A tool called without arguments streams no input text.
                replace("input", with: .object([:]))
                return true
            }
            guard let input = try? JSONValue(parsing: inputText) else { return false }
            replace("input", with: input)
            return true
        }

        /// The field `key` as assembled so far.
        private func value(of key: String) -> JSONValue? {
            if let text = appendedText[key] { return .string((fields[key]?.stringValue ?? "") + text) }
            if let elements = appendedElements[key] { return .array((fields[key]?.arrayValue ?? []) + elements) }
            return fields[key]
        }

        /// The assembled block.
        var json: JSONValue {
            var object = fields
            for key in appendedText.keys { object[key] = value(of: key) }
            for key in appendedElements.keys { object[key] = value(of: key) }
            return .object(object)
        }

        private static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
        }
    }
}
