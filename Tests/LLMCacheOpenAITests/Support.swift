import Foundation
import LLMCache
import LLMCacheFakeUpstream
import LLMCacheOpenAI
import Logging

/// A FakeUpstream on a loopback port the system picks, running while a test's
/// body runs.
struct Upstream {
    /// The server, to queue answers on and read requests from.
    let fake: FakeUpstream
    /// Its API root, `/v1` included, as ``OpenAIClient/Configuration/baseURL`` takes it.
    let baseURL: String

    /// The name to give ``FakeUpstream/CannedResponse/holdUntilReleased``:
    /// released when the body ends, so a held answer never keeps the server
    /// from stopping.
    static let hold = "held-until-the-test-ends"

    /// Runs `body` with a fresh upstream that records every request.
    static func run<T: Sendable>(_ body: (Upstream) async throws -> T) async throws -> T {
        let (ports, port) = AsyncStream<Int>.makeStream()
        // Stopping the server at the end of each test logs cancellations.
        var logger = Logger(label: "openai-tests")
        logger.logLevel = .critical
        let fake = FakeUpstream(logger: logger) { port.yield($0) }
        fake.recordsRequests = true
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await fake.run() }
            var iterator = ports.makeAsyncIterator()
            let listening = await iterator.next()!
            let upstream = Upstream(fake: fake, baseURL: "http://127.0.0.1:\(listening)/v1")
            defer {
                fake.release(hold)
                group.cancelAll()
            }
            return try await body(upstream)
        }
    }

    /// Runs `body` with a client of this upstream, shut down afterwards.
    func withClient<T: Sendable>(
        apiKey: String? = "sk-test",
        organization: String? = nil,
        headers: [String: String] = [:],
        timeouts: OpenAIClient.Configuration.Timeouts = .init(),
        baseURL: String? = nil,
        _ body: (OpenAIClient) async throws -> T
    ) async throws -> T {
        let client = OpenAIClient(configuration: .init(baseURL: baseURL ?? self.baseURL, apiKey: apiKey, organization: organization, headers: headers, timeouts: timeouts))
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// The API root of a server that has stopped: nothing listens there.
    static func stoppedBaseURL() async throws -> String {
        try await run { $0.baseURL }
    }
}

extension FakeUpstream.RecordedRequest {
    /// The body, parsed.
    var json: JSONValue? { try? JSONValue(parsing: body) }
}

/// `text` parsed as JSON, for comparing documents whatever their member order.
func json(_ text: String) throws -> JSONValue {
    try JSONValue(parsing: Array(text.utf8))
}

/// `value` encoded as the client encodes requests, parsed back.
func encoded(_ value: some Encodable) throws -> JSONValue {
    try JSONValue(parsing: Array(try JSONEncoder().encode(value)))
}

/// `text` decoded as `T`.
func decoded<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
    try JSONDecoder().decode(type, from: Data(text.utf8))
}

/// Every chunk of a stream, or the error that ended it with the chunks before it.
func collect<T: Sendable>(_ stream: AsyncThrowingStream<T, any Error>) async -> (chunks: [T], error: (any Error)?) {
    var chunks: [T] = []
    do {
        for try await chunk in stream { chunks.append(chunk) }
        return (chunks, nil)
    } catch {
        return (chunks, error)
    }
}

extension JSONValue {
    /// The element at `index` of an array; `nil` for other values or out of range.
    subscript(index: Int) -> JSONValue? {
        guard let elements = arrayValue, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}
