import Synchronization

/// Admission to one upstream: at most ``Configuration/Upstream/maximumConnections``
/// calls at a time, the rest waiting their turn in a bounded queue for at
/// most ``Configuration/Upstream/queueTimeout``.
///
/// Without it, calls beyond the HTTP client's connection limit waited inside
/// the client and failed with 502 after the connect time-out, though the
/// upstream was healthy: generations last 10–60 s, so the 65th concurrent
/// caller failed. Now a caller waits in order, and a full queue or a wait
/// that runs out is answered 503 with `Retry-After` (``UpstreamBusy``).
/// Thread-safe.
final class UpstreamGate: Sendable {
    private struct State {
        var machine: StateMachine
        var continuations: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose wait ended (cancelled, timed out) before their
        /// continuation was stored: they must not suspend.
        var stopped: Set<Int> = []
    }

    private let state: Mutex<State>
    let queueTimeout: Duration

    init(limit: Int, queueLimit: Int, queueTimeout: Duration) {
        state = Mutex(State(machine: StateMachine(limit: limit, queueLimit: queueLimit)))
        self.queueTimeout = queueTimeout
    }

    /// Calls in flight and callers waiting, for metrics and tests.
    var load: (inFlight: Int, waiting: Int) {
        state.withLock { ($0.machine.inFlight, $0.machine.waiting) }
    }

    /// A slot for one upstream call, waiting for one when all are taken.
    /// Give it back with ``Permit/release()`` once the call's answer has
    /// been read (or dropped): the permit gives it back when deallocated too.
    ///
    /// - Throws: ``UpstreamBusy`` when the queue is full or the wait ran
    ///   out; `CancellationError` when the caller's task was cancelled.
    func acquire() async throws -> Permit {
        let admission = state.withLock { $0.machine.admit() }
        switch admission {
        case .proceed:
            return Permit(gate: self)
        case .rejected:
            throw UpstreamBusy(reason: .queueFull)
        case .queued(let id):
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.wait(id) }
                group.addTask { [queueTimeout] in try? await Task.sleep(for: queueTimeout) }
                // The first to end (granted, timed out, cancelled) ends both.
                await group.next()
                group.cancelAll()
            }
            // Decided under the lock, so a slot granted at the last moment
            // is taken rather than lost.
            let holdsSlot = state.withLock { state in
                state.stopped.remove(id)
                return state.machine.finish(id)
            }
            if holdsSlot { return Permit(gate: self) }
            if Task.isCancelled { throw CancellationError() }
            throw UpstreamBusy(reason: .waitedTooLong(queueTimeout))
        }
    }

    /// Suspends until waiter `id` is granted a slot or the wait is cancelled.
    private func wait(_ id: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    // Granted (or stopped) between admission and here: the
                    // wake-up already happened and must not be waited for.
                    if state.machine.isGranted(id) || state.stopped.contains(id) { return true }
                    state.continuations[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state in
                state.stopped.insert(id)
                return state.continuations.removeValue(forKey: id)
            }
            continuation?.resume()
        }
    }

    fileprivate func release() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let next = state.machine.release() else { return nil }
            return state.continuations.removeValue(forKey: next)
        }
        continuation?.resume()
    }

    /// One call's slot. Given back once, by ``release()`` or when the permit
    /// is deallocated (an answer's body dropped unread, a task cancelled).
    final class Permit: Sendable {
        private let gate: UpstreamGate
        private let released = Atomic<Bool>(false)

        fileprivate init(gate: UpstreamGate) { self.gate = gate }

        func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { gate.release() }
        }

        deinit { release() }
    }
}

/// An upstream body that gives its call's slot back when it ends, fails or
/// is dropped.
struct PermitHoldingSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element: Sendable {
    typealias Element = Base.Element
    let base: Base
    let permit: UpstreamGate.Permit

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let permit: UpstreamGate.Permit

        mutating func next() async throws -> Element? {
            do {
                guard let element = try await base.next() else {
                    permit.release()
                    return nil
                }
                return element
            } catch {
                permit.release()
                throw error
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), permit: permit)
    }
}
