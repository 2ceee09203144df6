import ArgumentParser

@main
struct LLMCacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-cache",
        abstract: "Cache LLM responses: exact and semantic caching, memoization, invalidation.",
        version: "0.1.0",
        subcommands: [
            DemoCommand.self,
            WarmCommand.self,
            EmbedCommand.self,
            EvalSemanticCommand.self,
            BenchCommand.self,
            ExportCommand.self,
            ImportCommand.self,
            SQLiteWorkerCommand.self,
            ServeCommand.self,
            FakeUpstreamCommand.self,
        ],
        defaultSubcommand: nil
    )
}
