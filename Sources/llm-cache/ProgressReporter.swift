import Foundation
import LLMCache
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reports the progress of a long command (`warm`, `import`, `export`) on
/// standard error, so standard output stays clean for data.
///
/// On a terminal, one line redrawn in place (a bar when the total is known,
/// count, percent, rate, ETA, time elapsed) at most ten times a second; on
/// anything else (a pipe, a file, `TERM=dumb`), a plain ``ProgressLine`` every
/// two seconds and one at the end; with `quiet`, nothing. ``update(_:)`` is
/// cheap enough to call per entry at 100 000 entries a second: between
/// reports it reads the clock and takes an uncontended lock. Thread-safe.
final class ProgressReporter: Sendable {
    enum Style: Sendable {
        /// One line redrawn in place.
        case redrawn
        /// Plain lines, one per interval.
        case lines
        /// Nothing.
        case silent
    }

    private struct State {
        var done = 0
        var lastReport: ContinuousClock.Instant
        /// Whether a redrawn line is on the screen, to be cleared before other output.
        var drawn = false
        var finished = false
    }

    let label: String
    let unit: String
    let total: Int?
    let style: Style
    private let interval: Duration
    private let start: ContinuousClock.Instant
    private let state: Mutex<State>

    /// - Parameters:
    ///   - label: the command, the start of each line.
    ///   - total: how many there are, if known: without it there is no bar,
    ///     percent or ETA.
    ///   - unit: what is counted, plural. Default `entries`.
    ///   - quiet: report nothing (`--quiet`); ``note(_:)`` still prints.
    init(_ label: String, total: Int?, unit: String = "entries", quiet: Bool) {
        self.label = label
        self.unit = unit
        self.total = total
        self.style = quiet ? .silent : Self.standardErrorIsTerminal ? .redrawn : .lines
        self.interval = style == .redrawn ? .milliseconds(100) : .seconds(2)
        let now = ContinuousClock.now
        self.start = now
        self.state = Mutex(State(lastReport: now))
    }

    /// Whether standard error is a terminal that can redraw a line.
    static var standardErrorIsTerminal: Bool {
        isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Records that `done` are done, and reports if the last report is old enough.
    func update(_ done: Int) {
        guard style != .silent else { return }
        let now = ContinuousClock.now
        state.withLock { s in
            s.done = done
            guard !s.finished, now - s.lastReport >= interval else { return }
            s.lastReport = now
            report(&s, at: now)
        }
    }

    /// Prints `message` on a line of its own, whatever the style: an error,
    /// or a result. A redrawn line is cleared first and drawn again after.
    func note(_ message: String) {
        state.withLock { s in
            var text = s.drawn ? Self.clearLine : ""
            text += message + "\n"
            Self.write(text)
            s.drawn = false
            if style == .redrawn, !s.finished { report(&s, at: ContinuousClock.now) }
        }
    }

    /// Stops reporting. With `summary`, the default, the last count is
    /// reported: a redrawn line is left on the screen, complete, and a plain
    /// one is printed as a ``ProgressLine/summary``. Without it a redrawn
    /// line is erased and nothing is printed, for work whose end the caller
    /// reports in words of its own.
    func finish(summary: Bool = true) {
        guard style != .silent else { return }
        state.withLock { s in
            guard !s.finished else { return }
            s.finished = true
            let line = ProgressLine(label, done: s.done, of: total, unit: unit, elapsed: ContinuousClock.now - start)
            switch (style, summary) {
            case (.redrawn, true): Self.write(Self.clearLine + line.terminal(width: Self.terminalWidth()) + "\n")
            case (.redrawn, false): if s.drawn { Self.write(Self.clearLine) }
            case (.lines, true): Self.write(line.summary + "\n")
            case (.lines, false), (.silent, _): break
            }
            s.drawn = false
        }
    }

    private func report(_ s: inout State, at now: ContinuousClock.Instant) {
        let line = ProgressLine(label, done: s.done, of: total, unit: unit, elapsed: now - start)
        switch style {
        case .redrawn:
            Self.write(Self.clearLine + line.terminal(width: Self.terminalWidth()))
            s.drawn = true
        case .lines:
            Self.write(line.plain + "\n")
        case .silent:
            break
        }
    }

    /// Back to the start of the line, and erase it.
    private static let clearLine = "\r\u{1B}[2K"

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// The terminal's width in columns; 80 when it does not say.
    private static func terminalWidth() -> Int {
        var size = winsize()
        #if canImport(Glibc)
        let request = UInt(TIOCGWINSZ)
        #else
        let request = TIOCGWINSZ
        #endif
        guard ioctl(STDERR_FILENO, request, &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }
}
