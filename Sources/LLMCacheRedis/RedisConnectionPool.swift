import NIOCore
import Synchronization

/// The client's connections: up to `size` shared connections that pipeline
/// every caller's commands, and up to `leasedLimit` connections leased to one
/// caller at a time (for MULTI/EXEC, WATCH and blocking commands, which must
/// not interleave with other callers' commands).
///
/// Thread-safe: all state is behind one mutex, held only to pick or record a
/// connection, never across I/O.
final class RedisConnectionPool: Sendable {
    private struct Waiter {
        let id: Int
        let exclusive: Bool
        let continuation: CheckedContinuation<RedisConnection, any Error>
    }

    private struct State: ~Copyable {
        var shared: [RedisConnection] = []
        var sharedConnecting = 0
        var idleLeasable: [RedisConnection] = []
        var leasedOrConnecting = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var isShutdown = false

        enum LeasePick { case use(RedisConnection), open }

        /// Takes a lease slot if one is free: an idle leased connection still
        /// open, or room to open one. `nil` when the caller must wait.
        mutating func takeLease(limit: Int) -> LeasePick? {
            while let idle = idleLeasable.popLast() {
                if idle.isActive {
                    leasedOrConnecting += 1
                    return .use(idle)
                }
            }
            if leasedOrConnecting < limit {
                leasedOrConnecting += 1
                return .open
            }
            return nil
        }
    }

    private let state = Mutex(State())
    private let size: Int
    private let leasedLimit: Int
    private let acquireTimeout: Duration
    private let connectTimeout: Duration
    private let open: @Sendable (_ onClose: @escaping @Sendable (RedisConnection) -> Void) async throws(RedisError) -> RedisConnection

    init(
        size: Int,
        leasedLimit: Int,
        acquireTimeout: Duration,
        connectTimeout: Duration,
        open: @escaping @Sendable (_ onClose: @escaping @Sendable (RedisConnection) -> Void) async throws(RedisError) -> RedisConnection
    ) {
        self.size = size
        self.leasedLimit = leasedLimit
        self.acquireTimeout = acquireTimeout
        self.connectTimeout = connectTimeout
        self.open = open
    }

    // MARK: Shared connections

    private enum SharedPick {
        case use(RedisConnection, grow: Bool)
        case wait(grow: Bool)
        case shutdown
    }

    /// A shared connection for one command: the least loaded open one. Opens
    /// another (up to the pool size) when every open one is busy.
    func shared() async throws(RedisError) -> RedisConnection {
        let pick = state.withLock { state -> SharedPick in
            guard !state.isShutdown else { return .shutdown }
            var best: RedisConnection?
            var bestLoad = Int.max
            for connection in state.shared {
                let load = connection.inFlight.value
                if load < bestLoad { best = connection; bestLoad = load }
                if load == 0 { break }
            }
            let grow = bestLoad > 0 && state.shared.count + state.sharedConnecting < size
            if grow { state.sharedConnecting += 1 }
            if let best { return .use(best, grow: grow) }
            return .wait(grow: grow)
        }
        switch pick {
        case .shutdown:
            throw RedisError(.shutdown, "the Redis client was shut down; create a new one")
        case .use(let connection, let grow):
            if grow { openShared(failWaitersOnError: false) }
            return connection
        case .wait(let grow):
            if grow { openShared(failWaitersOnError: true) }
            return try await wait(exclusive: false)
        }
    }

    private func openShared(failWaitersOnError: Bool) {
        Task {
            do throws(RedisError) {
                let connection = try await open { [weak self] closed in self?.sharedClosed(closed) }
                let handOut = state.withLock { state -> [Waiter]? in
                    state.sharedConnecting -= 1
                    guard !state.isShutdown else { return nil }
                    state.shared.append(connection)
                    let served = state.waiters.filter { !$0.exclusive }
                    state.waiters.removeAll { !$0.exclusive }
                    return served
                }
                guard let handOut else {
                    await connection.close()
                    return
                }
                for waiter in handOut { waiter.continuation.resume(returning: connection) }
            } catch {
                let failed = state.withLock { state -> [Waiter] in
                    state.sharedConnecting -= 1
                    // Waiters are failed only when nothing else could serve them,
                    // so one failed extra connection does not fail callers.
                    guard state.shared.isEmpty, state.sharedConnecting == 0 else { return [] }
                    let failed = state.waiters.filter { !$0.exclusive }
                    state.waiters.removeAll { !$0.exclusive }
                    return failed
                }
                for waiter in failed { waiter.continuation.resume(throwing: error) }
            }
        }
    }

    private func sharedClosed(_ connection: RedisConnection) {
        state.withLock { state in
            state.shared.removeAll { $0 === connection }
        }
    }

    // MARK: Leased connections

    /// A connection for the caller alone until ``release(_:)``; waits up to the
    /// acquire timeout when `leasedLimit` connections are already leased.
    func lease() async throws(RedisError) -> RedisConnection {
        enum Pick { case use(RedisConnection), open, wait, shutdown }
        let pick = state.withLock { state -> Pick in
            guard !state.isShutdown else { return .shutdown }
            switch state.takeLease(limit: leasedLimit) {
            case .use(let connection): return .use(connection)
            case .open: return .open
            case nil: return .wait
            }
        }
        switch pick {
        case .shutdown:
            throw RedisError(.shutdown, "the Redis client was shut down; create a new one")
        case .use(let connection):
            return connection
        case .open:
            do throws(RedisError) {
                return try await open { _ in }
            } catch {
                releaseSlot(nil)
                throw error
            }
        case .wait:
            return try await wait(exclusive: true)
        }
    }

    /// Returns a leased connection; a waiting caller gets it next.
    func release(_ connection: RedisConnection) {
        releaseSlot(connection.isActive ? connection : nil)
    }

    private func releaseSlot(_ connection: RedisConnection?) {
        enum Next { case give(Waiter, RedisConnection), open(Waiter), closeIt(RedisConnection), none }
        let next = state.withLock { state -> Next in
            if state.isShutdown {
                state.leasedOrConnecting -= 1
                return connection.map(Next.closeIt) ?? .none
            }
            if let index = state.waiters.firstIndex(where: \.exclusive) {
                let waiter = state.waiters.remove(at: index)
                // The slot passes to the waiter, so the count stays the same.
                if let connection { return .give(waiter, connection) }
                return .open(waiter)
            }
            state.leasedOrConnecting -= 1
            if let connection { state.idleLeasable.append(connection) }
            return .none
        }
        switch next {
        case .give(let waiter, let connection):
            waiter.continuation.resume(returning: connection)
        case .open(let waiter):
            Task {
                do throws(RedisError) {
                    waiter.continuation.resume(returning: try await open { _ in })
                } catch {
                    waiter.continuation.resume(throwing: error)
                    releaseSlot(nil)
                }
            }
        case .closeIt(let connection):
            Task { await connection.close() }
        case .none:
            break
        }
    }

    // MARK: Waiting

    private func wait(exclusive: Bool) async throws(RedisError) -> RedisConnection {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        // A leased-connection waiter waits for a lease to come back; a shared one
        // only for a connection being opened, which its own timeouts bound.
        let timeout = exclusive ? acquireTimeout : connectTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.timeOut(waiter: id, after: timeout)
        }
        defer { timer.cancel() }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                enum Registration { case waiting, waitingForNewShared, use(RedisConnection), open, shutdown }
                let registration = state.withLock { state -> Registration in
                    if state.isShutdown { return .shutdown }
                    // What the caller came to wait for may have arrived since it
                    // looked: a shared connection opened, or a lease returned, with
                    // no waiter yet to hand it to. Waiting now would last until the
                    // time-out.
                    if exclusive {
                        switch state.takeLease(limit: leasedLimit) {
                        case .use(let connection): return .use(connection)
                        case .open: return .open
                        case nil: break
                        }
                    } else if let connection = state.shared.first {
                        return .use(connection)
                    }
                    state.waiters.append(Waiter(id: id, exclusive: exclusive, continuation: continuation))
                    // The opening it counted on may have failed meanwhile.
                    if !exclusive && state.sharedConnecting == 0 {
                        state.sharedConnecting += 1
                        return .waitingForNewShared
                    }
                    return .waiting
                }
                switch registration {
                case .waiting:
                    break
                case .waitingForNewShared:
                    openShared(failWaitersOnError: true)
                case .use(let connection):
                    continuation.resume(returning: connection)
                case .open:
                    Task {
                        do throws(RedisError) {
                            continuation.resume(returning: try await open { _ in })
                        } catch {
                            releaseSlot(nil)
                            continuation.resume(throwing: error)
                        }
                    }
                case .shutdown:
                    continuation.resume(throwing: RedisError(.shutdown, "the Redis client was shut down; create a new one"))
                }
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connectionFailed, "\(error)")
        }
    }

    private func timeOut(waiter id: Int, after timeout: Duration) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        let what = waiter?.exclusive == true
            ? "all \(leasedLimit) leasable connections stayed leased for \(timeout); release leases sooner or raise pool.leasedConnections"
            : "no connection could be opened within \(timeout)"
        waiter?.continuation.resume(throwing: RedisError(.poolTimeout, what))
    }

    // MARK: Shutdown

    /// Closes every connection and fails waiting callers.
    func shutdown() async {
        let (connections, waiters) = state.withLock { state -> ([RedisConnection], [Waiter]) in
            state.isShutdown = true
            let connections = state.shared + state.idleLeasable
            state.shared = []
            state.idleLeasable = []
            let waiters = state.waiters
            state.waiters = []
            return (connections, waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: RedisError(.shutdown, "the Redis client was shut down; create a new one"))
        }
        for connection in connections { await connection.close() }
    }
}
