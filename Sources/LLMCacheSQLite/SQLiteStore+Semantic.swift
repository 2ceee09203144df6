import Foundation
import GRDB
import LLMCache

/// A semantic record with the key of the entry it belongs to, as loaded by
/// ``SQLiteStore/semanticRecords(embeddingModel:)``.
public struct StoredSemanticRecord: Hashable, Sendable {
    /// The key of the cache entry the record describes.
    public var key: CacheKey
    /// The record: scope, text, embedding model and vector.
    public var record: SemanticRecord

    /// A record for the entry under `key`.
    public init(key: CacheKey, record: SemanticRecord) {
        self.key = key
        self.record = record
    }
}

extension SQLiteStore {
    /// Every live entry's semantic record, to rebuild a semantic index at start.
    ///
    /// One query over the `semantic` table joined to entries by row id: values
    /// are not read, and vectors are copied straight from their Float32
    /// little-endian BLOBs.
    ///
    /// - Parameter embeddingModel: only records of this model; `nil` (the
    ///   default) for all.
    /// - Returns: the records in no particular order.
    /// - Thread-safety: a read; may run concurrently with anything.
    public func semanticRecords(embeddingModel: String? = nil) async throws -> [StoredSemanticRecord] {
        let now = clock.now().nanosecondsSinceEpoch
        let path = configuration.path
        do {
            return try await pool.read { db in
                var sql = """
                    SELECT e.key, s.scope, s.text, s.embedding_model, s.vector
                    FROM semantic s JOIN entries e ON e.id = s.entry_id
                    WHERE (e.expires_at IS NULL OR e.expires_at > ?)
                    """
                var arguments: StatementArguments = [now]
                if let embeddingModel {
                    sql += " AND s.embedding_model = ?"
                    arguments += [embeddingModel]
                }
                var records: [StoredSemanticRecord] = []
                let cursor = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                while let row = try cursor.next() {
                    let key = try SQLiteRowCodec.key(row[0], path: path)
                    let scope = try SQLiteRowCodec.key(row[1], path: path)
                    let vector = try row.withUnsafeData(atIndex: 4) { try SQLiteRowCodec.vector($0 ?? Data(), path: path) }
                    records.append(StoredSemanticRecord(key: key, record: SemanticRecord(scope: scope, text: row[2], embeddingModel: row[3], vector: vector)))
                }
                return records
            }
        } catch {
            throw translate(error, "loading semantic records")
        }
    }
}
