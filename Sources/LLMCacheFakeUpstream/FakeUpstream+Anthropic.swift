import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Anthropic's Messages API: `POST /v1/messages` and
/// `POST /v1/messages/count_tokens`, with Anthropic's headers, error bodies
/// and named stream events.
///
/// As with the Responses API, the answer is built once as the Message a
/// non-streamed call returns, and a stream is cut from it.
extension FakeUpstream {
    /// The prompt prefixes marked with `cache_control` that were seen, so the
    /// first call with a prefix reports it written to the cache and later ones
    /// read from it. Forgotten all at once past ``capacity``, as a real cache
    /// forgets, so a long benchmark keeps no more.
    struct PromptCache: Sendable {
        static let capacity = 10_000
        var prefixes: Set<String> = []

        /// Whether `prefix` was seen before; remembers it.
        mutating func seen(_ prefix: String) -> Bool {
            if prefixes.count >= Self.capacity { prefixes.removeAll(keepingCapacity: true) }
            return !prefixes.insert(prefix).inserted
        }
    }

    static let anthropicVersionHeader = HTTPField.Name("anthropic-version")!
    static let apiKeyHeader = HTTPField.Name("x-api-key")!

    func addAnthropicRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/messages") { request, _ in try await self.messages(request) }
        router.post("/v1/messages/count_tokens") { request, _ in try await self.countTokens(request) }
    }

    /// An error in Anthropic's shape:
    /// `{"type": "error", "error": {"type", "message"}, "request_id"}`.
    static func anthropicError(_ status: Int, type: String, message: String, headers: [HTTPField.Name: String] = [:]) -> Response {
        var body: [String: Any] = ["type": "error", "error": ["type": type, "message": message]]
        if let requestID { body["request_id"] = requestID }
        var response = json(body, status: HTTPResponse.Status(code: status))
        for (name, value) in headers { response.headers[name] = value }
        return response
    }

    /// The error type Anthropic gives each status.
    static func anthropicErrorType(_ status: Int) -> String {
        switch status {
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 504: "timeout_error"
        case 529: "overloaded_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    /// The checks every Messages route makes before reading the body, as the
    /// real API makes them: the key, then the version, then `X-Fake-Status`.
    func anthropicRejection(_ request: Request) -> Response? {
        let key = request.headers[Self.apiKeyHeader] ?? request.headers[.authorization]
        if key?.isEmpty ?? true {
            return Self.anthropicError(401, type: "authentication_error", message: "x-api-key header is required")
        }
        if request.headers[Self.anthropicVersionHeader] == nil {
            return Self.anthropicError(400, type: "invalid_request_error", message: "anthropic-version: header is required")
        }
        guard let text = request.headers[Self.statusHeader], let code = Int(text) else { return nil }
        let type = Self.anthropicErrorType(code)
        var headers: [HTTPField.Name: String] = [:]
        if code == 429 || request.headers[Self.retryAfterHeader] != nil {
            headers[.retryAfter] = request.headers[Self.retryAfterHeader] ?? "1"
            headers[HTTPField.Name("anthropic-ratelimit-requests-remaining")!] = "0"
        }
        return Self.anthropicError(code, type: type, message: code == 529 ? "Overloaded" : "forced failure \(code) (X-Fake-Status)", headers: headers)
    }

    /// The body as a JSON object, or Anthropic's 400 for anything else.
    func anthropicBody(_ request: Request) async throws -> Result<[String: Any], AnthropicFailure> {
        let buffer = try await request.body.collect(upTo: 16 << 20)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) as? [String: Any] else {
            return .failure(AnthropicFailure(response: Self.anthropicError(400, type: "invalid_request_error", message: "The request body is not valid JSON: expected an object.")))
        }
        return .success(object)
    }

    /// An answer that ends a request early, carried through a `Result`.
    struct AnthropicFailure: Error {
        let response: Response
    }

    /// The headers Anthropic puts on every successful answer.
    static var anthropicHeaders: [HTTPField.Name: String] {
        let reset = Date().addingTimeInterval(60).formatted(.iso8601)
        var headers: [HTTPField.Name: String] = [HTTPField.Name("anthropic-organization-id")!: "00000000-0000-4000-8000-00000000fa4e"]
        for (kind, limit) in [("requests", 4000), ("tokens", 2_000_000), ("input-tokens", 1_600_000), ("output-tokens", 400_000)] {
            headers[HTTPField.Name("anthropic-ratelimit-\(kind)-limit")!] = "\(limit)"
            headers[HTTPField.Name("anthropic-ratelimit-\(kind)-remaining")!] = "\(limit - 1)"
            headers[HTTPField.Name("anthropic-ratelimit-\(kind)-reset")!] = reset
        }
        return headers
    }

    /// What a prompt costs in tokens, and which of them a `cache_control`
    /// marker covers.
    struct PromptTokens {
        var total: Int
        /// The tokens up to and including the last marked block, with the
        /// text that names that prefix; `nil` without a marker.
        var cached: (tokens: Int, key: String, hour: Bool)?
    }

    /// Counts `object`'s prompt in words: tools, then system, then messages,
    /// the order in which the real API caches a prefix.
    static func promptTokens(_ object: [String: Any]) -> PromptTokens {
        var blocks: [[String: Any]] = object["tools"] as? [[String: Any]] ?? []
        if let system = object["system"] as? String {
            blocks.append(["type": "text", "text": system])
        } else if let system = object["system"] as? [[String: Any]] {
            blocks += system
        }
        for message in object["messages"] as? [[String: Any]] ?? [] {
            if let text = message["content"] as? String {
                blocks.append(["type": "text", "text": text, "role": message["role"] ?? ""])
            } else {
                blocks += (message["content"] as? [[String: Any]] ?? []).map { $0.merging(["role": message["role"] ?? ""]) { old, _ in old } }
            }
        }
        // Automatic caching: a marker on the request covers the whole prompt.
        var last = object["cache_control"] != nil ? blocks.count - 1 : nil
        if let marked = blocks.lastIndex(where: { $0["cache_control"] != nil }) { last = max(last ?? marked, marked) }
        func tokens(_ block: [String: Any]) -> Int {
            if block["type"] as? String == "image" || block["type"] as? String == "document" { return 100 }
            let parts = [block["text"], block["thinking"], block["name"], block["description"], block["content"]].map { text(of: $0) }
            let input = block["input"].map { jsonText($0) } ?? ""
            return max(1, (parts + [input]).reduce(0) { $0 + words($1) })
        }
        let counts = blocks.map(tokens)
        let total = counts.reduce(0, +)
        guard let last, last >= 0 else { return PromptTokens(total: total) }
        let prefix = blocks[...last].map { block -> String in
            var block = block
            block["cache_control"] = nil
            return jsonText(block)
        }
        let marker = (blocks[last]["cache_control"] ?? object["cache_control"]) as? [String: Any]
        let key = (object["model"] as? String ?? "") + "\n" + prefix.joined(separator: "\n")
        return PromptTokens(total: total, cached: (counts[...last].reduce(0, +), key, marker?["ttl"] as? String == "1h"))
    }

    func countTokens(_ request: Request) async throws -> Response {
        counts.withLock { $0.countTokens += 1 }
        if let rejection = anthropicRejection(request) { return rejection }
        let object: [String: Any]
        switch try await anthropicBody(request) {
        case .success(let value): object = value
        case .failure(let failure): return failure.response
        }
        if object["messages"] == nil { return Self.anthropicError(400, type: "invalid_request_error", message: "messages: Field required") }
        return Self.json(["input_tokens": Self.promptTokens(object).total])
    }

    func messages(_ request: Request) async throws -> Response {
        let object: [String: Any]
        let parsed = try await anthropicBody(request)
        let stream = (try? parsed.get())?["stream"] as? Bool ?? false
        counts.withLock {
            $0.messages += 1
            if stream { $0.messageStreams += 1 }
        }
        if let rejection = anthropicRejection(request) { return rejection }
        switch parsed {
        case .success(let value): object = value
        case .failure(let failure): return failure.response
        }
        for field in ["model", "max_tokens", "messages"] where object[field] == nil {
            return Self.anthropicError(400, type: "invalid_request_error", message: "\(field): Field required")
        }
        guard let maxTokens = (object["max_tokens"] as? NSNumber)?.intValue, maxTokens >= 1 else {
            return Self.anthropicError(400, type: "invalid_request_error", message: "max_tokens: Input should be greater than or equal to 1")
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        let model = object["model"] as? String ?? "claude-fake"
        let messages = object["messages"] as? [[String: Any]] ?? []
        let system = Self.text(of: object["system"])
        let lastUser = messages.last { $0["role"] as? String == "user" }
        let blocks: [[String: Any]] = (lastUser?["content"] as? String).map { [["type": "text", "text": $0]] } ?? lastUser?["content"] as? [[String: Any]] ?? []
        let text = blocks.filter { $0["type"] as? String == "text" }.compactMap { $0["text"] as? String }.joined(separator: "\n")
        // After a tool ran, a model answers from its result instead of calling again.
        let results = blocks.filter { $0["type"] as? String == "tool_result" }
        let toolOutput = results.isEmpty ? nil : results.map { Self.text(of: $0["content"]) }.joined(separator: " ")
        let tools = object["tools"] as? [[String: Any]] ?? []
        let toolChoiceNone = (object["tool_choice"] as? [String: Any])?["type"] as? String == "none"
        let toolName = toolOutput == nil && !toolChoiceNone ? tools.first?["name"] as? String : nil
        let thinkingType = (object["thinking"] as? [String: Any])?["type"] as? String
        let thinking = thinkingType == "enabled" || thinkingType == "adaptive" || request.headers[Self.reasoningHeader] != nil
            ? "The user wrote \(text.count) characters; answer by echoing them." : nil

        var answer = ""
        if !system.isEmpty { answer += "[system: \(system)] " }
        answer += toolOutput.map { "The tool returned: \($0)." } ?? "You said: \(text)."
        answer += " This answer comes from the stand-in upstream, word by word."
        // A sampling model answers differently each time; a cache must not
        // hide that, so sampled answers here differ too.
        if let temperature = (object["temperature"] as? NSNumber)?.doubleValue, temperature > 0 {
            answer += " Sample \(samples.add(1, ordering: .relaxed).newValue)."
        }
        var stopReason = toolName == nil ? "end_turn" : "tool_use"
        var stopSequence: String?
        if toolName == nil {
            // The earliest stop sequence in the answer ends it, unsent.
            let found = (object["stop_sequences"] as? [String] ?? []).compactMap { sequence in
                answer.range(of: sequence).map { (sequence, $0) }
            }.min { $0.1.lowerBound < $1.1.lowerBound }
            if let (sequence, range) = found {
                answer = String(answer[..<range.lowerBound])
                stopReason = "stop_sequence"
                stopSequence = sequence
            }
            let thinkingTokens = thinking.map { Self.words($0) } ?? 0
            if thinkingTokens + Self.words(answer) > maxTokens {
                answer = answer.split(separator: " ").prefix(max(0, maxTokens - thinkingTokens)).joined(separator: " ")
                stopReason = "max_tokens"
                stopSequence = nil
            }
        }

        let input: [String: Any] = ["query": text, "limit": 3]
        let toolUseID = "toolu_" + Self.uniqueID("").prefix(24)
        let signature = Data("fake-signature:\(Self.words(thinking ?? ""))".utf8).base64EncodedString()
        var content: [[String: Any]] = []
        if let thinking { content.append(["type": "thinking", "thinking": thinking, "signature": signature]) }
        if let toolName {
            content.append(["type": "tool_use", "id": toolUseID, "name": toolName, "input": input])
        } else {
            content.append(["type": "text", "text": answer])
        }

        let prompt = Self.promptTokens(object)
        var creation = 0
        var read = 0
        if let cached = prompt.cached {
            if promptCache.withLock({ $0.seen(cached.key) }) { read = cached.tokens } else { creation = cached.tokens }
        }
        let hour = prompt.cached?.hour ?? false
        let inputTokens = max(1, prompt.total - creation - read)
        let outputTokens = max(1, (thinking.map { Self.words($0) } ?? 0) + (toolName == nil ? Self.words(answer) : Self.words(Self.jsonText(input))))
        func usage(output: Int) -> [String: Any] {
            [
                "input_tokens": inputTokens, "cache_creation_input_tokens": creation, "cache_read_input_tokens": read,
                "cache_creation": ["ephemeral_5m_input_tokens": hour ? 0 : creation, "ephemeral_1h_input_tokens": hour ? creation : 0],
                "output_tokens": output, "service_tier": "standard",
            ]
        }
        let messageID = Self.uniqueID("msg_").prefix(28)
        func message(content: [[String: Any]], stopReason: Any, stopSequence: Any, output: Int) -> [String: Any] {
            ["id": String(messageID), "type": "message", "role": "assistant", "model": model, "content": content,
             "stop_reason": stopReason, "stop_sequence": stopSequence, "usage": usage(output: output)]
        }
        if !stream {
            var response = Self.json(message(content: content, stopReason: stopReason, stopSequence: stopSequence.map { $0 as Any } ?? NSNull(), output: outputTokens))
            for (name, value) in Self.anthropicHeaders { response.headers[name] = value }
            return response
        }

        var events: [(String, [String: Any])] = [
            ("message_start", ["message": message(content: [], stopReason: NSNull(), stopSequence: NSNull(), output: 1)]),
        ]
        var deltas = 0
        // Where X-Fake-Stream-Error cuts the stream: after the third delta.
        var cut: Int?
        func delta(_ index: Int, _ delta: [String: Any]) {
            events.append(("content_block_delta", ["index": index, "delta": delta]))
            deltas += 1
            if deltas == 3 { cut = events.count }
        }
        for (index, block) in content.enumerated() {
            var start = block
            switch block["type"] as? String {
            case "thinking":
                start["thinking"] = ""
                start["signature"] = ""
            case "tool_use": start["input"] = [String: Any]()
            default: start["text"] = ""
            }
            events.append(("content_block_start", ["index": index, "content_block": start]))
            // The real API pings once, after the first block opens.
            if index == 0 { events.append(("ping", [:])) }
            switch block["type"] as? String {
            case "thinking":
                for piece in Self.pieces(thinking ?? "") { delta(index, ["type": "thinking_delta", "thinking": piece]) }
                delta(index, ["type": "signature_delta", "signature": signature])
            case "tool_use":
                let json = Self.jsonText(input)
                var rest = Substring(json)
                delta(index, ["type": "input_json_delta", "partial_json": ""])
                while !rest.isEmpty {
                    delta(index, ["type": "input_json_delta", "partial_json": String(rest.prefix(7))])
                    rest = rest.dropFirst(7)
                }
            default:
                for piece in Self.pieces(answer) where !piece.isEmpty { delta(index, ["type": "text_delta", "text": piece]) }
            }
            events.append(("content_block_stop", ["index": index]))
        }
        var finalUsage = usage(output: outputTokens)
        finalUsage["cache_creation"] = nil
        finalUsage["service_tier"] = nil
        events.append(("message_delta", ["delta": ["stop_reason": stopReason, "stop_sequence": stopSequence.map { $0 as Any } ?? NSNull()], "usage": finalUsage]))
        let streamError = request.headers[Self.streamErrorHeader] != nil
        if streamError {
            events = Array(events.prefix(cut ?? events.count))
            var error: [String: Any] = ["error": ["type": "overloaded_error", "message": "Overloaded"]]
            if let requestID = Self.requestID { error["request_id"] = requestID }
            events.append(("error", error))
        }
        let frames = events.map { name, fields in
            var payload = fields
            payload["type"] = name
            return Self.frame(name, payload)
        }
        let terminal = streamError ? nil : Self.frame("message_stop", ["type": "message_stop"])
        var response = streamResponse(frames: frames, terminal: terminal, terminalIsEvent: true, request: request)
        for (name, value) in Self.anthropicHeaders { response.headers[name] = value }
        return response
    }
}
