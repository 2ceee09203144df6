import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

@Suite struct SafeTensorsTests {
    /// Writes a safetensors file from a header JSON text and a data section.
    static func write(header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        var bytes: [UInt8] = []
        var length = (lengthOverride ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header.utf8)
        bytes.append(contentsOf: data)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A tensor's values copied out while the file, which owns them, is alive.
    static func values(_ file: SafeTensorsFile, _ name: String, _ shape: [Int]) throws -> [Float] {
        try withExtendedLifetime(file) { Array(try file.floats(name, shape: shape)) }
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
    }

    @Test func readsFloatTensorsByNameAndShape() throws {
        let header = #"{"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}}"#
        // Pad the header so the data is 4-byte aligned, as real writers do.
        let padded = header + String(repeating: " ", count: (4 - (8 + header.utf8.count) % 4) % 4)
        let path = try Self.write(header: padded, data: Self.floatBytes([1, 2, 3, 4, 5]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafeTensorsFile(path: path)
        #expect(try Self.values(file, "a", [2, 2]) == [1, 2, 3, 4])
        #expect(try Self.values(file, "b", [1]) == [5])
        #expect(throws: CacheError.self) { try file.floats("a", shape: [4]) }
        #expect(throws: CacheError.self) { try file.floats("missing", shape: [1]) }
    }

    @Test func readsUnalignedDataThroughACopy() throws {
        let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        #expect((8 + header.utf8.count) % 4 != 0)
        let path = try Self.write(header: header, data: Self.floatBytes([1.5, -2, 3]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try Self.values(SafeTensorsFile(path: path), "a", [3]) == [1.5, -2, 3])
    }

    struct Malformed: Sendable, CustomTestStringConvertible {
        var name: String
        var header: String
        var data: [UInt8] = []
        var lengthOverride: UInt64?
        var phrase: String
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "header longer than the file", header: #"{"a": 1}"#, lengthOverride: 5000, phrase: "truncated"),
        Malformed(name: "absurd header length", header: "{}", lengthOverride: UInt64.max / 2, phrase: "header"),
        Malformed(name: "not JSON", header: "{this is not json", phrase: "not valid JSON"),
        Malformed(name: "JSON array", header: "[1, 2]", phrase: "not a JSON object"),
        Malformed(name: "missing fields", header: #"{"a": {"dtype": "F32"}}"#, phrase: "lacks dtype"),
        Malformed(name: "unknown dtype", header: #"{"a": {"dtype": "F7", "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0], phrase: "unknown dtype"),
        Malformed(name: "negative dimension", header: #"{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0], phrase: "non-negative"),
        Malformed(name: "data beyond the end", header: #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#, data: [0, 0, 0, 0], phrase: "truncated"),
        Malformed(name: "size not matching the shape", header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0], phrase: "bytes of data"),
        Malformed(name: "reversed offsets", header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}"#, data: [0, 0, 0, 0], phrase: "begin <= end"),
        Malformed(name: "overlapping tensors", header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#, data: Array(repeating: 0, count: 8), phrase: "overlap"),
    ]

    @Test(arguments: malformed)
    func malformedFilesFailWithAClearCorruptDataError(_ file: Malformed) throws {
        let path = try Self.write(header: file.header, data: file.data, lengthOverride: file.lengthOverride)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: CacheError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.code == .corruptData)
        #expect(error?.message.contains(file.phrase) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(path) == true)
    }

    @Test func aFileShorterThanTheLengthPrefixIsTruncated() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: CacheError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.message.contains("truncated") == true)
        #expect(error?.message.contains("scripts/install-model.sh") == true)
    }

    @Test func aMissingFileIsAConfigurationError() {
        let error = #expect(throws: CacheError.self) { try SafeTensorsFile(path: "/nonexistent/model.safetensors") }
        #expect(error?.code == .invalidConfiguration)
    }

    /// The real model cut short, as an interrupted download would leave it.
    @Test func theRealModelTruncatedIsRejected() throws {
        let directory = try ModelLocator().locate()
        let whole = try Data(contentsOf: URL(fileURLWithPath: directory + "/model.safetensors"), options: .alwaysMapped)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString).safetensors").path
        try whole.prefix(1_000_000).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: CacheError.self) { try SafeTensorsFile(path: path) }
        #expect(error?.code == .corruptData)
        #expect(error?.message.contains("truncated") == true)
    }
}
