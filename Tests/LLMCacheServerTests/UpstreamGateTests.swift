import Synchronization
import Testing
@testable import LLMCacheServer

/// A value the tasks of a test share.
private final class Shared<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}

/// The admission to an upstream, as decisions (``UpstreamGate/StateMachine``)
/// and as the class that suspends and wakes callers on them.
@Suite("Upstream gate")
struct UpstreamGateTests {
    /// The state machine behind a reference, so `#expect` can call its
    /// mutating methods.
    final class Machine {
        var state: UpstreamGate.StateMachine
        init(limit: Int, queueLimit: Int) { state = .init(limit: limit, queueLimit: queueLimit) }
        func admit() -> UpstreamGate.StateMachine.Admission { state.admit() }
        func release() -> Int? { state.release() }
        func finish(_ id: Int) -> Bool { state.finish(id) }
        func isGranted(_ id: Int) -> Bool { state.isGranted(id) }
        var inFlight: Int { state.inFlight }
        var waiting: Int { state.waiting }
    }

    @Test func callsProceedUpToTheLimitThenQueueThenAreRejected() {
        let machine = Machine(limit: 2, queueLimit: 2)
        #expect(machine.admit() == .proceed)
        #expect(machine.admit() == .proceed)
        #expect(machine.admit() == .queued(id: 1))
        #expect(machine.admit() == .queued(id: 2))
        #expect(machine.admit() == .rejected)
        #expect(machine.inFlight == 2)
        #expect(machine.waiting == 2)
    }

    @Test func aSlotGivenBackPassesToTheFirstWaiterNotToALaterCaller() {
        let machine = Machine(limit: 1, queueLimit: 5)
        #expect(machine.admit() == .proceed)
        #expect(machine.admit() == .queued(id: 1))
        #expect(machine.admit() == .queued(id: 2))
        #expect(machine.release() == 1)
        // The slot went to waiter 1 without ever being free: a caller
        // arriving now queues behind waiter 2.
        #expect(machine.inFlight == 1)
        #expect(machine.admit() == .queued(id: 3))
        #expect(machine.finish(1), "the woken waiter holds the slot")
        #expect(machine.release() == 2)
        #expect(machine.finish(2))
        #expect(machine.release() == 3)
        #expect(machine.finish(3))
        #expect(machine.release() == nil)
        #expect(machine.inFlight == 0)
        #expect(machine.admit() == .proceed)
    }

    @Test func aWaiterThatGivesUpLeavesTheQueueAndHoldsNothing() {
        let machine = Machine(limit: 1, queueLimit: 5)
        #expect(machine.admit() == .proceed)
        #expect(machine.admit() == .queued(id: 1))
        #expect(machine.admit() == .queued(id: 2))
        #expect(!machine.finish(1), "a waiter that timed out was given a slot")
        #expect(machine.release() == 2, "the slot went to a waiter that had left")
        #expect(machine.finish(2))
    }

    @Test func aSlotGrantedJustAsItsWaiterGivesUpIsTakenNotLost() {
        let machine = Machine(limit: 1, queueLimit: 5)
        #expect(machine.admit() == .proceed)
        #expect(machine.admit() == .queued(id: 1))
        #expect(machine.release() == 1)
        #expect(machine.isGranted(1), "a waiter about to suspend must see it need not")
        // The waiter's time ran out at the same moment: it still holds the slot.
        #expect(machine.finish(1))
        #expect(machine.inFlight == 1)
        #expect(machine.release() == nil)
        #expect(machine.inFlight == 0)
    }

    @Test func noQueueMeansTheNextCallIsRejected() {
        let machine = Machine(limit: 1, queueLimit: 0)
        #expect(machine.admit() == .proceed)
        #expect(machine.admit() == .rejected)
    }

    // MARK: - The gate

    @Test func waitersAreServedInOrderAsSlotsComeFree() async throws {
        let gate = UpstreamGate(limit: 1, queueLimit: 10, queueTimeout: .seconds(60))
        let first = try await gate.acquire()
        let order = Shared<[Int]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<5 {
                // One at a time into the queue, so their order is known.
                group.addTask {
                    let permit = try await gate.acquire()
                    order.value.withLock { $0.append(index) }
                    permit.release()
                }
                while gate.load.waiting < index + 1 { await Task.yield() }
            }
            first.release()
            try await group.waitForAll()
        }
        #expect(order.value.withLock { $0 } == [0, 1, 2, 3, 4])
        #expect(gate.load.inFlight == 0)
    }

    @Test func aFullQueueAndALongWaitAreRefusedAsBusy() async throws {
        let gate = UpstreamGate(limit: 1, queueLimit: 1, queueTimeout: .milliseconds(200))
        let held = try await gate.acquire()
        let waiting = Task { try await gate.acquire() }
        while gate.load.waiting < 1 { await Task.yield() }
        await #expect(throws: UpstreamBusy(reason: .queueFull)) { _ = try await gate.acquire() }
        await #expect(throws: UpstreamBusy(reason: .waitedTooLong(.milliseconds(200)))) { _ = try await waiting.value }
        #expect(gate.load.waiting == 0)
        held.release()
        #expect(gate.load.inFlight == 0, "a slot was lost to a waiter that gave up")
    }

    @Test func aCancelledWaiterLeavesAndADroppedPermitGivesItsSlotBack() async throws {
        let gate = UpstreamGate(limit: 1, queueLimit: 5, queueTimeout: .seconds(60))
        var held: UpstreamGate.Permit? = try await gate.acquire()
        let cancelled = Task { try await gate.acquire() }
        while gate.load.waiting < 1 { await Task.yield() }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        #expect(gate.load.waiting == 0)
        // A body dropped unread (a client gone) still gives its slot back.
        _ = held
        held = nil
        #expect(gate.load.inFlight == 0)
        let next = try await gate.acquire()
        next.release()
        next.release()
        #expect(gate.load.inFlight == 0, "a permit released twice gave back two slots")
    }

    @Test func manyCallersThroughAFewSlotsAllGetOneAndNoneIsLost() async throws {
        let gate = UpstreamGate(limit: 3, queueLimit: 1000, queueTimeout: .seconds(60))
        let counts = Shared<Int>(0)
        let most = Shared<Int>(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<300 {
                group.addTask {
                    let permit = try await gate.acquire()
                    let now = counts.value.withLock { $0 += 1; return $0 }
                    most.value.withLock { $0 = max($0, now) }
                    await Task.yield()
                    counts.value.withLock { $0 -= 1 }
                    permit.release()
                }
            }
            try await group.waitForAll()
        }
        #expect(most.value.withLock { $0 } <= 3, "more callers than slots were let through at once")
        #expect(gate.load.inFlight == 0)
        #expect(gate.load.waiting == 0)
    }
}
