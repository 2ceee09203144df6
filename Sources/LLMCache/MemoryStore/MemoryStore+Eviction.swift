import CPrefetch

extension MemoryStore {
    /// Which entries a full store gives up.
    public enum EvictionPolicy: Hashable, Sendable, CustomStringConvertible {
        /// Window TinyLFU, as Caffeine: new entries enter a small LRU window
        /// (1% of the budget); an entry leaving the window is admitted to the main
        /// space (a segmented LRU, 20% probation and 80% protected) only if it has
        /// been used more often, by a frequency sketch's estimate, than the entry it
        /// would displace: recently, or where recent uses are too close to tell,
        /// over a longer past. Keeps a popular set through one-time scans.
        case wTinyLFU
        /// Least recently used: one queue, the oldest-used entry goes first.
        /// Cheaper per hit, but a one-time scan larger than the cache flushes it.
        case lru

        public var description: String {
            switch self {
            case .wTinyLFU: return "wtinylfu"
            case .lru: return "lru"
            }
        }
    }
}

extension MemoryStore.ShardState {
    /// Records a hit on node `i`, to be applied to the policy with the next
    /// batch (see `applyPendingHits`).
    ///
    /// A hit's policy work (a frequency-sketch increment and a move in a queue)
    /// touches memory far from the entry: in a large store, several cache misses,
    /// each waiting for the last. Applied one at a time, they made up half the cost
    /// of a hit. In a batch, their memory is prefetched for all hits at once, so
    /// the misses overlap.
    @inline(__always)
    mutating func recordHit(_ i: Int32, hash: UInt64) {
        pendingHits[pendingHitCount] = MemoryStore.PendingHit(node: i, hash: hash)
        pendingHitCount += 1
        if pendingHitCount == MemoryStore.PendingHitBuffer.capacity { applyPendingHits() }
    }

    @inline(__always)
    private func prefetch(_ hit: MemoryStore.PendingHit) {
        // Both ends of the node: at a 40-byte stride, half the nodes straddle two
        // cache lines, and the fields a move writes lie on both.
        nodes.withUnsafeBufferPointer {
            let node = UnsafeRawPointer($0.baseAddress! + Int(hit.node))
            llmcache_prefetch_write(node)
            llmcache_prefetch_write(node + MemoryLayout<MemoryStore.Node>.size - 1)
        }
        if policy == .wTinyLFU { sketch.prefetch(hit.hash) }
    }

    /// Applies the gathered hits to the policy in the order they happened, which
    /// leaves it exactly as if each had been applied at once.
    mutating func applyPendingHits() {
        let count = pendingHitCount
        guard count > 0 else { return }
        // Prefetch a few hits ahead: far enough for the loads to arrive in time,
        // near enough that the CPU's few outstanding-miss slots are not swamped.
        let distance = 8
        for k in 0..<min(distance, count) { prefetch(pendingHits[k]) }
        for k in 0..<count {
            if k + distance < count { prefetch(pendingHits[k + distance]) }
            let hit = pendingHits[k]
            recordAccess(hit.node, hash: hit.hash)
        }
        pendingHitCount = 0
    }

    /// Places a newly allocated node and records its first use.
    mutating func recordInsert(_ i: Int32, hash: UInt64) {
        switch policy {
        case .lru:
            pushMRU(i, .probation)
        case .wTinyLFU:
            if maximumCount == .max, table.count > sketch.capacity {
                sketch.ensureCapacity(2 * table.count)
            }
            sketch.increment(hash)
            pushMRU(i, .window)
        }
    }

    /// Records a use of node `i` (a hit, or a replacing write).
    mutating func recordAccess(_ i: Int32, hash: UInt64) {
        switch policy {
        case .lru:
            moveToMRU(i, .probation)
        case .wTinyLFU:
            sketch.increment(hash)
            switch nodes[Int(i)].queue {
            case .window:
                moveToMRU(i, .window)
            case .protected:
                // Marked, not moved: a move writes both neighbours, two more
                // cache misses in a large store, on the commonest hit of all.
                // The mark buys the node another pass when it reaches the
                // segment's oldest end (`demoteFromProtected`), as a CLOCK does.
                // Replaying the standard traces, hit ratios were equal or up to
                // 0.03 points higher; hits at 10,000 keys about 8% faster.
                nodes[Int(i)].referenced = true
            case .probation:
                // Used again while on probation: promote, unless it alone would
                // overflow the protected segment.
                if nodes[Int(i)].weight > protectedMaximumWeight {
                    moveToMRU(i, .probation)
                } else {
                    moveToMRU(i, .protected)
                }
            case .none:
                break
            }
            demoteFromProtected()
        }
    }

    /// Brings the store within its budgets: expired entries go first (they cost
    /// nothing to lose), then the policy picks victims. Afterwards the shard holds
    /// at most its budgets, so the store never exceeds its own.
    mutating func evict(now: Int64, sink: inout MemoryStore.EventSink) {
        while isOverBudget, let top = expiryHeap.first, nodes[Int(top)].expiresAt <= now {
            let entry = remove(top)
            expirations += 1
            sink.append(.expired(entry.key))
        }
        switch policy {
        case .lru:
            while isOverBudget {
                evictNode(probation.head, sink: &sink)
            }
        case .wTinyLFU:
            var candidate = drainWindow()
            while isOverBudget {
                var victim = probation.head
                if victim < 0 { victim = protected.head }
                if victim < 0 { victim = window.head }
                if candidate < 0 || victim == candidate {
                    // No newcomer left to weigh against: plain LRU order.
                    if victim == candidate { candidate = nodes[Int(candidate)].next }
                    evictNode(victim, sink: &sink)
                } else if admit(candidate, over: victim) {
                    evictNode(victim, sink: &sink)
                } else {
                    let next = nodes[Int(candidate)].next
                    evictNode(candidate, sink: &sink)
                    candidate = next
                }
            }
        }
    }

    private mutating func evictNode(_ i: Int32, sink: inout MemoryStore.EventSink) {
        let entry = remove(i)
        evictions += 1
        sink.append(.evicted(entry.key))
    }

    /// Moves the window's overflow, oldest first, to the most recently used end of
    /// probation, where each competes with probation's oldest entry for a place.
    /// Returns the first node moved (the later ones follow it via `next`), or -1.
    mutating func drainWindow() -> Int32 {
        var first: Int32 = -1
        while window.weight > windowMaximumWeight || window.count > windowMaximumCount {
            let i = window.head
            guard i >= 0 else { break }
            moveToMRU(i, .probation)
            if first < 0 { first = i }
        }
        return first
    }

    /// Keeps the protected segment within 80% of the main space by moving its
    /// oldest entries back to probation; one used again since it last moved gets
    /// another pass through the segment instead.
    mutating func demoteFromProtected() {
        while protected.weight > protectedMaximumWeight || protected.count > protectedMaximumCount {
            let i = protected.head
            guard i >= 0 else { break }
            if nodes[Int(i)].referenced {
                nodes[Int(i)].referenced = false
                moveToMRU(i, .protected)
            } else {
                moveToMRU(i, .probation)
            }
        }
    }

    /// TinyLFU's admission test: the candidate (leaving the window) replaces the
    /// victim (oldest on probation) only if it is estimated to be used more
    /// often. Recent counts that differ by two or more decide; closer ones are
    /// decided by the long-term counts, and if those tie too, by the recent
    /// ones, a tie keeping the victim. A warm candidate is also admitted at
    /// random once in 128 times, as Caffeine does, so an attacker cannot pin a
    /// victim by flooding the sketch with its hash collisions.
    ///
    /// Most comparisons are between keys used about once a sample period, whose
    /// recent counts differ by chance: one use more says little. Letting the
    /// long-term counts decide those raised the hit ratio of every standard
    /// trace and put the scan-mixed trace over its target; going by the
    /// long-term counts first instead loses where popularity moves
    /// (docs/MEMORY_STORE.md, "A second, longer memory").
    private mutating func admit(_ candidate: Int32, over victim: Int32) -> Bool {
        let candidateFrequency = sketch.frequency(nodes[Int(candidate)].entry.key.spread)
        let victimFrequency = sketch.frequency(nodes[Int(victim)].entry.key.spread)
        let recentDifference = candidateFrequency.recent - victimFrequency.recent
        let admitted: Bool
        if abs(recentDifference) > 1 {
            admitted = recentDifference > 0
        } else if candidateFrequency.longTerm != victimFrequency.longTerm {
            admitted = candidateFrequency.longTerm > victimFrequency.longTerm
        } else {
            admitted = recentDifference > 0
        }
        if admitted { return true }
        if candidateFrequency.recent <= 5 { return false }
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random & 127 == 0
    }
}
