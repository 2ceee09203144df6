import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// OpenAI's Responses API: `POST /v1/responses` and the stored responses
/// behind `GET`/`DELETE /v1/responses/{id}`.
///
/// The answer is built once, as the object a non-streamed call returns; a
/// stream is cut from that same object, so its `response.completed` carries
/// what the non-streamed call would have (ids and times aside).
extension FakeUpstream {
    /// A created response, as `GET /v1/responses/{id}` returns it.
    struct StoredResponse: Sendable {
        /// The response object, serialized.
        var body: Data
        /// The input items, oldest first, serialized as a JSON array.
        var inputItems: Data
        /// 1 for a response without `previous_response_id`, else the
        /// previous one's turn plus one.
        var turn: Int
        /// Its `usage.total_tokens`: what a chained response counts as context.
        var totalTokens: Int
    }

    /// The responses kept for lookups and chaining: the last ``capacity``,
    /// the oldest forgotten first (a ring, so a benchmark's millions of calls
    /// cost no more memory than ten thousand).
    struct ResponseStore: Sendable {
        static let capacity = 10_000
        var byID: [String: StoredResponse] = [:]
        var ring: [String] = []
        var next = 0

        mutating func insert(_ response: StoredResponse, id: String) {
            if ring.count < Self.capacity {
                ring.append(id)
            } else {
                byID.removeValue(forKey: ring[next])
                ring[next] = id
                next = (next + 1) % Self.capacity
            }
            byID[id] = response
        }
    }

    func addResponsesRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/responses") { request, _ in try await self.responses(request) }
        router.get("/v1/responses/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let stored = self.storedResponses.withLock({ $0.byID[id] }) else { return Self.responseNotFound(id) }
            return Self.json(data: stored.body)
        }
        router.delete("/v1/responses/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard self.storedResponses.withLock({ $0.byID.removeValue(forKey: id) }) != nil else { return Self.responseNotFound(id) }
            return Self.json(["id": id, "object": "response", "deleted": true])
        }
        router.get("/v1/responses/{id}/input_items") { request, context in
            let id = context.parameters.get("id") ?? ""
            guard let stored = self.storedResponses.withLock({ $0.byID[id] }) else { return Self.responseNotFound(id) }
            var items = (try? JSONSerialization.jsonObject(with: stored.inputItems)) as? [[String: Any]] ?? []
            // The real API lists the newest first unless asked otherwise.
            if request.uri.queryParameters.get("order") != "asc" { items.reverse() }
            let limit = request.uri.queryParameters.get("limit").flatMap { Int($0) } ?? 20
            let page = Array(items.prefix(max(1, limit)))
            return Self.json([
                "object": "list", "data": page, "first_id": page.first?["id"] ?? NSNull(), "last_id": page.last?["id"] ?? NSNull(),
                "has_more": items.count > page.count,
            ])
        }
    }

    static func responseNotFound(_ id: String) -> Response {
        openAIError(.notFound, "Response with id '\(id)' not found.")
    }

    /// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
    static func openAIError(_ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", param: String? = nil, code: String? = nil) -> Response {
        json(["error": ["message": message, "type": type, "param": param ?? NSNull(), "code": code ?? NSNull()] as [String: Any]], status: status)
    }

    func responses(_ request: Request) async throws -> Response {
        guard let object = try? await body(request) else {
            return Self.openAIError(.badRequest, "We could not parse the JSON body of your request. The body must be a JSON object.")
        }
        let stream = object["stream"] as? Bool ?? false
        counts.withLock {
            $0.responses += 1
            if stream { $0.responseStreams += 1 }
        }
        if let forced = forcedError(request) { return forced }
        guard let model = object["model"] as? String else {
            return Self.openAIError(.badRequest, "Missing required parameter: 'model'.", param: "model", code: "missing_required_parameter")
        }
        let maxOutputTokens = (object["max_output_tokens"] as? NSNumber)?.intValue
        if let maxOutputTokens, maxOutputTokens < 16 {
            return Self.openAIError(
                .badRequest, "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got \(maxOutputTokens) instead.",
                param: "max_output_tokens", code: "integer_below_min_value"
            )
        }
        let previousID = object["previous_response_id"] as? String
        var previous: StoredResponse?
        if let previousID {
            previous = storedResponses.withLock { $0.byID[previousID] }
            if previous == nil {
                return Self.openAIError(.badRequest, "Previous response with id '\(previousID)' not found.", param: "previous_response_id", code: "previous_response_not_found")
            }
        }
        if delay > .zero { try await Task.sleep(for: delay) }

        let items = Self.inputItems(object["input"])
        let instructions = object["instructions"] as? String
        let lastUser = items.last { $0["type"] as? String == "message" && $0["role"] as? String == "user" }
        let text = Self.text(of: lastUser?["content"])
        // After a tool ran, a model answers from its output instead of calling again.
        let toolOutput = items.last.flatMap { $0["type"] as? String == "function_call_output" ? Self.text(of: $0["output"]) : nil }
        let tools = object["tools"] as? [[String: Any]] ?? []
        let toolChoiceNone = object["tool_choice"] as? String == "none"
        let toolName = toolOutput == nil && !toolChoiceNone ? tools.first { $0["type"] as? String == "function" }?["name"] as? String : nil
        let reasoningRequested = object["reasoning"] is [String: Any]
        let summary = request.headers[Self.reasoningHeader] != nil || reasoningRequested
            ? "**Echoing the user**\n\nThe user wrote \(text.count) characters; answer by echoing them." : nil
        let turn = (previous?.turn ?? 0) + 1

        var answer = ""
        if let instructions, !instructions.isEmpty { answer += "[instructions: \(instructions)] " }
        answer += toolOutput.map { "The tool returned: \($0)." } ?? "You said: \(text)."
        answer += " This answer comes from the stand-in upstream, word by word."
        if let previousID { answer += " Turn \(turn), after \(previousID)." }
        // A sampling model answers differently each time; a cache must not
        // hide that, so sampled answers here differ too.
        if let temperature = (object["temperature"] as? NSNumber)?.doubleValue, temperature > 0 {
            answer += " Sample \(samples.add(1, ordering: .relaxed).newValue)."
        }
        let arguments = toolName.map { _ in Self.jsonText(["query": text, "limit": 3]) }

        // Tokens are words, so a test can work the counts out by hand; a
        // chained response has the whole conversation before it as context,
        // whose prefix the real API finds in its prompt cache.
        let context = previous?.totalTokens ?? 0
        let inputTokens = max(1, Self.words(instructions ?? "") + items.reduce(0) { $0 + Self.words(Self.itemText($1)) }) + context
        let reasoningTokens = summary.map { Self.words($0) } ?? 0
        var incomplete = false
        if toolName == nil, let maxOutputTokens, reasoningTokens + Self.words(answer) > maxOutputTokens {
            answer = answer.split(separator: " ").prefix(max(1, maxOutputTokens - reasoningTokens)).joined(separator: " ")
            incomplete = true
        }
        let outputTokens = reasoningTokens + Self.words(arguments ?? answer)
        let usage: [String: Any] = [
            "input_tokens": inputTokens, "input_tokens_details": ["cached_tokens": context, "cache_write_tokens": 0],
            "output_tokens": outputTokens, "output_tokens_details": ["reasoning_tokens": reasoningTokens],
            "total_tokens": inputTokens + outputTokens,
        ]

        let responseID = Self.uniqueID("resp_")
        let created = Int(Date().timeIntervalSince1970)
        let reasoningID = Self.uniqueID("rs_")
        let messageID = Self.uniqueID("msg_")
        let callItemID = Self.uniqueID("fc_")
        let callID = "call_" + Self.uniqueID("").prefix(24)
        let textPart: [String: Any] = ["type": "output_text", "text": answer, "annotations": [Any](), "logprobs": [Any]()]
        let reasoningItem: [String: Any]? = summary.map { ["id": reasoningID, "type": "reasoning", "summary": [["type": "summary_text", "text": $0]]] }
        let finalItem: [String: Any] = if let toolName, let arguments {
            ["id": callItemID, "type": "function_call", "status": "completed", "arguments": arguments, "call_id": callID, "name": toolName]
        } else {
            ["id": messageID, "type": "message", "status": incomplete ? "incomplete" : "completed", "role": "assistant", "content": [textPart]]
        }
        let output = (reasoningItem.map { [$0] } ?? []) + [finalItem]
        let background = object["background"] as? Bool ?? false
        let store = object["store"] as? Bool ?? true
        let reasoning = object["reasoning"] as? [String: Any] ?? [:]

        /// The response object at a given moment of its life.
        func response(status: String, output: [[String: Any]], usage: Any = NSNull(), error: Any = NSNull()) -> [String: Any] {
            [
                "id": responseID, "object": "response", "created_at": created, "status": status,
                "background": background, "error": error,
                "incomplete_details": status == "incomplete" ? ["reason": "max_output_tokens"] : NSNull(),
                "completed_at": status == "completed" ? created : NSNull(),
                "instructions": object["instructions"] ?? NSNull(),
                "max_output_tokens": object["max_output_tokens"] ?? NSNull(), "max_tool_calls": object["max_tool_calls"] ?? NSNull(),
                "model": model, "output": output,
                "parallel_tool_calls": object["parallel_tool_calls"] ?? true,
                "previous_response_id": previousID ?? NSNull(),
                "prompt_cache_key": object["prompt_cache_key"] ?? NSNull(),
                "reasoning": ["effort": reasoning["effort"] ?? NSNull(), "summary": reasoning["summary"] ?? NSNull()],
                "safety_identifier": object["safety_identifier"] ?? NSNull(),
                "service_tier": "default", "store": store,
                "temperature": object["temperature"] ?? 1.0,
                "text": object["text"] ?? ["format": ["type": "text"], "verbosity": "medium"],
                "tool_choice": object["tool_choice"] ?? "auto", "tools": tools,
                "top_logprobs": object["top_logprobs"] ?? 0, "top_p": object["top_p"] ?? 1.0,
                "truncation": object["truncation"] ?? "disabled",
                "usage": usage, "user": object["user"] ?? NSNull(), "metadata": object["metadata"] ?? [String: Any](),
            ]
        }
        let finalStatus = incomplete ? "incomplete" : "completed"
        let final = response(status: finalStatus, output: output, usage: usage)
        let streamError = stream && request.headers[Self.streamErrorHeader] != nil
        let failed = response(status: "failed", output: [], error: ["code": "server_error", "message": "The model failed to generate a response (X-Fake-Stream-Error)."])
        if store {
            let stored = StoredResponse(
                body: (try? JSONSerialization.data(withJSONObject: streamError ? failed : final)) ?? Data(),
                inputItems: (try? JSONSerialization.data(withJSONObject: items)) ?? Data("[]".utf8),
                turn: turn, totalTokens: inputTokens + outputTokens
            )
            storedResponses.withLock { $0.insert(stored, id: responseID) }
        }
        if !stream {
            // A background response is "finished" at once: a GET finds it done.
            return Self.json(background ? response(status: "queued", output: []) : final)
        }

        // The events, each numbered by its place when written.
        var events: [(String, [String: Any])] = []
        let started = response(status: background ? "queued" : "in_progress", output: [])
        events.append(("response.created", ["response": started]))
        events.append(("response.in_progress", ["response": response(status: "in_progress", output: [])]))
        var deltas = 0
        // Where X-Fake-Stream-Error cuts the stream: after the third delta.
        var cut: Int?
        func delta(_ type: String, _ fields: [String: Any]) {
            events.append((type, fields))
            deltas += 1
            if deltas == 3 { cut = events.count }
        }
        var index = 0
        if let reasoningItem, let summary {
            let ids: [String: Any] = ["item_id": reasoningID, "output_index": index, "summary_index": 0]
            events.append(("response.output_item.added", ["output_index": index, "item": ["id": reasoningID, "type": "reasoning", "summary": [Any]()]]))
            events.append(("response.reasoning_summary_part.added", ids.merging(["part": ["type": "summary_text", "text": ""]]) { $1 }))
            for piece in Self.pieces(summary) { delta("response.reasoning_summary_text.delta", ids.merging(["delta": piece]) { $1 }) }
            events.append(("response.reasoning_summary_text.done", ids.merging(["text": summary]) { $1 }))
            events.append(("response.reasoning_summary_part.done", ids.merging(["part": ["type": "summary_text", "text": summary]]) { $1 }))
            events.append(("response.output_item.done", ["output_index": index, "item": reasoningItem]))
            index += 1
        }
        if let toolName, let arguments {
            var started = finalItem
            started["arguments"] = ""
            started["status"] = "in_progress"
            events.append(("response.output_item.added", ["output_index": index, "item": started]))
            var rest = Substring(arguments)
            while !rest.isEmpty {
                delta("response.function_call_arguments.delta", ["item_id": callItemID, "output_index": index, "delta": String(rest.prefix(7))])
                rest = rest.dropFirst(7)
            }
            events.append(("response.function_call_arguments.done", ["item_id": callItemID, "output_index": index, "arguments": arguments, "name": toolName]))
        } else {
            let ids: [String: Any] = ["item_id": messageID, "output_index": index, "content_index": 0]
            events.append(("response.output_item.added", ["output_index": index, "item": ["id": messageID, "type": "message", "status": "in_progress", "role": "assistant", "content": [Any]()]]))
            events.append(("response.content_part.added", ids.merging(["part": ["type": "output_text", "text": "", "annotations": [Any](), "logprobs": [Any]()]]) { $1 }))
            for piece in Self.pieces(answer) { delta("response.output_text.delta", ids.merging(["delta": piece, "logprobs": [Any]()]) { $1 }) }
            events.append(("response.output_text.done", ids.merging(["text": answer, "logprobs": [Any]()]) { $1 }))
            events.append(("response.content_part.done", ids.merging(["part": textPart]) { $1 }))
        }
        events.append(("response.output_item.done", ["output_index": index, "item": finalItem]))
        if streamError {
            events = Array(events.prefix(cut ?? events.count))
            events.append(("response.failed", ["response": failed]))
        }
        let terminal = streamError ? nil : Self.responseEvent("response.\(finalStatus)", ["response": final], sequence: events.count)
        let frames = events.enumerated().map { Self.responseEvent($1.0, $1.1, sequence: $0) }
        return streamResponse(frames: frames, terminal: terminal, terminalIsEvent: true, request: request)
    }

    /// One Responses stream event: its `type` both as the SSE event name and
    /// in the data, with its `sequence_number`.
    static func responseEvent(_ type: String, _ fields: [String: Any], sequence: Int) -> ByteBuffer {
        var payload = fields
        payload["type"] = type
        payload["sequence_number"] = sequence
        return frame(type, payload)
    }

    /// `input` as the list of items the API keeps: a string is one user
    /// message, a message's string content becomes one text part, and each
    /// item gets an id.
    static func inputItems(_ input: Any?) -> [[String: Any]] {
        if let text = input as? String { return inputItems([["role": "user", "content": text]]) }
        guard let list = input as? [[String: Any]] else { return [] }
        return list.map { original in
            var item = original
            if item["type"] == nil, item["role"] != nil { item["type"] = "message" }
            if item["type"] as? String == "message" {
                if let text = item["content"] as? String {
                    item["content"] = [["type": item["role"] as? String == "assistant" ? "output_text" : "input_text", "text": text]]
                }
                if item["status"] == nil { item["status"] = "completed" }
            }
            if item["id"] == nil {
                item["id"] = uniqueID(item["type"] as? String == "message" ? "msg_" : "item_")
            }
            return item
        }
    }

    /// The words of an input item, for counting tokens.
    static func itemText(_ item: [String: Any]) -> String {
        [text(of: item["content"]), text(of: item["output"]), item["arguments"] as? String ?? ""].joined(separator: " ")
    }

    /// An id as the APIs make them: `prefix`, then 48 hex digits.
    static func uniqueID(_ prefix: String) -> String {
        prefix + (0..<3).map { _ in
            let hex = String(UInt64.random(in: .min ... .max), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// `text` in the pieces a stream sends it in: word by word, each but the
    /// first with its leading space.
    static func pieces(_ text: String) -> [String] {
        text.split(separator: " ", omittingEmptySubsequences: false).enumerated().map { i, word in (i == 0 ? "" : " ") + word }
    }

    static func words(_ text: String) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }

    /// `object` as compact JSON with sorted keys, so equal inputs give equal text.
    static func jsonText(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data(), as: UTF8.self)
    }

    static func json(data: Data, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
