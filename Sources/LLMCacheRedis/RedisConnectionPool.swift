import NIOCore
import Synchronization

/// What the pool needs of a connection. ``RedisConnection`` in the client;
/// a stand-in in the pool's tests, so every hand-over can be driven step by step.
protocol PoolableConnection: AnyObject, Sendable {
    /// Whether the connection is open.
    var isActive: Bool { get }
    /// Commands written and not answered yet: new commands go to the least loaded.
    var load: Int { get }
    /// Where the connection goes, for error messages.
    var endpoint: String { get }
    func close() async
}

extension RedisConnection: PoolableConnection {
    var load: Int { inFlight.value }
}

/// The client's connections: up to `size` shared connections that pipeline
/// every caller's commands, and up to `leasedLimit` connections leased to one
/// caller at a time (for MULTI/EXEC, WATCH and blocking commands, which must
/// not interleave with other callers' commands).
///
/// A caller that finds no shared connection open waits for one being opened,
/// and for nothing else: the opening either succeeds, and every such caller
/// gets the new connection, or fails, and they get its error once no other
/// opening is left that could serve them. The opening's own limits (the
/// connect and handshake time-outs, which NIO enforces on the event loop)
/// bound that wait; the pool arms no timer of its own for it. Such a timer runs
/// on the same cooperative threads as the opening's hand-over, so on a busy
/// machine it could fire first and fail a caller whose connection had in fact
/// opened in a millisecond.
///
/// A caller waiting for a leased connection waits for another caller to give
/// one back, which nothing else bounds: that wait ends after `acquireTimeout`.
///
/// Thread-safe: all state is behind one mutex, held only to pick or record a
/// connection, never across I/O.
final class RedisConnectionPool<Connection: PoolableConnection>: Sendable {
    typealias Open = @Sendable (_ onClose: @escaping @Sendable (Connection) -> Void) async throws(RedisError) -> Connection

    private struct Waiter {
        let id: Int
        let exclusive: Bool
        let continuation: CheckedContinuation<Connection, any Error>
    }

    private struct State: ~Copyable {
        var shared: [Connection] = []
        var sharedConnecting = 0
        var idleLeasable: [Connection] = []
        var leasedOrConnecting = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var isShutdown = false

        enum LeasePick { case use(Connection), open }

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

        /// Removes and returns every caller waiting for a shared connection.
        mutating func takeSharedWaiters() -> [Waiter] {
            let taken = waiters.filter { !$0.exclusive }
            waiters.removeAll { !$0.exclusive }
            return taken
        }

        /// The shared waiters nothing can serve any more: no connection open and
        /// none being opened. Empty while something still could.
        mutating func takeStrandedSharedWaiters() -> [Waiter] {
            guard shared.isEmpty, sharedConnecting == 0 else { return [] }
            return takeSharedWaiters()
        }
    }

    private let state = Mutex(State())
    private let size: Int
    private let leasedLimit: Int
    private let acquireTimeout: Duration
    private let open: Open

    /// - Parameters:
    ///   - open: opens and sets up one connection, within its own time limits;
    ///     it calls `onClose` when that connection closes.
    init(size: Int, leasedLimit: Int, acquireTimeout: Duration, open: @escaping Open) {
        self.size = size
        self.leasedLimit = leasedLimit
        self.acquireTimeout = acquireTimeout
        self.open = open
    }

    private static var shutdownError: RedisError {
        RedisError(.shutdown, "the Redis client was shut down; create a new one")
    }

    // MARK: Shared connections

    private enum SharedPick {
        case use(Connection, grow: Bool)
        case wait(grow: Bool)
        case shutdown
    }

    private enum OpeningOutcome {
        /// It joined the pool; these waiters get it.
        case joined([Waiter])
        /// It closed before it could join; these waiters have nothing left to wait for.
        case closedAtOnce([Waiter])
        case shutdown
    }

    private enum LeasePick { case use(Connection), open, wait, shutdown }

    private enum ReleaseStep { case give(Waiter, Connection), open(Waiter), closeIt(Connection), none }

    private enum Registration { case waiting, waitingForNewShared, use(Connection), open, shutdown }

    /// A shared connection for one command: the least loaded open one. Opens
    /// another (up to the pool size) when every open one is busy.
    func shared() async throws(RedisError) -> Connection {
        let pick = state.withLock { state -> SharedPick in
            guard !state.isShutdown else { return .shutdown }
            var best: Connection?
            var bestLoad = Int.max
            for connection in state.shared {
                let load = connection.load
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
            throw Self.shutdownError
        case .use(let connection, let grow):
            if grow { openShared() }
            return connection
        case .wait(let grow):
            if grow { openShared() }
            return try await wait(exclusive: false)
        }
    }

    /// Opens a shared connection, for which `sharedConnecting` was counted.
    private func openShared() {
        Task {
            let connection: Connection
            do throws(RedisError) {
                connection = try await open { [weak self] closed in self?.sharedClosed(closed) }
            } catch {
                let stranded = state.withLock { state in
                    state.sharedConnecting -= 1
                    // Waiters are failed only when nothing else could serve them,
                    // so one failed extra connection does not fail callers.
                    return state.takeStrandedSharedWaiters()
                }
                for waiter in stranded { waiter.continuation.resume(throwing: error) }
                return
            }
            let outcome = state.withLock { state -> OpeningOutcome in
                state.sharedConnecting -= 1
                guard !state.isShutdown else { return .shutdown }
                // Checked under the lock: a connection that closed before this
                // point found nothing to remove in `sharedClosed`, and would stay
                // in the pool, dead, for good. One that closes after it is
                // removed there, which waits for this lock.
                guard connection.isActive else { return .closedAtOnce(state.takeStrandedSharedWaiters()) }
                state.shared.append(connection)
                return .joined(state.takeSharedWaiters())
            }
            switch outcome {
            case .joined(let waiters):
                for waiter in waiters { waiter.continuation.resume(returning: connection) }
            case .closedAtOnce(let stranded):
                let error = RedisError(.connectionClosed, "the connection to \(connection.endpoint) closed as soon as it was opened; check the server's log (maxclients, protected mode)")
                for waiter in stranded { waiter.continuation.resume(throwing: error) }
            case .shutdown:
                await connection.close()
            }
        }
    }

    private func sharedClosed(_ connection: Connection) {
        state.withLock { state in
            state.shared.removeAll { $0 === connection }
        }
    }

    // MARK: Leased connections

    /// A connection for the caller alone until ``release(_:)``; waits up to the
    /// acquire timeout when `leasedLimit` connections are already leased.
    func lease() async throws(RedisError) -> Connection {
        let pick = state.withLock { state -> LeasePick in
            guard !state.isShutdown else { return .shutdown }
            switch state.takeLease(limit: leasedLimit) {
            case .use(let connection): return .use(connection)
            case .open: return .open
            case nil: return .wait
            }
        }
        switch pick {
        case .shutdown:
            throw Self.shutdownError
        case .use(let connection):
            return connection
        case .open:
            return try await openLeased()
        case .wait:
            return try await wait(exclusive: true)
        }
    }

    /// Opens a connection for a lease slot already taken; gives the slot back if it cannot.
    private func openLeased() async throws(RedisError) -> Connection {
        do throws(RedisError) {
            return try await open { _ in }
        } catch {
            releaseSlot(nil)
            throw error
        }
    }

    /// Returns a leased connection; a waiting caller gets it next.
    func release(_ connection: Connection) {
        releaseSlot(connection.isActive ? connection : nil)
    }

    private func releaseSlot(_ connection: Connection?) {
        let next = state.withLock { state -> ReleaseStep in
            if state.isShutdown {
                state.leasedOrConnecting -= 1
                return connection.map(ReleaseStep.closeIt) ?? .none
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
                    waiter.continuation.resume(returning: try await openLeased())
                } catch {
                    waiter.continuation.resume(throwing: error)
                }
            }
        case .closeIt(let connection):
            Task { await connection.close() }
        case .none:
            break
        }
    }

    // MARK: Waiting

    private func wait(exclusive: Bool) async throws(RedisError) -> Connection {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        // Only a leased-connection waiter has a timer: see the type's comment.
        let timer = exclusive ? Task { [weak self, acquireTimeout] in
            try await Task.sleep(for: acquireTimeout)
            self?.timeOut(waiter: id)
        } : nil
        defer { timer?.cancel() }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                let registration = state.withLock { state -> Registration in
                    if state.isShutdown { return .shutdown }
                    // What the caller came to wait for may have arrived since it
                    // looked: a shared connection opened, or a lease returned, with
                    // no waiter yet to hand it to.
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
                    openShared()
                case .use(let connection):
                    continuation.resume(returning: connection)
                case .open:
                    Task {
                        do throws(RedisError) {
                            continuation.resume(returning: try await openLeased())
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                case .shutdown:
                    continuation.resume(throwing: Self.shutdownError)
                }
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connectionFailed, "\(error)")
        }
    }

    private func timeOut(waiter id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: RedisError(
            .poolTimeout,
            "all \(leasedLimit) leasable connections stayed leased for \(acquireTimeout); release leases sooner or raise pool.leasedConnections"
        ))
    }

    // MARK: Shutdown

    /// Closes every connection and fails waiting callers.
    func shutdown() async {
        let (connections, waiters) = state.withLock { state -> ([Connection], [Waiter]) in
            state.isShutdown = true
            let connections = state.shared + state.idleLeasable
            state.shared = []
            state.idleLeasable = []
            let waiters = state.waiters
            state.waiters = []
            return (connections, waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.shutdownError) }
        for connection in connections { await connection.close() }
    }

    // MARK: Inspection, for tests

    /// How many callers are waiting, shared and exclusive.
    var waiting: (shared: Int, exclusive: Int) {
        state.withLock { state in
            let exclusive = state.waiters.count(where: \.exclusive)
            return (state.waiters.count - exclusive, exclusive)
        }
    }

    /// How many shared connections are open, and how many are being opened.
    var sharedConnections: (open: Int, opening: Int) {
        state.withLock { ($0.shared.count, $0.sharedConnecting) }
    }
}
