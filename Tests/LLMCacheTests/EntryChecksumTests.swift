import Foundation
@testable import LLMCache
import Testing

@Suite struct EntryChecksumTests {
    @Test func crc32cMatchesThePublishedCheckValue() {
        // RFC 3720, B.4 and every CRC catalogue: CRC-32C("123456789").
        let check = Array("123456789".utf8).withUnsafeBytes { EntryChecksum.crc32c($0) }
        #expect(check == 0xE306_9283)
        // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
        #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes { EntryChecksum.crc32c($0) } == 0x8A91_36AA)
        #expect([UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { EntryChecksum.crc32c($0) } == 0x62A8_AB43)
    }

    @Test func theTablePathAgreesWithTheInstruction() {
        var generator = SystemRandomNumberGenerator()
        for size in [1, 7, 8, 9, 100, 4097, 20_000] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes.withUnsafeBytes { #expect(EntryChecksum.crc32c($0) == EntryChecksum.crc32c($0, portable: true)) }
        }
        #expect(Array("123456789".utf8).withUnsafeBytes { EntryChecksum.crc32c($0, portable: true) } == 0xE306_9283)
    }

    @Test(arguments: [0, 1, 7, 8, 9, 63, 4096, 20_000])
    func anyFlippedBitOrOtherKeyChangesTheChecksum(size: Int) {
        let key = CacheKey(hashing: Array("k".utf8))
        let value = Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let checksum = EntryChecksum.of(key: key, value: value)
        #expect(EntryChecksum.of(key: CacheKey(hashing: Array("other".utf8)), value: value) != checksum)
        for index in Set([0, size / 2, size - 1]) where size > 0 {
            var damaged = value
            damaged[index] ^= 0x01
            #expect(EntryChecksum.of(key: key, value: damaged) != checksum)
        }
        // Same as the checksum of the concatenation: the key first, then the value.
        let whole = (key.bytes + [UInt8](value)).withUnsafeBytes { EntryChecksum.crc32c($0) }
        #expect(whole == checksum)
    }
}
