extension MemoryStore {
    /// A shard's map from keys to nodes: an open-addressing hash table with linear
    /// probing, at most half full.
    ///
    /// A hit in a large store waits on cache misses one after another; this table
    /// keeps that chain to two. A slot holds the entry's storage beside its node
    /// index, so a lookup reads one slot, then the entry itself (its key to
    /// confirm the match, its expiry, its reference count), and leaves the node to
    /// the batched policy update. A `Dictionary` from key to node index read its
    /// bitmap, key and value, then the node, then the entry.
    ///
    /// Slots reference the storage unowned: the node's entry owns it, and every
    /// change of a node's entry updates its slot under the same lock.
    ///
    /// Positions come from the key's ``CacheKey/spread`` mixed with a per-table
    /// random seed, so keys crafted to share positions (cheap to find for a
    /// handful of low bits of a SHA-256) cannot be predicted to collide here.
    struct EntryTable {
        struct Slot {
            /// `nil` for an empty slot.
            var entry: Unmanaged<CacheEntry.Storage>?
            var node: Int32
            /// More hash bits, compared before the key.
            var tag: UInt32

            static let empty = Slot(entry: nil, node: -1, tag: 0)
        }

        /// A new table's slots: the fewest worth growing from.
        private static let initialSlots = 16

        private var slots: [Slot]
        private var mask: Int
        private let seed: UInt64
        private(set) var count = 0

        init(seed: UInt64) {
            slots = Array(repeating: .empty, count: Self.initialSlots)
            mask = Self.initialSlots - 1
            self.seed = seed
        }

        @inline(__always)
        private func mix(_ key: CacheKey) -> UInt64 {
            var z = key.spread ^ seed
            z = (z ^ (z >> 33)) &* 0xff51_afd7_ed55_8ccd
            return z ^ (z >> 29)
        }

        /// The node holding `key` and its entry's storage, or `nil`.
        @inline(__always)
        func find(_ key: CacheKey) -> (node: Int32, entry: Unmanaged<CacheEntry.Storage>)? {
            let hash = mix(key)
            let tag = UInt32(truncatingIfNeeded: hash >> 32)
            return slots.withUnsafeBufferPointer { slots in
                var i = Int(truncatingIfNeeded: hash) & mask
                while let entry = slots[i].entry {
                    if slots[i].tag == tag, entry._withUnsafeGuaranteedRef({ $0.key == key }) {
                        return (slots[i].node, entry)
                    }
                    i = (i &+ 1) & mask
                }
                return nil
            }
        }

        /// The node holding `key`, or `nil`.
        func node(for key: CacheKey) -> Int32? {
            find(key)?.node
        }

        /// Maps `entry`'s key to `node`; the key must not be present.
        mutating func insert(_ entry: CacheEntry, node: Int32) {
            if 2 * (count + 1) > slots.count { grow() }
            place(Slot(entry: .passUnretained(entry.storage), node: node, tag: 0), key: entry.key)
            count += 1
        }

        /// Points the slot of `node`, which holds `entry`'s key, at `entry`'s
        /// storage: the node's entry was replaced. The slot is found by node index,
        /// never through the storage it held, which may already be gone.
        mutating func update(_ entry: CacheEntry, node: Int32) {
            let i = position(of: node, key: entry.key)
            slots[i].entry = .passUnretained(entry.storage)
        }

        /// Removes `node`, which holds `key`.
        mutating func remove(node: Int32, key: CacheKey) {
            let i = position(of: node, key: key)
            // Backward-shift deletion: pull later members of the probe run into the
            // gap when their home position allows it, so no tombstones build up.
            var gap = i
            var j = i
            while true {
                j = (j &+ 1) & mask
                guard let entry = slots[j].entry else { break }
                let home = Int(truncatingIfNeeded: mix(entry._withUnsafeGuaranteedRef { $0.key })) & mask
                // Move j into the gap unless its home lies cyclically in (gap, j].
                let homeAfterGap = gap <= j ? (home > gap && home <= j) : (home > gap || home <= j)
                if !homeAfterGap {
                    slots[gap] = slots[j]
                    gap = j
                }
            }
            slots[gap] = .empty
            count -= 1
        }

        mutating func removeAll() {
            self = EntryTable(seed: seed)
        }

        /// Every node in the table, in no particular order.
        var nodes: [Int32] {
            var nodes: [Int32] = []
            nodes.reserveCapacity(count)
            for slot in slots where slot.entry != nil { nodes.append(slot.node) }
            return nodes
        }

        /// The slot of `node`, found by comparing node indexes along `key`'s probe run.
        private func position(of node: Int32, key: CacheKey) -> Int {
            var i = Int(truncatingIfNeeded: mix(key)) & mask
            while slots[i].entry != nil {
                if slots[i].node == node { return i }
                i = (i &+ 1) & mask
            }
            preconditionFailure("MemoryStore.EntryTable: node \(node) is not in the table")
        }

        private mutating func place(_ slot: Slot, key: CacheKey) {
            var slot = slot
            let hash = mix(key)
            slot.tag = UInt32(truncatingIfNeeded: hash >> 32)
            var i = Int(truncatingIfNeeded: hash) & mask
            while slots[i].entry != nil { i = (i &+ 1) & mask }
            slots[i] = slot
        }

        private mutating func grow() {
            let old = slots
            slots = Array(repeating: .empty, count: 2 * old.count)
            mask = slots.count - 1
            for slot in old {
                guard let entry = slot.entry else { continue }
                place(slot, key: entry._withUnsafeGuaranteedRef { $0.key })
            }
        }
    }
}
