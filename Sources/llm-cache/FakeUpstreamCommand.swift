import ArgumentParser
import Foundation
import LLMCacheFakeUpstream
import Logging
import ServiceLifecycle

/// The stand-in OpenAI and Anthropic upstream for tests and benchmarks. Hidden from help.
struct FakeUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-upstream",
        abstract: "Serve a stand-in OpenAI-compatible and Anthropic Messages API (deterministic answers, SSE streams, call counters at /fake/stats).",
        shouldDisplay: false
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on; 0 picks a free one.")
    var port = 0

    @Option(help: "Milliseconds before each answer.")
    var delayMs = 0

    @Option(help: "Milliseconds between stream events.")
    var chunkDelayMs = 0

    func run() async throws {
        let logger = Logger(label: "fake-upstream")
        let host = self.host
        let upstream = FakeUpstream(host: host, port: port, delay: .milliseconds(delayMs), chunkDelay: .milliseconds(chunkDelayMs), logger: logger) { port in
            // Unbuffered, so a parent process reading the pipe sees it at once.
            FileHandle.standardOutput.write(Data("listening on http://\(host):\(port)\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [upstream], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
