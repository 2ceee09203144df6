import ArgumentParser
import Foundation
import LLMCache
import LLMCacheSQLite

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a store's live entries as llm-cache-entries JSON lines (values in base64).",
        discussion: "Progress goes to standard error, so the entries can go to standard output: on a terminal one line redrawn in place, otherwise a line every two seconds; --quiet prints only errors."
    )

    @Option(help: "The store to read: \(StoreLocation.syntax).", transform: StoreLocation.init(parsing:))
    var store: StoreLocation

    @Option(help: "Export only this namespace.")
    var namespace: String?

    @Option(name: [.short, .long], help: "The file to write, or - for standard output.")
    var output: String = "-"

    @Flag(name: [.short, .long], help: "Print no progress, only errors.")
    var quiet = false

    func run() async throws {
        let source = try store.openPersistent()
        let sink: FileHandle
        if output == "-" {
            sink = .standardOutput
        } else {
            guard FileManager.default.createFile(atPath: output, contents: nil) else {
                throw CacheError(.invalidArgument, "cannot create \(output); check that its directory exists and is writable")
            }
            guard let handle = FileHandle(forWritingAtPath: output) else {
                throw CacheError(.invalidArgument, "cannot open \(output) for writing")
            }
            sink = handle
        }
        defer { if output != "-" { try? sink.close() } }

        // The store's count, expired entries not yet removed included, is
        // the total: an estimate, but one that gives an ETA. With a namespace
        // the entries of the others are read too, so progress counts entries read.
        let total = quiet ? nil : try? await source.count()
        let reporter = ProgressReporter("export", total: total, unit: namespace == nil ? "entries" : "entries read", quiet: quiet)
        var buffer = CacheEntryJSONLines.headerLine()
        buffer.append(UInt8(ascii: "\n"))
        var count = 0
        var read = 0
        for try await entry in source.entries() {
            read += 1
            reporter.update(read)
            if let namespace, entry.namespace != namespace { continue }
            buffer.append(try CacheEntryJSONLines.line(for: entry))
            buffer.append(UInt8(ascii: "\n"))
            count += 1
            // Writes in chunks: one system call per entry would dominate.
            if buffer.count >= 1 << 20 {
                try sink.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try sink.write(contentsOf: buffer)
        reporter.finish()
        if !quiet { progress("exported \(count) entries from \(store)\(namespace.map { " (namespace \($0))" } ?? "")") }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Store the entries of an llm-cache-entries JSON-lines file (as written by export).",
        discussion: "The whole file is checked before anything is stored: a malformed line is reported with its number and nothing is imported. Entries replace entries with the same key. Progress goes to standard error: on a terminal one line redrawn in place, otherwise a line every two seconds; --quiet prints only errors."
    )

    @Option(help: "The store to write: \(StoreLocation.syntax).", transform: StoreLocation.init(parsing:))
    var store: StoreLocation

    @Flag(name: [.short, .long], help: "Print no progress, only errors.")
    var quiet = false

    @Argument(help: "The file to read, or - for standard input.")
    var file: String

    func run() async throws {
        let document = try readInput(file)
        let target = try store.openPersistent()
        let maximumWeight = (target as? SQLiteStore)?.configuration.maximumEntryWeight ?? Int.max

        // First pass: check every line, so a bad line stops the import before
        // anything is written rather than leaving half a file imported.
        // It has no total: counting the lines is what it does.
        let checking = ProgressReporter("import: checking", total: nil, quiet: quiet)
        var total = 0
        try CacheEntryJSONLines.decode(document) { entry, line in
            guard entry.weight <= maximumWeight else {
                throw CacheError(.entryTooLarge, "line \(line): the entry weighs \(entry.weight) bytes, over the store's maximum entry weight of \(maximumWeight) bytes; remove the line or raise the limit")
            }
            total += 1
            checking.update(total)
        }
        checking.finish(summary: false)
        if !quiet { progress("\(file): \(total) entries, all valid; importing into \(store)…") }
        let reporter = ProgressReporter("import", total: total, quiet: quiet)

        var batch: [CacheEntry] = []
        var imported = 0
        func flush() async throws {
            if let sqlite = target as? SQLiteStore {
                try await sqlite.set(contentsOf: batch)
            } else {
                for entry in batch { try await target.set(entry) }
            }
            imported += batch.count
            batch.removeAll(keepingCapacity: true)
            reporter.update(imported)
        }
        var reader = CacheEntryJSONLines.Reader(document)
        while let (entry, _) = try reader.next() {
            batch.append(entry)
            if batch.count == 1000 { try await flush() }
        }
        if !batch.isEmpty { try await flush() }
        reporter.finish()
        if !quiet { progress("imported \(imported) entries into \(store)") }
    }
}

/// The bytes of `file`, or of standard input for `-`, memory-mapped when it is a file.
func readInput(_ file: String) throws -> Data {
    if file == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped)
    } catch {
        throw CacheError(.invalidArgument, "cannot read \(file): \(error.localizedDescription)")
    }
}
