import DequeModule

extension UpstreamGate {
    /// The gate's decisions, free of locks, clocks and continuations so that
    /// every transition can be driven directly by tests; ``UpstreamGate``
    /// keeps one in a mutex and acts on what it returns.
    ///
    /// At most `limit` calls hold a slot; a call that finds them all taken
    /// waits in a first-in, first-out queue of at most `queueLimit`; a call
    /// that finds the queue full is refused. A slot given back passes
    /// straight to the first waiter, so a waiter is never overtaken by a
    /// call that arrived after it.
    struct StateMachine: Sendable {
        enum Admission: Equatable, Sendable {
            /// Call the upstream now.
            case proceed
            /// Wait for ``release()`` to grant waiter `id` a slot.
            case queued(id: Int)
            /// Every slot and queue place is taken: answer 503.
            case rejected
        }

        let limit: Int
        let queueLimit: Int
        /// Slots held, granted waiters included.
        private(set) var inFlight = 0
        private var queue = Deque<Int>()
        /// Waiters granted a slot that have not yet taken it (``finish(_:)``).
        private var granted: Set<Int> = []
        private var nextID = 0

        init(limit: Int, queueLimit: Int) {
            self.limit = max(1, limit)
            self.queueLimit = max(0, queueLimit)
        }

        var waiting: Int { queue.count }

        mutating func admit() -> Admission {
            if inFlight < limit, queue.isEmpty {
                inFlight += 1
                return .proceed
            }
            guard queue.count < queueLimit else { return .rejected }
            nextID += 1
            queue.append(nextID)
            return .queued(id: nextID)
        }

        /// A call gave its slot back. Returns the waiter the slot passes to,
        /// to be woken, if any.
        mutating func release() -> Int? {
            if let next = queue.popFirst() {
                granted.insert(next)
                return next
            }
            inFlight = max(0, inFlight - 1)
            return nil
        }

        /// Whether waiter `id` has been granted a slot (it need not wait).
        func isGranted(_ id: Int) -> Bool { granted.contains(id) }

        /// Waiter `id` stops waiting (woken, timed out or cancelled): true if
        /// it holds a slot, which it must give back with ``release()``; false
        /// if it was still queued, and no longer is.
        mutating func finish(_ id: Int) -> Bool {
            if granted.remove(id) != nil { return true }
            if let index = queue.firstIndex(of: id) { queue.remove(at: index) }
            return false
        }
    }
}
