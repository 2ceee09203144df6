import CPrefetch

/// An approximate, aging count of how often keys were used: the "TinyLFU" part of
/// W-TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache
/// Admission Policy", 2017), laid out as Caffeine's `FrequencySketch`, with a
/// second, longer memory beside it.
///
/// - A count-min sketch of 4-bit counters, sixteen to a `UInt64`, read and
///   written through four hashes; an estimate is the smallest of the four. As in
///   Caffeine 3, a key's four counters all lie in one 64-byte block of the table,
///   so a use costs one cache miss rather than four.
/// - Two such blocks per key, side by side: *recent* counts, halved every
///   sample period, and *long-term* counts, halved every sixteenth. Admission
///   goes by the recent counts, as TinyLFU's, where they differ clearly, and by
///   the long-term ones where they do not; see
///   `MemoryStore.ShardState.admit(_:over:)`. The two live in separate blocks
///   because sharing words (eight counters of each) made collisions cost more
///   than the longer memory gained.
/// - Aging: after `sampleSize` recorded uses the recent counters are halved and
///   the doorkeeper cleared, so popularity from long ago fades.
/// - A doorkeeper (a Bloom filter) in front of it: a key's first use in a sample
///   period only sets doorkeeper bits, so the many keys seen once never reach the
///   counters and do not inflate the estimates of the keys that matter.
///
/// Not thread-safe: each shard owns one and uses it under the shard's lock.
struct FrequencySketch {
    /// Every counter's high bits, kept when halving.
    private static let resetMask: UInt64 = 0x7777_7777_7777_7777
    /// Every counter's low bit: counts odd counters, whose halving loses 1/2.
    private static let oneMask: UInt64 = 0x1111_1111_1111_1111
    /// Sample periods a long-term count lasts for each one a recent count does.
    /// 16: as good as 64 on traces whose popularity stands still, better where
    /// it moves, and better than 4 where it stands still (docs/MEMORY_STORE.md,
    /// "A second, longer memory"; the replays are in docs/benchmarks/log.md).
    private static let longTermPeriods = 16

    /// The counters, in pairs of 64-byte blocks (recent, then long-term), with
    /// seven spare words so that blocks can start on a 64-byte boundary: an
    /// array's elements start 32 bytes into a 16-byte aligned allocation, so
    /// blocks laid from the first element straddled two cache lines, and a use
    /// cost two misses, the second not prefetched.
    private var table: [UInt64] = [0]
    /// Words before the first block: where the 64-byte boundary falls. Computed
    /// once per allocation; were the array ever moved, blocks would straddle
    /// lines again, which costs time, never counts.
    private var tableOffset = 0
    /// Pairs of blocks of eight words (64 bytes each), minus one.
    private var blockMask = 0
    private var doorkeeper: [UInt64] = [0]
    private var doorkeeperMask = 63
    /// Recorded uses since the last halving.
    private var size = 0
    /// Halvings of the recent counts since the sketch was sized; every
    /// `longTermPeriods`-th halves the long-term counts too.
    private(set) var agings = 0
    private(set) var sampleSize = 10
    /// The number of distinct keys the sketch is sized for.
    private(set) var capacity = 0

    init(capacity: Int) {
        ensureCapacity(capacity)
    }

    /// Resizes for `maximumSize` keys when it is larger than the current sizing,
    /// forgetting all counts (Caffeine does the same; it happens a logarithmic
    /// number of times while a byte-bounded store fills).
    mutating func ensureCapacity(_ maximumSize: Int) {
        let maximum = min(max(maximumSize, 1), 1 << 26)
        guard maximum > capacity else { return }
        capacity = maximum
        // One 64-bit word (16 counters) per key for each memory, as Caffeine:
        // four counters per key with room for hash collisions.
        let words = max(8, Self.ceilingPowerOfTwo(maximum))
        table = [UInt64](repeating: 0, count: 2 * words + 7)
        tableOffset = table.withUnsafeBufferPointer { (64 - Int(bitPattern: $0.baseAddress!) & 63) & 63 } / 8
        blockMask = words / 8 - 1
        sampleSize = 10 * maximum
        // The doorkeeper holds the keys of at most one sample period, two bits
        // each. With one bit per sampled use, a period of mostly first
        // sightings left it 86% set, letting through three quarters of the
        // first sightings it exists to stop; with four bits per use, at most
        // 39% set and 15% let through. Replaying the standard traces
        // (`bench memory --trace`, 2026-11-27) that raised every hit ratio:
        // scanmix at 10,000 entries 0.3825 → 0.3837, at 100,000 0.5133 →
        // 0.5164, zipf08 at 10,000 0.3277 → 0.3293. It costs about 6 bytes
        // per entry of the cache.
        let bits = max(64, Self.ceilingPowerOfTwo(sampleSize) * 4)
        doorkeeper = [UInt64](repeating: 0, count: bits / 64)
        doorkeeperMask = bits - 1
        size = 0
        agings = 0
    }

    /// The estimated number of uses of the key with hash `hash`: in recent sample
    /// periods, from 0 to 16, and over a sixteen times longer past, from 0 to 15.
    func frequency(_ hash: UInt64) -> (recent: Int, longTerm: Int) {
        let item = Self.rehash(hash)
        let block = blockStart(item)
        var recent = 15
        var longTerm = 15
        for i in 0..<4 {
            let (slot, counter) = Self.position(item, i, block)
            let shift = UInt64(counter << 2)
            recent = min(recent, Int(truncatingIfNeeded: (table[slot] >> shift) & 0xf))
            longTerm = min(longTerm, Int(truncatingIfNeeded: (table[slot + 8] >> shift) & 0xf))
        }
        return (recent + (doorkeeperContains(item) ? 1 : 0), longTerm)
    }

    /// Starts loading the memory `increment(hash)` will touch, so a batch of
    /// increments waits for its cache misses together rather than one by one.
    func prefetch(_ hash: UInt64) {
        let item = Self.rehash(hash)
        table.withUnsafeBufferPointer {
            llmcache_prefetch_write($0.baseAddress! + blockStart(item))
            llmcache_prefetch_write($0.baseAddress! + blockStart(item) + 8)
        }
        let word = doorkeeperBits(item).word
        doorkeeper.withUnsafeBufferPointer { llmcache_prefetch($0.baseAddress! + word) }
    }

    /// Records one use of the key with hash `hash`.
    mutating func increment(_ hash: UInt64) {
        let item = Self.rehash(hash)
        if !doorkeeperContains(item) {
            doorkeeperInsert(item)
            recordSample()
            return
        }
        let block = blockStart(item)
        // One uniqueness check for the eight writes, not one each: this runs on
        // every hit.
        let added = table.withUnsafeMutableBufferPointer { words in
            var added = false
            for i in 0..<4 {
                let (slot, counter) = Self.position(item, i, block)
                added = Self.increment(&words[slot], counter: counter) || added
                _ = Self.increment(&words[slot + 8], counter: counter)
            }
            return added
        }
        if added { recordSample() }
    }

    private mutating func recordSample() {
        size += 1
        if size >= sampleSize { age() }
    }

    /// Adds one to counter `counter` of `word` unless it is at 15; returns
    /// whether it did.
    private static func increment(_ word: inout UInt64, counter: Int) -> Bool {
        let offset = UInt64(counter << 2)
        let mask: UInt64 = 0xf << offset
        guard word & mask != mask else { return false }
        word &+= 1 << offset
        return true
    }

    /// Halves every recent counter, every sixteenth time the long-term ones too,
    /// and clears the doorkeeper.
    private mutating func age() {
        agings += 1
        let ageLongTerm = agings % Self.longTermPeriods == 0
        var odd = 0
        let (first, pairs) = (tableOffset, blockMask + 1)
        table.withUnsafeMutableBufferPointer { words in
            for pair in 0..<pairs {
                let block = first + (pair << 4)
                for i in block..<(block + 8) {
                    odd += (words[i] & Self.oneMask).nonzeroBitCount
                    words[i] = (words[i] >> 1) & Self.resetMask
                }
                if ageLongTerm {
                    for i in (block + 8)..<(block + 16) { words[i] = (words[i] >> 1) & Self.resetMask }
                }
            }
        }
        for i in doorkeeper.indices { doorkeeper[i] = 0 }
        size = (size >> 1) - (odd >> 2)
    }

    /// The first word of the key's recent block; its long-term block follows.
    private func blockStart(_ item: UInt64) -> Int {
        tableOffset + ((Int(truncatingIfNeeded: item) & blockMask) << 4)
    }

    /// The word and the counter in it of the key's `i`-th hash: each hash picks
    /// one of its own two words of the block, and one of sixteen counters there.
    private static func position(_ item: UInt64, _ i: Int, _ block: Int) -> (slot: Int, counter: Int) {
        let h = Int(truncatingIfNeeded: item >> UInt64(32 + (i << 3)))
        return (block + (h & 1) + (i << 1), (h >> 1) & 15)
    }

    // Two bits in one word of the doorkeeper, from bits the table does not use.
    private func doorkeeperBits(_ item: UInt64) -> (word: Int, bits: UInt64) {
        let mixed = item &* 0x9e37_79b9_7f4a_7c15
        let word = Int(truncatingIfNeeded: mixed >> 40) & (doorkeeperMask >> 6)
        return (word, 1 << (mixed & 63) | 1 << ((mixed >> 6) & 63))
    }

    private func doorkeeperContains(_ item: UInt64) -> Bool {
        let (word, bits) = doorkeeperBits(item)
        return doorkeeper[word] & bits == bits
    }

    private mutating func doorkeeperInsert(_ item: UInt64) {
        let (word, bits) = doorkeeperBits(item)
        doorkeeper[word] |= bits
    }

    /// A second mix on top of the key's spread, so sketch positions are
    /// independent of the bits that chose the shard.
    private static func rehash(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    private static func ceilingPowerOfTwo(_ x: Int) -> Int {
        x <= 1 ? 1 : 1 << (Int.bitWidth - (x - 1).leadingZeroBitCount)
    }
}
