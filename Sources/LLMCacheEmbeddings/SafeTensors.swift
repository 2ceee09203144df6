#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LLMCache

/// A memory-mapped safetensors file: an 8-byte little-endian header length, a
/// JSON header naming each tensor's dtype, shape and byte range, then the data.
///
/// Opening validates the whole header — every tensor's range inside the file,
/// sizes that match dtype × shape, no overlaps — so a truncated or malformed
/// file fails at once with a message naming the file and the problem, never
/// later with a crash. Thread-safe: the mapping is read-only.
public final class SafeTensorsFile: Sendable {
    /// One tensor's description.
    public struct Tensor: Sendable, Hashable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range within the data section.
        public var range: Range<Int>

        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The file's path.
    public let path: String
    /// Every tensor by name.
    public let tensors: [String: Tensor]
    private let mapping: Mapping

    /// The mapped bytes; unmapped when the last reference goes.
    private final class Mapping: @unchecked Sendable {
        // @unchecked: the region is mapped read-only and never written; it is
        // unmapped only in deinit, when no reader can remain.
        let base: UnsafeRawPointer
        let size: Int
        init(base: UnsafeRawPointer, size: Int) {
            self.base = base
            self.size = size
        }
        deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    static let byteWidths: [String: Int] = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    /// Maps and validates `path`.
    public init(path: String) throws {
        func bad(_ problem: String) -> CacheError {
            CacheError(.corruptData, "\(path) is not a valid safetensors file: \(problem); reinstall the model with scripts/install-model.sh")
        }
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw CacheError(.invalidConfiguration, "cannot open \(path): \(String(cString: strerror(errno))); install the model with scripts/install-model.sh")
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw bad("cannot read its size") }
        let size = Int(info.st_size)
        guard size >= 8 else { throw bad("it is \(size) bytes long, shorter than the 8-byte header length") }
        guard let raw = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), raw != MAP_FAILED else {
            throw bad("it cannot be memory-mapped (\(String(cString: strerror(errno))))")
        }
        let mapping = Mapping(base: UnsafeRawPointer(raw), size: size)
        self.mapping = mapping

        let headerLength = Int(mapping.base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength > 1, headerLength <= size - 8, headerLength < 100 << 20 else {
            throw bad("the header claims \(headerLength) bytes but the file has \(size - 8) after the length")
        }
        let headerBytes = UnsafeRawBufferPointer(start: mapping.base + 8, count: headerLength)
        let header: JSONValue
        do {
            header = try JSONValue(parsing: headerBytes)
        } catch let error as CacheError {
            throw bad("its JSON header is malformed (\(error.message))")
        }
        guard case .object(let entries) = header else { throw bad("its header is not a JSON object") }
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart
        var tensors: [String: Tensor] = [:]
        for (name, value) in entries where name != "__metadata__" {
            guard let dtype = value["dtype"]?.stringValue, let width = Self.byteWidths[dtype] else {
                throw bad("tensor \(name) has a missing or unknown dtype")
            }
            guard let shapeValues = value["shape"]?.arrayValue else { throw bad("tensor \(name) has no shape") }
            let shape = try shapeValues.map { v -> Int in
                guard let n = v.numberValue?.intValue, n >= 0 else { throw bad("tensor \(name) has a negative or non-integer dimension") }
                return n
            }
            guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
                  let begin = offsets[0].numberValue?.intValue, let end = offsets[1].numberValue?.intValue,
                  begin >= 0, begin <= end
            else { throw bad("tensor \(name) has malformed data_offsets") }
            guard end <= dataSize else {
                throw bad("tensor \(name) ends at byte \(end) but the data section has \(dataSize) bytes (the file is truncated)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, count * width == end - begin else {
                throw bad("tensor \(name) has \(end - begin) bytes, but \(dtype) × \(shape) needs \(count * width)")
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, range: (dataStart + begin)..<(dataStart + end))
        }
        let ranges = tensors.values.map(\.range).filter { !$0.isEmpty }.sorted { $0.lowerBound < $1.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.upperBound > b.lowerBound {
            throw bad("two tensors overlap at byte \(b.lowerBound)")
        }
        self.tensors = tensors
    }

    /// A float32 tensor's values, checked against the expected shape.
    public func floats(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let tensor = tensors[name] else {
            throw CacheError(.corruptData, "\(path) has no tensor \(name); is it an all-MiniLM-L6-v2 (BERT) model?")
        }
        guard tensor.dtype == "F32" else {
            throw CacheError(.corruptData, "tensor \(name) in \(path) is \(tensor.dtype), expected F32")
        }
        guard tensor.shape == expected else {
            throw CacheError(.corruptData, "tensor \(name) in \(path) has shape \(tensor.shape), expected \(expected)")
        }
        var values = [Float](repeating: 0, count: tensor.elementCount)
        values.withUnsafeMutableBytes { out in
            out.copyMemory(from: UnsafeRawBufferPointer(start: mapping.base + tensor.range.lowerBound, count: tensor.range.count))
        }
        // safetensors stores little-endian; so does every platform this runs on.
        return values
    }
}
