import Foundation
import LLMCache

/// A store under test with the means to move its time.
public struct StoreHarness: Sendable {
    /// The store, empty, with a budget large enough for every check (≥ 16 MiB).
    public var store: any CacheStore
    /// The clock the store expires entries by.
    public var clock: any CacheClock
    /// Moves the store's time forward: advances a manual clock, or sleeps for
    /// stores whose expiry runs on a server's clock.
    public var advance: @Sendable (Duration) async throws -> Void
    /// The largest entry weight the store accepts.
    public var maximumEntryWeight: Int

    public init(
        store: any CacheStore,
        clock: any CacheClock,
        maximumEntryWeight: Int,
        advance: @escaping @Sendable (Duration) async throws -> Void
    ) {
        self.store = store
        self.clock = clock
        self.maximumEntryWeight = maximumEntryWeight
        self.advance = advance
    }
}

/// A failed conformance check: what was expected and what the store did.
public struct ConformanceFailure: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One check of the ``CacheStore`` contract. Every backend's tests run
/// ``all`` as a parameterized test, so all backends keep one semantics.
public struct ConformanceCase: Sendable, CustomStringConvertible {
    public let name: String
    private let body: @Sendable (StoreHarness) async throws -> Void

    init(_ name: String, _ body: @escaping @Sendable (StoreHarness) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public var description: String { name }

    /// Runs the check; throws ``ConformanceFailure`` naming what differed.
    public func run(_ harness: StoreHarness) async throws {
        try await body(harness)
    }
}

// MARK: - Helpers

func expect(_ condition: Bool, _ message: @autoclosure () -> String, line: Int = #line) throws {
    if !condition { throw ConformanceFailure("\(message()) (StoreConformance.swift:\(line))") }
}

func key(_ name: String) -> CacheKey { CacheKey(hashing: Array("conformance:\(name)".utf8)) }

func entry(
    _ name: String,
    at time: CacheTimestamp,
    value: String? = nil,
    namespace: String = "default",
    model: String = "gpt-4o",
    tags: [String] = [],
    ttl: Duration? = nil
) -> CacheEntry {
    CacheEntry(
        key: key(name),
        value: Data((value ?? "value of \(name)").utf8),
        namespace: namespace,
        model: model,
        tags: tags,
        createdAt: time,
        expiresAt: ttl.map { time + $0 },
        computeDuration: .milliseconds(250)
    )
}

func present(_ names: [String], in store: any CacheStore) async throws -> Set<String> {
    var found = Set<String>()
    for name in names where try await store.get(key(name)) != nil { found.insert(name) }
    return found
}

/// Waits for the first event that `predicate` accepts, up to two seconds.
func awaitEvent(
    _ stream: AsyncStream<CacheEvent>,
    where predicate: @escaping @Sendable (CacheEvent) -> Bool
) async -> CacheEvent? {
    await withTaskGroup(of: CacheEvent?.self) { group in
        group.addTask {
            for await event in stream where predicate(event) { return event }
            return nil
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(2))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

extension ConformanceCase {
    /// Every check, in a stable order.
    public static let all: [ConformanceCase] = [
        ConformanceCase("a missing key reads as nil") { h in
            try expect(try await h.store.get(key("absent")) == nil, "get of a never-stored key returned an entry")
        },
        ConformanceCase("set then get returns every field unchanged") { h in
            let now = h.clock.now()
            var bytes = Data((0...255).map { UInt8($0) })
            bytes.append(contentsOf: Array("é漢字🙂".utf8))
            let stored = CacheEntry(
                key: key("full"),
                value: bytes,
                encoding: .zstd,
                rawSize: 4096,
                namespace: "tenant-ü",
                model: "gpt-4o-mini",
                tags: ["team:search", "v2"],
                createdAt: now,
                expiresAt: now + .seconds(3600),
                computeDuration: .milliseconds(1234),
                semantic: SemanticRecord(scope: key("scope"), text: "What is Swift?", embeddingModel: "all-MiniLM-L6-v2", vector: [0.25, -0.5, 1.0])
            )
            try await h.store.set(stored)
            guard let read = try await h.store.get(stored.key) else {
                throw ConformanceFailure("get after set returned nil")
            }
            try expect(read.value == stored.value, "value bytes differ after a round trip")
            try expect(read.encoding == stored.encoding, "encoding \(read.encoding) != \(stored.encoding)")
            try expect(read.rawSize == stored.rawSize, "rawSize \(read.rawSize) != \(stored.rawSize)")
            try expect(read.namespace == stored.namespace, "namespace \(read.namespace) != \(stored.namespace)")
            try expect(read.model == stored.model, "model \(read.model) != \(stored.model)")
            try expect(Set(read.tags) == Set(stored.tags), "tags \(read.tags) != \(stored.tags)")
            try expect(read.createdAt.millisecondsSinceEpoch == stored.createdAt.millisecondsSinceEpoch, "createdAt differs at millisecond precision")
            try expect(read.expiresAt?.millisecondsSinceEpoch == stored.expiresAt?.millisecondsSinceEpoch, "expiresAt differs at millisecond precision")
            try expect(read.computeDuration.nanoseconds / 1_000_000 == 1234, "computeDuration \(read.computeDuration) != 1.234 s")
            try expect(read.semantic == stored.semantic, "semantic record differs after a round trip")
        },
        ConformanceCase("an empty value round-trips") { h in
            let e = entry("empty", at: h.clock.now(), value: "")
            try await h.store.set(e)
            try expect(try await h.store.get(e.key)?.value == Data(), "an empty value did not read back empty")
        },
        ConformanceCase("set replaces the entry, its tags and its expiry") { h in
            let now = h.clock.now()
            try await h.store.set(entry("r", at: now, value: "old", tags: ["old-tag"], ttl: .seconds(5)))
            try await h.store.set(entry("r", at: now, value: "new", tags: ["new-tag"]))
            try expect(try await h.store.get(key("r"))?.value == Data("new".utf8), "the second set did not replace the value")
            let count = try await h.store.count()
            try expect(count == 1, "replacing an entry changed the count to \(count)")
            try expect(try await h.store.invalidate(.tag("old-tag")) == 0, "the replaced entry's old tag still selects it")
            try await h.advance(.seconds(6))
            try expect(try await h.store.get(key("r")) != nil, "the replaced entry kept the old entry's expiry")
            try expect(try await h.store.invalidate(.tag("new-tag")) == 1, "the new tag does not select the entry")
        },
        ConformanceCase("delete removes one entry and says whether it was there") { h in
            let now = h.clock.now()
            try await h.store.set(entry("d1", at: now))
            try await h.store.set(entry("d2", at: now))
            try expect(try await h.store.delete(key("d1")), "delete of a present key returned false")
            try expect(try await !h.store.delete(key("d1")), "a second delete of the same key returned true")
            try expect(try await present(["d1", "d2"], in: h.store) == ["d2"], "delete removed the wrong entries")
        },
        ConformanceCase("an entry is not served once its time to live has run out") { h in
            let now = h.clock.now()
            try await h.store.set(entry("long", at: now, ttl: .seconds(3600)))
            try await h.store.set(entry("forever", at: now))
            // Stores that expire on a server's clock are checked in real time, so
            // the short entry's time starts when it is stored, last (the first
            // write also opens the connection), and is read at once; seconds, not
            // milliseconds, so a busy machine does not eat the margin.
            try await h.store.set(entry("short", at: h.clock.now(), ttl: .seconds(5)))
            try expect(try await h.store.get(key("short")) != nil, "an entry was not served before its expiry")
            try await h.advance(.milliseconds(5500))
            try expect(try await present(["short", "long", "forever"], in: h.store) == ["long", "forever"], "expiry served or dropped the wrong entries")
            try expect(try await !h.store.delete(key("short")), "delete found an expired entry")
        },
        ConformanceCase("an entry already expired when stored is never served") { h in
            let now = h.clock.now()
            let e = CacheEntry(key: key("stale"), value: Data("x".utf8), createdAt: now - .seconds(10), expiresAt: now - .seconds(1))
            try await h.store.set(e)
            try expect(try await h.store.get(e.key) == nil, "an entry stored already expired was served")
        },
        ConformanceCase("invalidate by tag removes exactly the tagged entries and publishes one event") { h in
            let now = h.clock.now()
            let events = h.store.events.subscribe()
            try await h.store.set(entry("t1", at: now, tags: ["docs", "v1"]))
            try await h.store.set(entry("t2", at: now, tags: ["docs"]))
            try await h.store.set(entry("t3", at: now, tags: ["v1"]))
            try await h.store.set(entry("t4", at: now, tags: ["docs-archive"]))
            try expect(try await h.store.invalidate(.tag("docs")) == 2, "invalidate(tag) did not report 2 removals")
            try expect(try await present(["t1", "t2", "t3", "t4"], in: h.store) == ["t3", "t4"], "invalidate(tag) removed the wrong entries")
            let event = await awaitEvent(events) { if case .invalidated(.tag("docs"), count: 2) = $0 { return true } else { return false } }
            try expect(event != nil, "no invalidated(tag docs, count: 2) event was published")
            try expect(try await h.store.invalidate(.tag("docs")) == 0, "a second invalidation of the same tag removed entries")
        },
        ConformanceCase("invalidate by model pattern removes only matching models") { h in
            let now = h.clock.now()
            try await h.store.set(entry("m1", at: now, model: "gpt-4o"))
            try await h.store.set(entry("m2", at: now, model: "gpt-4o-mini"))
            try await h.store.set(entry("m3", at: now, model: "gpt-3.5-turbo"))
            try await h.store.set(entry("m4", at: now, model: "my-gpt-4o"))
            let removed = try await h.store.invalidate(.pattern(model: try GlobPattern("gpt-4*"), namespace: nil))
            try expect(removed == 2, "invalidate(model gpt-4*) removed \(removed), expected 2")
            try expect(try await present(["m1", "m2", "m3", "m4"], in: h.store) == ["m3", "m4"], "model pattern removed the wrong entries")
        },
        ConformanceCase("invalidate by namespace and model pattern together") { h in
            let now = h.clock.now()
            try await h.store.set(entry("n1", at: now, namespace: "team-a", model: "gpt-4o"))
            try await h.store.set(entry("n2", at: now, namespace: "team-b", model: "gpt-4o"))
            try await h.store.set(entry("n3", at: now, namespace: "team-a", model: "claude-3"))
            try await h.store.set(entry("n4", at: now, namespace: "other", model: "gpt-4o"))
            let removed = try await h.store.invalidate(.pattern(model: try GlobPattern("gpt-*"), namespace: try GlobPattern("team-?")))
            try expect(removed == 2, "invalidate(model gpt-*, namespace team-?) removed \(removed), expected 2")
            try expect(try await present(["n1", "n2", "n3", "n4"], in: h.store) == ["n3", "n4"], "pattern removed the wrong entries")
        },
        ConformanceCase("invalidate by age removes entries created strictly before the cut-off") { h in
            let start = h.clock.now()
            try await h.store.set(entry("a1", at: start - .seconds(7200)))
            try await h.store.set(entry("a2", at: start - .seconds(3600)))
            try await h.store.set(entry("a3", at: start))
            let removed = try await h.store.invalidate(.createdBefore(start - .seconds(3600)))
            try expect(removed == 1, "invalidate(createdBefore) removed \(removed), expected 1")
            try expect(try await present(["a1", "a2", "a3"], in: h.store) == ["a2", "a3"], "age invalidation removed the wrong entries")
        },
        ConformanceCase("removing a namespace touches no other namespace") { h in
            let now = h.clock.now()
            try await h.store.set(entry("s1", at: now, namespace: "team"))
            try await h.store.set(entry("s2", at: now, namespace: "team"))
            try await h.store.set(entry("s3", at: now, namespace: "team-b"))
            try await h.store.set(entry("s4", at: now, namespace: "*"))
            try expect(try await h.store.invalidate(.namespace("team")) == 2, "invalidate(namespace team) did not remove 2")
            try expect(try await present(["s1", "s2", "s3", "s4"], in: h.store) == ["s3", "s4"], "namespace removal touched another namespace")
            try expect(try await h.store.invalidate(.namespace("*")) == 1, "a namespace literally named '*' is not a pattern")
        },
        ConformanceCase("invalidate by key and invalidate all") { h in
            let now = h.clock.now()
            for name in ["k1", "k2", "k3"] { try await h.store.set(entry(name, at: now, namespace: name)) }
            try expect(try await h.store.invalidate(.key(key("k1"))) == 1, "invalidate(key) did not remove 1")
            try expect(try await h.store.invalidate(.key(key("k1"))) == 0, "invalidate(key) of a removed key removed something")
            try expect(try await h.store.invalidate(.all) == 2, "invalidate(all) did not remove the 2 left")
            let stats = try await h.store.statistics()
            try expect(stats.entries == 0 && stats.storedBytes == 0, "after invalidate(all): \(stats.entries) entries, \(stats.storedBytes) bytes")
        },
        ConformanceCase("statistics count entries, stored and raw bytes") { h in
            let now = h.clock.now()
            let a = entry("st1", at: now, value: String(repeating: "a", count: 100), tags: ["x"])
            var b = entry("st2", at: now, value: String(repeating: "b", count: 40))
            b.encoding = .zstd
            b.rawSize = 1000
            try await h.store.set(a)
            try await h.store.set(b)
            let stats = try await h.store.statistics()
            try expect(stats.entries == 2, "entries \(stats.entries), expected 2")
            try expect(stats.storedBytes == a.weight + b.weight, "storedBytes \(stats.storedBytes), expected \(a.weight + b.weight)")
            try expect(stats.rawBytes == 100 + 1000, "rawBytes \(stats.rawBytes), expected 1100")
            try await h.store.delete(a.key)
            let after = try await h.store.statistics()
            try expect(after.entries == 1 && after.storedBytes == b.weight, "statistics after delete: \(after)")
        },
        ConformanceCase("an entry over the maximum size is refused and nothing else changes") { h in
            let now = h.clock.now()
            try await h.store.set(entry("keep", at: now, value: "kept"))
            var big = entry("keep", at: now)
            big.value = Data(count: h.maximumEntryWeight + 1)
            big.rawSize = big.value.count
            do {
                try await h.store.set(big)
                throw ConformanceFailure("set of an entry over the maximum size did not throw")
            } catch let error as CacheError {
                try expect(error.code == .entryTooLarge, "oversized set threw \(error), expected entryTooLarge")
            }
            try expect(try await h.store.get(key("keep"))?.value == Data("kept".utf8), "a refused oversized set changed the existing entry")
            try expect(try await h.store.count() == 1, "a refused oversized set changed the count")
        },
        ConformanceCase("entries() streams every live entry exactly once") { h in
            let now = h.clock.now()
            var expected = Set<CacheKey>()
            for i in 0..<250 {
                let e = entry("e\(i)", at: now, namespace: "ns\(i % 3)")
                try await h.store.set(e)
                expected.insert(e.key)
            }
            try await h.store.set(entry("expiring", at: now, ttl: .seconds(1)))
            try await h.advance(.milliseconds(1500))
            var seen = [CacheKey]()
            for try await e in h.store.entries() { seen.append(e.key) }
            try expect(seen.count == Set(seen).count, "entries() yielded a key twice")
            try expect(Set(seen) == expected, "entries() yielded \(seen.count) keys, expected the 250 live ones")
        },
        ConformanceCase("concurrent writers and readers see whole entries") { h in
            let now = h.clock.now()
            let store = h.store
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for i in 0..<100 {
                            let name = "c\(worker)-\(i % 20)"
                            try await store.set(entry(name, at: now, value: "\(name):\(i)"))
                            if let read = try await store.get(key(name)) {
                                let text = String(decoding: read.value, as: UTF8.self)
                                try expect(text.hasPrefix("\(name):"), "read a torn or foreign value \(text) for \(name)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let count = try await h.store.count()
            try expect(count == 160, "after concurrent writes: \(count) entries, expected 160")
        },
    ]
}
