import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

/// OpenAIEmbedder against a real HTTP/1.1 server on the loopback interface.
@Suite struct OpenAIEmbedderTests {
    /// A server that embeds each input as a 3-d vector derived from its length
    /// and answers with the items in reverse order, as a server may.
    static func fakeEmbeddingServer(dimension: Int = 3) throws -> LoopbackHTTPServer {
        try LoopbackHTTPServer { request in
            guard request.method == "POST", request.path == "/v1/embeddings",
                  let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any],
                  let inputs = object["input"] as? [String]
            else { return .json(#"{"error": {"message": "bad request"}}"#, status: 400) }
            let items = inputs.enumerated().reversed().map { index, text in
                let vector = (0..<dimension).map { Double(text.count + 1) * Double($0 + 1) }
                return "{\"object\": \"embedding\", \"index\": \(index), \"embedding\": \(vector)}"
            }
            return .json("{\"object\": \"list\", \"data\": [\(items.joined(separator: ", "))], \"model\": \"fake\"}")
        }
    }

    static func embedder(_ server: LoopbackHTTPServer, dimension: Int = 3, maximumInputs: Int = 256, timeout: Duration = .seconds(10), apiKey: String? = nil) throws -> OpenAIEmbedder {
        try OpenAIEmbedder(configuration: .init(
            baseURL: server.baseURL, model: "fake-embedding", dimension: dimension, apiKey: apiKey,
            maximumInputsPerRequest: maximumInputs, timeout: timeout
        ))
    }

    @Test func embedsInInputOrderWithUnitVectors() async throws {
        let server = try Self.fakeEmbeddingServer()
        defer { server.stop() }
        let embedder = try Self.embedder(server, apiKey: "sk-test")
        let batch = try await embedder.embed(["a", "bbb", "cc"])
        #expect(batch.count == 3)
        #expect(batch.dimension == 3)
        // Every fake vector is a multiple of (1, 2, 3): normalised, all are equal.
        let unit: [Float] = [1, 2, 3].map { $0 / Float(14).squareRoot() }
        for index in 0..<3 {
            #expect(zip(batch[index], unit).allSatisfy { abs($0 - $1) < 1e-6 })
        }
        let request = try #require(server.requests.first)
        #expect(request.headers["authorization"] == "Bearer sk-test")
        #expect(request.headers["content-type"] == "application/json")
        let body = try #require(JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["model"] as? String == "fake-embedding")
        #expect(body["input"] as? [String] == ["a", "bbb", "cc"])
    }

    @Test func splitsLargeBatchesIntoRequestsOfTheConfiguredSize() async throws {
        let server = try LoopbackHTTPServer { request in
            let object = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]
            let inputs = object?["input"] as? [String] ?? []
            // The vector encodes the text's number, so order can be checked.
            let items = inputs.enumerated().map { index, text in
                "{\"index\": \(index), \"embedding\": [\(Int(text)!), 1]}"
            }
            return .json("{\"data\": [\(items.joined(separator: ","))]}")
        }
        defer { server.stop() }
        let embedder = try Self.embedder(server, dimension: 2, maximumInputs: 4)
        let texts = (1...10).map(String.init)
        let batch = try await embedder.embed(texts)
        #expect(server.requests.count == 3)
        #expect(batch.count == 10)
        for (index, text) in texts.enumerated() {
            let value = Float(Int(text)!)
            let norm = (value * value + 1).squareRoot()
            #expect(abs(batch[index][0] - value / norm) < 1e-6)
        }
    }

    @Test func emptyInputSendsNoRequest() async throws {
        let server = try Self.fakeEmbeddingServer()
        defer { server.stop() }
        let batch = try await Self.embedder(server).embed([])
        #expect(batch.count == 0)
        #expect(server.requests.isEmpty)
    }

    @Test(arguments: [
        (401, "check the API key"),
        (404, "check the base URL"),
        (429, "rate limiting"),
        (500, "HTTP 500"),
        (503, "HTTP 503"),
    ])
    func errorStatusesBecomeBackendUnavailableWithTheStatusAndAHint(status: Int, phrase: String) async throws {
        let server = try LoopbackHTTPServer { _ in .json(#"{"error": {"message": "nope"}}"#, status: status) }
        defer { server.stop() }
        let error = await #expect(throws: CacheError.self) { try await Self.embedder(server).embed(["x"]) }
        #expect(error?.code == .backendUnavailable)
        #expect(error?.message.contains("HTTP \(status)") == true)
        #expect(error?.message.contains(phrase) == true)
        #expect(error?.message.contains("nope") == true)
    }

    @Test(arguments: [
        "not json at all",
        #"{"data": "nope"}"#,
        #"{"data": [{"embedding": [1, 2, 3]}]}"#,
        #"{"data": [{"embedding": [1, 2, 3], "index": 5}]}"#,
        #"{"data": []}"#,
    ])
    func malformedBodiesAreCorruptData(body: String) async throws {
        let server = try LoopbackHTTPServer { _ in .json(body) }
        defer { server.stop() }
        let error = await #expect(throws: CacheError.self) { try await Self.embedder(server).embed(["x"]) }
        #expect(error?.code == .corruptData)
    }

    @Test func vectorsOfTheWrongDimensionAreAConfigurationError() async throws {
        let server = try Self.fakeEmbeddingServer(dimension: 5)
        defer { server.stop() }
        let error = await #expect(throws: CacheError.self) { try await Self.embedder(server, dimension: 3).embed(["x"]) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("5-d") == true)
    }

    @Test func aSlowServerTimesOut() async throws {
        let server = try LoopbackHTTPServer { _ in
            var response = LoopbackHTTPServer.Response.json(#"{"data": []}"#)
            response.delay = .seconds(3)
            return response
        }
        defer { server.stop() }
        let error = await #expect(throws: CacheError.self) {
            try await Self.embedder(server, timeout: .milliseconds(300)).embed(["x"])
        }
        #expect(error?.code == .timeout)
    }

    @Test func anUnreachableServerIsBackendUnavailable() async throws {
        let server = try Self.fakeEmbeddingServer()
        let url = server.baseURL
        server.stop()
        let embedder = try OpenAIEmbedder(configuration: .init(baseURL: url, model: "m", dimension: 3))
        let error = await #expect(throws: CacheError.self) { try await embedder.embed(["x"]) }
        #expect(error?.code == .backendUnavailable)
    }

    @Test func invalidConfigurationsAreRejected() {
        let url = URL(string: "http://127.0.0.1:1")!
        #expect(throws: CacheError.self) { try OpenAIEmbedder(configuration: .init(baseURL: url, model: "m", dimension: 0)) }
        #expect(throws: CacheError.self) { try OpenAIEmbedder(configuration: .init(baseURL: url, model: "m", dimension: 3, maximumInputsPerRequest: 0)) }
        #expect(throws: CacheError.self) { try OpenAIEmbedder(configuration: .init(baseURL: url, model: "", dimension: 3)) }
    }
}
