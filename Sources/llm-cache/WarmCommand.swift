import ArgumentParser
import Foundation
import LLMCache

struct WarmCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "warm",
        abstract: "Pre-load a store with request/response pairs from a JSON-lines file.",
        discussion: """
            Each line is {"request": {...}, "response": {...} or "text"} with optional \
            "namespace", "tags", "ttl_seconds" and "endpoint": the API the request is sent to \
            ("/chat/completions" by default, "/completions", "/embeddings", "/responses", or \
            "/messages" for Anthropic, with its "api_version", default "2023-06-01"). The \
            whole file is checked first: a bad line is reported with its number and field, \
            and nothing is stored. Progress goes to standard error: on a terminal one line \
            redrawn in place, otherwise a line every two seconds; --quiet prints only errors.
            """
    )

    @Option(help: "The store to fill: \(StoreLocation.syntax).", transform: StoreLocation.init(parsing:))
    var store: StoreLocation

    @Option(help: "Namespace for lines that name none.")
    var namespace: String = "default"

    @Option(help: "Time to live in seconds for lines that give none (default: 7 days).")
    var ttl: Int = 7 * 24 * 3600

    @Flag(name: [.short, .long], help: "Print no progress, only errors.")
    var quiet = false

    @Argument(help: "The JSON-lines file, or - for standard input.")
    var file: String

    func run() async throws {
        let document = try readInput(file)
        guard ttl > 0 else { throw ValidationError("--ttl must be a positive number of seconds") }
        let records = try WarmRecord.parseFile(document)
        if !quiet { progress("\(file): \(records.count) pairs, all valid; warming \(store)…") }
        let cache = LLMCache(
            store: try store.openPersistent(),
            configuration: .init(namespace: namespace, defaultTTL: .seconds(ttl), storeTimeout: nil)
        )
        let reporter = ProgressReporter("warm", total: records.count, unit: "pairs", quiet: quiet)
        let report = await cache.warm(records) { done in reporter.update(done) }
        reporter.finish()
        for (record, error) in report.failed.prefix(20) {
            reporter.note("pair \(record) not stored: \(error.message)")
        }
        if report.failed.count > 20 { reporter.note("… and \(report.failed.count - 20) more pairs not stored") }
        if !quiet || !report.failed.isEmpty { progress("stored \(report.stored) of \(records.count) pairs in \(store)") }
        if !report.failed.isEmpty { throw ExitCode(1) }
    }
}
