extension MemoryStore.ShardState {
    // Expiry without scans: a binary min-heap of the nodes that have an expiry,
    // ordered by `expiresAt`, each node remembering its heap position so a delete
    // or replacement leaves the heap in O(log n). Expired entries are collected
    // from the top of the heap a few at a time by writes and by reads that meet
    // an expired entry, and all at once when bytes are needed or statistics are
    // read. A timer wheel would make inserts O(1), but it has to be advanced on a
    // clock tick; the heap needs no background task and costs nothing for entries
    // without a time to live.

    /// Removes up to `limit` expired entries, earliest expiry first; returns how
    /// many it removed.
    @discardableResult
    mutating func purgeExpired(now: Int64, limit: Int, sink: inout MemoryStore.EventSink) -> Int {
        var removed = 0
        while removed < limit, let top = expiryHeap.first, nodes[Int(top)].expiresAt <= now {
            let entry = remove(top)
            expirations += 1
            sink.append(.expired(entry.key))
            removed += 1
        }
        return removed
    }

    /// Removes node `i`, holding `key`, which a read found expired, and up to
    /// eight more expired entries; returns their events, to publish once the
    /// lock is released. Out of line: the read path should not carry it.
    @inline(never)
    mutating func removeExpired(_ i: Int32, key: CacheKey, now: Int64, events: CacheEventBus) -> MemoryStore.EventSink {
        var sink = MemoryStore.EventSink(events)
        remove(i)
        expirations += 1
        sink.append(.expired(key))
        purgeExpired(now: now, limit: 8, sink: &sink)
        return sink
    }

    mutating func heapInsert(_ i: Int32) {
        expiryHeap.append(i)
        nodes[Int(i)].heapIndex = Int32(expiryHeap.count - 1)
        siftUp(expiryHeap.count - 1)
    }

    mutating func heapRemove(_ i: Int32) {
        let position = Int(nodes[Int(i)].heapIndex)
        nodes[Int(i)].heapIndex = -1
        let last = expiryHeap.removeLast()
        guard position < expiryHeap.count else { return }
        expiryHeap[position] = last
        nodes[Int(last)].heapIndex = Int32(position)
        siftDown(position)
        siftUp(position)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        let item = expiryHeap[child]
        let key = nodes[Int(item)].expiresAt
        while child > 0 {
            let parent = (child - 1) / 2
            let parentItem = expiryHeap[parent]
            guard nodes[Int(parentItem)].expiresAt > key else { break }
            expiryHeap[child] = parentItem
            nodes[Int(parentItem)].heapIndex = Int32(child)
            child = parent
        }
        expiryHeap[child] = item
        nodes[Int(item)].heapIndex = Int32(child)
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let item = expiryHeap[parent]
        let key = nodes[Int(item)].expiresAt
        let count = expiryHeap.count
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count, nodes[Int(expiryHeap[child + 1])].expiresAt < nodes[Int(expiryHeap[child])].expiresAt {
                child += 1
            }
            let childItem = expiryHeap[child]
            guard nodes[Int(childItem)].expiresAt < key else { break }
            expiryHeap[parent] = childItem
            nodes[Int(childItem)].heapIndex = Int32(parent)
            parent = child
        }
        expiryHeap[parent] = item
        nodes[Int(item)].heapIndex = Int32(parent)
    }
}
