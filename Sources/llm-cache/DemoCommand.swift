import ArgumentParser

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a workload of repeated calls through the cache and print hits, misses and time saved."
    )

    func run() async throws {}
}
