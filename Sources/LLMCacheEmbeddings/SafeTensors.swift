import Foundation
import LLMCache

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only view of a `.safetensors` file: an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range, then
/// the raw little-endian data.
///
/// The file is memory-mapped rather than read, so opening it costs no copy and
/// only the pages actually used (a few thousand rows of a 30k-word embedding
/// table, not all of it) become resident.
///
/// Every header entry is validated when the file is opened (dtype known, shape
/// non-negative, byte range inside the data and of the size the shape implies,
/// ranges not overlapping), so a truncated or foreign file fails at once with a
/// ``CacheError/Code/corruptData`` error naming the problem rather than later
/// with a crash.
///
/// Safe to share across threads: the mapping is read-only and immutable for the
/// object's lifetime, which is why `@unchecked Sendable` is sound here; it is
/// unmapped only in `deinit`, when no reference can remain.
final class SafeTensorsFile: @unchecked Sendable {
    enum DType: String, Sendable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

        var byteSize: Int {
            switch self {
            case .f64, .i64: 8
            case .f32, .i32: 4
            case .f16, .bf16, .i16: 2
            case .i8, .u8, .bool: 1
            }
        }
    }

    struct TensorInfo: Sendable, Equatable {
        var name: String
        var dtype: DType
        var shape: [Int]
        /// Byte range relative to the start of the data section.
        var range: Range<Int>
    }

    /// Headers larger than this are refused: real ones are a few KiB, and a
    /// corrupted length must not make us parse gigabytes.
    static let maximumHeaderSize = 100 << 20

    let path: String
    let tensors: [String: TensorInfo]
    /// The whole mapping (or, for a file whose data is not 4-byte aligned, an
    /// aligned copy of the data section).
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let isMapped: Bool
    /// Start of the data section.
    private let data: UnsafeRawPointer
    private let dataSize: Int

    init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CacheError(.invalidConfiguration, "cannot open \(path): \(String(cString: strerror(errno))); check the model folder")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CacheError(.invalidConfiguration, "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        let fileSize = Int(status.st_size)
        guard fileSize >= 8 else {
            throw CacheError(.corruptData, "\(path) is \(fileSize) bytes, too short for a safetensors header; the file is truncated, reinstall the model with scripts/install-model.sh")
        }
        guard let mapping = mmap(nil, fileSize, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
            throw CacheError(.invalidConfiguration, "cannot map \(path) into memory: \(String(cString: strerror(errno)))")
        }
        let raw = UnsafeRawPointer(mapping)

        let parsed: (tensors: [String: TensorInfo], dataOffset: Int)
        do {
            parsed = try Self.parseHeader(raw, fileSize: fileSize, path: path)
        } catch {
            munmap(mapping, fileSize)
            throw error
        }
        tensors = parsed.tensors
        dataSize = fileSize - parsed.dataOffset

        if parsed.dataOffset % MemoryLayout<Float>.alignment == 0 {
            base = raw
            mappedLength = fileSize
            isMapped = true
            data = raw + parsed.dataOffset
        } else {
            // The format does not promise aligned data; copy once so that
            // tensors can be read as typed buffers.
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(dataSize, 1), alignment: 64)
            copy.copyMemory(from: raw + parsed.dataOffset, byteCount: dataSize)
            munmap(mapping, fileSize)
            base = UnsafeRawPointer(copy)
            mappedLength = dataSize
            isMapped = false
            data = base
        }
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// The tensor `name` as float32 values, checked to have exactly `shape`.
    /// The buffer points into the mapping and lives as long as this object.
    func floats(_ name: String, shape expected: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard let info = tensors[name] else {
            throw CacheError(.corruptData, "\(path) has no tensor \(name); it is not a BERT model of the expected layout")
        }
        guard info.dtype == .f32 else {
            throw CacheError(.corruptData, "tensor \(name) in \(path) is \(info.dtype.rawValue), expected F32")
        }
        guard info.shape == expected else {
            throw CacheError(.corruptData, "tensor \(name) in \(path) has shape \(info.shape), expected \(expected)")
        }
        let start = (data + info.range.lowerBound).assumingMemoryBound(to: Float.self)
        return UnsafeBufferPointer(start: start, count: info.range.count / 4)
    }

    private static func parseHeader(_ raw: UnsafeRawPointer, fileSize: Int, path: String) throws -> (tensors: [String: TensorInfo], dataOffset: Int) {
        let headerLength = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw CacheError(.corruptData, "\(path) declares a \(headerLength)-byte header, more than the \(maximumHeaderSize) bytes allowed; the file is not safetensors or is corrupted")
        }
        let headerSize = Int(headerLength)
        guard 8 + headerSize <= fileSize else {
            throw CacheError(.corruptData, "\(path) declares a \(headerSize)-byte header but holds only \(fileSize - 8) bytes after the length; the file is truncated, reinstall the model with scripts/install-model.sh")
        }
        let headerData = Data(bytes: raw + 8, count: headerSize)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw CacheError(.corruptData, "the header of \(path) is not valid JSON; the file is not safetensors or is corrupted")
        }
        guard let entries = object as? [String: Any] else {
            throw CacheError(.corruptData, "the header of \(path) is not a JSON object")
        }
        let dataOffset = 8 + headerSize
        let dataSize = fileSize - dataOffset
        var tensors: [String: TensorInfo] = [:]
        for (name, value) in entries where name != "__metadata__" {
            guard let fields = value as? [String: Any],
                  let dtypeName = fields["dtype"] as? String,
                  let shapeValues = fields["shape"] as? [Any],
                  let offsetValues = fields["data_offsets"] as? [Any]
            else {
                throw CacheError(.corruptData, "tensor \(name) in \(path) lacks dtype, shape or data_offsets")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw CacheError(.corruptData, "tensor \(name) in \(path) has unknown dtype \(dtypeName)")
            }
            let shape = try shapeValues.map { try nonNegativeInteger($0, what: "shape of \(name)", path: path) }
            let offsets = try offsetValues.map { try nonNegativeInteger($0, what: "data_offsets of \(name)", path: path) }
            guard offsets.count == 2, offsets[0] <= offsets[1] else {
                throw CacheError(.corruptData, "tensor \(name) in \(path) has data_offsets \(offsets), expected [begin, end] with begin <= end")
            }
            guard offsets[1] <= dataSize else {
                throw CacheError(.corruptData, "tensor \(name) in \(path) ends at byte \(offsets[1]) of a \(dataSize)-byte data section; the file is truncated, reinstall the model with scripts/install-model.sh")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw CacheError(.corruptData, "tensor \(name) in \(path) has an impossibly large shape \(shape)") }
                elements = product
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, bytes == offsets[1] - offsets[0] else {
                throw CacheError(.corruptData, "tensor \(name) in \(path) has shape \(shape) of \(dtypeName) but \(offsets[1] - offsets[0]) bytes of data")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        let ordered = tensors.values.sorted { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        for (earlier, later) in zip(ordered, ordered.dropFirst()) where earlier.range.overlaps(later.range) {
            throw CacheError(.corruptData, "tensors \(earlier.name) and \(later.name) in \(path) overlap")
        }
        return (tensors, dataOffset)
    }

    private static func nonNegativeInteger(_ value: Any, what: String, path: String) throws -> Int {
        // JSONSerialization gives NSNumber; reject fractions and negatives.
        guard let number = value as? NSNumber else {
            throw CacheError(.corruptData, "\(what) in \(path) holds a non-integer")
        }
        let double = number.doubleValue
        guard double >= 0, double == double.rounded(), double < 9e15 else {
            throw CacheError(.corruptData, "\(what) in \(path) holds \(number), expected a non-negative integer")
        }
        return Int(double)
    }
}
