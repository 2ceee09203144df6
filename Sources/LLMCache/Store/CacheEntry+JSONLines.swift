import Foundation

/// The versioned JSON-lines format `llm-cache export` writes and
/// `llm-cache import` reads: any store's entries, moved to any other store.
///
/// The first line is a header, `{"format":"llm-cache-entries","version":1}`;
/// each further line is one entry with every field:
///
/// ```json
/// {"key":"<64 hex>","value":"<base64>","encoding":"identity","raw_size":42,
///  "namespace":"default","model":"gpt-4o","tags":["docs"],
///  "created_at_ns":1767225600000000000,"expires_at_ns":null,"compute_duration_ns":250000000,
///  "semantic":{"scope":"<64 hex>","text":"...","embedding_model":"...","vector_f32le":"<base64>"}}
/// ```
///
/// Times are nanoseconds since the Unix epoch; vectors are Float32
/// little-endian in base64, so every bit round-trips. Blank lines are skipped.
/// Readers refuse a header with a newer version, and name the line of any
/// malformed entry. Stateless; safe to use from any task.
public enum CacheEntryJSONLines {
    /// The `format` value of the header line.
    public static let formatName = "llm-cache-entries"
    /// The version this release writes and the newest it reads.
    public static let version = 1

    private struct Header: Codable {
        var format: String
        var version: Int
    }

    private struct Line: Codable {
        struct Semantic: Codable {
            var scope: String
            var text: String
            var embedding_model: String
            var vector_f32le: String
        }

        var key: String
        var value: String
        var encoding: String
        var raw_size: Int
        var namespace: String
        var model: String
        var tags: [String]
        var created_at_ns: Int64
        var expires_at_ns: Int64?
        var compute_duration_ns: Int64
        var semantic: Semantic?
    }

    /// The header line, without its newline.
    public static func headerLine() -> Data {
        Data("{\"format\":\"\(formatName)\",\"version\":\(version)}".utf8)
    }

    /// `entry` as one line of JSON, without its newline.
    public static func line(for entry: CacheEntry) throws -> Data {
        let line = Line(
            key: entry.key.hex,
            value: entry.value.base64EncodedString(),
            encoding: entry.encoding.name,
            raw_size: entry.rawSize,
            namespace: entry.namespace,
            model: entry.model,
            tags: entry.tags,
            created_at_ns: entry.createdAt.nanosecondsSinceEpoch,
            expires_at_ns: entry.expiresAt?.nanosecondsSinceEpoch,
            compute_duration_ns: entry.computeDuration.nanoseconds,
            semantic: entry.semantic.map {
                Line.Semantic(scope: $0.scope.hex, text: $0.text, embedding_model: $0.embeddingModel, vector_f32le: vectorData($0.vector).base64EncodedString())
            }
        )
        let encoder = JSONEncoder()
        // Base64 is full of slashes; escaping them would only add bytes.
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(line)
    }

    /// Checks that `line` is a header this release reads.
    ///
    /// - Throws: ``CacheError/Code/unsupportedVersion`` for a newer version,
    ///   ``CacheError/Code/corruptData`` for anything that is not a header.
    public static func validateHeader(_ line: Data) throws {
        guard let header = try? JSONDecoder().decode(Header.self, from: line), header.format == formatName else {
            throw CacheError(.corruptData, "line 1: expected the header {\"format\":\"\(formatName)\",\"version\":\(version)}, got \(preview(line)); is this a file written by `llm-cache export`?")
        }
        guard header.version <= version else {
            throw CacheError(.unsupportedVersion, "line 1: the file is \(formatName) version \(header.version), written by a newer LLMCache; this release reads up to version \(version): upgrade llm-cache to import it")
        }
        guard header.version >= 1 else {
            throw CacheError(.corruptData, "line 1: version \(header.version) is not a valid \(formatName) version")
        }
    }

    /// Decodes the entry on line `lineNumber` (1-based, counting the header).
    ///
    /// - Throws: ``CacheError/Code/corruptData`` naming the line and the field
    ///   at fault; ``CacheError/Code/unsupportedVersion`` for a value encoding
    ///   this release does not know.
    public static func entry(fromLine line: Data, lineNumber: Int) throws -> CacheEntry {
        func fail(_ what: String) -> CacheError {
            CacheError(.corruptData, "line \(lineNumber): \(what); fix or remove the line and import again")
        }
        let decoded: Line
        do {
            decoded = try JSONDecoder().decode(Line.self, from: line)
        } catch let error as DecodingError {
            throw fail(describe(error))
        } catch {
            throw fail("not valid JSON (\(preview(line)))")
        }
        guard let key = CacheKey(hex: decoded.key) else { throw fail("\"key\" is not 64 hexadecimal digits") }
        guard let value = Data(base64Encoded: decoded.value) else { throw fail("\"value\" is not valid base64") }
        guard let encoding = ValueEncoding(name: decoded.encoding) else {
            throw CacheError(.unsupportedVersion, "line \(lineNumber): value encoding '\(decoded.encoding)' is unknown to this release of LLMCache; upgrade llm-cache to import it")
        }
        guard decoded.raw_size >= 0 else { throw fail("\"raw_size\" is negative") }
        var semantic: SemanticRecord?
        if let s = decoded.semantic {
            guard let scope = CacheKey(hex: s.scope) else { throw fail("\"semantic.scope\" is not 64 hexadecimal digits") }
            guard let bytes = Data(base64Encoded: s.vector_f32le), bytes.count % 4 == 0 else {
                throw fail("\"semantic.vector_f32le\" is not base64 of Float32 values")
            }
            semantic = SemanticRecord(scope: scope, text: s.text, embeddingModel: s.embedding_model, vector: vector(bytes))
        }
        return CacheEntry(
            key: key,
            value: value,
            encoding: encoding,
            rawSize: decoded.raw_size,
            namespace: decoded.namespace,
            model: decoded.model,
            tags: decoded.tags,
            createdAt: CacheTimestamp(nanosecondsSinceEpoch: decoded.created_at_ns),
            expiresAt: decoded.expires_at_ns.map { CacheTimestamp(nanosecondsSinceEpoch: $0) },
            computeDuration: .nanoseconds(decoded.compute_duration_ns),
            semantic: semantic
        )
    }

    /// Decodes a whole document: checks the header, then calls `body` with each
    /// entry and its line number, in order. Stops at the first malformed line.
    ///
    /// - Throws: the errors of ``validateHeader(_:)`` and
    ///   ``entry(fromLine:lineNumber:)``, or whatever `body` throws.
    public static func decode(_ document: Data, _ body: (CacheEntry, Int) throws -> Void) throws {
        var reader = Reader(document)
        while let (entry, line) = try reader.next() { try body(entry, line) }
    }

    /// Reads a document one entry at a time, so a caller can await between
    /// entries (store them in batches) without holding them all in memory.
    public struct Reader {
        private let document: Data
        private var start: Data.Index
        private var lineNumber = 0
        private var sawHeader = false

        /// A reader at the start of `document`.
        public init(_ document: Data) {
            self.document = document
            self.start = document.startIndex
        }

        /// The next entry and its line number (1-based, counting the header),
        /// or `nil` at the end. The header is checked on the first call.
        ///
        /// - Throws: the errors of ``CacheEntryJSONLines/validateHeader(_:)``
        ///   and ``CacheEntryJSONLines/entry(fromLine:lineNumber:)``.
        public mutating func next() throws -> (CacheEntry, Int)? {
            while start < document.endIndex {
                let end = document[start...].firstIndex(of: UInt8(ascii: "\n")) ?? document.endIndex
                lineNumber += 1
                let line = document[start..<end]
                start = end < document.endIndex ? document.index(after: end) : end
                if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
                if !sawHeader {
                    guard lineNumber == 1 else {
                        throw CacheError(.corruptData, "line \(lineNumber): the file must start with the \(formatName) header line, not a blank line")
                    }
                    try validateHeader(Data(line))
                    sawHeader = true
                    continue
                }
                return (try entry(fromLine: Data(line), lineNumber: lineNumber), lineNumber)
            }
            guard sawHeader else {
                throw CacheError(.corruptData, "the file is empty: an \(formatName) file starts with a header line; is this a file written by `llm-cache export`?")
            }
            return nil
        }
    }

    private static func vectorData(_ vector: [Float]) -> Data {
        var data = Data(capacity: vector.count * 4)
        for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    private static func vector(_ bytes: Data) -> [Float] {
        let raw = [UInt8](bytes)
        return stride(from: 0, to: raw.count, by: 4).map { i in
            Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
        }
    }

    private static func preview(_ line: Data) -> String {
        let text = String(decoding: line.prefix(60), as: UTF8.self)
        return "'\(text)\(line.count > 60 ? "…" : "")'"
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "the line" : "\"\(path)\""
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = context.codingPath.isEmpty ? "" : " in \(path(context))"
            return "field \"\(key.stringValue)\" is missing\(parent)"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "\(path(context)) should be \(type)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context)) is invalid"
        @unknown default:
            return "not a valid entry"
        }
    }
}
