import Synchronization

/// Runs `body`, giving up after `timeout` with ``CacheError/Code/timeout``.
///
/// Unlike a task group, this returns at the deadline even when `body` ignores
/// cancellation: the caller is never held hostage by a hung backend. When
/// `body` finishes first its timer is cancelled at once: left to run out, every
/// call would leave a sleeping task and a timer behind for `timeout`, tens of
/// thousands of them at a busy proxy's hit rate.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    let timer = TimerSlot()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            if once.resume(result) { timer.cancel() }
        }
        timer.start {
            // A cancelled sleep means `body` won the race.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            if once.resume(.failure(CacheError(.timeout, "the cache store did not answer within \(timeout); check that it is running and reachable"))) {
                work.cancel()
            }
        }
    }
}

/// The timer task of one ``withDeadline(_:_:)`` call, which the work may
/// cancel before or after it has started.
final class TimerSlot: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))

    func start(_ operation: @escaping @Sendable () async -> Void) {
        let task = Task(operation: operation)
        let cancelled = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    func cancel() {
        let task = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        task?.cancel()
    }
}

/// A continuation resumed by whichever of several racers finishes first.
/// ``set(_:)`` is called before any racer starts.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, any Error>?>(nil)

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// Returns true when this call was the one that resumed.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        guard let continuation = continuation.withLock({ state in defer { state = nil }; return state }) else { return false }
        continuation.resume(with: result)
        return true
    }
}
