import Synchronization
import Testing
@testable import LLMCacheRedis

/// The pool's hand-overs driven one step at a time: openings complete when
/// the test says, so orders that a busy machine produces now and then are
/// produced here every time.
@Suite(.timeLimit(.minutes(1)))
struct RedisConnectionPoolTests {
    private func makePool(size: Int = 4, leasedLimit: Int = 4, acquireTimeout: Duration = .milliseconds(50), opener: ScriptedOpener) -> RedisConnectionPool<FakeConnection> {
        RedisConnectionPool(size: size, leasedLimit: leasedLimit, acquireTimeout: acquireTimeout) { onClose throws(RedisError) in
            try await opener.open(onClose: onClose)
        }
    }

    /// One `shared()` call whose opening the test completes with `connection`:
    /// what the pool hands that caller.
    private func sharedCall(_ pool: RedisConnectionPool<FakeConnection>, _ opener: ScriptedOpener, opensWith connection: FakeConnection) async throws -> FakeConnection {
        let caller = Task { try await pool.shared() }
        await until { opener.pending == 1 }
        opener.completeNext(with: .success(connection))
        return try await caller.value
    }

    @Test func aCallerWaitingForAnOpeningIsServedHoweverLateTheOpeningEnds() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(size: 1, opener: opener)
        let first = Task { try await pool.shared() }
        let second = Task { try await pool.shared() }
        await until { opener.pending == 1 && pool.waiting.shared == 2 }
        // Longer than any time limit the pool has: an opening whose hand-over
        // is late (its threads busy elsewhere) must not fail its callers.
        try await Task.sleep(for: .milliseconds(200))
        let connection = FakeConnection(id: 1)
        opener.completeNext(with: .success(connection))
        #expect(try await first.value === connection)
        #expect(try await second.value === connection)
        #expect(opener.calls == 1, "a pool of one opened more than one connection")
    }

    @Test func whenTheOnlyOpeningFailsEveryWaiterGetsItsErrorAndTheNextCallTriesAgain() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(size: 1, opener: opener)
        let callers = (0..<3).map { _ in Task { try await pool.shared() } }
        await until { opener.pending == 1 && pool.waiting.shared == 3 }
        opener.completeNext(with: .failure(RedisError(.connectionFailed, "could not connect to 127.0.0.1:1: refused")))
        for caller in callers {
            let error = await caller.result.failureError
            #expect(error?.code == .connectionFailed)
            #expect(error?.message.contains("127.0.0.1:1") == true, "the waiter was not told why the connection could not be opened")
        }
        #expect(pool.waiting.shared == 0)

        let connection = FakeConnection(id: 2)
        #expect(try await sharedCall(pool, opener, opensWith: connection) === connection)
        #expect(opener.calls == 2)
    }

    @Test func aFailedOpeningDoesNotFailCallersThatAnotherOpeningServes() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(opener: opener)
        // One connection, busy, so the next caller also opens a second.
        let busy = FakeConnection(id: 1, load: 1)
        let first = Task { try await pool.shared() }
        await until { opener.pending == 1 }
        opener.completeNext(with: .success(busy))
        #expect(try await first.value === busy)
        #expect(try await pool.shared() === busy)
        await until { opener.pending == 1 }
        // The busy one closes: the next caller finds nothing open and opens a third.
        busy.closeNow()
        #expect(pool.sharedConnections.open == 0)
        let waiting = Task { try await pool.shared() }
        await until { opener.pending == 2 && pool.waiting.shared == 1 }

        opener.completeNext(with: .failure(RedisError(.connectionFailed, "refused")))
        await until { pool.sharedConnections.opening == 1 }
        #expect(pool.waiting.shared == 1, "a caller was failed while an opening that could serve it was under way")
        let served = FakeConnection(id: 3)
        opener.completeNext(with: .success(served))
        #expect(try await waiting.value === served)
    }

    @Test func aConnectionThatClosedBeforeJoiningThePoolIsNeverHandedOut() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(opener: opener)
        let caller = Task { try await pool.shared() }
        await until { opener.pending == 1 && pool.waiting.shared == 1 }
        let dead = FakeConnection(id: 1)
        dead.closeNow()
        opener.completeNext(with: .success(dead))
        let error = await caller.result.failureError
        #expect(error?.code == .connectionClosed)
        #expect(error?.message.contains("closed as soon as it was opened") == true)
        #expect(pool.sharedConnections.open == 0, "a closed connection stayed in the pool")

        let alive = FakeConnection(id: 2)
        #expect(try await sharedCall(pool, opener, opensWith: alive) === alive)
    }

    @Test func aConnectionThatClosesLaterLeavesThePoolAndIsReplaced() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(opener: opener)
        let first = FakeConnection(id: 1)
        #expect(try await sharedCall(pool, opener, opensWith: first) === first)
        first.closeNow()
        #expect(pool.sharedConnections.open == 0)
        let second = FakeConnection(id: 2)
        #expect(try await sharedCall(pool, opener, opensWith: second) === second)
    }

    @Test func shutdownFailsWaitersAndClosesAConnectionThatOpensAfterIt() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(opener: opener)
        let caller = Task { try await pool.shared() }
        await until { opener.pending == 1 && pool.waiting.shared == 1 }
        await pool.shutdown()
        #expect(await caller.result.failureError?.code == .shutdown)
        let late = FakeConnection(id: 1)
        opener.completeNext(with: .success(late))
        await until { late.closeCalls == 1 }
        await #expect(throws: RedisError.self) { try await pool.shared() }
    }

    @Test func aReturnedLeaseGoesToTheCallerWaitingForIt() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(leasedLimit: 1, acquireTimeout: .seconds(30), opener: opener)
        let firstLease = Task { try await pool.lease() }
        await until { opener.pending == 1 }
        let leased = FakeConnection(id: 1)
        opener.completeNext(with: .success(leased))
        let connection = try await firstLease.value
        let waiting = Task { try await pool.lease() }
        await until { pool.waiting.exclusive == 1 }
        pool.release(connection)
        #expect(try await waiting.value === leased)
        #expect(opener.calls == 1)
    }

    @Test func aLeaseWaiterTimesOutWithAMessageThatSaysWhatToChange() async throws {
        let opener = ScriptedOpener()
        let pool = makePool(leasedLimit: 1, acquireTimeout: .milliseconds(20), opener: opener)
        let firstLease = Task { try await pool.lease() }
        await until { opener.pending == 1 }
        opener.completeNext(with: .success(FakeConnection(id: 1)))
        _ = try await firstLease.value
        let error = await Task { try await pool.lease() }.result.failureError
        #expect(error?.code == .poolTimeout)
        #expect(error?.message.contains("pool.leasedConnections") == true)
        #expect(pool.waiting.exclusive == 0)
    }

    /// Callers that come and go while openings succeed, fail or close at once,
    /// and connections in use close, in an order drawn from `seed`: every call
    /// ends, with a connection that was open when handed out or an error, and
    /// no caller is left waiting.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func everyCallEndsWhateverTheOpeningsAndClosesDo(seed: UInt64) async throws {
        let opener = ScriptedOpener()
        let pool = makePool(size: 3, opener: opener)
        let callers = (0..<40).map { caller in
            Task { () -> (served: Int, failed: Int) in
                var random = SplitMix(seed: seed &* 1000 &+ UInt64(caller))
                var outcome = (served: 0, failed: 0)
                for _ in 0..<25 {
                    do throws(RedisError) {
                        let connection = try await pool.shared()
                        outcome.served += 1
                        // The server drops a connection now and then while it is in use.
                        if random.next() % 5 == 0 { connection.closeNow() }
                    } catch {
                        outcome.failed += 1
                    }
                    if random.next() % 2 == 0 { await Task.yield() }
                }
                return outcome
            }
        }
        let driver = Task {
            var random = SplitMix(seed: seed)
            var id = 0
            while !Task.isCancelled {
                guard opener.pending > 0 else { try? await Task.sleep(for: .milliseconds(1)); continue }
                id += 1
                switch random.next() % 10 {
                case 0..<3: opener.completeNext(with: .failure(RedisError(.connectionFailed, "refused")))
                case 3:
                    let dead = FakeConnection(id: id)
                    dead.closeNow()
                    opener.completeNext(with: .success(dead))
                default:
                    let connection = FakeConnection(id: id, load: Int(random.next() % 3))
                    opener.completeNext(with: .success(connection))
                    if random.next() % 4 == 0 { connection.closeNow() }
                }
            }
        }
        var served = 0, failed = 0
        for caller in callers {
            let outcome = await caller.value
            served += outcome.served
            failed += outcome.failed
        }
        driver.cancel()
        #expect(served + failed == 40 * 25)
        #expect(pool.waiting.shared == 0)
        #expect(served > 0 && failed > 0, "the schedule did not exercise both outcomes")
        #expect(opener.calls > 10, "the schedule did not make the pool reopen connections")
    }
}

// MARK: - Stand-ins

/// A connection the test opens and closes at will.
final class FakeConnection: PoolableConnection {
    let id: Int
    private let state: Mutex<(active: Bool, onClose: (@Sendable (FakeConnection) -> Void)?, closeCalls: Int)>
    private let currentLoad: Atomic<Int>

    init(id: Int, load: Int = 0) {
        self.id = id
        state = Mutex((true, nil, 0))
        currentLoad = Atomic(load)
    }

    var isActive: Bool { state.withLock { $0.active } }
    var load: Int { currentLoad.load(ordering: .relaxed) }
    var endpoint: String { "fake-\(id)" }
    var closeCalls: Int { state.withLock { $0.closeCalls } }

    func attach(onClose: @escaping @Sendable (FakeConnection) -> Void) {
        // As in the client, a connection that closed before this is not reported.
        state.withLock { $0.onClose = onClose }
    }

    /// Closes the connection as the server would, telling whoever was told to listen.
    func closeNow() {
        let onClose = state.withLock { state in
            state.active = false
            defer { state.onClose = nil }
            return state.onClose
        }
        onClose?(self)
    }

    func close() async {
        state.withLock { $0.closeCalls += 1 }
        closeNow()
    }
}

/// Openings that end when the test completes them, oldest first.
final class ScriptedOpener: Sendable {
    private typealias Pending = (continuation: CheckedContinuation<Result<FakeConnection, RedisError>, Never>, onClose: @Sendable (FakeConnection) -> Void)
    private let state = Mutex<(pending: [Pending], calls: Int)>(([], 0))

    var pending: Int { state.withLock { $0.pending.count } }
    var calls: Int { state.withLock { $0.calls } }

    func open(onClose: @escaping @Sendable (FakeConnection) -> Void) async throws(RedisError) -> FakeConnection {
        let result = await withCheckedContinuation { continuation in
            state.withLock { state in
                state.pending.append((continuation, onClose))
                state.calls += 1
            }
        }
        return try result.get()
    }

    /// Ends the oldest opening still under way.
    func completeNext(with result: Result<FakeConnection, RedisError>) {
        let next = state.withLock { $0.pending.removeFirst() }
        if case .success(let connection) = result { connection.attach(onClose: next.onClose) }
        next.continuation.resume(returning: result)
    }
}

/// Waits until `condition` holds; the suite's time limit bounds the wait.
private func until(_ condition: () -> Bool) async {
    while !condition() {
        try? await Task.sleep(for: .milliseconds(1))
    }
}

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private extension Result where Failure == any Error {
    var failureError: RedisError? {
        if case .failure(let error) = self { return error as? RedisError }
        return nil
    }
}
