import Synchronization

extension MemoryStore {
    /// One stripe of the store: its own lock, entries, policy queues, sketch,
    /// expiry heap and indexes.
    final class Shard: Sendable {
        let state: Mutex<ShardState>

        init(_ state: consuming ShardState) {
            self.state = Mutex(state)
        }
    }

    /// Which policy queue a node is on.
    enum QueueID: UInt8 {
        /// W-TinyLFU's admission window (recency only).
        case window
        /// The main space's probation segment; also the only queue of plain LRU.
        case probation
        /// The main space's protected segment: entries used again while on probation.
        case protected
        /// A free slot.
        case none
    }

    /// An entry and its policy bookkeeping. Nodes live in one contiguous array
    /// and link to each other by `Int32` index, so the queues cost no allocation
    /// per entry and no reference counting on reorder.
    struct Node {
        var entry: CacheEntry
        var weight: Int
        /// The entry's `expiresAt` in nanoseconds, `Int64.max` for never: a copy
        /// beside the links, so the expiry heap orders and purges nodes without
        /// reading each entry's storage. (A hit reads the entry's own, being
        /// there already.)
        var expiresAt: Int64
        /// Towards the least recently used end of the node's queue.
        var prev: Int32
        /// Towards the most recently used end.
        var next: Int32
        /// Position in the expiry heap, -1 when the entry never expires.
        var heapIndex: Int32
        var queue: QueueID
        /// Used again since it last moved within the protected segment: a hit
        /// there sets this instead of moving the node (see `recordAccess`).
        var referenced = false

        /// What a freed slot holds, so it keeps no value bytes alive.
        static let vacantEntry = CacheEntry(key: CacheKey(digestBytes: repeatElement(0, count: 32)), value: .init(), namespace: "", createdAt: .init(nanosecondsSinceEpoch: 0))
    }

    /// A doubly linked list of nodes from least (`head`) to most (`tail`)
    /// recently used, with its total weight and length.
    struct LinkedQueue {
        var head: Int32 = -1
        var tail: Int32 = -1
        var weight = 0
        var count = 0

        /// Appends node `i` at the most recently used end, recording `id` as its queue.
        @inline(__always)
        mutating func push(_ i: Int32, as id: QueueID, in nodes: inout [Node]) {
            nodes[Int(i)].queue = id
            nodes[Int(i)].prev = tail
            nodes[Int(i)].next = -1
            if tail >= 0 { nodes[Int(tail)].next = i } else { head = i }
            tail = i
            weight += nodes[Int(i)].weight
            count += 1
        }

        /// Takes node `i`, which is on this queue, off it.
        @inline(__always)
        mutating func unlink(_ i: Int32, in nodes: inout [Node]) {
            // Field by field: copying the whole node would retain its entry.
            let prev = nodes[Int(i)].prev
            let next = nodes[Int(i)].next
            if prev >= 0 { nodes[Int(prev)].next = next } else { head = next }
            if next >= 0 { nodes[Int(next)].prev = prev } else { tail = prev }
            weight -= nodes[Int(i)].weight
            count -= 1
            nodes[Int(i)].queue = .none
        }
    }

    /// Events gathered under a shard's lock and published after it is released,
    /// so subscribers never run while the lock is held. Collects nothing (and
    /// allocates nothing) when the bus has no subscribers.
    struct EventSink {
        let bus: CacheEventBus
        var events: [CacheEvent] = []

        init(_ bus: CacheEventBus) { self.bus = bus }

        mutating func append(_ event: @autoclosure () -> CacheEvent) {
            if bus.hasSubscribers { events.append(event()) }
        }

        /// Publishes what was gathered; call after releasing the lock. Out of
        /// line, so the cache-hit path, which may publish expiries, does not set
        /// up what publishing needs on every call.
        @inline(never)
        func publish() {
            for event in events { bus.publish(event) }
        }
    }

    /// A hit recorded but not yet applied to the eviction policy.
    struct PendingHit {
        var node: Int32
        var hash: UInt64
    }

    /// A shard's pending hits: a fixed block of memory of its own, written by a
    /// hit with no array header to update (`InlineArray` would do the same
    /// inline, but needs macOS 26).
    ///
    /// `@unchecked Sendable`: it belongs to one shard's state, which is only
    /// reached under the shard's mutex.
    struct PendingHitBuffer: ~Copyable, @unchecked Sendable {
        static let capacity = 64
        private let base = UnsafeMutablePointer<PendingHit>.allocate(capacity: capacity)

        subscript(i: Int) -> PendingHit {
            get { base[i] }
            nonmutating set { base[i] = newValue }
        }

        deinit { base.deallocate() }
    }

    /// Budgets of one shard.
    struct ShardLimits {
        var maximumWeight: Int
        var maximumCount: Int
        var policy: EvictionPolicy
    }

    /// Everything one shard holds. Mutated only under its shard's mutex.
    struct ShardState: ~Copyable {
        /// How many of `pendingHits` are in use. First, so that it shares the
        /// mutex's cache line: a hit writes both.
        var pendingHitCount = 0
        let policy: EvictionPolicy
        let maximumWeight: Int
        let maximumCount: Int
        // W-TinyLFU's segment sizes, by weight and by count (whichever binds):
        // a 1% window and a main space split 20% probation / 80% protected.
        let windowMaximumWeight: Int
        let windowMaximumCount: Int
        let protectedMaximumWeight: Int
        let protectedMaximumCount: Int

        var nodes: [Node] = []
        var freeSlots: [Int32] = []
        var table: MemoryStore.EntryTable
        var window = LinkedQueue()
        var probation = LinkedQueue()
        var protected = LinkedQueue()
        var sketch: FrequencySketch
        /// Min-heap of node indexes ordered by `expiresAt`; see MemoryStore+Expiry.
        var expiryHeap: [Int32] = []
        var tagIndex: [String: Set<Int32>] = [:]
        var namespaceIndex: [String: Set<Int32>] = [:]

        /// Hits not yet applied to the policy, oldest first, in the first
        /// `pendingHitCount` places (see `recordHit`); a full buffer is applied
        /// at once, so a batch is 64 hits. Applied before any node is
        /// allocated, replaced or removed, so the policy sees every use, in
        /// order, before it decides anything.
        ///
        /// Not an `Array`: a hit then writes no array header, one cache line
        /// fewer for two threads to pass between them (docs/MEMORY_STORE.md,
        /// "Two threads").
        var pendingHits = PendingHitBuffer()

        var weight = 0
        var rawBytes = 0
        var evictions = 0
        var expirations = 0
        /// xorshift state for W-TinyLFU's occasional random admission.
        var random: UInt64

        init(_ limits: ShardLimits, seed: UInt64) {
            policy = limits.policy
            maximumWeight = limits.maximumWeight
            maximumCount = limits.maximumCount
            windowMaximumWeight = maximumWeight - Int(Double(maximumWeight) * 0.99)
            protectedMaximumWeight = Int(0.8 * Double(maximumWeight - windowMaximumWeight))
            if maximumCount == .max {
                windowMaximumCount = .max
                protectedMaximumCount = .max
            } else {
                windowMaximumCount = maximumCount - Int(Double(maximumCount) * 0.99)
                protectedMaximumCount = Int(0.8 * Double(maximumCount - windowMaximumCount))
            }
            // A count-bounded shard knows how many keys to size for; a byte-bounded
            // one grows the sketch as it fills.
            sketch = FrequencySketch(capacity: maximumCount == .max ? 256 : maximumCount)
            random = seed | 1
            table = MemoryStore.EntryTable(seed: UInt64.random(in: .min ... .max))
        }

        var count: Int { table.count }

        var isOverBudget: Bool { weight > maximumWeight || table.count > maximumCount }

        // MARK: Queues

        // Each queue operation switches once on the queue and then works on that
        // queue directly: a subscript yielding the chosen queue compiled to a
        // coroutine call per field touched, an eighth of a hit's cost.

        /// Appends node `i` at the most recently used end of `queue`.
        mutating func pushMRU(_ i: Int32, _ queue: QueueID) {
            switch queue {
            case .window: window.push(i, as: .window, in: &nodes)
            case .probation: probation.push(i, as: .probation, in: &nodes)
            case .protected: protected.push(i, as: .protected, in: &nodes)
            case .none: preconditionFailure("MemoryStore: a node cannot be queued on no queue")
            }
        }

        /// Takes node `i` off its queue.
        mutating func unlink(_ i: Int32) {
            switch nodes[Int(i)].queue {
            case .window: window.unlink(i, in: &nodes)
            case .probation: probation.unlink(i, in: &nodes)
            case .protected: protected.unlink(i, in: &nodes)
            case .none: break
            }
        }

        /// Adds `delta` to the weight of the queue node `i` is on.
        mutating func adjustQueueWeight(of i: Int32, by delta: Int) {
            switch nodes[Int(i)].queue {
            case .window: window.weight += delta
            case .probation: probation.weight += delta
            case .protected: protected.weight += delta
            case .none: break
            }
        }

        mutating func moveToMRU(_ i: Int32, _ queue: QueueID) {
            unlink(i)
            pushMRU(i, queue)
        }

        // MARK: Entries

        /// Stores `entry` in a new node (the key must not be present) and returns
        /// its index; the caller places it on a queue.
        mutating func allocate(_ entry: CacheEntry, weight: Int) -> Int32 {
            applyPendingHits()
            let node = Node(
                entry: entry, weight: weight, expiresAt: entry.expiresAt?.nanosecondsSinceEpoch ?? .max,
                prev: -1, next: -1, heapIndex: -1, queue: .none
            )
            let i: Int32
            if let slot = freeSlots.popLast() {
                i = slot
                nodes[Int(i)] = node
            } else {
                i = Int32(nodes.count)
                nodes.append(node)
            }
            table.insert(entry, node: i)
            addToIndexes(i)
            if node.expiresAt != .max { heapInsert(i) }
            self.weight += weight
            rawBytes += entry.rawSize
            return i
        }

        /// Replaces node `i`'s entry with `entry` of the same key, keeping its
        /// queue position; the caller then records the use.
        mutating func replace(_ i: Int32, with entry: CacheEntry, weight: Int) {
            applyPendingHits()
            removeFromIndexes(i)
            let delta = weight - nodes[Int(i)].weight
            adjustQueueWeight(of: i, by: delta)
            self.weight += delta
            rawBytes += entry.rawSize - nodes[Int(i)].entry.rawSize
            // The table finds the slot by node index, not through the old entry,
            // which the node stops owning here.
            nodes[Int(i)].entry = entry
            table.update(entry, node: i)
            nodes[Int(i)].weight = weight
            let expiresAt = entry.expiresAt?.nanosecondsSinceEpoch ?? .max
            if expiresAt != nodes[Int(i)].expiresAt {
                if nodes[Int(i)].heapIndex >= 0 { heapRemove(i) }
                nodes[Int(i)].expiresAt = expiresAt
                if expiresAt != .max { heapInsert(i) }
            }
            addToIndexes(i)
        }

        /// Removes node `i` from every structure and frees its slot; returns its entry.
        @discardableResult
        mutating func remove(_ i: Int32) -> CacheEntry {
            applyPendingHits()
            unlink(i)
            if nodes[Int(i)].heapIndex >= 0 { heapRemove(i) }
            removeFromIndexes(i)
            let entry = nodes[Int(i)].entry
            table.remove(node: i, key: entry.key)
            weight -= nodes[Int(i)].weight
            rawBytes -= entry.rawSize
            nodes[Int(i)].entry = Node.vacantEntry
            nodes[Int(i)].weight = 0
            freeSlots.append(i)
            return entry
        }

        mutating func removeAll() {
            pendingHitCount = 0
            nodes.removeAll()
            freeSlots.removeAll()
            table.removeAll()
            window = LinkedQueue()
            probation = LinkedQueue()
            protected = LinkedQueue()
            expiryHeap.removeAll()
            tagIndex.removeAll()
            namespaceIndex.removeAll()
            weight = 0
            rawBytes = 0
        }

        private mutating func addToIndexes(_ i: Int32) {
            for tag in nodes[Int(i)].entry.tags { tagIndex[tag, default: []].insert(i) }
            namespaceIndex[nodes[Int(i)].entry.namespace, default: []].insert(i)
        }

        private mutating func removeFromIndexes(_ i: Int32) {
            for tag in nodes[Int(i)].entry.tags {
                if tagIndex[tag]?.remove(i) != nil, tagIndex[tag]?.isEmpty == true { tagIndex[tag] = nil }
            }
            let namespace = nodes[Int(i)].entry.namespace
            if namespaceIndex[namespace]?.remove(i) != nil, namespaceIndex[namespace]?.isEmpty == true { namespaceIndex[namespace] = nil }
        }
    }
}
