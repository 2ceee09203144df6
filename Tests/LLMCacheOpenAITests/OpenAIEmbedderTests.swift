import Foundation
import LLMCache
import LLMCacheFakeUpstream
import LLMCacheOpenAI
import Testing

/// OpenAIEmbedder through OpenAIClient against FakeUpstream over real loopback
/// HTTP. FakeUpstream's own embeddings are 8-d unit vectors derived from the
/// text, in input order.
@Suite struct OpenAIEmbedderTests {
    static func embedder(_ client: OpenAIClient, dimension: Int = 8, maximumInputs: Int = 256, timeout: Duration = .seconds(30)) throws -> OpenAIEmbedder {
        try OpenAIEmbedder(client: client, configuration: .init(model: "text-embedding-3-small", dimension: dimension, maximumInputsPerRequest: maximumInputs, timeout: timeout))
    }

    @Test func vectorsComeBackInInputOrderAsTheServerComputedThem() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(apiKey: "sk-test") { client in
                let texts = ["a", "bbb", "cc"]
                let batch = try await Self.embedder(client).embed(texts)
                #expect(batch.count == 3)
                #expect(batch.dimension == 8)
                let direct = try await client.embeddings(EmbeddingRequest(model: "text-embedding-3-small", input: OpenAIJSON(.array(texts.map(JSONValue.string)))))
                for index in texts.indices {
                    #expect(zip(batch[index], direct.data[index].embedding).allSatisfy { abs($0 - $1) < 1e-6 })
                }
                let sent = try #require(upstream.fake.recordedRequests.first)
                #expect(sent.path == "/v1/embeddings")
                #expect(sent.headers["authorization"] == "Bearer sk-test")
                #expect(sent.headers["content-type"] == "application/json")
                #expect(sent.json == (try json(#"{"model": "text-embedding-3-small", "input": ["a", "bbb", "cc"]}"#)))
            }
        }
    }

    @Test func vectorsAreReorderedByIndexAndNormalised() async throws {
        try await Upstream.run { upstream in
            // Listed out of order, not unit length, without object, model or usage: as some servers answer.
            upstream.fake.enqueue(.json(#"{"data": [{"index": 1, "embedding": [0, 2]}, {"index": 0, "embedding": [3, 4]}]}"#), for: "/v1/embeddings")
            try await upstream.withClient { client in
                let batch = try await Self.embedder(client, dimension: 2).embed(["first", "second"])
                #expect(zip(batch[0], [0.6, 0.8]).allSatisfy { abs($0 - $1) < 1e-6 })
                #expect(batch[1] == [0, 1])
            }
        }
    }

    @Test func largeBatchesAreSplitIntoRequestsOfTheConfiguredSize() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                let texts = (1...10).map { "text number \($0)" }
                let split = try await Self.embedder(client, maximumInputs: 4).embed(texts)
                let inputs = upstream.fake.recordedRequests.map { $0.json?["input"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
                #expect(inputs == [Array(texts[0..<4]), Array(texts[4..<8]), Array(texts[8..<10])])
                let whole = try await Self.embedder(client).embed(texts)
                #expect(upstream.fake.recordedRequests.count == 4)
                #expect(split.values == whole.values)
            }
        }
    }

    @Test func noTextsSendNoRequest() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                let batch = try await Self.embedder(client).embed([])
                #expect(batch.count == 0)
                #expect(upstream.fake.recordedRequests.isEmpty)
            }
        }
    }

    @Test(arguments: [
        (401, "check the API key"),
        (404, "check the model name"),
        (429, "rate limiting"),
        (500, "retry later"),
        (503, "retry later"),
    ])
    func errorStatusesAreBackendUnavailableWithTheStatusTheMessageAndAHint(status: Int, hint: String) async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(headers: ["X-Fake-Status": "\(status)"]) { client in
                let error = await #expect(throws: CacheError.self) { try await Self.embedder(client).embed(["x"]) }
                #expect(error?.code == .backendUnavailable)
                #expect(error?.message.contains("\(upstream.baseURL)/embeddings") == true)
                #expect(error?.message.contains("answered \(status)") == true)
                #expect(error?.message.contains("forced failure \(status)") == true)
                #expect(error?.message.contains(hint) == true)
            }
        }
    }

    @Test(arguments: [
        "not json at all",
        #"{"data": "nope"}"#,
        #"{"data": [{"embedding": [1, 2, 3]}]}"#,
        #"{"data": [{"embedding": [1, 2, 3], "index": 5}]}"#,
        #"{"data": [{"embedding": [1, 2, 3], "index": -1}]}"#,
        #"{"data": []}"#,
        #"{"data": [{"embedding": [1, 2, 3], "index": 0}, {"embedding": [1, 2, 3], "index": 0}]}"#,
        #"{"data": [{"embedding": [1e30, 1e30, 1e30], "index": 0}]}"#,
    ])
    func bodiesThatAreNotOneVectorPerInputAreCorruptData(body: String) async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.json(body), for: "/v1/embeddings")
            try await upstream.withClient { client in
                let error = await #expect(throws: CacheError.self) { try await Self.embedder(client, dimension: 3).embed(["x"]) }
                #expect(error?.code == .corruptData)
            }
        }
    }

    @Test func aRepeatedIndexIsCorruptData() async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.json(#"{"data": [{"embedding": [1, 0], "index": 1}, {"embedding": [0, 1], "index": 1}]}"#), for: "/v1/embeddings")
            try await upstream.withClient { client in
                let error = await #expect(throws: CacheError.self) { try await Self.embedder(client, dimension: 2).embed(["x", "y"]) }
                #expect(error?.code == .corruptData)
                #expect(error?.message.contains("repeated") == true)
            }
        }
    }

    @Test func vectorsOfAnotherDimensionAreAConfigurationError() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                let error = await #expect(throws: CacheError.self) { try await Self.embedder(client, dimension: 3).embed(["x"]) }
                #expect(error?.code == .invalidConfiguration)
                #expect(error?.message.contains("8-d") == true)
            }
        }
    }

    @Test func theEmbeddersTimeLimitAppliesInsteadOfTheClientsLongerOne() async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.init(body: Array(Captured.embeddings.utf8), holdUntilReleased: Upstream.hold), for: "/v1/embeddings")
            // The client would wait its default 600 seconds.
            try await upstream.withClient { client in
                let error = await #expect(throws: CacheError.self) { try await Self.embedder(client, timeout: .milliseconds(300)).embed(["x"]) }
                #expect(error?.code == .timeout)
                #expect(error?.message.contains("OpenAIEmbedder.Configuration.timeout") == true)
            }
        }
    }

    @Test func anUnreachableServerIsBackendUnavailable() async throws {
        let stopped = try await Upstream.stoppedBaseURL()
        // A short connect time-out: the client retries a refused connection until it runs out.
        let client = OpenAIClient(configuration: .init(baseURL: stopped, timeouts: .init(connect: .milliseconds(500))))
        let error = await #expect(throws: CacheError.self) { try await Self.embedder(client).embed(["x"]) }
        try await client.shutdown()
        #expect(error?.code == .backendUnavailable)
    }

    @Test(arguments: [
        OpenAIEmbedder.Configuration(model: "m", dimension: 0),
        OpenAIEmbedder.Configuration(model: "m", dimension: 3, maximumInputsPerRequest: 0),
        OpenAIEmbedder.Configuration(model: "m", dimension: 3, timeout: .zero),
        OpenAIEmbedder.Configuration(model: "", dimension: 3),
    ])
    func invalidConfigurationsAreRejected(configuration: OpenAIEmbedder.Configuration) async throws {
        let client = OpenAIClient()
        let error = #expect(throws: CacheError.self) { try OpenAIEmbedder(client: client, configuration: configuration) }
        try await client.shutdown()
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func theDefaultsAreTheDocumentedOnes() {
        let configuration = OpenAIEmbedder.Configuration(model: "text-embedding-3-small", dimension: 1536)
        #expect(configuration.maximumInputsPerRequest == 256)
        #expect(configuration.timeout == .seconds(30))
    }
}
