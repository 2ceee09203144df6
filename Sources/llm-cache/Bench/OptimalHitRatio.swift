/// The hit ratio of Belady's optimal policy (OPT, or MIN) replaying `trace` in
/// a cache of `entries` keys: a read-through cache, as `hitRatio` replays, but
/// one that knows the future. On a miss with the cache full it drops whichever
/// of the resident keys and the new key is next requested furthest ahead (a key
/// never requested again is furthest of all), so it may decline to store the
/// new key. No online policy can do better on the same trace and size, so the
/// gap between this and a policy's hit ratio is the most that policy could
/// still gain there.
///
/// O(n log n): one backwards pass finds each request's next request for the
/// same key, then a max-heap of next-use positions picks the victim.
func optimalHitRatio(_ trace: [UInt64], entries: Int) -> Double {
    let n = trace.count
    guard n > 0 else { return 0 }
    guard entries > 0 else { return 0 }

    // nextUse[i] is where trace[i]'s key is requested next, or n + i if never:
    // past every real position, so such keys are evicted first, and still
    // unique, so a position alone names one key's one pending request.
    var nextUse = [Int](repeating: 0, count: n)
    var seen = [UInt64: Int](minimumCapacity: min(n, 1 << 20))
    for i in stride(from: n - 1, through: 0, by: -1) {
        nextUse[i] = seen.updateValue(i, forKey: trace[i]) ?? n + i
    }
    seen = [:]

    // A resident key is in the cache exactly while its next-use position is
    // pending, so `pending[i]` at step i says whether trace[i] hits. The heap
    // keeps positions that have since been consumed or evicted, and skips
    // them when they reach the top, rather than deleting from its middle.
    var pending = [Bool](repeating: false, count: 2 * n)
    var heap = MaxHeap()
    var resident = 0
    var hits = 0
    for i in 0..<n {
        let next = nextUse[i]
        if pending[i] {
            hits += 1
            pending[i] = false
        } else if next >= n {
            // Never requested again: storing it cannot earn a hit.
            continue
        } else if resident < entries {
            resident += 1
        } else {
            while let top = heap.top, !pending[top] { heap.pop() }
            guard let furthest = heap.top, furthest > next else { continue }
            heap.pop()
            pending[furthest] = false
        }
        pending[next] = true
        heap.push(next)
        // Left alone, stale positions would grow the heap to the whole trace.
        if heap.count > 2 * entries + 1024 { heap.retain { pending[$0] } }
    }
    return Double(hits) / Double(n)
}

/// A binary max-heap of positions, just what `optimalHitRatio` needs.
private struct MaxHeap {
    private var items: [Int] = []

    var count: Int { items.count }
    var top: Int? { items.first }

    mutating func push(_ value: Int) {
        items.append(value)
        siftUp(items.count - 1)
    }

    mutating func pop() {
        let last = items.removeLast()
        guard !items.isEmpty else { return }
        items[0] = last
        siftDown(0)
    }

    /// Keeps the positions `keep` accepts and rebuilds the heap from them.
    mutating func retain(_ keep: (Int) -> Bool) {
        items.removeAll { !keep($0) }
        for i in stride(from: items.count / 2 - 1, through: 0, by: -1) { siftDown(i) }
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        let value = items[i]
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[parent] < value else { break }
            items[i] = items[parent]
            i = parent
        }
        items[i] = value
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let value = items[i]
        let count = items.count
        while true {
            var child = 2 * i + 1
            guard child < count else { break }
            if child + 1 < count && items[child + 1] > items[child] { child += 1 }
            guard items[child] > value else { break }
            items[i] = items[child]
            i = child
        }
        items[i] = value
    }
}
