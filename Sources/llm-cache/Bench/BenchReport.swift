import Foundation

/// One benchmark figure, named as the issues and docs/BENCHMARKS.md name it.
struct BenchFigure: Codable, Sendable {
    var name: String
    var value: Double
    /// One of ops/s, req/s, sentences/s, tokens/s, ms, us, ns, bytes, MB, ratio,
    /// points, GFLOP/s, s.
    var unit: String
}

/// The output contract of every `llm-cache bench` command: a table for people,
/// one JSON object with `--json` for scripts. Progress goes to standard error.
struct BenchReport: Codable, Sendable {
    struct Machine: Codable, Sendable {
        var cpus: Int
        var cpu_model: String
        var os: String
    }

    var benchmark: String
    var date: String
    var machine: Machine
    var figures: [BenchFigure]

    init(benchmark: String) {
        self.benchmark = benchmark
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        self.date = formatter.string(from: Date())
        self.machine = Machine(cpus: ProcessInfo.processInfo.activeProcessorCount, cpu_model: Self.cpuModel(), os: Self.osName())
        self.figures = []
    }

    mutating func add(_ name: String, _ value: Double, _ unit: String) {
        figures.append(BenchFigure(name: name, value: value, unit: unit))
        progress(String(format: "%@ = %.4g %@", name, value, unit))
    }

    func print(json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(self)) ?? Data()
            Swift.print(String(decoding: data, as: UTF8.self))
            return
        }
        Swift.print("benchmark: \(benchmark)   date: \(date)")
        Swift.print("machine:   \(machine.cpus) cpus, \(machine.cpu_model), \(machine.os)")
        let width = max(10, figures.map(\.name.count).max() ?? 10)
        for figure in figures {
            let name = figure.name.padding(toLength: width, withPad: " ", startingAt: 0)
            Swift.print("  \(name)  \(Self.format(figure.value)) \(figure.unit)")
        }
    }

    static func format(_ value: Double) -> String {
        if value.magnitude >= 1000 { return String(format: "%.0f", value) }
        if value.magnitude >= 1 { return String(format: "%.3f", value) }
        return String(format: "%.4f", value)
    }

    private static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    private static func osName() -> String {
        if let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) {
            for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                return line.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
        }
        return ProcessInfo.processInfo.operatingSystemVersionString
    }
}

/// Writes a progress line to standard error, keeping standard output for results.
func progress(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
