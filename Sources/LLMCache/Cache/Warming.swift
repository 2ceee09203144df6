import Foundation

/// One request/response pair to pre-load into a cache: a line of a warm file.
///
/// A warm file is JSON lines, one object per line:
///
/// ```json
/// {"request": {"model": "gpt-4o", "messages": [...]}, "response": {...chat.completion...}}
/// {"request": {...}, "response": "Plain answer text", "tags": ["faq"], "ttl_seconds": 86400, "namespace": "support"}
/// {"endpoint": "/messages", "api_version": "2023-06-01", "request": {"model": "claude-sonnet-4-5", "max_tokens": 256, "messages": [...]}, "response": "Text"}
/// ```
///
/// `response` is either the provider's full response object, stored as it is,
/// or a string, stored as a minimal response of the request's API carrying
/// that text (a `chat.completion`, a `text_completion` for requests with a
/// `prompt`, a Responses API `response`, an Anthropic `message`), so the proxy
/// can serve it. `endpoint` is the API the request is sent to, as
/// ``LLMRequest/Endpoint/path`` (default `/chat/completions`; `/completions`,
/// `/embeddings`, `/responses`, `/messages` for Anthropic's Messages API);
/// `api_version` is the `anthropic-version` header the answers will be asked
/// with (betas after `; beta=`, sorted, as the proxy writes them), for
/// `/messages` only, default `2023-06-01`. `tags`, `ttl_seconds`, `namespace`,
/// `endpoint` and `api_version` are optional. Blank lines are skipped.
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
        var endpoint = LLMRequest.Endpoint.chatCompletions
        switch fields["endpoint"] {
        case nil, .null?: break
        case .string(let path)? where path.hasPrefix("/") && path.count > 1: endpoint = LLMRequest.Endpoint(path: path)
        default: throw fail(#"endpoint must be the API's path, such as "/chat/completions", "/responses" or "/messages""#, field: "endpoint")
        }
        switch fields["api_version"] {
        case nil, .null?:
            if endpoint.isAPI(.anthropicMessages) { endpoint = endpoint.version(Self.anthropicVersion) }
        case .string(let version)? where endpoint.isAPI(.anthropicMessages) && !version.isEmpty:
            endpoint = endpoint.version(version)
        default:
            throw fail(#"api_version is the anthropic-version header ("2023-06-01"), for "endpoint": "/messages" only"#, field: "api_version")
        }
        do {
            request = try LLMRequest(requestValue, endpoint: endpoint)
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

    /// The `anthropic-version` a warmed `/messages` request is keyed with
    /// unless its line says otherwise: the one Anthropic's SDKs send.
    public static let anthropicVersion = "2023-06-01"

    /// A minimal provider response carrying `text`, in the request's API's shape.
    static func completion(text: String, for request: LLMRequest, created: CacheTimestamp) -> JSONValue {
        let seconds = JSONValue.number(JSONNumber(Int(created.nanosecondsSinceEpoch / 1_000_000_000)))
        let zero = JSONValue.number(JSONNumber(0))
        if request.endpoint.isAPI(.responses) {
            return .object([
                "id": .string("resp_warm"), "object": .string("response"), "created_at": seconds, "status": .string("completed"),
                "model": .string(request.model),
                "output": .array([.object([
                    "id": .string("msg_warm"), "type": .string("message"), "status": .string("completed"), "role": .string("assistant"),
                    "content": .array([.object(["type": .string("output_text"), "text": .string(text), "annotations": .array([])])]),
                ])]),
                "usage": .null,
            ])
        }
        if request.endpoint.isAPI(.anthropicMessages) {
            return .object([
                "id": .string("msg_warm"), "type": .string("message"), "role": .string("assistant"), "model": .string(request.model),
                "content": .array([.object(["type": .string("text"), "text": .string(text)])]),
                "stop_reason": .string("end_turn"), "stop_sequence": .null,
                "usage": .object(["input_tokens": zero, "output_tokens": zero]),
            ])
        }
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
