import Foundation
import HTTPTypes
import Hummingbird
import LLMCache

/// What a request asks of the cache, read from its headers:
///
/// - `Cache-Control: no-cache` (skip the lookup and refresh the entry),
///   `no-store` (do not store the answer), `max-age=N` (serve only answers at
///   most N seconds old). Other directives are ignored, as HTTP requires.
/// - `X-Cache-TTL: N`: store the answer for N seconds.
/// - `X-Cache-Tags: a,b`: tags for invalidation.
/// - `X-Cache-Semantic: off | on | threshold=T`: semantic matching for this request.
///
/// Malformed values are errors (answered with 400), never silently ignored:
/// a caller who asked for `max-age=abc` must not get answers of any age.
struct CacheControls: Sendable, Equatable {
    /// Semantic matching for one request.
    enum SemanticMode: Sendable, Equatable {
        /// The server's setting.
        case serverDefault
        /// No semantic matching.
        case off
        /// Semantic matching with the server's threshold, even if the server
        /// does not match by default.
        case on
        /// Semantic matching with this threshold.
        case threshold(Double)
    }

    var lookup = true
    var store = true
    var maxAge: Duration?
    var ttl: Duration?
    var tags: [String] = []
    var semantic: SemanticMode = .serverDefault

    static let ttlHeader = HTTPField.Name("X-Cache-TTL")!
    static let tagsHeader = HTTPField.Name("X-Cache-Tags")!
    static let semanticHeader = HTTPField.Name("X-Cache-Semantic")!

    init() {}

    init(headers: HTTPFields) throws(ProxyRequestError) {
        for value in headers[values: .cacheControl] {
            for directive in value.split(separator: ",") {
                let parts = directive.split(separator: "=", maxSplits: 1)
                let name = parts[0].trimmingCharacters(in: .whitespaces).lowercased()
                let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : nil
                switch name {
                case "no-cache": lookup = false
                case "no-store": store = false
                case "max-age":
                    guard let argument, let seconds = Int(argument.trimmingCharacters(in: CharacterSet(charactersIn: "\""))), seconds >= 0 else {
                        throw ProxyRequestError("Cache-Control max-age must be a whole number of seconds, e.g. max-age=300; got '\(directive.trimmingCharacters(in: .whitespaces))'", param: "Cache-Control")
                    }
                    maxAge = .seconds(seconds)
                default: continue
                }
            }
        }
        if let value = headers[Self.ttlHeader] {
            guard let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds > 0 else {
                throw ProxyRequestError("X-Cache-TTL must be a positive whole number of seconds, e.g. 3600; got '\(value)'", param: "X-Cache-TTL")
            }
            ttl = .seconds(seconds)
        }
        for value in headers[values: Self.tagsHeader] {
            for tag in value.split(separator: ",", omittingEmptySubsequences: false) {
                let trimmed = tag.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty else {
                    throw ProxyRequestError("X-Cache-Tags must be comma-separated non-empty tags, e.g. 'faq,release-3'; got '\(value)'", param: "X-Cache-Tags")
                }
                guard trimmed.utf8.count <= 256 else {
                    throw ProxyRequestError("a tag in X-Cache-Tags is longer than 256 bytes; use shorter tags", param: "X-Cache-Tags")
                }
                tags.append(trimmed)
            }
        }
        if let value = headers[Self.semanticHeader] {
            semantic = try Self.parseSemantic(value)
        }
    }

    static func parseSemantic(_ value: String) throws(ProxyRequestError) -> SemanticMode {
        let text = value.trimmingCharacters(in: .whitespaces).lowercased()
        switch text {
        case "off": return .off
        case "on": return .on
        default:
            let parts = text.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == "threshold",
               let threshold = Double(parts[1].trimmingCharacters(in: .whitespaces)), threshold > 0, threshold <= 1 {
                return .threshold(threshold)
            }
            throw ProxyRequestError("X-Cache-Semantic must be off, on, or threshold=T with 0 < T <= 1 (e.g. threshold=0.9); got '\(value)'", param: "X-Cache-Semantic")
        }
    }

    /// Applies a body-level `cache` object, as LiteLLM's clients send it
    /// (`extra_body={"cache": {...}}`): `"no-cache": true` (skip the lookup,
    /// refresh the entry), `"no-store": true`, `"ttl": N` (seconds to keep the
    /// answer), `"s-maxage": N` (serve only answers at most N seconds old),
    /// `"namespace": "name"` (a namespace inside the caller's own). They add
    /// to the headers' controls; a value given both ways is taken from the body.
    ///
    /// - Returns: the namespace the object names, if any.
    @discardableResult
    mutating func apply(body object: JSONValue) throws(ProxyRequestError) -> String? {
        guard case .object(let members) = object else {
            throw ProxyRequestError("cache must be an object of per-request cache controls, e.g. {\"no-cache\": true, \"ttl\": 600}; got \(object.typeName)", param: "cache")
        }
        var namespace: String?
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            func seconds(allowZero: Bool) throws(ProxyRequestError) -> Int {
                guard let number = value.numberValue?.intValue, number > 0 || (allowZero && number == 0) else {
                    throw ProxyRequestError("cache.\(name) must be a whole number of seconds\(allowZero ? "" : " above 0"), e.g. 600", param: "cache.\(name)")
                }
                return number
            }
            func flag() throws(ProxyRequestError) -> Bool {
                guard case .bool(let flag) = value else {
                    throw ProxyRequestError("cache.\(name) must be true or false", param: "cache.\(name)")
                }
                return flag
            }
            switch name {
            case "no-cache": if try flag() { lookup = false }
            case "no-store": if try flag() { store = false }
            case "ttl": ttl = .seconds(try seconds(allowZero: false))
            case "s-maxage": maxAge = .seconds(try seconds(allowZero: true))
            case "namespace":
                guard let text = value.stringValue, !text.isEmpty, text.utf8.count <= 256 else {
                    throw ProxyRequestError("cache.namespace must be a non-empty string of at most 256 bytes", param: "cache.namespace")
                }
                namespace = text
            default:
                throw ProxyRequestError("cache.\(name) is not a cache control; use no-cache, no-store, ttl, s-maxage or namespace", param: "cache.\(name)")
            }
        }
        return namespace
    }

    /// The core's per-call options for these controls in `namespace`, with
    /// the server's semantic settings deciding what `serverDefault` and `on` mean.
    /// Neither look up nor store: the request is answered by the upstream
    /// alone (`X-Cache: BYPASS`).
    mutating func bypass() {
        lookup = false
        store = false
    }

    func options(namespace: String, semantic settings: ProxyServer.Configuration.Semantic) -> LLMCache.Options {
        let control: LLMCache.SemanticControl
        switch semantic {
        case .off: control = .off
        case .on: control = .threshold(Float(settings.threshold))
        case .threshold(let threshold): control = .threshold(Float(threshold))
        case .serverDefault: control = settings.enabled ? .threshold(Float(settings.threshold)) : .off
        }
        return LLMCache.Options(namespace: namespace, ttl: ttl, tags: tags, lookup: lookup, store: store, maxAge: maxAge, semantic: control)
    }
}
