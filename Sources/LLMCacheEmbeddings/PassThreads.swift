import Dispatch
import Foundation
import Synchronization

/// The embedder's own threads, on which forward passes run.
///
/// A pass is up to a hundred milliseconds of arithmetic that never suspends.
/// Run on a task, it would hold one of the threads of Swift's cooperative pool
/// (one per core) for all that time, and every other task of the process (a
/// proxy's hits, its relays of upstream answers) would queue behind it. Here
/// the caller suspends while the pass runs on a thread of this pool; the
/// operating system shares the cores between these threads and the
/// cooperative pool, so a hit is served while a pass is under way rather than
/// after it (docs/EMBEDDINGS.md, "Where passes run").
///
/// A job is one or more lanes run side by side, each on a thread of its own
/// (a pass shared by several threads, see ``BertModel/Pass``). All lanes of a
/// job are queued together and taken in order, so every lane of a started job
/// is taken by the next threads to come free and no job waits on one queued
/// after it.
///
/// Thread-safe.
final class PassThreads: Sendable {
    /// Lanes of work that ``run(_:)`` runs and waits for.
    final class Job: Sendable {
        /// How many threads run ``body`` at once, each with its lane number.
        let lanes: Int
        /// One lane's work; `isCancelled` tells whether the caller has given up.
        let body: @Sendable (_ lane: Int, _ isCancelled: () -> Bool) -> Void

        init(lanes: Int, body: @escaping @Sendable (_ lane: Int, _ isCancelled: () -> Bool) -> Void) {
            self.lanes = max(1, lanes)
            self.body = body
        }
    }

    /// The jobs of one ``run(_:)`` call and what remains of them.
    private final class Batch: Sendable {
        let jobs: [Job]
        let cancelled = Atomic<Bool>(false)
        private let remaining: Atomic<Int>
        private let continuation = Mutex<CheckedContinuation<Void, Never>?>(nil)

        init(_ jobs: [Job]) {
            self.jobs = jobs
            remaining = Atomic(jobs.reduce(0) { $0 + $1.lanes })
        }

        func wait(_ continuation: CheckedContinuation<Void, Never>) {
            self.continuation.withLock { $0 = continuation }
        }

        /// Counts `lanes` lanes as done (run, or dropped before they started).
        func finish(lanes: Int) {
            guard lanes > 0 else { return }
            let left = remaining.subtract(lanes, ordering: .acquiringAndReleasing).newValue
            guard left == 0 else { return }
            continuation.withLock { slot in
                slot?.resume()
                slot = nil
            }
        }
    }

    private struct Item {
        let batch: Batch
        let job: Int
        let lane: Int
    }

    private struct State {
        /// Lanes waiting for a thread, oldest first (a few at most: a plain
        /// array is the simplest queue).
        var queue: [Item] = []
        /// Threads running a lane.
        var busy = 0
        /// Jobs (batch, job index) of which a lane has started and another is
        /// still queued: never dropped, since a started lane may be waiting
        /// for the others at a barrier.
        var started: Set<Started> = []
        var stopping = false
    }

    private struct Started: Hashable {
        let batch: ObjectIdentifier
        let job: Int
    }

    /// The number of threads.
    let count: Int
    private let state = Mutex(State())
    /// One signal per queued lane (and per thread when stopping).
    private let wake = DispatchSemaphore(value: 0)

    /// Starts `count` threads named `label`.
    init(count: Int, label: String) {
        self.count = max(1, count)
        for index in 0..<self.count {
            Thread { [self] in
                // Named from the thread itself, so that the name reaches the
                // operating system (`top -H`, `perf`; 15 bytes on Linux): a
                // new thread would otherwise carry its creator's.
                Thread.current.name = "\(label).\(index)"
                work()
            }.start()
        }
    }

    /// Threads free to take a lane now: `0` when any lane is waiting.
    var idle: Int {
        state.withLock { $0.queue.isEmpty ? count - $0.busy : 0 }
    }

    /// Runs `jobs` and returns when every lane of every one has returned.
    ///
    /// - Throws: `CancellationError` when the calling task is cancelled; jobs
    ///   not yet started are then dropped, and the call still waits for
    ///   those that had started (they may write into memory the caller owns).
    func run(_ jobs: [Job]) async throws {
        guard !jobs.isEmpty else { return }
        let batch = Batch(jobs)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                batch.wait(continuation)
                let queued = state.withLock { s -> Int in
                    guard !batch.cancelled.load(ordering: .relaxed) else { return 0 }
                    for (index, job) in jobs.enumerated() {
                        for lane in 0..<job.lanes { s.queue.append(Item(batch: batch, job: index, lane: lane)) }
                    }
                    return jobs.reduce(0) { $0 + $1.lanes }
                }
                if queued == 0 { batch.finish(lanes: jobs.reduce(0) { $0 + $1.lanes }) }
                for _ in 0..<queued { wake.signal() }
            }
        } onCancel: {
            let dropped = state.withLock { s -> Int in
                batch.cancelled.store(true, ordering: .relaxed)
                let id = ObjectIdentifier(batch)
                let before = s.queue.count
                s.queue.removeAll { $0.batch === batch && !s.started.contains(Started(batch: id, job: $0.job)) }
                return before - s.queue.count
            }
            batch.finish(lanes: dropped)
        }
        if batch.cancelled.load(ordering: .relaxed) { throw CancellationError() }
    }

    /// Asks the threads to end once the lanes queued now have run.
    func stop() {
        state.withLock { $0.stopping = true }
        for _ in 0..<count { wake.signal() }
    }

    private enum Next {
        case lane(Item)
        case none
        case stop
    }

    private func work() {
        while true {
            wake.wait()
            let next = state.withLock { s -> Next in
                guard !s.queue.isEmpty else { return s.stopping ? .stop : .none }
                let item = s.queue.removeFirst()
                s.busy += 1
                let job = Started(batch: ObjectIdentifier(item.batch), job: item.job)
                if item.lane < item.batch.jobs[item.job].lanes - 1 {
                    s.started.insert(job)
                } else {
                    s.started.remove(job)
                }
                return .lane(item)
            }
            switch next {
            case .stop: return
            // A signal for a lane that a cancelled call dropped.
            case .none: continue
            case .lane(let item):
                let batch = item.batch
                let job = batch.jobs[item.job]
                job.body(item.lane) { batch.cancelled.load(ordering: .relaxed) }
                state.withLock { $0.busy -= 1 }
                batch.finish(lanes: 1)
            }
        }
    }
}

/// Where the lanes of one pass wait for each other: ``wait()`` returns once
/// every one of ``parties`` lanes has called it, and may then be used again.
///
/// Lanes meet a few times per pass (once per layer), so a lock and a condition
/// cost nothing measurable next to the layer between two meetings.
final class LaneBarrier: @unchecked Sendable {
    // `@unchecked`: `arrived` and `generation` are only touched with
    // `condition` locked.
    let parties: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0

    init(parties: Int) {
        self.parties = max(1, parties)
    }

    func wait() {
        guard parties > 1 else { return }
        condition.lock()
        defer { condition.unlock() }
        let current = generation
        arrived += 1
        if arrived == parties {
            arrived = 0
            generation += 1
            condition.broadcast()
            return
        }
        while generation == current { condition.wait() }
    }
}
