import LLMCache
import Logging
import Synchronization

/// One log line per failed request (upstream error status, time-out,
/// unreachable upstream, broken stream, an answer not stored), at `warning`
/// so the default level shows them, with the route, the status and the
/// upstream's request id.
///
/// Rate-limited so a storm cannot flood the log: at most ``burst`` lines at
/// once and ``perSecond`` a second after that; the lines dropped meanwhile
/// are counted and reported by the next line that is written
/// (`"suppressed": N`). Thread-safe.
final class FailureLog: Sendable {
    /// The most lines written in a burst. Default 20.
    let burst: Double
    /// Lines a second once a burst is spent. Default 5.
    let perSecond: Double
    private let logger: Logger
    private let state: Mutex<(tokens: Double, refilled: ContinuousClock.Instant, suppressed: Int)>

    init(logger: Logger, burst: Int = 20, perSecond: Double = 5) {
        self.logger = logger
        self.burst = Double(max(1, burst))
        self.perSecond = max(0.01, perSecond)
        state = Mutex((Double(max(1, burst)), .now, 0))
    }

    /// Logs `message` unless the budget is spent.
    func record(_ message: @autoclosure () -> Logger.Message, route: String, status: Int?, upstreamRequestID: String?, detail: String? = nil) {
        let now = ContinuousClock.now
        let suppressed = state.withLock { state -> Int? in
            state.tokens = min(burst, state.tokens + (now - state.refilled).seconds * perSecond)
            state.refilled = now
            guard state.tokens >= 1 else {
                state.suppressed += 1
                return nil
            }
            state.tokens -= 1
            defer { state.suppressed = 0 }
            return state.suppressed
        }
        guard let suppressed else { return }
        var metadata: Logger.Metadata = ["route": "\(route)"]
        if let status { metadata["status"] = "\(status)" }
        if let upstreamRequestID { metadata["upstream_request_id"] = "\(upstreamRequestID)" }
        if let detail { metadata["error"] = "\(detail)" }
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.warning(message(), metadata: metadata)
    }
}
