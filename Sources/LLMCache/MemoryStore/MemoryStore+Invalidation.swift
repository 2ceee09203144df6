extension MemoryStore.ShardState {
    /// Removes the live entries `selector` matches and returns how many. Matching
    /// entries already expired are collected as expirations and not counted.
    mutating func invalidate(_ selector: InvalidationSelector, now: Int64, sink: inout MemoryStore.EventSink) -> Int {
        switch selector {
        case .key(let key):
            guard let i = table.node(for: key) else { return 0 }
            return take([i], now: now, sink: &sink)
        case .tag(let tag):
            // Taking the set out of the index first spares a copy of it while its
            // members are removed.
            guard let members = tagIndex.removeValue(forKey: tag) else { return 0 }
            return take(members, now: now, sink: &sink)
        case .namespace(let namespace):
            guard let members = namespaceIndex.removeValue(forKey: namespace) else { return 0 }
            return take(members, now: now, sink: &sink)
        case .pattern(let model, let namespace):
            var selected: [Int32] = []
            var modelMatches: [String: Bool] = [:]
            for (name, members) in namespaceIndex where namespace?.matches(name) ?? true {
                for i in members {
                    guard let model else {
                        selected.append(i)
                        continue
                    }
                    let name = nodes[Int(i)].entry.model
                    let matches: Bool
                    if let known = modelMatches[name] {
                        matches = known
                    } else {
                        matches = model.matches(name)
                        modelMatches[name] = matches
                    }
                    if matches { selected.append(i) }
                }
            }
            return take(selected, now: now, sink: &sink)
        case .createdBefore(let time):
            var selected: [Int32] = []
            for i in table.nodes where nodes[Int(i)].entry.createdAt < time { selected.append(i) }
            return take(selected, now: now, sink: &sink)
        case .all:
            var live = 0
            for i in table.nodes {
                if nodes[Int(i)].expiresAt <= now {
                    expirations += 1
                    sink.append(.expired(nodes[Int(i)].entry.key))
                } else {
                    live += 1
                }
            }
            removeAll()
            return live
        }
    }

    private mutating func take<Members: Sequence<Int32>>(_ members: Members, now: Int64, sink: inout MemoryStore.EventSink) -> Int {
        var removed = 0
        for i in members {
            let expired = nodes[Int(i)].expiresAt <= now
            let entry = remove(i)
            if expired {
                expirations += 1
                sink.append(.expired(entry.key))
            } else {
                removed += 1
            }
        }
        return removed
    }
}
