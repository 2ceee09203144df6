import Foundation

/// One report on long work — done of total, percent, rate, time left — in
/// the words `llm-cache warm`, `import` and `export` print and the proxy logs
/// while it rebuilds its semantic index.
///
/// A value: give it the counts and the time elapsed, measured on whatever
/// clock the caller keeps, and read ``plain`` for logs and pipes or
/// ``terminal(width:)`` for a line redrawn in place on a terminal. Nothing
/// is measured here, so the same counts always give the same words. Safe to
/// use from any task.
///
/// ```
/// warm: 12000/50000 entries (24%), 5300/s, ETA 7s
/// export: 12000 entries, 5300/s
/// ```
public struct ProgressLine: Sendable, Equatable {
    /// What is being done, such as `warm`; the start of the line.
    public var label: String
    /// What is counted, plural, such as `entries`.
    public var unit: String
    /// How many are done.
    public var done: Int
    /// How many there are in all; `nil` when unknown (no percent, no ETA).
    /// A total below ``done`` (an estimate that was short) reads as done.
    public var total: Int?
    /// The time since the work began.
    public var elapsed: Duration

    /// - Parameters:
    ///   - label: what is being done, the start of the line.
    ///   - done: how many are done.
    ///   - total: how many there are in all, if known. Default `nil`.
    ///   - unit: what is counted, plural. Default `entries`.
    ///   - elapsed: the time since the work began.
    public init(_ label: String, done: Int, of total: Int? = nil, unit: String = "entries", elapsed: Duration) {
        self.label = label
        self.unit = unit
        self.done = done
        self.total = total
        self.elapsed = elapsed
    }

    /// The part done, in 0...1; `nil` without a total. Nothing to do (a
    /// total of 0) is all done.
    public var fraction: Double? {
        guard let total else { return nil }
        guard total > 0 else { return 1 }
        return min(1, max(0, Double(done) / Double(total)))
    }

    /// Done per second so far; `nil` before any time has passed.
    public var rate: Double? {
        let seconds = elapsed.seconds
        guard seconds > 0 else { return nil }
        return Double(max(0, done)) / seconds
    }

    /// The time left at the rate so far; `nil` without a total or before
    /// anything is done, zero once the total is reached.
    public var eta: Duration? {
        guard let total else { return nil }
        let left = total - done
        guard left > 0 else { return .zero }
        guard let rate, rate > 0 else { return nil }
        return .nanoseconds(Int64(min(Double(left) / rate, 1e9) * 1e9))
    }

    /// Whole percent done, rounded down so that 100 means finished; `nil`
    /// without a total.
    public var percent: Int? {
        fraction.map { Int(($0 * 100).rounded(.down)) }
    }

    /// The line for a log or a pipe: `warm: 12000/50000 entries (24%),
    /// 5300/s, ETA 7s`; without a total `export: 12000 entries, 5300/s`.
    /// The rate is left out before any time has passed, the ETA before
    /// anything is done and once everything is.
    public var plain: String {
        var line = "\(label): \(count) \(unit)"
        if let percent { line += " (\(percent)%)" }
        if let rate { line += ", \(Self.rate(rate))" }
        if let eta, eta > .zero { line += ", ETA \(Self.duration(eta))" }
        return line
    }

    /// The line for the end of the work: `warm: 50000/50000 entries (100%)
    /// in 9.4s, 5300/s`.
    public var summary: String {
        var line = "\(label): \(count) \(unit)"
        if let percent { line += " (\(percent)%)" }
        line += " in \(Self.elapsed(elapsed))"
        if let rate { line += ", \(Self.rate(rate))" }
        return line
    }

    /// The line for a terminal, redrawn in place: a bar when the total is
    /// known, then count, percent, rate, ETA and time elapsed, as in
    /// `warm [######--------] 12000/50000 entries 24% 5300/s ETA 7s 2s elapsed`.
    /// At most `width - 1` characters (a line as wide as the terminal wraps,
    /// and a wrapped line cannot be redrawn): the bar narrows, then goes,
    /// then the line is cut.
    public func terminal(width: Int = 80) -> String {
        var fields = ["\(count) \(unit)"]
        if let percent { fields.append("\(percent)%") }
        if let rate { fields.append(Self.rate(rate)) }
        if let eta, eta > .zero { fields.append("ETA \(Self.duration(eta))") }
        fields.append("\(Self.duration(elapsed, rounding: .down)) elapsed")
        let tail = fields.joined(separator: " ")
        let room = max(0, width - 1)
        if let fraction, let total {
            // The bar keeps its width while the figures after it change
            // theirs: it leaves room for the widest they are likely to be.
            let widest = "\(total)/\(total) \(unit) 100% 99000/s ETA 59m59s 59m59s elapsed".count
            // Two brackets and three spaces around the bar.
            let barWidth = min(30, room - label.count - max(widest, tail.count) - 4)
            if barWidth >= 10 {
                let filled = Int((fraction * Double(barWidth)).rounded(.down))
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled)
                return "\(label) [\(bar)] \(tail)"
            }
        }
        return String("\(label) \(tail)".prefix(room))
    }

    /// `12000/50000`, or `12000` without a total.
    private var count: String {
        total.map { "\(done)/\($0)" } ?? "\(done)"
    }

    /// A rate with as many digits as mean something on a line redrawn ten
    /// times a second: `5300/s` for 5312.7, `850/s`, `42/s`, `2.5/s`.
    public static func rate(_ perSecond: Double) -> String {
        switch perSecond {
        case 1000...: return "\(Int((perSecond / 100).rounded()) * 100)/s"
        case 100..<1000: return "\(Int((perSecond / 10).rounded()) * 10)/s"
        case 10..<100: return "\(Int(perSecond.rounded()))/s"
        default: return String(format: "%.1f/s", perSecond)
        }
    }

    /// A span in whole seconds: `7s`, `4m05s`, `2h03m`.
    ///
    /// - Parameter rounding: how a part of a second counts. Default `.up`,
    ///   for time left: it reads 0 only when none is; time elapsed is
    ///   rounded down.
    public static func duration(_ span: Duration, rounding: FloatingPointRoundingRule = .up) -> String {
        let seconds = Int(max(0, span.seconds).rounded(rounding))
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m\(pad(seconds % 60))s"
        default: return "\(seconds / 3600)h\(pad(seconds / 60 % 60))m"
        }
    }

    /// Time taken, to a tenth of a second below ten seconds (`9.4s`), to
    /// the nearest second above (`12s`, `4m05s`).
    public static func elapsed(_ span: Duration) -> String {
        let seconds = max(0, span.seconds)
        return seconds < 9.95 ? String(format: "%.1fs", seconds) : duration(span, rounding: .toNearestOrAwayFromZero)
    }

    private static func pad(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }
}
