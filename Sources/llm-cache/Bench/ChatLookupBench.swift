import Foundation
import LLMCache

/// A realistic chat request of about 1 KiB: a system prompt, two turns of
/// history, a tool definition and sampling parameters.
func sampleChatRequest(variant: Int) -> [UInt8] {
    let json = """
    {"model":"gpt-4o-mini","temperature":0.2,"top_p":1,"max_tokens":512,"seed":7,\
    "messages":[{"role":"system","content":"You are a concise assistant for an online bookshop. Answer in two sentences \
    at most, cite the catalogue number when you mention a book, and never invent prices."},\
    {"role":"user","content":"Do you have any introductions to distributed systems for someone who knows Python?"},\
    {"role":"assistant","content":"Yes: 'Designing Data-Intensive Applications' (CAT-1182) is the usual first read, \
    and 'Distributed Systems for Practitioners' (CAT-2291) is shorter."},\
    {"role":"user","content":"Which of the two is better for a reading group of five people, question \(variant)?"}],\
    "tools":[{"type":"function","function":{"name":"lookup_stock","description":"Stock level of a catalogue number",\
    "parameters":{"type":"object","properties":{"catalogue_number":{"type":"string"}},"required":["catalogue_number"]}}}]}
    """
    return Array(json.utf8)
}

/// Full lookups per second on one thread: parse and validate the request body,
/// fingerprint it (canonical encoding + SHA-256), and read the store. Also the
/// fingerprint alone, and the fingerprint of a request made from a parsed tree:
/// the path bodies the one-pass encoder leaves alone take, and what every
/// request cost before it.
func measureChatLookups(store: any CacheStore, seconds: Double) async throws -> (lookupsPerSecond: Double, fingerprintsPerSecond: Double, treeFingerprintsPerSecond: Double, requestBytes: Int) {
    let fingerprint = Fingerprint()
    let bodies = (0..<64).map(sampleChatRequest(variant:))
    for body in bodies {
        let key = fingerprint.key(for: try LLMRequest(json: body), namespace: "bench")
        try await store.set(CacheEntry(key: key, value: Data(repeating: 0x61, count: 1024), namespace: "bench", model: "gpt-4o-mini", createdAt: SystemCacheClock().now(), expiresAt: SystemCacheClock().now() + .seconds(3600)))
    }

    func run(_ body: ([UInt8]) async throws -> Void) async throws -> Double {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        var operations = 0
        let start = clock.now
        while clock.now < deadline {
            for index in 0..<256 { try await body(bodies[index & 63]) }
            operations += 256
        }
        return Double(operations) / (clock.now - start).seconds
    }

    var hits = 0
    let lookups = try await run { body in
        let key = fingerprint.key(for: try LLMRequest(json: body), namespace: "bench")
        if try await store.get(key) != nil { hits += 1 }
    }
    precondition(hits > 0, "the lookup benchmark found nothing it stored")
    let fingerprints = try await run { body in
        _ = fingerprint.key(for: try LLMRequest(json: body), namespace: "bench")
    }
    let treeFingerprints = try await run { body in
        _ = fingerprint.key(for: try LLMRequest(try JSONValue(parsing: body)), namespace: "bench")
    }
    return (lookups, fingerprints, treeFingerprints, bodies[0].count)
}

/// Hits per second through `LLMCache.lookup(_:)` for the same requests.
func measureFacadeLookups(cache: LLMCache, seconds: Double) async throws -> Double {
    let bodies = (0..<64).map(sampleChatRequest(variant:))
    let requests = try bodies.map { try LLMRequest(json: $0) }
    for request in requests { await cache.store(Data(repeating: 0x61, count: 1024), for: request) }
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(seconds)
    var operations = 0
    let start = clock.now
    while clock.now < deadline {
        for index in 0..<256 {
            guard await cache.lookup(try LLMRequest(json: bodies[index & 63])) != nil else {
                throw CacheError(.invalidArgument, "the facade lookup benchmark missed a stored request")
            }
        }
        operations += 256
    }
    return Double(operations) / (clock.now - start).seconds
}
