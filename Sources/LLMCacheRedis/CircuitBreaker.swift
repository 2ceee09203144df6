/// The circuit breaker's decisions, free of clocks and locks so every
/// transition can be tested directly; ``RedisClient`` keeps one in a mutex.
///
/// closed ──N consecutive failures──► open ──cool-down──► half-open (one probe)
///   ▲                                  ▲                      │
///   └──────────── probe succeeds ──────┼──────────────────────┤
///                                      └── probe fails (cool-down doubles) ┘
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

    private(set) var phase: Phase = .closed(consecutiveFailures: 0)
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

    mutating func succeeded() {
        phase = .closed(consecutiveFailures: 0)
        coolDown = baseCoolDown
    }

    /// Records a connectivity failure; returns whether the breaker just opened.
    @discardableResult
    mutating func failed(now: ContinuousClock.Instant) -> Bool {
        switch phase {
        case .closed(let failures):
            if failures + 1 >= threshold {
                phase = .open(until: now + coolDown)
                return true
            }
            phase = .closed(consecutiveFailures: failures + 1)
            return false
        case .halfOpen:
            coolDown = min(coolDown * 2, maximumCoolDown)
            phase = .open(until: now + coolDown)
            return true
        case .open:
            return false
        }
    }

    /// The probe ended without saying anything about the server's health
    /// (cancelled): let the next command probe again.
    mutating func probeAbandoned() {
        if phase == .halfOpen { phase = .open(until: .now) }
    }
}
