import Foundation
import LLMCache

/// An ``OpenAIClient`` whose every call goes through an ``LLMCache``: the
/// Swift counterpart of installing one cache for a whole application (as
/// LangChain's `set_llm_cache` does). Make one, use it wherever the app talks
/// to the model, and repeated questions stop costing tokens.
///
/// ```swift
/// let cached = CachedChatClient(client: OpenAIClient(configuration: .init(apiKey: key)), cache: LLMCache(store: try SQLiteStore(path: "cache.sqlite")))
/// let answer = try await cached.chatCompletion(request)     // answer.source: .miss, then .hit
/// for try await chunk in cached.chatCompletionStream(request) { ... }  // a hit streams from the cache
/// ```
///
/// Every call takes the cache's one path (sampling policy, exact and semantic
/// lookup, single-flight): concurrent identical calls make one upstream call,
/// streamed or not. A streamed miss is passed through chunk by chunk and
/// stored, assembled into a `chat.completion`, only if the stream ended with
/// `[DONE]`; a streamed hit replays the stored answer as chunks
/// (``StreamReplay``). Errors are never cached. Thread-safe: share one instance.
public final class CachedChatClient: Sendable {
    /// A value and where it came from.
    public struct Cached<Value: Sendable>: Sendable {
        /// The answer.
        public var value: Value
        /// Hit, semantic hit, miss or bypass.
        public var source: LLMCache.Source
        /// The key the answer is stored under.
        public var key: CacheKey
        /// How old the answer is; zero when fresh.
        public var age: Duration
    }

    /// The client misses go to.
    public let client: OpenAIClient
    /// The cache every call goes through.
    public let cache: LLMCache
    /// How cached answers are cut into chunks for streamed hits. Default ``StreamReplay/init(pieceLength:)`` with 16.
    public let replay: StreamReplay

    public init(client: OpenAIClient, cache: LLMCache, replay: StreamReplay = StreamReplay()) {
        self.client = client
        self.cache = cache
        self.replay = replay
    }

    /// A chat completion, from the cache when possible.
    public func chatCompletion(_ request: ChatCompletionRequest, options: LLMCache.Options = .init()) async throws -> Cached<ChatCompletion> {
        var request = request
        request.stream = nil
        // Providers refuse stream_options without stream: true.
        request.streamOptions = nil
        return try await cached(ChatCompletion.self, path: "chat/completions", body: try OpenAIClient.encode(request), options: options)
    }

    /// A legacy completion, from the cache when possible.
    public func completion(_ request: CompletionRequest, options: LLMCache.Options = .init()) async throws -> Cached<Completion> {
        var request = request
        request.stream = nil
        return try await cached(Completion.self, path: "completions", body: try OpenAIClient.encode(request), options: options)
    }

    /// Embeddings, from the cache when possible.
    public func embeddings(_ request: EmbeddingRequest, options: LLMCache.Options = .init()) async throws -> Cached<EmbeddingResponse> {
        try await cached(EmbeddingResponse.self, path: "embeddings", body: try OpenAIClient.encode(request), options: options)
    }

    /// A streamed chat completion: replayed from the cache on a hit, passed
    /// through from the provider on a miss and stored once it completes.
    ///
    /// It takes the cache's one path: the sampling policy applies, and
    /// concurrent identical calls make one upstream call — the first relays
    /// the provider's stream, the others get the stored answer replayed. Like
    /// ``OpenAIClient/chatCompletionStream(_:)``, the sequence throws
    /// ``OpenAIError/Code/incompleteStream`` when the provider's stream ends
    /// without `[DONE]` or carries an error event; such an answer is not cached.
    public func chatCompletionStream(_ request: ChatCompletionRequest, options: LLMCache.Options = .init()) -> AsyncThrowingStream<ChatCompletionChunk, any Error> {
        var keyed = request
        keyed.stream = nil
        var streamed = request
        streamed.stream = true
        let includeUsage = request.streamOptions?.value["include_usage"] == .bool(true)
        // Usage is always asked for, so that the stored answer has it (later
        // plain hits report it, savings count it); the caller who did not ask
        // does not see the usage chunk.
        if !includeUsage {
            var options = streamed.streamOptions?.value.objectValue ?? [:]
            options["include_usage"] = .bool(true)
            streamed.streamOptions = OpenAIJSON(.object(options))
        }
        let (chunks, continuation) = AsyncThrowingStream<ChatCompletionChunk, any Error>.makeStream()
        let task = Task { [client, cache, replay] in
            do {
                let llmRequest = try LLMRequest(json: try OpenAIClient.encode(keyed))
                let body = try OpenAIClient.encode(streamed)
                let call = CachedStream<Void, StreamAssembler>(cache: cache, request: llmRequest, options: options) { _ in
                    ((), try await client.openStream("chat/completions", body: body))
                }
                switch await call.head() {
                case .answered(let response):
                    guard let stored = try? JSONValue(parsing: response.value), let replayed = replay.chunks(of: stored, includeUsage: includeUsage) else {
                        throw OpenAIError(.decoding, "the cached answer is not a chat completion that can be replayed as a stream")
                    }
                    for chunk in replayed {
                        continuation.yield(try OpenAIClient.decode(ChatCompletionChunk.self, from: chunk.jsonBytes))
                    }
                case .live:
                    var parser = SSEParser()
                    for try await buffer in call.bytes {
                        for event in parser.feed(buffer.readableBytesView) where event != SSEParser.doneMarker {
                            if let error = (try? JSONValue(parsing: event))?["error"] {
                                throw OpenAIError(.incompleteStream, "the stream carried an error event: \(String(decoding: error.jsonBytes, as: UTF8.self))")
                            }
                            let chunk = try OpenAIClient.decode(ChatCompletionChunk.self, from: event)
                            if !includeUsage, chunk.choices.isEmpty, chunk.usage != nil { continue }
                            continuation.yield(chunk)
                        }
                    }
                    if case .failure(let error) = await call.result(), error is IncompleteStream {
                        throw OpenAIError(.incompleteStream, "the stream ended without [DONE]: the provider or the connection stopped early; retry the call")
                    }
                case .failed(let error):
                    throw error
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return chunks
    }

    func cached<T: Decodable & Sendable>(_ type: T.Type, path: String, body: [UInt8], options: LLMCache.Options) async throws -> Cached<T> {
        // Keyed as the proxy keys the same route, so both share entries.
        let request = try LLMRequest(json: body, endpoint: LLMRequest.Endpoint(path: "/" + path))
        let response = try await cache.response(for: request, options: options) { [client] in
            Data(try await client.post(path, body: body))
        }
        return Cached(value: try OpenAIClient.decode(type, from: Array(response.value)), source: response.source, key: response.key, age: response.age)
    }
}
