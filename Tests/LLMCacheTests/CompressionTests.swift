import CMallocInfo
import Foundation
import Testing
@testable import LLMCache

@Suite struct CompressionTests {

    @Test func largeValuesRoundTripCompressed() throws {
        let text = Data(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 100).utf8)
        let (bytes, encoding) = Compression.default.encode(text)
        #expect(encoding == .zstd)
        #expect(bytes.count < text.count / 4)
        #expect(try Compression.decode(bytes, encoding: encoding, rawSize: text.count) == text)
    }

    /// A store charges a value by its count and keeps it for the entry's life,
    /// so the heap block behind a compressed value, and behind a decompressed
    /// one handed to the caller, must be about that size, not the compression
    /// bound the work started from.
    @Test func compressedAndRestoredValuesHoldOnlyTheirOwnBytes() throws {
        var body = #"{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":""#
        for i in 0..<200 { body += "Step \(i): add \(i * 7 % 13) to the total, then note it. " }
        body += #""}}]}"#
        let value = Data(body.utf8)
        let (bytes, encoding) = Compression.default.encode(value)
        #expect(encoding == .zstd)
        #expect(bytes.count < value.count / 3)
        let held = bytes.withUnsafeBytes { llmcache_allocation_bytes(UnsafeMutableRawPointer(mutating: $0.baseAddress!)) }
        #expect(held < bytes.count + 64, "a \(bytes.count)-byte compressed value holds \(held) bytes of heap")

        let restored = try Compression.decode(bytes, encoding: encoding, rawSize: value.count)
        #expect(restored == value)
        let restoredHeld = restored.withUnsafeBytes { llmcache_allocation_bytes(UnsafeMutableRawPointer(mutating: $0.baseAddress!)) }
        #expect(restoredHeld < value.count + 64, "a \(value.count)-byte restored value holds \(restoredHeld) bytes of heap")
    }

    @Test func smallAndIncompressibleValuesAreStoredAsTheyAre() {
        let small = Data("short answer".utf8)
        #expect(Compression.default.encode(small).encoding == .identity)
        var generator = SystemRandomNumberGenerator()
        let noise = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let (bytes, encoding) = Compression.default.encode(noise)
        #expect(encoding == .identity)
        #expect(bytes == noise)
    }

    @Test func damagedBytesAreReportedNotReturned() throws {
        let text = Data(String(repeating: "abc", count: 1000).utf8)
        var (bytes, _) = Compression.default.encode(text)
        bytes[bytes.count / 2] ^= 0xFF
        bytes.removeLast(3)
        #expect(throws: CacheError.self) { try Compression.decode(bytes, encoding: .zstd, rawSize: text.count) }
        #expect(throws: CacheError.self) { try Compression.decode(Data("x".utf8), encoding: .zstd, rawSize: 10) }
    }

    @Test("many tasks compressing and decompressing at once each get their own value back")
    func concurrentRoundTrips() async throws {
        // More tasks than the pool keeps contexts, so contexts are made, shared and freed.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<32 {
                group.addTask {
                    for round in 0..<50 {
                        let text = String(repeating: "answer \(task) round \(round), ", count: 80 + task)  // over the 1 KiB threshold
                        let value = Data(text.utf8)
                        let (bytes, encoding) = Compression.default.encode(value)
                        #expect(encoding == .zstd)
                        #expect(bytes.count < value.count)
                        let restored = try Compression.decode(bytes, encoding: encoding, rawSize: value.count)
                        #expect(restored == value)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("damaged bytes are an error, and the next value still decodes")
    func damagedThenGood() throws {
        let value = Data(String(repeating: "a cached answer; ", count: 100).utf8)
        let (bytes, encoding) = Compression.default.encode(value)
        var damaged = bytes
        damaged[damaged.count / 2] ^= 0xFF
        damaged.removeLast(4)
        #expect(throws: CacheError.self) { try Compression.decode(damaged, encoding: encoding, rawSize: value.count) }
        #expect(try Compression.decode(bytes, encoding: encoding, rawSize: value.count) == value)
    }
}
