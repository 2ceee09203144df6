import Foundation

/// One request/response pair to pre-load into a cache: a line of a warm file.
///
/// A warm file is JSON lines, one object per line:
///
/// ```json
/// {"request": {"model": "gpt-4o", "messages": [...]}, "response": {...chat.completion...}}
/// {"request": {...}, "response": "Plain answer text", "tags": ["faq"], "ttl_seconds": 86400, "namespace": "support"}
/// ```
///
/// `response` is either the provider's full response object, stored as it is,
/// or a string, stored as a minimal `chat.completion` (or `text_completion` for
/// requests with a `prompt`) carrying that text, so the proxy can serve it.
/// `tags`, `ttl_seconds` and `namespace` are optional. Blank lines are skipped.
public struct WarmRecord: Sendable {
    /// The request the answer belongs to.
    public var request: LLMRequest
    /// The response body to serve.
    public var response: Data
    /// The namespace; `nil` uses the cache's (or the command's) default.
    public var namespace: String?
    /// Tags for invalidation.
    public var tags: [String]
    /// Time to live; `nil` uses the cache's default.
    public var ttl: Duration?

    /// Parses one line.
    ///
    /// - Throws: ``CacheError/Code/invalidRequest`` naming the line and field.
    public init(line: some Collection<UInt8>, lineNumber: Int, clock: any CacheClock = SystemCacheClock()) throws {
        func fail(_ message: String, field: String) -> CacheError {
            CacheError(.invalidRequest, "line \(lineNumber): \(message)", field: field)
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch let error as CacheError {
            throw fail(error.message, field: error.field ?? "$")
        }
        guard case .object(let fields) = value else { throw fail("each line must be a JSON object with request and response", field: "$") }
        guard let requestValue = fields["request"] else { throw fail("the line has no \"request\"", field: "request") }
        do {
            request = try LLMRequest(requestValue)
        } catch let error as CacheError {
            throw fail(error.message, field: "request." + (error.field ?? ""))
        }
        switch fields["response"] {
        case .object?:
            response = Data(fields["response"]!.jsonBytes)
        case .string(let text)?:
            response = Data(Self.completion(text: text, for: request, created: clock.now()).jsonBytes)
        case nil:
            throw fail("the line has no \"response\"", field: "response")
        case let other?:
            throw fail("response must be the provider's response object or the answer's text, got \(other.typeName)", field: "response")
        }
        switch fields["namespace"] {
        case nil, .null?: namespace = nil
        case .string(let name)? where !name.isEmpty: namespace = name
        default: throw fail("namespace must be a non-empty string", field: "namespace")
        }
        switch fields["tags"] {
        case nil, .null?: tags = []
        case .array(let items)?:
            tags = try items.enumerated().map { i, item in
                guard let tag = item.stringValue else { throw fail("tags must be strings", field: "tags[\(i)]") }
                return tag
            }
        default: throw fail("tags must be an array of strings", field: "tags")
        }
        switch fields["ttl_seconds"] {
        case nil, .null?: ttl = nil
        case .number(let n)? where n.doubleValue > 0 && n.doubleValue.isFinite:
            ttl = .milliseconds(Int64(n.doubleValue * 1000))
        default: throw fail("ttl_seconds must be a positive number of seconds", field: "ttl_seconds")
        }
    }

    /// A minimal provider response carrying `text`.
    static func completion(text: String, for request: LLMRequest, created: CacheTimestamp) -> JSONValue {
        let seconds = JSONValue.number(JSONNumber(Int(created.nanosecondsSinceEpoch / 1_000_000_000)))
        if request.messages == nil, request.body["prompt"] != nil {
            return .object([
                "id": .string("cmpl-warm"), "object": .string("text_completion"), "created": seconds,
                "model": .string(request.model),
                "choices": .array([.object(["index": .number(JSONNumber(0)), "text": .string(text), "finish_reason": .string("stop"), "logprobs": .null])]),
            ])
        }
        return .object([
            "id": .string("chatcmpl-warm"), "object": .string("chat.completion"), "created": seconds,
            "model": .string(request.model),
            "choices": .array([.object([
                "index": .number(JSONNumber(0)),
                "message": .object(["role": .string("assistant"), "content": .string(text)]),
                "finish_reason": .string("stop"),
            ])]),
        ])
    }

    /// Parses a whole warm file; the first bad line stops it with an error
    /// naming the line, so nothing is stored from a file that is not all valid.
    public static func parseFile(_ document: Data, clock: any CacheClock = SystemCacheClock()) throws -> [WarmRecord] {
        var records: [WarmRecord] = []
        var lineNumber = 0
        for line in document.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            records.append(try WarmRecord(line: line, lineNumber: lineNumber, clock: clock))
        }
        return records
    }
}

extension LLMCache {
    /// What warming stored and what it could not.
    public struct WarmReport: Sendable {
        /// Records stored.
        public var stored = 0
        /// Records not stored, with the reason (too large, store failure).
        public var failed: [(record: Int, error: CacheError)] = []
    }

    /// Stores every record as the cached answer to its request.
    ///
    /// - Parameter progress: called after each record with the number done.
    public func warm(
        _ records: [WarmRecord],
        namespace: String? = nil,
        progress: (Int) -> Void = { _ in }
    ) async -> WarmReport {
        var report = WarmReport()
        for (index, record) in records.enumerated() {
            let options = Options(namespace: record.namespace ?? namespace, ttl: record.ttl, tags: record.tags)
            if let error = await store(record.response, for: record.request, options: options) {
                report.failed.append((index + 1, error))
            } else {
                report.stored += 1
            }
            progress(index + 1)
        }
        return report
    }
}
