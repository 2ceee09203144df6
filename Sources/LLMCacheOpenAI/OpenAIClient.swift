import AsyncHTTPClient
import Foundation
import LLMCache
import Logging
import NIOCore
import NIOHTTP1

/// A client of an OpenAI-compatible API (OpenAI, Azure OpenAI's v1 routes,
/// vLLM, llama.cpp, Ollama, or `llm-cache serve`) over async-http-client.
///
/// ```swift
/// let client = OpenAIClient(configuration: .init(apiKey: key))
/// let answer = try await client.chatCompletion(ChatCompletionRequest(model: "gpt-4o-mini", messages: [.user("Hi")]))
/// for try await chunk in client.chatCompletionStream(request) { print(chunk.choices.first?.delta.content ?? "", terminator: "") }
/// try await client.shutdown()
/// ```
///
/// Non-2xx answers throw ``OpenAIError`` carrying the upstream status and
/// body. Thread-safe: share one instance; call ``shutdown()`` once when done
/// (it owns its HTTP client unless one was given).
public final class OpenAIClient: Sendable {
    /// Settings of a client. Every default is stated on its property.
    public struct Configuration: Sendable {
        /// Time limits.
        public struct Timeouts: Sendable {
            /// Establishing a connection. Default 10 seconds.
            public var connect: Duration
            /// The whole call, from sending the request to the last byte of the
            /// answer (streams included). Default 600 seconds: long generations
            /// are slow.
            public var request: Duration

            public init(connect: Duration = .seconds(10), request: Duration = .seconds(600)) {
                self.connect = connect
                self.request = request
            }
        }

        /// The API root, including `/v1`. Default `https://api.openai.com/v1`.
        public var baseURL: String
        /// Sent as `Authorization: Bearer <key>`. Default `nil`: no header.
        public var apiKey: String?
        /// Sent as `OpenAI-Organization`. Default `nil`.
        public var organization: String?
        /// More headers for every request. Default none.
        public var headers: [String: String]
        /// Time limits. Default: see ``Timeouts``.
        public var timeouts: Timeouts
        /// The largest non-streamed answer accepted. Default 64 MiB.
        public var maximumResponseBytes: Int

        public init(
            baseURL: String = "https://api.openai.com/v1",
            apiKey: String? = nil,
            organization: String? = nil,
            headers: [String: String] = [:],
            timeouts: Timeouts = Timeouts(),
            maximumResponseBytes: Int = 64 << 20
        ) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.organization = organization
            self.headers = headers
            self.timeouts = timeouts
            self.maximumResponseBytes = maximumResponseBytes
        }
    }

    /// The settings this client was made with.
    public let configuration: Configuration
    let httpClient: HTTPClient
    let ownsHTTPClient: Bool
    let logger: Logger

    /// Creates a client.
    ///
    /// - Parameter httpClient: an HTTP client to share; by default the client
    ///   makes its own (HTTP/1.1 and HTTP/2, no automatic decompression), shut
    ///   down by ``shutdown()``.
    public init(configuration: Configuration = Configuration(), httpClient: HTTPClient? = nil, logger: Logger = Logger(label: "llm-cache.openai")) {
        self.configuration = configuration
        self.logger = logger
        if let httpClient {
            self.httpClient = httpClient
            self.ownsHTTPClient = false
        } else {
            var http = HTTPClient.Configuration()
            http.timeout = .init(connect: .nanoseconds(configuration.timeouts.connect.nanoseconds), read: nil)
            self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
            self.ownsHTTPClient = true
        }
    }

    /// Closes the connections of a client this instance created. Call once.
    public func shutdown() async throws {
        if ownsHTTPClient { try await httpClient.shutdown() }
    }

    // MARK: - Typed calls

    /// `POST /chat/completions` without streaming.
    public func chatCompletion(_ request: ChatCompletionRequest) async throws -> ChatCompletion {
        var request = request
        request.stream = nil
        // Providers refuse stream_options without stream: true.
        request.streamOptions = nil
        return try Self.decode(ChatCompletion.self, from: try await post("chat/completions", body: try Self.encode(request)))
    }

    /// `POST /chat/completions` with `stream: true`: the chunks as they arrive.
    /// The sequence throws ``OpenAIError/Code/incompleteStream`` if the
    /// stream ends without `[DONE]`.
    public func chatCompletionStream(_ request: ChatCompletionRequest) -> AsyncThrowingStream<ChatCompletionChunk, any Error> {
        var request = request
        request.stream = true
        let body: [UInt8]
        do { body = try Self.encode(request) } catch { return AsyncThrowingStream { $0.finish(throwing: error) } }
        return Self.decoding(ChatCompletionChunk.self, events: stream("chat/completions", body: body))
    }

    /// `POST /completions` without streaming.
    public func completion(_ request: CompletionRequest) async throws -> Completion {
        var request = request
        request.stream = nil
        return try Self.decode(Completion.self, from: try await post("completions", body: try Self.encode(request)))
    }

    /// `POST /embeddings`.
    public func embeddings(_ request: EmbeddingRequest) async throws -> EmbeddingResponse {
        try Self.decode(EmbeddingResponse.self, from: try await post("embeddings", body: try Self.encode(request)))
    }

    /// `GET /models`.
    public func models() async throws -> ModelList {
        let (status, _, body) = try await send(.GET, path: "models", body: nil)
        guard (200..<300).contains(status) else { throw OpenAIError.upstream(status: status, body: body) }
        return try Self.decode(ModelList.self, from: body)
    }

    // MARK: - Raw calls

    /// POSTs a JSON body to `path` (relative to the base URL) and returns the
    /// answer's bytes unchanged. Throws ``OpenAIError`` with the status and
    /// body for non-2xx answers.
    public func post(_ path: String, body: [UInt8]) async throws -> [UInt8] {
        try await post(path, body: body, timeout: configuration.timeouts.request)
    }

    /// ``post(_:body:)`` under its own time limit instead of
    /// ``Configuration/Timeouts/request``: an embedding on a cache lookup's
    /// path cannot wait as long as a long generation may.
    func post(_ path: String, body: [UInt8], timeout: Duration) async throws -> [UInt8] {
        let (status, _, answer) = try await send(.POST, path: path, body: body, timeout: timeout)
        guard (200..<300).contains(status) else { throw OpenAIError.upstream(status: status, body: answer) }
        return answer
    }

    /// POSTs a streaming request and yields the data of each server-sent event
    /// as it arrives, `[DONE]` excluded. Ends normally only after `[DONE]`;
    /// otherwise (an error event, an end or a broken connection before
    /// `[DONE]`) throws ``OpenAIError/Code/incompleteStream``, or
    /// ``OpenAIError/Code/timeout`` past the time limit. Cancelling the
    /// consuming task closes the connection.
    public func stream(_ path: String, body: [UInt8]) -> AsyncThrowingStream<[UInt8], any Error> {
        let (events, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let task = Task { [self] in
            do {
                let response = try await httpClient.execute(makeRequest(.POST, path: path, body: body), deadline: deadline(), logger: logger)
                guard (200..<300).contains(Int(response.status.code)) else {
                    let answer = try await response.body.collect(upTo: configuration.maximumResponseBytes)
                    throw OpenAIError.upstream(status: Int(response.status.code), body: Array(answer.readableBytesView))
                }
                var parser = SSEParser()
                do {
                    for try await buffer in response.body {
                        for event in parser.feed(buffer.readableBytesView) {
                            if event == SSEParser.doneMarker {
                                continuation.finish()
                                return
                            }
                            if let error = (try? JSONValue(parsing: event))?["error"] {
                                throw OpenAIError(.incompleteStream, "the stream carried an error event: \(String(decoding: error.jsonBytes, as: UTF8.self))")
                            }
                            continuation.yield(event)
                        }
                    }
                } catch {
                    throw Self.classifyStreamError(error)
                }
                throw OpenAIError(.incompleteStream, "the stream ended without [DONE]: the provider or the connection stopped early; retry the call")
            } catch {
                continuation.finish(throwing: Self.classify(error))
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return events
    }

    // MARK: - Plumbing

    func send(_ method: HTTPMethod, path: String, body: [UInt8]?, timeout: Duration? = nil) async throws -> (Int, HTTPHeaders, [UInt8]) {
        do {
            let response = try await httpClient.execute(makeRequest(method, path: path, body: body), deadline: deadline(timeout), logger: logger)
            let answer = try await response.body.collect(upTo: configuration.maximumResponseBytes)
            return (Int(response.status.code), response.headers, Array(answer.readableBytesView))
        } catch {
            throw Self.classify(error)
        }
    }

    /// The URL of `path`, relative to the base URL.
    func url(_ path: String) -> String {
        var base = configuration.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/" + path
    }

    func makeRequest(_ method: HTTPMethod, path: String, body: [UInt8]?) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        if let apiKey = configuration.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if let organization = configuration.organization { request.headers.add(name: "OpenAI-Organization", value: organization) }
        for (name, value) in configuration.headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    func deadline(_ timeout: Duration? = nil) -> NIODeadline {
        .now() + .nanoseconds((timeout ?? configuration.timeouts.request).nanoseconds)
    }

    static func classify(_ error: any Error) -> any Error {
        if error is OpenAIError || error is CancellationError { return error }
        if let http = error as? HTTPClientError {
            if http == .deadlineExceeded || http == .readTimeout || http == .connectTimeout {
                return OpenAIError(.timeout, "no complete answer in time (\(http)); raise the time-out or retry")
            }
            return OpenAIError(.transport, "the connection to the provider failed: \(http); check the base URL and the network")
        }
        return OpenAIError(.transport, "the connection to the provider failed: \(error); check the base URL and the network")
    }

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .throw
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw OpenAIError(.invalidRequest, "the request cannot be encoded as JSON: \(error)")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw OpenAIError(.decoding, "the answer is not a valid \(T.self): \(error); body starts \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
    }

    static func decoding<T: Decodable & Sendable>(_ type: T.Type, events: AsyncThrowingStream<[UInt8], any Error>) -> AsyncThrowingStream<T, any Error> {
        let (stream, continuation) = AsyncThrowingStream<T, any Error>.makeStream()
        let task = Task {
            do {
                for try await event in events { continuation.yield(try decode(type, from: event)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
