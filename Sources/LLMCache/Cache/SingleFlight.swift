import Synchronization

/// Runs at most one computation per key at a time: callers that arrive while a
/// computation for their key is running wait for its result instead of starting
/// their own.
///
/// - The computation runs in its own task, so cancelling any caller — even the
///   one that started it — cancels only that caller's wait.
/// - A thrown error reaches every waiter of that round; the next caller starts
///   afresh.
///
/// Thread-safe.
final class SingleFlight<Value: Sendable>: Sendable {
    private final class Flight: Sendable {
        struct State {
            var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
            var cancelled: Set<Int> = []
            var nextWaiter = 0
            var result: Result<Value, any Error>?
        }
        let state = Mutex(State())

        func reserveWaiter() -> Int {
            state.withLock { s in
                defer { s.nextWaiter += 1 }
                return s.nextWaiter
            }
        }

        func wait(_ id: Int) async throws -> Value {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
                    let immediate: Result<Value, any Error>? = state.withLock { s in
                        if s.cancelled.contains(id) { return .failure(CancellationError()) }
                        if let result = s.result { return result }
                        s.waiters[id] = continuation
                        return nil
                    }
                    if let immediate { continuation.resume(with: immediate) }
                }
            } onCancel: {
                let continuation = state.withLock { s -> CheckedContinuation<Value, any Error>? in
                    s.cancelled.insert(id)
                    return s.waiters.removeValue(forKey: id)
                }
                continuation?.resume(throwing: CancellationError())
            }
        }

        func finish(_ result: Result<Value, any Error>) {
            let waiters = state.withLock { s -> [CheckedContinuation<Value, any Error>] in
                s.result = result
                defer { s.waiters.removeAll() }
                return Array(s.waiters.values)
            }
            for waiter in waiters { waiter.resume(with: result) }
        }
    }

    private let flights = Mutex<[CacheKey: Flight]>([:])

    init() {}

    /// Returns the result of `operation` for `key`, sharing one run among all
    /// concurrent callers. `shared` is false for exactly one caller per run:
    /// the one whose call started it.
    func run(
        _ key: CacheKey,
        operation: @escaping @Sendable () async throws -> Value
    ) async throws -> (value: Value, shared: Bool) {
        let (flight, waiter, leader) = flights.withLock { map -> (Flight, Int, Bool) in
            if let existing = map[key] { return (existing, existing.reserveWaiter(), false) }
            let flight = Flight()
            map[key] = flight
            return (flight, flight.reserveWaiter(), true)
        }
        if leader {
            Task {
                let result: Result<Value, any Error>
                do { result = .success(try await operation()) } catch { result = .failure(error) }
                // Remove before publishing, so a caller arriving after the result
                // starts a new run rather than reading a finished flight.
                _ = self.flights.withLock { $0.removeValue(forKey: key) }
                flight.finish(result)
            }
        }
        return (try await flight.wait(waiter), !leader)
    }

    /// Keys with a computation in progress.
    var inFlight: Int { flights.withLock { $0.count } }
}
