import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A stand-in for OpenAI's and Anthropic's APIs, for tests and benchmarks
/// where no model can run: a real HTTP server speaking the real wire formats.
///
/// - `POST /v1/chat/completions`: a deterministic answer echoing the last
///   user message — for a `temperature` above 0, with a sample number that
///   differs on every call; with `tools`, a call to the first tool; with
///   `"stream": true`, `chat.completion.chunk` events (role, content in
///   words, tool-call pieces, finish, optional usage) and `[DONE]`.
/// - `POST /v1/completions`, `POST /v1/embeddings` (deterministic vectors),
///   `GET /v1/models`.
/// - `POST /v1/responses` (OpenAI's Responses API): a Response object echoing
///   the last user input, led by `[instructions: ...]` when there are
///   instructions and followed by `Turn N, after resp_...` when chained with
///   `previous_response_id` (which must name a stored response of this
///   upstream, else 400 `previous_response_not_found`); a `function_call` to
///   the first function tool; a `reasoning` item when `reasoning` is set; a
///   `queued` answer for `background: true`; with `"stream": true`, the real
///   named events (`response.created` ... `response.completed`) numbered from 0.
///   Responses are kept (the last 10,000, unless `store: false`) for
///   `GET /v1/responses/{id}`, `GET /v1/responses/{id}/input_items` and
///   `DELETE /v1/responses/{id}`. See FakeUpstream+Responses.swift.
/// - `POST /v1/messages` (Anthropic's Messages API): needs `anthropic-version`
///   and `x-api-key` or `Authorization`, and `max_tokens`, as the real API
///   does; a Message echoing the last user text, led by `[system: ...]` when
///   there is a system prompt; a `tool_use` block for the first tool; a
///   `thinking` block when `thinking` is enabled; `cache_control` prefixes
///   counted as written, then read; with `"stream": true`, Anthropic's named
///   events (`message_start` ... `message_stop`).
///   `POST /v1/messages/count_tokens` counts the same prompt.
///   See FakeUpstream+Anthropic.swift.
/// - `GET /fake/stats`: the call counters as JSON.
///
/// Request headers steer failures, so tests need no second server:
/// `X-Fake-Status: 503` answers that status with the API's error body
/// (OpenAI's, or Anthropic's on `/v1/messages`: 529 is `overloaded_error`,
/// 429 `rate_limit_error` with `retry-after`);
/// `X-Fake-Fail-After: N` breaks the connection after writing N stream events
/// (the last of them may not all reach the client, as on a real network);
/// `X-Fake-No-Done: 1` ends a stream cleanly without its terminal event
/// (`[DONE]`, `response.completed` or `message_stop`);
/// `X-Fake-Stream-Error: 1` ends a Responses stream with `response.failed`,
/// or a Messages stream with an `error` event (`overloaded_error`), after
/// three deltas;
/// `X-Fake-Hold: name` pauses a stream after its first event until
/// ``release(_:)`` is called with that name;
/// `X-Fake-Chunk-Delay-Ms: N` waits N ms between this stream's events;
/// `X-Fake-Stall-After: N` stops sending after N events and never ends (until
/// the client goes away);
/// `X-Fake-Retry-After: N` adds `Retry-After: N` and a spent
/// `x-ratelimit-remaining-requests` to an `X-Fake-Status` answer;
/// `X-Fake-Reasoning: 1` answers with `reasoning_content` (as DeepSeek and
/// vLLM do) before the content, with a `reasoning` item on `/v1/responses`
/// and a `thinking` block on `/v1/messages`.
/// A chat request with `"logprobs": true` gets `logprobs.content`, one entry
/// per streamed piece (and `top_logprobs` entries when asked).
/// Every answer carries an `x-request-id`, and on `/v1/messages` a
/// `request-id` too, as Anthropic sends.
/// Tests can also queue exact answers and read back what was sent: see
/// ``enqueue(_:for:)`` and ``recordsRequests`` (FakeUpstream+Scripting.swift).
///
/// A ServiceLifecycle `Service`. Thread-safe.
public final class FakeUpstream: Service {
    /// Call counters.
    public struct Counts: Sendable, Codable, Equatable {
        /// Chat completion calls, streamed or not.
        public var chat = 0
        /// Streamed chat completion calls.
        public var chatStreams = 0
        /// Streams sent to their terminal event: `[DONE]`, `response.completed`
        /// (or `response.incomplete`), or `message_stop`.
        public var completedStreams = 0
        /// Legacy completion calls.
        public var completions = 0
        /// Embedding calls.
        public var embeddings = 0
        /// Model list calls.
        public var models = 0
        /// `POST /v1/responses` calls, streamed or not.
        public var responses = 0
        /// Streamed `POST /v1/responses` calls.
        public var responseStreams = 0
        /// `POST /v1/messages` calls, streamed or not.
        public var messages = 0
        /// Streamed `POST /v1/messages` calls.
        public var messageStreams = 0
        /// `POST /v1/messages/count_tokens` calls.
        public var countTokens = 0

        /// Calls to the five generating routes: chat, completions, embeddings,
        /// responses and messages.
        public var total: Int { chat + completions + embeddings + responses + messages }
    }

    let host: String
    let port: Int
    let delay: Duration
    let chunkDelay: Duration
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void
    let counts = Mutex(Counts())
    let samples = Atomic<Int>(0)
    let requestIDs = Atomic<Int>(0)
    let holds = Mutex<(released: Set<String>, waiting: [String: [CheckedContinuation<Void, Never>]])>(([], [:]))
    let script = Mutex(Script())
    let storedResponses = Mutex(ResponseStore())
    let promptCache = Mutex(PromptCache())

    /// - Parameters:
    ///   - delay: time before each answer (the model "thinking"). Default none.
    ///   - chunkDelay: time between stream events. Default none.
    public init(
        host: String = "127.0.0.1", port: Int = 0, delay: Duration = .zero, chunkDelay: Duration = .zero,
        logger: Logger = Logger(label: "fake-upstream"), onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.delay = delay
        self.chunkDelay = chunkDelay
        self.logger = logger
        self.onListening = onListening
    }

    /// The counters so far.
    public var snapshot: Counts { counts.withLock { $0 } }

    /// Lets streams held with `X-Fake-Hold: name` continue (now and later).
    public func release(_ name: String) {
        let waiters = holds.withLock { state in
            state.released.insert(name)
            return state.waiting.removeValue(forKey: name) ?? []
        }
        for waiter in waiters { waiter.resume() }
    }

    func hold(_ name: String) async {
        await withCheckedContinuation { continuation in
            let go = holds.withLock { state -> Bool in
                if state.released.contains(name) { return true }
                state.waiting[name, default: []].append(continuation)
                return false
            }
            if go { continuation.resume() }
        }
    }

    public func run() async throws {
        let router = Router()
        // First, so that it runs before every route added below.
        router.add(middleware: ScriptMiddleware(upstream: self))
        router.post("/v1/chat/completions") { request, _ in try await self.chat(request) }
        router.post("/v1/completions") { request, _ in try await self.completion(request) }
        router.post("/v1/embeddings") { request, _ in try await self.embeddings(request) }
        addResponsesRoutes(to: router)
        addAnthropicRoutes(to: router)
        router.get("/v1/models") { _, _ in
            self.counts.withLock { $0.models += 1 }
            return Self.json(["object": "list", "data": [["id": "fake-model", "object": "model", "created": 1_700_000_000, "owned_by": "llm-cache"]]])
        }
        router.get("/v1/models/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard id == "fake-model" else {
                return Self.json(["error": ["message": "The model '\(id)' does not exist", "type": "invalid_request_error", "param": "model", "code": "model_not_found"]], status: .notFound)
            }
            return Self.json(["id": id, "object": "model", "created": 1_700_000_000, "owned_by": "llm-cache"])
        }
        router.post("/v1/moderations") { request, _ in
            let object = try await self.body(request)
            return Self.json(["id": "modr-fake", "model": "omni-moderation-latest", "results": [["flagged": false, "input_echo": Self.text(of: object["input"])]]])
        }
        router.get("/fake/stats") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(self.snapshot))))
        }
        let onListening = self.onListening
        let port = self.port
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port)),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
        try await app.run()
    }

    // MARK: - Routes

    static let statusHeader = HTTPField.Name("X-Fake-Status")!
    static let failAfterHeader = HTTPField.Name("X-Fake-Fail-After")!
    static let noDoneHeader = HTTPField.Name("X-Fake-No-Done")!
    static let holdHeader = HTTPField.Name("X-Fake-Hold")!
    static let chunkDelayHeader = HTTPField.Name("X-Fake-Chunk-Delay-Ms")!
    static let stallAfterHeader = HTTPField.Name("X-Fake-Stall-After")!
    static let retryAfterHeader = HTTPField.Name("X-Fake-Retry-After")!
    static let reasoningHeader = HTTPField.Name("X-Fake-Reasoning")!
    static let streamErrorHeader = HTTPField.Name("X-Fake-Stream-Error")!
    static let requestIDHeader = HTTPField.Name("x-request-id")!

    struct BrokenStream: Error {}

    func body(_ request: Request) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 16 << 20)
        guard let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
            throw HTTPError(.badRequest, message: "the body must be a JSON object")
        }
        return object
    }

    func forcedError(_ request: Request) -> Response? {
        guard let text = request.headers[Self.statusHeader], let code = Int(text) else { return nil }
        let body: [String: Any] = ["error": ["message": "forced failure \(code)", "type": code == 429 ? "rate_limit_error" : "server_error", "param": NSNull(), "code": NSNull()]]
        var response = Self.json(body, status: HTTPResponse.Status(code: code))
        if let retryAfter = request.headers[Self.retryAfterHeader] {
            response.headers[.retryAfter] = retryAfter
            response.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] = "0"
        }
        return response
    }

    func chat(_ request: Request) async throws -> Response {
        let object = try await body(request)
        let stream = object["stream"] as? Bool ?? false
        counts.withLock {
            $0.chat += 1
            if stream { $0.chatStreams += 1 }
        }
        if let forced = forcedError(request) { return forced }
        if delay > .zero { try await Task.sleep(for: delay) }
        let model = object["model"] as? String ?? "fake-model"
        let messages = object["messages"] as? [[String: Any]] ?? []
        let lastUser = messages.last { $0["role"] as? String == "user" }
        let text = Self.text(of: lastUser?["content"])
        let tools = object["tools"] as? [[String: Any]] ?? []
        let id = "chatcmpl-fake-\(abs(text.hashValue) % 1_000_000)"
        let created = Int(Date().timeIntervalSince1970)
        var answer = "You said: \(text). This answer comes from the stand-in upstream, word by word."
        // A sampling model answers differently each time; a cache must not
        // hide that, so sampled answers here differ too.
        if let temperature = (object["temperature"] as? NSNumber)?.doubleValue, temperature > 0 {
            answer += " Sample \(samples.add(1, ordering: .relaxed).newValue)."
        }
        let toolName = (tools.first?["function"] as? [String: Any])?["name"] as? String
        let arguments = "{\"query\": \"\(text.replacingOccurrences(of: "\"", with: ""))\", \"limit\": 3}"
        let promptTokens = max(1, messages.reduce(0) { $0 + Self.text(of: $1["content"]).split(separator: " ").count })
        let completionTokens = answer.split(separator: " ").count
        let usage: [String: Any] = ["prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens]
        let reasoning = request.headers[Self.reasoningHeader] != nil ? "The user wrote \(text.count) characters; answer by echoing them." : nil
        let wantsLogprobs = object["logprobs"] as? Bool == true && toolName == nil
        let topLogprobs = (object["top_logprobs"] as? NSNumber)?.intValue ?? 0
        // The pieces the answer streams as, and the log-probability entry of each.
        let pieces = answer.split(separator: " ", omittingEmptySubsequences: false).enumerated().map { i, word in (i == 0 ? "" : " ") + word }
        func logprob(_ piece: String, _ position: Int) -> [String: Any] {
            let value = -Double(position % 7) * 0.125 - 0.0625
            let top: [[String: Any]] = (0..<topLogprobs).map { rank in
                let token = rank == 0 ? piece : piece + "~\(rank)"
                let bytes: [Int] = token.utf8.map { Int($0) }
                return ["token": token, "logprob": value - Double(rank), "bytes": bytes]
            }
            let bytes: [Int] = piece.utf8.map { Int($0) }
            return ["token": piece, "logprob": value, "bytes": bytes, "top_logprobs": top]
        }
        let noLogprobs: Any = NSNull()
        func logprobs(_ entries: [[String: Any]]) -> Any {
            wantsLogprobs ? ["content": entries, "refusal": NSNull()] as [String: Any] : noLogprobs
        }
        if !stream {
            var message: [String: Any] = ["role": "assistant", "content": toolName == nil ? answer : NSNull()]
            if let reasoning { message["reasoning_content"] = reasoning }
            let entries: [[String: Any]] = pieces.enumerated().map { logprob($1, $0) }
            if let toolName {
                message["tool_calls"] = [["id": "call_fake_1", "type": "function", "function": ["name": toolName, "arguments": arguments]]]
            }
            return Self.json([
                "id": id, "object": "chat.completion", "created": created, "model": model, "system_fingerprint": "fp_fake",
                "choices": [["index": 0, "message": message, "finish_reason": toolName == nil ? "stop" : "tool_calls", "logprobs": logprobs(entries)]],
                "usage": usage,
            ])
        }
        func chunk(_ delta: [String: Any], finish: Any = NSNull(), logprobs: Any = NSNull()) -> [String: Any] {
            ["id": id, "object": "chat.completion.chunk", "created": created, "model": model, "system_fingerprint": "fp_fake",
             "choices": [["index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs]]]
        }
        var events: [[String: Any]] = [chunk(["role": "assistant", "content": toolName == nil ? "" : NSNull()])]
        if let reasoning {
            for word in reasoning.split(separator: " ") { events.append(chunk(["reasoning_content": word + " "])) }
        }
        if let toolName {
            events.append(chunk(["tool_calls": [["index": 0, "id": "call_fake_1", "type": "function", "function": ["name": toolName, "arguments": ""]]]]))
            var rest = Substring(arguments)
            while !rest.isEmpty {
                let piece = rest.prefix(7)
                rest = rest.dropFirst(7)
                events.append(chunk(["tool_calls": [["index": 0, "function": ["arguments": String(piece)]]]]))
            }
            events.append(chunk([:], finish: "tool_calls"))
        } else {
            for (i, piece) in pieces.enumerated() {
                events.append(chunk(["content": piece], logprobs: logprobs([logprob(piece, i)])))
            }
            events.append(chunk([:], finish: "stop"))
        }
        if ((object["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true {
            events.append(["id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [], "usage": usage])
        }
        return streamResponse(events, request: request)
    }

    /// A chat-style stream: one `data:` event per payload, then `data: [DONE]`.
    func streamResponse(_ events: [[String: Any]], request: Request) -> Response {
        // `[DONE]` is no event in OpenAI's sense: X-Fake-Fail-After counts the chunks only.
        streamResponse(frames: events.map { Self.frame(nil, $0) }, terminal: ByteBuffer(string: "data: [DONE]\n\n"), terminalIsEvent: false, request: request)
    }

    /// One server-sent event: an `event:` line when `name` is given, then `data:`.
    static func frame(_ name: String?, _ payload: [String: Any]) -> ByteBuffer {
        var buffer = ByteBuffer(string: name.map { "event: \($0)\n" } ?? "")
        buffer.writeString("data: ")
        buffer.writeBytes((try? JSONSerialization.data(withJSONObject: payload)) ?? Data())
        buffer.writeString("\n\n")
        return buffer
    }

    /// Writes `frames`, then `terminal` (the event that ends a stream properly,
    /// left out with `X-Fake-No-Done`), obeying the stream headers.
    /// `terminalIsEvent`: whether `X-Fake-Fail-After` and `X-Fake-Stall-After`
    /// count the terminal frame among the events.
    func streamResponse(frames: [ByteBuffer], terminal: ByteBuffer?, terminalIsEvent: Bool, request: Request) -> Response {
        let failAfter = request.headers[Self.failAfterHeader].flatMap { Int($0) }
        let noDone = request.headers[Self.noDoneHeader] != nil
        let holdName = request.headers[Self.holdHeader]
        let stallAfter = request.headers[Self.stallAfterHeader].flatMap { Int($0) }
        let chunkDelay = request.headers[Self.chunkDelayHeader].flatMap { Int($0) }.map { Duration.milliseconds($0) } ?? self.chunkDelay
        let all = frames + (noDone ? [] : terminal.map { [$0] } ?? [])
        let sendsTerminal = all.count > frames.count
        let breakable = terminalIsEvent ? all.count : frames.count
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            for (index, frame) in all.enumerated() {
                if let failAfter, index >= failAfter, index < breakable { throw BrokenStream() }
                if let stallAfter, index >= stallAfter, index < breakable {
                    // Silent until the client goes away (the sleep is cancelled).
                    try await Task.sleep(for: .seconds(86_400))
                }
                try await writer.write(frame)
                if index == 0, let holdName { await self.hold(holdName) }
                if chunkDelay > .zero, index < frames.count { try await Task.sleep(for: chunkDelay) }
            }
            if sendsTerminal { self.counts.withLock { $0.completedStreams += 1 } }
            try await writer.finish(nil)
        })
    }

    func completion(_ request: Request) async throws -> Response {
        let object = try await body(request)
        counts.withLock { $0.completions += 1 }
        if let forced = forcedError(request) { return forced }
        if delay > .zero { try await Task.sleep(for: delay) }
        let prompt = Self.text(of: object["prompt"])
        let text = " completed: \(prompt)"
        let id = "cmpl-fake-\(abs(prompt.hashValue) % 1_000_000)"
        let created = Int(Date().timeIntervalSince1970)
        let model = object["model"] as? String ?? "fake-model"
        if object["stream"] as? Bool == true {
            var events: [[String: Any]] = text.split(separator: " ").map {
                ["id": id, "object": "text_completion", "created": created, "model": model, "choices": [["index": 0, "text": " " + $0, "finish_reason": NSNull(), "logprobs": NSNull()]]]
            }
            events.append(["id": id, "object": "text_completion", "created": created, "model": model, "choices": [["index": 0, "text": "", "finish_reason": "stop", "logprobs": NSNull()]]])
            return streamResponse(events, request: request)
        }
        return Self.json([
            "id": id, "object": "text_completion", "created": created, "model": model,
            "choices": [["index": 0, "text": text, "finish_reason": "stop", "logprobs": NSNull()]],
            "usage": ["prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7],
        ])
    }

    func embeddings(_ request: Request) async throws -> Response {
        let object = try await body(request)
        counts.withLock { $0.embeddings += 1 }
        if let forced = forcedError(request) { return forced }
        if delay > .zero { try await Task.sleep(for: delay) }
        let inputs: [String] = (object["input"] as? [Any])?.map { Self.text(of: $0) } ?? [Self.text(of: object["input"])]
        let data: [[String: Any]] = inputs.enumerated().map { index, text in
            // A deterministic unit-ish vector from the text's bytes.
            var vector = [Double](repeating: 0, count: 8)
            for (i, byte) in text.utf8.enumerated() { vector[i % 8] += Double(byte) / 255 }
            let norm = max(1e-9, vector.reduce(0) { $0 + $1 * $1 }.squareRoot())
            return ["object": "embedding", "index": index, "embedding": vector.map { $0 / norm }]
        }
        return Self.json(["object": "list", "data": data, "model": object["model"] as? String ?? "fake-embedding", "usage": ["prompt_tokens": inputs.count, "total_tokens": inputs.count]])
    }

    static func text(of content: Any?) -> String {
        if let text = content as? String { return text }
        if let parts = content as? [[String: Any]] { return parts.compactMap { $0["text"] as? String }.joined(separator: "\n") }
        if let items = content as? [Any] { return items.map { text(of: $0) }.joined(separator: " ") }
        return ""
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
