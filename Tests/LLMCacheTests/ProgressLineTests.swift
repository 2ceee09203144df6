import LLMCache
import Testing

@Suite("Progress lines")
struct ProgressLineTests {
    @Test("a line with a total has percent, rate and ETA")
    func withTotal() {
        let line = ProgressLine("warm", done: 12_000, of: 50_000, elapsed: .milliseconds(2_264))
        #expect(line.percent == 24)
        #expect(line.plain == "warm: 12000/50000 entries (24%), 5300/s, ETA 8s")
        #expect(line.summary == "warm: 12000/50000 entries (24%) in 2.3s, 5300/s")
    }

    @Test("without a total there is no percent and no ETA")
    func withoutTotal() {
        let line = ProgressLine("export", done: 12_000, elapsed: .seconds(4))
        #expect(line.fraction == nil && line.eta == nil)
        #expect(line.plain == "export: 12000 entries, 3000/s")
    }

    @Test("before any time has passed there is no rate, and before anything is done no ETA")
    func atTheStart() {
        #expect(ProgressLine("warm", done: 0, of: 10, elapsed: .zero).plain == "warm: 0/10 entries (0%)")
        #expect(ProgressLine("warm", done: 0, of: 10, elapsed: .seconds(3)).plain == "warm: 0/10 entries (0%), 0.0/s")
    }

    @Test("done is 100% with no ETA; a total that was short reads as done; nothing to do is done")
    func done() {
        #expect(ProgressLine("import", done: 500, of: 500, elapsed: .seconds(1)).plain == "import: 500/500 entries (100%), 500/s")
        let overshot = ProgressLine("scan", done: 120, of: 100, unit: "entries scanned", elapsed: .seconds(2))
        #expect(overshot.fraction == 1 && overshot.eta == .zero)
        #expect(ProgressLine("import", done: 0, of: 0, elapsed: .zero).percent == 100)
        // 99.9% is not finished: the percent rounds down.
        #expect(ProgressLine("warm", done: 999, of: 1000, elapsed: .seconds(1)).percent == 99)
    }

    @Test("rates keep the digits that mean something", arguments: [
        (5312.7, "5300/s"), (123_456.0, "123500/s"), (850.2, "850/s"), (42.4, "42/s"), (2.54, "2.5/s"), (0.0, "0.0/s"),
    ])
    func rates(perSecond: Double, text: String) {
        #expect(ProgressLine.rate(perSecond) == text)
    }

    @Test("time left rounds up, time elapsed down", arguments: [
        (Duration.milliseconds(6_200), "7s", "6s"), (.seconds(59), "59s", "59s"), (.seconds(245), "4m05s", "4m05s"),
        (.seconds(7_380), "2h03m", "2h03m"), (.zero, "0s", "0s"),
    ])
    func durations(span: Duration, up: String, down: String) {
        #expect(ProgressLine.duration(span) == up)
        #expect(ProgressLine.duration(span, rounding: .down) == down)
    }

    @Test("time taken has a tenth of a second below ten seconds")
    func elapsed() {
        #expect(ProgressLine.elapsed(.milliseconds(9_420)) == "9.4s")
        #expect(ProgressLine.elapsed(.milliseconds(12_600)) == "13s")
        #expect(ProgressLine.elapsed(.seconds(61)) == "1m01s")
    }

    @Test("the terminal line has a bar, fits the width, and drops the bar when there is no room")
    func terminal() {
        let line = ProgressLine("warm", done: 25, of: 100, unit: "pairs", elapsed: .seconds(5))
        let tail = "25/100 pairs 25% 5.0/s ETA 15s 5s elapsed"
        #expect(line.terminal(width: 120) == "warm [" + String(repeating: "#", count: 7) + String(repeating: "-", count: 23) + "] " + tail)
        // Room for the narrowest bar, ten wide, beside the widest figures of a total of 100.
        #expect(line.terminal(width: 71) == "warm [##--------] " + tail)
        #expect(line.terminal(width: 70) == "warm " + tail)
        #expect(line.terminal(width: 40) == String("warm \(tail)".prefix(39)))
        // The bar keeps its width as the figures change theirs.
        let later = ProgressLine("warm", done: 75, of: 100, unit: "pairs", elapsed: .seconds(75))
        #expect(later.terminal(width: 120).firstIndex(of: "]") == line.terminal(width: 120).firstIndex(of: "]"))
        #expect(ProgressLine("export", done: 7, elapsed: .seconds(2)).terminal() == "export 7 entries 3.5/s 2s elapsed")
    }
}
