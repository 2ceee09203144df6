/// The circuit breaker's decisions, free of clocks and locks so every
/// transition can be tested directly; ``RedisClient`` keeps one in a mutex.
///
/// closed ──N consecutive failures──► open ──cool-down──► half-open (one probe)
///   ▲                                  ▲                      │
///   └──────────── probe succeeds ──────┼──────────────────────┤
///                                      └── probe fails (cool-down doubles) ┘
///
/// A probe comes from one of two places. ``RedisClient/run()`` sends a PING
/// every ``RedisClient/Configuration/CircuitBreaker-swift.struct/probeInterval``
/// (jittered, ``probeDelay(interval:unit:)``) for as long as the breaker is
/// open, whatever the cool-down says (``beginBackgroundProbe()``): that is what
/// brings the cache back within about a second of the server answering. A
/// command arriving after the cool-down is the other, for a client nobody
/// runs as a service; its cool-down doubles with each failed probe, so
/// without the background probe a long outage is noticed late (an outage of
/// 40 s, about 20 s late with the defaults).
struct CircuitBreakerState: Sendable {
    enum Phase: Equatable, Sendable {
        case closed(consecutiveFailures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen
    }

    enum Admission: Equatable, Sendable {
        /// Send the command.
        case allow
        /// Send it as the one probe of a half-open breaker.
        case probe
        /// Do not send: the breaker is open (or another probe is in flight).
        case reject(retryIn: Duration)
    }

    /// What a reported outcome changed, for the one log line per outage.
    enum Transition: Equatable, Sendable {
        /// Nothing worth a line.
        case none
        /// The breaker opened: the server was just found unreachable.
        case opened
        /// A probe failed: still unreachable, the breaker stays open.
        case stillOpen
        /// A probe or command succeeded after the breaker had opened; the
        /// server was unreachable for `outage`.
        case closed(outage: Duration)
    }

    private(set) var phase: Phase = .closed(consecutiveFailures: 0)
    /// When the breaker last opened from closed; `nil` while closed.
    private(set) var openedAt: ContinuousClock.Instant?
    private var coolDown: Duration
    private let baseCoolDown: Duration
    private let maximumCoolDown: Duration
    private let threshold: Int

    init(threshold: Int, coolDown: Duration, maximumCoolDown: Duration) {
        self.threshold = threshold
        self.baseCoolDown = coolDown
        self.coolDown = coolDown
        self.maximumCoolDown = max(coolDown, maximumCoolDown)
    }

    /// Whether the breaker is open or half-open: the server is taken to be unreachable.
    var isOpen: Bool {
        if case .closed = phase { return false }
        return true
    }

    mutating func admit(now: ContinuousClock.Instant) -> Admission {
        switch phase {
        case .closed:
            return .allow
        case .open(let until):
            guard now >= until else { return .reject(retryIn: until - now) }
            phase = .halfOpen
            return .probe
        case .halfOpen:
            return .reject(retryIn: .zero)
        }
    }

    /// Lets the background prober send its probe now if the breaker is open,
    /// however long its cool-down has left: the prober paces itself. `false`
    /// while closed (nothing to probe) or half-open (a probe is in flight).
    mutating func beginBackgroundProbe() -> Bool {
        guard case .open = phase else { return false }
        phase = .halfOpen
        return true
    }

    /// Records that the server answered.
    @discardableResult
    mutating func succeeded(now: ContinuousClock.Instant) -> Transition {
        defer {
            phase = .closed(consecutiveFailures: 0)
            coolDown = baseCoolDown
            openedAt = nil
        }
        guard isOpen else { return .none }
        return .closed(outage: openedAt.map { now - $0 } ?? .zero)
    }

    /// Records a connectivity failure.
    @discardableResult
    mutating func failed(now: ContinuousClock.Instant) -> Transition {
        switch phase {
        case .closed(let failures):
            if failures + 1 >= threshold {
                phase = .open(until: now + coolDown)
                openedAt = now
                return .opened
            }
            phase = .closed(consecutiveFailures: failures + 1)
            return .none
        case .halfOpen:
            coolDown = min(coolDown * 2, maximumCoolDown)
            phase = .open(until: now + coolDown)
            return .stillOpen
        case .open:
            return .none
        }
    }

    /// The probe ended without saying anything about the server's health
    /// (cancelled): let the next command probe again.
    mutating func probeAbandoned(now: ContinuousClock.Instant) {
        if phase == .halfOpen { phase = .open(until: now) }
    }

    /// How long the background prober waits before its next look: between
    /// half and all of `interval`, by `unit` (a random number in `0..<1`), so
    /// that many processes that lost the same server do not probe it in step.
    static func probeDelay(interval: Duration, unit: Double) -> Duration {
        interval * (0.5 + 0.5 * min(max(unit, 0), 1))
    }
}
