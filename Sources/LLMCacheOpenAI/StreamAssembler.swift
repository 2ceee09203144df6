import LLMCache

/// Rebuilds the complete response from the events of a streamed one: the
/// `chat.completion` a non-streamed call would have returned, from
/// `chat.completion.chunk` events (or a `text_completion` from legacy
/// completion chunks).
///
/// Concatenates content, refusal and tool-call arguments per choice and per
/// call index; keeps the id, created, model and system fingerprint of the
/// first chunk, the finish reason of each choice and the last usage seen.
/// A value type: use one per stream.
public struct StreamAssembler: Sendable {
    private struct ToolCallParts: Sendable {
        var id: String?
        var type: String?
        var name = ""
        var arguments = ""
    }

    private struct ChoiceParts: Sendable {
        var role: String?
        var content: String?
        var refusal: String?
        var text = ""
        var toolCalls: [Int: ToolCallParts] = [:]
        var finishReason: JSONValue = .null
    }

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

    public init() {}

    /// Consumes the data of one event. Events that are not JSON objects are
    /// counted as errors, since the stream can no longer be trusted whole.
    public mutating func consume(event data: [UInt8]) {
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
        if header.isEmpty {
            for name in ["id", "created", "model", "system_fingerprint"] {
                if let value = fields[name] { header[name] = value }
            }
            legacy = fields["object"]?.stringValue == "text_completion"
        } else if header["system_fingerprint"] == nil || header["system_fingerprint"] == .null, let fingerprint = fields["system_fingerprint"] {
            header["system_fingerprint"] = fingerprint
        }
        if let chunkUsage = fields["usage"], chunkUsage != .null { usage = chunkUsage }
        for choice in fields["choices"]?.arrayValue ?? [] {
            let index = choice["index"]?.numberValue?.intValue ?? 0
            var parts = choices[index] ?? ChoiceParts()
            if let reason = choice["finish_reason"], reason != .null { parts.finishReason = reason }
            if let text = choice["text"]?.stringValue { parts.text += text }
            if let delta = choice["delta"] {
                if let role = delta["role"]?.stringValue { parts.role = role }
                if let content = delta["content"]?.stringValue { parts.content = (parts.content ?? "") + content }
                if let refusal = delta["refusal"]?.stringValue { parts.refusal = (parts.refusal ?? "") + refusal }
                for call in delta["tool_calls"]?.arrayValue ?? [] {
                    let callIndex = call["index"]?.numberValue?.intValue ?? 0
                    var callParts = parts.toolCalls[callIndex] ?? ToolCallParts()
                    if let id = call["id"]?.stringValue { callParts.id = id }
                    if let type = call["type"]?.stringValue { callParts.type = type }
                    if let name = call["function"]?["name"]?.stringValue { callParts.name += name }
                    if let arguments = call["function"]?["arguments"]?.stringValue { callParts.arguments += arguments }
                    parts.toolCalls[callIndex] = callParts
                }
            }
            choices[index] = parts
        }
    }

    /// Whether the stream ended as a complete answer: `[DONE]` seen, no error
    /// event, and at least one chunk.
    public var isComplete: Bool { sawDone && !sawError && eventCount > 0 }

    /// The assembled response.
    public var response: JSONValue {
        var object = header
        object["object"] = .string(legacy ? "text_completion" : "chat.completion")
        object["choices"] = .array(choices.keys.sorted().map { index in
            let parts = choices[index]!
            if legacy {
                return .object(["index": .number(JSONNumber(index)), "text": .string(parts.text), "finish_reason": parts.finishReason, "logprobs": .null])
            }
            var message: [String: JSONValue] = [
                "role": .string(parts.role ?? "assistant"),
                "content": parts.content.map(JSONValue.string) ?? .null,
            ]
            if let refusal = parts.refusal { message["refusal"] = .string(refusal) }
            if !parts.toolCalls.isEmpty {
                message["tool_calls"] = .array(parts.toolCalls.keys.sorted().map { callIndex in
                    let call = parts.toolCalls[callIndex]!
                    return .object([
                        "id": call.id.map(JSONValue.string) ?? .null,
                        "type": .string(call.type ?? "function"),
                        "function": .object(["name": .string(call.name), "arguments": .string(call.arguments)]),
                    ])
                })
            }
            return .object(["index": .number(JSONNumber(index)), "message": .object(message), "finish_reason": parts.finishReason, "logprobs": .null])
        })
        if let usage { object["usage"] = usage }
        return .object(object)
    }
}
