import NIOCore

extension ConnectionGuard {
    /// Which time-out applies to a connection, and when it runs out, as a
    /// function of what was read and written; no I/O and no clock of its own
    /// (every event brings `now`), so each transition can be tested alone.
    ///
    /// At most one deadline holds at a time:
    /// - waiting for a request head: the header time-out, from when the
    ///   connection opened or, on a kept-alive connection, from the first byte
    ///   after it went idle;
    /// - a head read, its end not yet: the body time-out, from the head;
    /// - every request read and a response still owed: none, however long the
    ///   response takes;
    /// - every response written: the idle time-out, until the first byte of a
    ///   next request.
    struct StateMachine {
        struct Timeouts: Sendable {
            var header: TimeAmount
            var body: TimeAmount
            var idle: TimeAmount
        }

        enum Reason: String, CustomStringConvertible {
            case header = "no complete request head in time"
            case body = "the request body did not arrive in time"
            case idle = "idle for longer than the idle time-out"

            var description: String { rawValue }
        }

        enum TimerAction: Equatable {
            /// Nothing to enforce now.
            case none
            /// The deadline moved later; the timer is set again.
            case rearm
            /// Close the connection, after a 408 when `answer` is true.
            case close(Reason, answer: Bool)
        }

        let timeouts: Timeouts
        /// The time-out that applies and when it runs out; `nil` when none does.
        private(set) var deadline: (at: NIODeadline, reason: Reason)?
        private(set) var isClosed = false
        /// Request heads read whose final response has not ended.
        private var unanswered = 0
        /// A head was read and its end not yet.
        private var readingBody = false
        /// A final response head was written and its end not yet.
        private var responseOpen = false
        /// Bytes arrived since the connection began waiting for a head.
        private var headBegun = false
        /// The server stopped asking for reads (its consumer is behind), so a
        /// slow body is not the client's fault.
        private var readsArePaused = false
        /// The body time-out ran out while reads were paused; it starts again
        /// when they resume.
        private var bodyDeferred = false

        init(timeouts: Timeouts) {
            self.timeouts = timeouts
        }

        /// Whether bytes read now begin a request head (only then does
        /// ``bytesRead(now:)`` change anything).
        var isWaitingForFirstByte: Bool {
            switch deadline?.reason {
            case .idle?: return true
            case .header?: return !headBegun
            case .body?, nil: return false
            }
        }

        /// Whether nothing read earlier is still unanswered, so a response
        /// written now would answer the next request head.
        var isFirstInLine: Bool { unanswered == 0 && !responseOpen }

        mutating func connected(now: NIODeadline) {
            deadline = (now + timeouts.header, .header)
            headBegun = false
        }

        /// Bytes were read that did not complete a request head.
        mutating func bytesRead(now: NIODeadline) {
            guard !isClosed else { return }
            if deadline?.reason == .idle { deadline = (now + timeouts.header, .header) }
            headBegun = true
        }

        mutating func headRead(now: NIODeadline) {
            guard !isClosed else { return }
            unanswered += 1
            readingBody = true
            headBegun = false
            bodyDeferred = false
            deadline = (now + timeouts.body, .body)
        }

        mutating func endRead(now: NIODeadline) {
            guard !isClosed else { return }
            readingBody = false
            bodyDeferred = false
            deadline = unanswered > 0 ? nil : (now + timeouts.idle, .idle)
        }

        mutating func responseStarted() {
            responseOpen = true
        }

        mutating func responseEnded(now: NIODeadline) {
            responseOpen = false
            unanswered = max(0, unanswered - 1)
            guard !isClosed, !readingBody else { return }
            if unanswered > 0 {
                deadline = nil
            } else {
                deadline = (now + timeouts.idle, .idle)
                headBegun = false
            }
        }

        mutating func readsPaused() {
            readsArePaused = true
        }

        /// Returns whether the deadline changed (a deferred body time-out starts again).
        mutating func readsResumed(now: @autoclosure () -> NIODeadline) -> Bool {
            readsArePaused = false
            guard bodyDeferred, !isClosed else { return false }
            bodyDeferred = false
            guard readingBody else { return false }
            deadline = (now() + timeouts.body, .body)
            return true
        }

        mutating func timerFired(now: NIODeadline) -> TimerAction {
            guard !isClosed, let deadline else { return .none }
            if now < deadline.at { return .rearm }
            let answer: Bool
            switch deadline.reason {
            case .header:
                answer = headBegun && isFirstInLine
            case .body:
                if readsArePaused {
                    bodyDeferred = true
                    return .none
                }
                // Only the request being read is unanswered and nothing of its response was written.
                answer = unanswered == 1 && !responseOpen
            case .idle:
                answer = false
            }
            closing()
            return .close(deadline.reason, answer: answer)
        }

        /// The connection is closing: nothing more is enforced.
        mutating func closing() {
            isClosed = true
            deadline = nil
        }
    }
}
