import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed, hit ratios and memory; prints a table, or JSON with --json.",
        subcommands: [MemoryBench.self, EmbedBench.self, SQLiteBench.self, RedisBench.self, ProxyBench.self, SemanticBench.self]
    )
}

/// Options every benchmark takes.
struct BenchOptions: ParsableArguments {
    @Flag(help: "Print one JSON object on standard output instead of a table.")
    var json = false

    @Flag(help: "A short run (seconds) over the same code paths with smaller sizes.")
    var quick = false
}
