import Foundation
import LLMCache

/// How entry fields that SQLite has no type for are laid out in BLOB columns.
enum SQLiteRowCodec {
    static func blob(_ key: CacheKey) -> Data { Data(key.bytes) }

    static func key(_ blob: Data, path: String) throws -> CacheKey {
        try blob.withUnsafeBytes { try key($0, path: path) }
    }

    static func key(_ blob: UnsafeRawBufferPointer, path: String) throws -> CacheKey {
        guard blob.count == 32 else {
            throw CacheError(.corruptData, "SQLite cache \(path) holds a key of \(blob.count) bytes instead of 32; move the file aside to start with an empty cache")
        }
        return CacheKey(digest: blob)
    }

    /// Tags as a sequence of (UInt32 little-endian length, UTF-8 bytes): a hit
    /// decodes them without parsing JSON, and any string, separators included,
    /// round-trips.
    static func blob(tags: [String]) -> Data {
        var data = Data()
        for tag in tags {
            let bytes = Array(tag.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { data.append(contentsOf: $0) }
            data.append(contentsOf: bytes)
        }
        return data
    }

    static func tags(_ blob: Data, path: String) throws -> [String] {
        try blob.withUnsafeBytes { try tags($0, path: path) }
    }

    /// Decodes in place, without copying the blob first: this runs on every hit.
    static func tags(_ bytes: UnsafeRawBufferPointer, path: String) throws -> [String] {
        guard !bytes.isEmpty else { return [] }
        var tags: [String] = []
        var index = 0
        while index < bytes.count {
            guard index + 4 <= bytes.count else { throw corruptTags(path) }
            let length = Int(UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
            index += 4
            guard length <= bytes.count - index else { throw corruptTags(path) }
            tags.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]), as: UTF8.self))
            index += length
        }
        return tags
    }

    private static func corruptTags(_ path: String) -> CacheError {
        CacheError(.corruptData, "SQLite cache \(path) holds a malformed tag list; move the file aside to start with an empty cache")
    }

    /// Vectors as Float32 little-endian, the layout of every platform Swift runs
    /// on, so encoding and decoding are one copy.
    static func blob(vector: [Float]) -> Data {
        #if _endian(little)
        return vector.withUnsafeBytes { Data($0) }
        #else
        var data = Data(capacity: vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
        #endif
    }

    static func vector(_ blob: Data, path: String) throws -> [Float] {
        try blob.withUnsafeBytes { try vector($0, path: path) }
    }

    static func vector(_ blob: UnsafeRawBufferPointer, path: String) throws -> [Float] {
        guard blob.count % 4 == 0 else {
            throw CacheError(.corruptData, "SQLite cache \(path) holds a vector of \(blob.count) bytes, not a multiple of 4; move the file aside to start with an empty cache")
        }
        let count = blob.count / 4
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            #if _endian(little)
            if count > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: blob) }
            #else
            for i in 0..<count {
                buffer[i] = Float(bitPattern: UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
            }
            #endif
            initialized = count
        }
    }
}
