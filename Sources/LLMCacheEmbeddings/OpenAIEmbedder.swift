import Foundation
import LLMCache
import Logging

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Embeddings from any OpenAI-compatible HTTP endpoint:
/// `POST {baseURL}/v1/embeddings` with `{"model": ..., "input": [...]}`,
/// answered by `{"data": [{"embedding": [...], "index": i}, ...]}`.
///
/// Texts are sent in requests of at most
/// ``Configuration/maximumInputsPerRequest``, one after another; vectors come
/// back in input order whatever order the server lists them in, L2-normalised
/// (OpenAI's already are; other servers' may not be).
///
/// Safe to call from many tasks at once: it holds only immutable configuration
/// and a `URLSession`, which is thread-safe.
public final class OpenAIEmbedder: Embedder {
    /// Where and how to reach the endpoint.
    public struct Configuration: Sendable {
        /// The server's base URL, without `/v1/embeddings`
        /// (e.g. `https://api.openai.com`). No default.
        public var baseURL: URL
        /// The model name sent in each request (e.g. `text-embedding-3-small`). No default.
        public var model: String
        /// The length of the model's vectors; a response of another length is
        /// an error. No default: it must match the model.
        public var dimension: Int
        /// Sent as `Authorization: Bearer <key>` when set; `nil` by default.
        public var apiKey: String?
        /// The most texts per request; `256` by default (OpenAI accepts up to 2048).
        public var maximumInputsPerRequest: Int
        /// How long one request may take before it fails with
        /// ``CacheError/Code/timeout``; 30 seconds by default.
        public var timeout: Duration
        /// Extra headers sent with every request (e.g. `OpenAI-Organization`); none by default.
        public var headers: [String: String]
        /// Where diagnostics go; a logger labelled `llm-cache.embeddings` by default.
        public var logger: Logger

        /// A configuration with the defaults documented on each property.
        public init(
            baseURL: URL,
            model: String,
            dimension: Int,
            apiKey: String? = nil,
            maximumInputsPerRequest: Int = 256,
            timeout: Duration = .seconds(30),
            headers: [String: String] = [:],
            logger: Logger = Logger(label: "llm-cache.embeddings")
        ) {
            self.baseURL = baseURL
            self.model = model
            self.dimension = dimension
            self.apiKey = apiKey
            self.maximumInputsPerRequest = maximumInputsPerRequest
            self.timeout = timeout
            self.headers = headers
            self.logger = logger
        }
    }

    /// The configuration in force.
    public let configuration: Configuration
    /// The configured model name.
    public var modelIdentifier: String { configuration.model }
    /// The configured dimension.
    public var dimension: Int { configuration.dimension }

    private let session: URLSession
    private let endpoint: URL

    /// An embedder for `configuration`.
    ///
    /// - Throws: ``CacheError/Code/invalidConfiguration`` when the dimension,
    ///   batch size or timeout is not positive or the model name is empty.
    public init(configuration: Configuration) throws {
        guard configuration.dimension > 0 else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.dimension is \(configuration.dimension); set it to the model's vector length (e.g. 1536 for text-embedding-3-small)")
        }
        guard configuration.maximumInputsPerRequest > 0 else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.maximumInputsPerRequest is \(configuration.maximumInputsPerRequest); use 1 or more")
        }
        guard configuration.timeout > .zero else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.timeout must be positive")
        }
        guard !configuration.model.isEmpty else {
            throw CacheError(.invalidConfiguration, "OpenAIEmbedder.Configuration.model is empty; name the embedding model the server should use")
        }
        self.configuration = configuration
        self.endpoint = configuration.baseURL.appendingPathComponent("v1").appendingPathComponent("embeddings")
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        let seconds = Double(configuration.timeout.components.seconds) + Double(configuration.timeout.components.attoseconds) / 1e18
        sessionConfiguration.timeoutIntervalForRequest = seconds
        sessionConfiguration.timeoutIntervalForResource = seconds
        self.session = URLSession(configuration: sessionConfiguration)
    }

    deinit {
        session.finishTasksAndInvalidate()
    }

    /// Embeds `texts`, in requests of at most ``Configuration/maximumInputsPerRequest``.
    ///
    /// - Throws: ``CacheError`` with ``CacheError/Code/backendUnavailable`` for
    ///   a connection failure or an HTTP error status (the message carries the
    ///   status and the start of the body), ``CacheError/Code/timeout`` when the
    ///   server does not answer in time, ``CacheError/Code/corruptData`` for a
    ///   body that is not the expected JSON, ``CacheError/Code/invalidConfiguration``
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

    private struct RequestBody: Encodable {
        var model: String
        var input: [String]
    }

    private struct ResponseBody: Decodable {
        struct Item: Decodable {
            var embedding: [Float]
            var index: Int
        }

        var data: [Item]
    }

    /// One request; the vectors of `inputs` one after another, in order.
    private func request(_ inputs: [String]) async throws -> [Float] {
        var request = URLRequest(url: endpoint)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        for (name, value) in configuration.headers {
            request.setValue(value, forHTTPHeaderField: name)
        }
        if let apiKey = configuration.apiKey {
            request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization")
        }
        request.httpBody = try JSONEncoder().encode(RequestBody(model: configuration.model, input: inputs))

        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as URLError where error.code == .timedOut {
            throw CacheError(.timeout, "POST \(endpoint) did not answer within \(configuration.timeout); raise OpenAIEmbedder.Configuration.timeout or check the server")
        } catch {
            throw CacheError(.backendUnavailable, "POST \(endpoint) failed: \(error.localizedDescription); check that the server is running and the base URL is right")
        }
        guard let http = response as? HTTPURLResponse else {
            throw CacheError(.backendUnavailable, "POST \(endpoint) gave a response that is not HTTP")
        }
        guard (200..<300).contains(http.statusCode) else {
            let body = String(decoding: data.prefix(300), as: UTF8.self)
            let hint = switch http.statusCode {
            case 401, 403: "check the API key"
            case 404: "check the base URL (the path /v1/embeddings is added to it) and the model name"
            case 429: "the server is rate limiting; retry later or send smaller batches"
            default: "check the server's logs"
            }
            throw CacheError(.backendUnavailable, "POST \(endpoint) returned HTTP \(http.statusCode): \(body); \(hint)")
        }

        let decoded: ResponseBody
        do {
            decoded = try JSONDecoder().decode(ResponseBody.self, from: data)
        } catch {
            let body = String(decoding: data.prefix(200), as: UTF8.self)
            throw CacheError(.corruptData, "POST \(endpoint) answered with a body that is not {\"data\": [{\"embedding\": [...], \"index\": n}]}: \(body)")
        }
        guard decoded.data.count == inputs.count else {
            throw CacheError(.corruptData, "POST \(endpoint) returned \(decoded.data.count) embeddings for \(inputs.count) inputs")
        }
        let dimension = configuration.dimension
        var values = [Float](repeating: 0, count: inputs.count * dimension)
        var seen = [Bool](repeating: false, count: inputs.count)
        for item in decoded.data {
            guard item.index >= 0, item.index < inputs.count, !seen[item.index] else {
                throw CacheError(.corruptData, "POST \(endpoint) returned an embedding with index \(item.index), outside 0..<\(inputs.count) or repeated")
            }
            guard item.embedding.count == dimension else {
                throw CacheError(.invalidConfiguration, "\(configuration.model) returned \(item.embedding.count)-d vectors but OpenAIEmbedder.Configuration.dimension is \(dimension); set the dimension to match the model")
            }
            seen[item.index] = true
            var norm: Float = 0
            for value in item.embedding { norm += value * value }
            guard norm.isFinite else {
                throw CacheError(.corruptData, "POST \(endpoint) returned an embedding with non-finite values")
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
