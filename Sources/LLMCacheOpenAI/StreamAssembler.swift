import LLMCache

/// Rebuilds the complete response from the events of a streamed one: the
/// `chat.completion` a non-streamed call would have returned, from
/// `chat.completion.chunk` events (or a `text_completion` from legacy
/// completion chunks).
///
/// Every field the chunks carry is kept, merged the way the streaming format
/// defines:
/// - Top level: `id`, `created` and `model` of the first chunk that has them;
///   `usage` the last non-null one; `system_fingerprint`, `service_tier` and
///   any other field the last non-null value seen (member by member for an
///   object). `object` becomes `chat.completion` (or stays
///   `text_completion`). `obfuscation`, the random padding OpenAI adds to each
///   chunk, is dropped: it is no part of the answer.
/// - Per choice (by `index`): the last non-null `finish_reason`; other fields
///   (vLLM's `stop_reason`, Azure's `content_filter_results`) as at the top
///   level; `logprobs` merged, its arrays (`content`, `refusal`, or the legacy
///   `tokens`, `token_logprobs`, `top_logprobs`, `text_offset`) concatenated,
///   `null` when no chunk had any.
/// - Per delta, into the message: strings (`content`, `refusal`,
///   `reasoning_content`, `reasoning`, …) and arrays (`annotations`, …)
///   concatenated; objects (`audio`, `function_call`, …) merged member by
///   member the same way, except that `id`, `type`, `index`, `expires_at` and
///   `role` are replaced rather than joined; numbers and booleans replaced.
///   `tool_calls` are merged per call `index` with those rules, so a call
///   keeps every field it was sent. A field only ever sent as `null` stays
///   `null`; a field never sent is absent, except `role` (default
///   `assistant`) and `content` (default `null`).
///
/// Each piece is appended in place, so assembly takes time linear in the
/// stream's size. A value type: use one per stream.
public struct StreamAssembler: StreamAssembling {
    private var header: [String: JSONValue] = [:]
    private var choices: [Int: ChoiceParts] = [:]
    private var usage: JSONValue?
    private var legacy = false
    /// Whether an `{"error": ...}` event was seen: such a stream is not a complete answer.
    public private(set) var sawError = false
    /// Whether the `[DONE]` event was seen.
    public private(set) var sawDone = false
    /// Events consumed, `[DONE]` excluded.
    public private(set) var eventCount = 0
    /// Whether the last event consumed was the chunk `include_usage` adds:
    /// no choices, only the usage.
    public private(set) var lastWasUsageOnly = false

    public init() {}

    /// Consumes the data of one event. Events that are not JSON objects are
    /// counted as errors, since the stream can no longer be trusted whole.
    public mutating func consume(event data: [UInt8]) {
        lastWasUsageOnly = false
        if data == SSEParser.doneMarker {
            sawDone = true
            return
        }
        eventCount += 1
        guard let chunk = try? JSONValue(parsing: data), case .object(let fields) = chunk else {
            sawError = true
            return
        }
        if fields["error"] != nil {
            sawError = true
            return
        }
        if let usage = fields["usage"], usage != .null, fields["choices"]?.arrayValue?.isEmpty == true {
            lastWasUsageOnly = true
        }
        for (name, value) in fields {
            switch name {
            case "choices":
                for choice in value.arrayValue ?? [] {
                    guard case .object(let choiceFields) = choice else { continue }
                    let index = choiceFields["index"]?.numberValue?.intValue ?? 0
                    choices[index, default: ChoiceParts()].consume(choiceFields)
                }
            case "usage":
                if value != .null { usage = value }
            case "object":
                if value.stringValue == "text_completion" { legacy = true }
            case "obfuscation":
                continue
            case "id", "created", "model":
                // Azure opens with a chunk of empty id and model and zero
                // created (it carries only prompt filter results), so those
                // do not count as the first chunk's values.
                if header[name].map({ !Self.isMeaningful($0) }) ?? true, Self.isMeaningful(value) || header[name] == nil {
                    header[name] = value
                }
            default:
                header[name] = Self.overlay(value, on: header[name])
            }
        }
    }

    /// Whether the stream ended as a complete answer: `[DONE]` seen, no error
    /// event, and at least one chunk.
    public var isComplete: Bool { sawDone && !sawError && eventCount > 0 }

    /// ``sawDone``: `[DONE]` ends a chat stream.
    public var sawEnd: Bool { sawDone }

    /// An `{"error": ...}` event in OpenAI's error shape, code `timeout`.
    public static func errorEvent(message: String) -> [UInt8] {
        let body: JSONValue = .object([
            "error": .object([
                "message": .string(message),
                "type": .string("upstream_error"),
                "param": .null,
                "code": .string("timeout"),
            ])
        ])
        return SSEParser.event(body.jsonBytes)
    }

    /// The assembled response.
    public var response: JSONValue {
        var object = header
        object["object"] = .string(legacy ? "text_completion" : "chat.completion")
        object["choices"] = .array(choices.keys.sorted().map { index in
            choices[index]!.choice(index: index, legacy: legacy)
        })
        if let usage { object["usage"] = usage }
        return .object(object)
    }

    /// A field repeated in every chunk: the last non-null value wins, member
    /// by member for objects, so that Azure's final `content_filter_results: {}`
    /// does not erase the results an earlier chunk gave.
    static func overlay(_ value: JSONValue, on previous: JSONValue?) -> JSONValue {
        guard let previous else { return value }
        switch (previous, value) {
        case (_, .null):
            return previous
        case (.object(var merged), .object(let members)):
            for (key, member) in members { merged[key] = overlay(member, on: merged[key]) }
            return .object(merged)
        default:
            return value
        }
    }

    private static func isMeaningful(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return false
        case .string(let text): return !text.isEmpty
        case .number(let number): return number.intValue != 0
        default: return true
        }
    }
}

extension StreamAssembler {
    /// Keys of a streamed object whose every piece is the whole value:
    /// joining two ids or types would corrupt them.
    static let replacedKeys: Set<String> = ["id", "type", "index", "expires_at", "role"]

    /// A value being put together from the pieces of a stream.
    ///
    /// Strings, arrays and objects are kept in their own cases so that a
    /// piece is appended to the existing storage rather than copied into a
    /// new value, which would make a long answer quadratic to assemble.
    enum Piece: Sendable {
        case value(JSONValue)
        case text(String)
        case list([JSONValue])
        case members([String: Piece])

        /// Adds one streamed piece: `null` changes nothing, strings and arrays
        /// are appended, objects merged member by member, anything else (or
        /// anything when `replacing`) replaces what was there.
        mutating func merge(_ piece: JSONValue, replacing: Bool = false) {
            switch piece {
            case .null:
                return
            case .string(let more) where !replacing:
                guard case .text(var text) = self else {
                    self = .text(more)
                    return
                }
                // Releases this value's hold on the storage, so the append
                // happens in place.
                self = .value(.null)
                text += more
                self = .text(text)
            case .array(let more) where !replacing:
                guard case .list(var list) = self else {
                    self = .list(more)
                    return
                }
                self = .value(.null)
                list += more
                self = .list(list)
            case .object(let more) where !replacing:
                var members: [String: Piece] = [:]
                if case .members(let existing) = self {
                    self = .value(.null)
                    members = existing
                }
                Self.merge(more, into: &members)
                self = .members(members)
            default:
                self = .value(piece)
            }
        }

        /// Merges the fields of an object piece into `members`. A key first
        /// sent as `null` is recorded, so that it comes out as `null`.
        static func merge(_ fields: [String: JSONValue], into members: inout [String: Piece]) {
            for (key, value) in fields {
                members[key, default: .value(.null)].merge(value, replacing: StreamAssembler.replacedKeys.contains(key))
            }
        }

        /// The assembled value.
        var json: JSONValue {
            switch self {
            case .value(let value): return value
            case .text(let text): return .string(text)
            case .list(let list): return .array(list)
            case .members(let members): return .object(members.mapValues(\.json))
            }
        }
    }

    /// What the chunks of one choice have said so far.
    struct ChoiceParts: Sendable {
        /// Delta fields other than `tool_calls`.
        var message: [String: Piece] = [:]
        /// Tool calls by their `index`.
        var toolCalls: [Int: [String: Piece]] = [:]
        /// The call the last piece without an index went to.
        var lastCallIndex: Int?
        /// `nil` until a chunk sends `tool_calls`; then whether it was ever an array.
        var sawToolCallArray: Bool?
        /// Legacy completions: the text so far.
        var text = ""
        var logprobs = Piece.value(.null)
        var finishReason = JSONValue.null
        /// Choice fields the format does not define, last non-null value.
        var other: [String: JSONValue] = [:]

        mutating func consume(_ choice: [String: JSONValue]) {
            for (name, value) in choice {
                switch name {
                case "index":
                    continue
                case "finish_reason":
                    if value != .null { finishReason = value }
                case "logprobs":
                    logprobs.merge(value)
                case "text":
                    if let piece = value.stringValue { text += piece }
                case "delta":
                    guard case .object(let delta) = value else { continue }
                    for (key, field) in delta {
                        if key == "tool_calls" {
                            consume(toolCalls: field)
                        } else {
                            message[key, default: .value(.null)].merge(field, replacing: StreamAssembler.replacedKeys.contains(key))
                        }
                    }
                default:
                    other[name] = StreamAssembler.overlay(value, on: other[name])
                }
            }
        }

        private mutating func consume(toolCalls field: JSONValue) {
            guard case .array(let calls) = field else {
                if sawToolCallArray == nil { sawToolCallArray = false }
                return
            }
            sawToolCallArray = true
            for call in calls {
                guard case .object(let fields) = call else { continue }
                let index = callIndex(of: fields)
                lastCallIndex = index
                Piece.merge(fields, into: &toolCalls[index, default: [:]])
            }
        }

        /// The call a piece belongs to. OpenAI always numbers them; for a
        /// provider that does not, a new id starts a new call and a piece
        /// without one continues the last call.
        private func callIndex(of call: [String: JSONValue]) -> Int {
            if let index = call["index"]?.numberValue?.intValue { return index }
            if let id = call["id"], id != .null {
                if let known = toolCalls.first(where: { $0.value["id"]?.json == id }) { return known.key }
                return (toolCalls.keys.max() ?? -1) + 1
            }
            return lastCallIndex ?? 0
        }

        func choice(index: Int, legacy: Bool) -> JSONValue {
            var object = other
            object["index"] = .number(JSONNumber(index))
            object["finish_reason"] = finishReason
            object["logprobs"] = logprobs.json
            if legacy {
                object["text"] = .string(text)
            } else {
                object["message"] = .object(assembledMessage)
            }
            return .object(object)
        }

        /// The message as a non-streamed call returns it.
        private var assembledMessage: [String: JSONValue] {
            var fields = message.mapValues(\.json)
            if fields["role"]?.stringValue == nil { fields["role"] = .string("assistant") }
            if fields["content"] == nil { fields["content"] = .null }
            switch sawToolCallArray {
            case true?:
                fields["tool_calls"] = .array(toolCalls.keys.sorted().map { index in
                    var call = toolCalls[index]!.mapValues(\.json)
                    // The index only says which call a piece belongs to; a
                    // non-streamed call has none.
                    call["index"] = nil
                    if call["id"] == nil { call["id"] = .null }
                    if call["type"] == nil { call["type"] = .string("function") }
                    if call["type"] == .string("function") {
                        var function = call["function"]?.objectValue ?? [:]
                        if function["name"] == nil { function["name"] = .string("") }
                        if function["arguments"] == nil { function["arguments"] = .string("") }
                        call["function"] = .object(function)
                    }
                    return .object(call)
                })
            case false?:
                fields["tool_calls"] = .null
            case nil:
                break
            }
            return fields
        }
    }
}
