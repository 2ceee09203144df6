import Foundation
import LLMCache
import Logging

/// Embeddings from any OpenAI-compatible `POST /embeddings` endpoint (OpenAI,
/// Azure OpenAI's v1 routes, vLLM, llama.cpp, Ollama), sent through an
/// ``OpenAIClient``: `{"model": ..., "input": [...]}`, answered by
/// `{"data": [{"embedding": [...], "index": i}, ...]}`.
///
/// ```swift
/// let client = OpenAIClient(configuration: .init(apiKey: key))
/// let embedder = try OpenAIEmbedder(client: client, configuration: .init(model: "text-embedding-3-small", dimension: 1536))
/// let batch = try await embedder.embed(["What is Python?", "Explain Python"])
/// try await client.shutdown()
/// ```
///
/// Where the server is and how to reach it (base URL with `/v1`, API key,
/// headers, connect time-out) is the client's configuration, so one client
/// and its connections can serve chat and embeddings alike. This type adds
/// the model, the batch size and a time limit of its own.
///
/// Texts are sent in requests of at most
/// ``Configuration/maximumInputsPerRequest``, one after another; vectors come
/// back in input order whatever order the server lists them in, L2-normalised
/// (OpenAI's already are; other servers' may not be). Failures are
/// ``CacheError``s, as the semantic tier expects of an embedder.
///
/// Safe to call from many tasks at once: it holds only immutable
/// configuration and the client, which is thread-safe. It does not shut the
/// client down; its owner does.
public struct OpenAIEmbedder: Embedder {
    /// The model, the batch size and the time limit.
    public struct Configuration: Sendable {
        /// The model name sent in each request (e.g. `text-embedding-3-small`). No default.
        public var model: String
        /// The length of the model's vectors; a response of another length is
        /// an error. No default: it must match the model.
        public var dimension: Int
        /// The most texts per request; `256` by default (OpenAI accepts up to 2048).
        public var maximumInputsPerRequest: Int
        /// How long one request may take, from sending it to the last byte of
        /// the answer, before it fails with ``CacheError/Code/timeout``;
        /// 30 seconds by default. It replaces the client's
        /// ``OpenAIClient/Configuration/Timeouts/request`` (600 seconds, for
        /// long generations) for embedding calls.
        public var timeout: Duration
        /// Where diagnostics go; a logger labelled `llm-cache.embeddings` by default.
        public var logger: Logger

        /// A configuration with the defaults documented on each property.
        public init(
            model: String,
            dimension: Int,
            maximumInputsPerRequest: Int = 256,
            timeout: Duration = .seconds(30),
            logger: Logger = Logger(label: "llm-cache.embeddings")
        ) {
            self.model = model
            self.dimension = dimension
            self.maximumInputsPerRequest = maximumInputsPerRequest
            self.timeout = timeout
            self.logger = logger
        }
    }

    /// The client requests go through.
    public let client: OpenAIClient
    /// The configuration in force.
    public let configuration: Configuration
    /// The configured model name.
    public var modelIdentifier: String { configuration.model }
    /// The configured dimension.
    public var dimension: Int { configuration.dimension }

    /// An embedder sending its requests through `client`.
    ///
    /// - Throws: ``CacheError/Code/invalidConfiguration`` when the dimension,
    ///   batch size or timeout is not positive or the model name is empty.
    public init(client: OpenAIClient, configuration: Configuration) throws {
        guard configuration.dimension > 0 else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.dimension is \(configuration.dimension); set it to the model's vector length (e.g. 1536 for text-embedding-3-small)")
        }
        guard configuration.maximumInputsPerRequest > 0 else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.maximumInputsPerRequest is \(configuration.maximumInputsPerRequest); use 1 or more")
        }
        guard configuration.timeout > .zero else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.timeout is \(configuration.timeout); use a positive duration")
        }
        guard !configuration.model.isEmpty else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.model is empty; name the embedding model the server should use")
        }
        self.client = client
        self.configuration = configuration
    }

    /// Embeds `texts`, in requests of at most ``Configuration/maximumInputsPerRequest``.
    ///
    /// - Throws: ``CacheError`` with ``CacheError/Code/backendUnavailable`` for
    ///   a connection failure or an HTTP error status (the message carries the
    ///   status, the server's own message and a hint), ``CacheError/Code/timeout``
    ///   when the server does not answer in time, ``CacheError/Code/corruptData``
    ///   for a body that is not the expected JSON, ``CacheError/Code/invalidConfiguration``
    ///   for vectors of another dimension than configured.
    public func embed(_ texts: [String]) async throws -> EmbeddingBatch {
        let dimension = configuration.dimension
        var values: [Float] = []
        values.reserveCapacity(texts.count * dimension)
        var start = 0
        while start < texts.count {
            let end = min(start + configuration.maximumInputsPerRequest, texts.count)
            values.append(contentsOf: try await request(Array(texts[start..<end])))
            start = end
        }
        return EmbeddingBatch(dimension: dimension, values: values)
    }

    /// Only what the embedder needs, so servers that leave out `object`,
    /// `model` or `usage` (which ``EmbeddingResponse`` requires) still work.
    private struct ResponseBody: Decodable {
        struct Item: Decodable {
            var embedding: [Float]
            var index: Int
        }

        var data: [Item]
    }

    /// One request; the vectors of `inputs` one after another, in order.
    private func request(_ inputs: [String]) async throws -> [Float] {
        let endpoint = "POST \(client.url("embeddings"))"
        let body = try OpenAIClient.encode(EmbeddingRequest(model: configuration.model, input: OpenAIJSON(.array(inputs.map(JSONValue.string)))))
        let answer: [UInt8]
        do {
            answer = try await client.post("embeddings", body: body, timeout: configuration.timeout)
        } catch let error as OpenAIError {
            if error.code == .timeout {
                throw CacheError(.timeout, "\(endpoint) did not answer within \(configuration.timeout); raise OpenAIEmbedder.Configuration.timeout or check the server")
            }
            // The client's message already names the status, the server's own words and a hint.
            throw CacheError(.backendUnavailable, "\(endpoint) failed: \(error.message)")
        }

        let decoded: ResponseBody
        do {
            decoded = try JSONDecoder().decode(ResponseBody.self, from: Data(answer))
        } catch {
            throw CacheError(.corruptData, "\(endpoint) answered with a body that is not {\"data\": [{\"embedding\": [...], \"index\": n}]}: \(String(decoding: answer.prefix(200), as: UTF8.self))")
        }
        guard decoded.data.count == inputs.count else {
            throw CacheError(.corruptData, "\(endpoint) returned \(decoded.data.count) embeddings for \(inputs.count) inputs")
        }
        let dimension = configuration.dimension
        var values = [Float](repeating: 0, count: inputs.count * dimension)
        var seen = [Bool](repeating: false, count: inputs.count)
        for item in decoded.data {
            guard item.index >= 0, item.index < inputs.count, !seen[item.index] else {
                throw CacheError(.corruptData, "\(endpoint) returned an embedding with index \(item.index), outside 0..<\(inputs.count) or repeated")
            }
            guard item.embedding.count == dimension else {
                throw CacheError(.invalidConfiguration, "\(configuration.model) returned \(item.embedding.count)-d vectors but OpenAIEmbedder.Configuration.dimension is \(dimension); set the dimension to match the model")
            }
            seen[item.index] = true
            var norm: Float = 0
            for value in item.embedding { norm += value * value }
            guard norm.isFinite else {
                throw CacheError(.corruptData, "\(endpoint) returned an embedding with non-finite values")
            }
            let scale = norm > 0 ? 1 / norm.squareRoot() : 0
            for (offset, value) in item.embedding.enumerated() {
                values[item.index * dimension + offset] = value * scale
            }
        }
        configuration.logger.trace("embedded", metadata: ["inputs": "\(inputs.count)", "endpoint": "\(endpoint)"])
        return values
    }
}
