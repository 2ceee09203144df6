import Synchronization

/// Whether an upstream was reachable, judged from the calls requests made
/// to it: `GET /readyz` reports it without calling the upstream, so a probe
/// every few seconds costs the provider nothing and cannot be rate-limited.
///
/// An upstream is unreachable when the latest call to it failed to connect
/// (refused, unknown host, connect time-out) and that failure is less than
/// ``window`` old. A response of any status, an error answer included,
/// proves it reachable. Older failures are forgotten: a proxy that a load
/// balancer stopped sending requests to would otherwise never learn that
/// the upstream came back. A slow answer (a read or request time-out) says
/// nothing about reachability and is not counted.
struct UpstreamReachability: Sendable {
    /// How long a connect failure keeps an upstream unreachable without
    /// newer calls: 30 s, a few readiness probes' worth.
    static let window = Duration.seconds(30)

    enum Status: Equatable, Sendable {
        /// No failed connect in the last ``window`` (or a call has got through since).
        case reachable
        /// The latest call, `age` ago, could not connect: `message` says why.
        case unreachable(age: Duration, message: String)
    }

    private var lastFailure: (at: ContinuousClock.Instant, message: String)?

    mutating func reached() {
        lastFailure = nil
    }

    mutating func failedToConnect(now: ContinuousClock.Instant, message: String) {
        lastFailure = (now, message)
    }

    func status(now: ContinuousClock.Instant) -> Status {
        guard let lastFailure, now - lastFailure.at < Self.window else { return .reachable }
        return .unreachable(age: now - lastFailure.at, message: lastFailure.message)
    }
}

/// One upstream's ``UpstreamReachability`` behind a mutex, recorded on
/// every call. Thread-safe.
final class UpstreamHealth: Sendable {
    private let state = Mutex(UpstreamReachability())

    func reached() { state.withLock { $0.reached() } }

    func failedToConnect(_ message: String) {
        let now = ContinuousClock.now
        state.withLock { $0.failedToConnect(now: now, message: message) }
    }

    var status: UpstreamReachability.Status {
        let now = ContinuousClock.now
        return state.withLock { $0.status(now: now) }
    }
}
