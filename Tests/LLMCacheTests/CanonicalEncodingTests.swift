import Foundation
import Testing
@testable import LLMCache

/// The one-pass encoder must give every request the key the tree-based encoder
/// gave it, or stored entries would stop being found.
@Suite struct CanonicalEncodingTests {
    /// What `Fingerprint.canonicalBytes` wrote before the one-pass encoder:
    /// parse to a tree, validate it, write the sorted object.
    static func treeEncoding(_ bytes: [UInt8], namespace: String = "ns", endpoint: LLMRequest.Endpoint = .chatCompletions, ignoring ignored: Set<String> = Fingerprint.Configuration().ignoredFields) throws -> [UInt8] {
        let tree = try JSONValue(parsing: bytes)
        _ = try LLMRequest(tree, endpoint: endpoint)
        var out = Array("llm-cache/v\(Fingerprint.version)\n".utf8)
        JSONWriter.writeString(namespace, into: &out)
        out.append(0x0A)
        Fingerprint.writeEndpoint(endpoint, into: &out)
        // What the schema leaves out of keys (cache_control, metadata, ...) is left out here too.
        JSONWriter.writeObject(RequestSchema.keyed(tree, as: endpoint.requestKind).objectValue!, skipping: ignored, into: &out)
        return out
    }

    static func onePassEncoding(_ bytes: [UInt8], namespace: String = "ns", endpoint: LLMRequest.Endpoint = .chatCompletions, fingerprint: Fingerprint = Fingerprint()) throws -> [UInt8] {
        fingerprint.canonicalBytes(for: try LLMRequest(json: bytes, endpoint: endpoint), namespace: namespace)
    }

    static func onePass(_ bytes: [UInt8]) -> RequestCanonicalizer.Result? {
        bytes.withUnsafeBufferPointer { RequestCanonicalizer.canonicalize($0) }
    }

    @Test func generatedRequestsEncodeAsTheTreeDoes() throws {
        var random = SplitMix(seed: 0x5EED)
        for i in 0..<3000 {
            let tree = RequestGenerator.request(&random, plain: true)
            let text = RequestGenerator.render(tree, &random)
            let bytes = Array(text.utf8)
            guard let fast = Self.onePass(bytes) else {
                Issue.record("request \(i) was left to the tree path: \(text)")
                continue
            }
            let expected = try Self.treeEncoding(bytes)
            #expect(try Self.onePassEncoding(bytes) == expected, "\(text)")
            let request = try LLMRequest(json: bytes)
            #expect(Fingerprint().key(for: request, namespace: "ns") == CacheKey(hashing: expected))
            let parsed = try JSONValue(parsing: bytes)
            #expect(fast.model == parsed["model"]?.stringValue)
            #expect(request.body == parsed)
            #expect(request.temperature == parsed["temperature"]?.numberValue?.doubleValue)
            #expect(request.isStreaming == (parsed["stream"] == .bool(true)))
        }
    }

    @Test func requestsWithUnusualPartsEncodeAsTheTreeDoes() throws {
        // Non-ASCII and escaped names, models with escapes, numbers near the
        // edge of Double: some of these go the tree way; all must encode alike.
        var random = SplitMix(seed: 0xC0FFEE)
        var onePass = 0
        for _ in 0..<3000 {
            let tree = RequestGenerator.request(&random, plain: false)
            let bytes = Array(RequestGenerator.render(tree, &random).utf8)
            if Self.onePass(bytes) != nil { onePass += 1 }
            let expected = Result { try Self.treeEncoding(bytes) }
            let actual = Result { try Self.onePassEncoding(bytes) }
            switch (expected, actual) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(String(decoding: bytes, as: UTF8.self))")
            // With several faults, which one the validator names depends on
            // dictionary order, so only the kind of error is compared here.
            case (.failure(let a as CacheError), .failure(let b as CacheError)): #expect(a.code == b.code)
            default: Issue.record("the paths disagree on \(String(decoding: bytes, as: UTF8.self)): \(expected) vs \(actual)")
            }
        }
        #expect(onePass > 150, "many unusual requests should still take the one-pass way")
    }

    @Test func memberOrderWhitespaceAndEscapingDoNotChangeTheBytes() throws {
        var random = SplitMix(seed: 42)
        for _ in 0..<500 {
            let tree = RequestGenerator.request(&random, plain: true)
            let first = try Self.onePassEncoding(Array(RequestGenerator.render(tree, &random).utf8))
            for _ in 0..<3 {
                #expect(try Self.onePassEncoding(Array(RequestGenerator.render(tree, &random).utf8)) == first)
            }
        }
    }

    /// Damaged requests: whenever the one-pass encoder accepts one, the tree
    /// path accepts it with the same bytes; otherwise both give the same error.
    @Test func damagedRequestsAreJudgedAsTheTreeJudgesThem() throws {
        var random = SplitMix(seed: 7)
        let interesting = Array(#"{}[]",:\0123456789eE.-+ntfu/ "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xED, 0xF0, 0xF4, 0xFF]
        var accepted = 0
        for _ in 0..<400 {
            let tree = RequestGenerator.request(&random, plain: true)
            let original = Array(RequestGenerator.render(tree, &random).utf8)
            for _ in 0..<25 {
                var bytes = original
                for _ in 0..<Int(random.next() % 3 + 1) {
                    let at = Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 4 {
                    case 0: bytes.remove(at: at)
                    case 1: bytes.insert(interesting[Int(random.next() % UInt64(interesting.count))], at: at)
                    case 2: bytes[at] = interesting[Int(random.next() % UInt64(interesting.count))]
                    default: bytes.insert(bytes[at], at: at)
                    }
                    if bytes.isEmpty { bytes = original }
                }
                let expected = Result { try Self.treeEncoding(bytes) }
                if Self.onePass(bytes) != nil {
                    accepted += 1
                    guard case .success(let tree) = expected else {
                        Issue.record("accepted what the tree path rejects: \(String(decoding: bytes, as: UTF8.self))")
                        continue
                    }
                    #expect(try Self.onePassEncoding(bytes) == tree)
                }
                let actual = Result { try Self.onePassEncoding(bytes) }
                switch (expected, actual) {
                case (.success(let a), .success(let b)): #expect(a == b)
                case (.failure(let a as CacheError), .failure(let b as CacheError)):
                    #expect(a.code == b.code)
                case (let a, let b): Issue.record("the paths disagree on \(String(decoding: bytes, as: UTF8.self)): \(a) vs \(b)")
                }
            }
        }
        #expect(accepted > 100)
    }

    @Test(arguments: [
        "0", "-0", "0.0", "-0.000", "1", "-1", "10", "100", "1e2", "1E+2", "100e-0", "0.7", "0.70", "7e-1", "70E-2",
        "0.0070", "123.456", "-123.4560e3", "1.5e-9", "9007199254740993", "123456789012345678901234567890",
        "0.000000000000000000001", "1e308", "1.7e308", "1e309", "1e-300", "1e-400", "2.5e-320", "1e1000000000000",
        "1e-1000000000000", "12345678901234567890e-10",
    ])
    func numbersEncodeAsTheTreeDoes(literal: String) throws {
        for field in ["metadata", "temperature", "seed"] {
            let bytes = Array(#"{"model":"m","\#(field)":\#(literal),"x":[\#(literal)]}"#.utf8)
            let expected = Result { try Self.treeEncoding(bytes) }
            let actual = Result { try Self.onePassEncoding(bytes) }
            switch (expected, actual) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(literal) in \(field)")
            case (.failure(let a as CacheError), .failure(let b as CacheError)): #expect(a.field == b.field && a.message == b.message)
            default: Issue.record("\(literal) in \(field): \(expected) vs \(actual)")
            }
        }
    }

    @Test(arguments: [
        #"{"model":"m","metadata":{"é":1,"é":2}}"#,
        #"{"model":"m","metadata":{"\u00e9":1,"e\u0301":2}}"#,
        #"{"model":"m","metadata":{"K":1,"\u212a":2}}"#,
        #"{"model":"m","metadata":{"a":1,"\u0061":2}}"#,
        #"{"model":"m","metadata":{"b":1,"a":2,"b":3}}"#,
    ])
    func namesThatAreOneStringAreDuplicates(json: String) {
        let bytes = Array(json.utf8)
        #expect(Self.onePass(bytes) == nil)
        #expect(throws: CacheError.self) { try LLMRequest(json: bytes) }
    }

    @Test func onlyTopLevelFieldsAreIgnored() throws {
        let json = #"{"model":"m","stream":true,"user":"u","extra":{"stream":true,"user":"v"},"messages":[{"role":"user","content":"hi","user":"w"}]}"#
        let bytes = try Self.onePassEncoding(Array(json.utf8))
        #expect(bytes == (try Self.treeEncoding(Array(json.utf8))))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasSuffix(#"{"extra":{"stream":true,"user":"v"},"messages":[{"content":"hi","role":"user","user":"w"}],"model":"m"}"#))
    }

    @Test func ignoredFieldsCompareAsSwiftStrings() throws {
        // A non-ASCII ignored name ("\u{212A}", KELVIN SIGN) makes the
        // fingerprint compare names as strings, as `Set<String>` always did.
        let fingerprint = Fingerprint(configuration: .init(ignoredFields: ["\u{212A}", "z"]))
        let json = Array(#"{"model":"m","K":1,"z":2,"y":3}"#.utf8)
        let bytes = try Self.onePassEncoding(json, fingerprint: fingerprint)
        #expect(bytes == (try Self.treeEncoding(json, ignoring: ["\u{212A}", "z"])))
        #expect(!String(decoding: bytes, as: UTF8.self).contains(#""z""#))
    }

    @Test func requestsFromTreesAndBytesAreEqual() throws {
        let json = #"{"temperature":0.70,"model":"m","messages":[{"role":"user","content":"caf\u00e9"}],"stream":true}"#
        let fromBytes = try LLMRequest(json: Array(json.utf8))
        let fromTree = try LLMRequest(try JSONValue(parsing: json))
        #expect(fromBytes == fromTree)
        #expect(fromBytes.hashValue == fromTree.hashValue)
        #expect(fromBytes.temperature == 0.7 && fromTree.temperature == 0.7)
        #expect(fromBytes.isStreaming && fromTree.isStreaming)
        #expect(fromBytes.lastUserText == "café")
        #expect(fromBytes != (try LLMRequest(json: Array(json.replacingOccurrences(of: "0.70", with: "0.71").utf8))))
    }
}

/// A small, seedable generator so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random requests, and random ways of writing each.
enum RequestGenerator {
    /// A JSON value whose objects keep a member order and whose numbers keep
    /// their literal, so rendering can vary both.
    indirect enum Node {
        case null, bool(Bool), number(String), string(String), array([Node]), object([(String, Node)])
    }

    static func pick<T>(_ options: [T], _ random: inout SplitMix) -> T { options[Int(random.next() % UInt64(options.count))] }
    static func chance(_ percent: UInt64, _ random: inout SplitMix) -> Bool { random.next() % 100 < percent }

    static let words = ["hello", "the", "cat", "sat", "on", "a", "mat", "café", "naïve", "日本語", "😀", "👩‍💻", "\"quoted\"", "back\\slash",
                        "tab\there", "line\nbreak", "nul\u{0}", "bell\u{7}", "del\u{7F}", "e\u{301}", "ŀ", "\u{FFFF}", "\u{10FFFF}", "a/b", "</script>"]

    static func text(_ random: inout SplitMix) -> String {
        (0..<Int(random.next() % 8)).map { _ in pick(words, &random) }.joined(separator: " ")
    }

    /// Number literals in every form JSON allows; with `plain`, only those
    /// the one-pass encoder is sure are finite.
    static func number(_ random: inout SplitMix, plain: Bool) -> String {
        var forms = ["0", "-0", "0.0", "1", "-1", "42", "0.7", "0.70", "7e-1", "70E-2", "1e2", "1E+2", "-0.5e-3", "123.4560", "1.0",
                     "9007199254740993", "12345678901234567890123", "0.000001", "1e-20", "5e300", "-2.5E+10", "100000", "3.14159265358979323846"]
        if !plain { forms += ["1e308", "1.7976931348623157e308", "1e309", "2e-310", "1e-400", "123e-350"] }
        if chance(30, &random) {
            // A random literal: sign, integer part, fraction, exponent.
            var s = chance(30, &random) ? "-" : ""
            s += chance(20, &random) ? "0" : String(random.next() % 100_000 + 1)
            if chance(50, &random) { s += "." + String(random.next() % 10_000) + (chance(30, &random) ? "00" : "") }
            if chance(40, &random) { s += pick(["e", "E"], &random) + pick(["", "+", "-"], &random) + String(random.next() % (plain ? 30 : 400)) }
            return s
        }
        return pick(forms, &random)
    }

    static func name(_ random: inout SplitMix, plain: Bool) -> String {
        var names = ["a", "b", "ab", "aa", "B", "_", "z9", "type", "role", "content", "stream", "user", "model", "text", "x y", "A", "a1", "a10", "a2"]
        if !plain { names += ["é", "e\u{301}", "日本", "quo\"te", "new\nline", "\u{212A}", "😀"] }
        return pick(names, &random)
    }

    static func value(_ random: inout SplitMix, depth: Int, plain: Bool) -> Node {
        switch random.next() % (depth > 3 ? 4 : 6) {
        case 0: return pick([.null, .bool(true), .bool(false)], &random)
        case 1: return .number(number(&random, plain: plain))
        case 2, 3: return .string(text(&random))
        case 4: return .array((0..<Int(random.next() % 4)).map { _ in value(&random, depth: depth + 1, plain: plain) })
        default:
            var members: [(String, Node)] = []
            for _ in 0..<Int(random.next() % 5) {
                let n = name(&random, plain: plain)
                if !members.contains(where: { $0.0 == n }) { members.append((n, value(&random, depth: depth + 1, plain: plain))) }
            }
            return .object(members)
        }
    }

    static func message(_ random: inout SplitMix, plain: Bool) -> Node {
        var members: [(String, Node)] = [("role", .string(pick(["system", "user", "assistant", "tool"], &random)))]
        switch random.next() % 4 {
        case 0: members.append(("content", .null))
        case 1: members.append(("content", .array((0..<Int(random.next() % 3 + 1)).map { _ in
                chance(70, &random)
                    ? .object([("type", .string("text")), ("text", .string(text(&random)))])
                    : .object([("type", .string("image_url")), ("image_url", .object([("url", .string("https://example.com/\(random.next() % 9).png")), ("detail", .string("low"))]))])
            })))
        default: members.append(("content", .string(text(&random))))
        }
        if chance(15, &random) { members.append(("name", .string(pick(["bob", "alice"], &random)))) }
        if chance(15, &random) { members.append(("tool_call_id", chance(50, &random) ? .null : .string("call_\(random.next() % 99)"))) }
        if chance(15, &random) {
            members.append(("tool_calls", .array([.object([("id", .string("call_1")), ("type", .string("function")),
                                                          ("function", .object([("name", .string("f")), ("arguments", .string(#"{"x": 1}"#))]))])])))
        }
        if chance(10, &random) { members.append(("extra", value(&random, depth: 2, plain: plain))) }
        return .object(members)
    }

    static func request(_ random: inout SplitMix, plain: Bool) -> Node {
        var members: [(String, Node)] = []
        members.append(("model", .string(plain ? pick(["gpt-4o", "gpt-4o-mini", "claude-3", "模型"], &random) : pick(["gpt-4o", "m\"x", "a\\b", "tab\t"], &random))))
        members.append(("messages", .array((0..<Int(random.next() % 5 + 1)).map { _ in message(&random, plain: plain) })))
        for field in ["temperature", "top_p", "presence_penalty", "frequency_penalty", "top_k", "min_p", "repetition_penalty"] where chance(25, &random) {
            members.append((field, chance(10, &random) ? .null : .number(number(&random, plain: true))))
        }
        for field in ["max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"] where chance(25, &random) {
            let integer = pick(["0", "1", "512", "-7", "123456789012345678", "9007199254740993"], &random)
            members.append((field, chance(10, &random) ? .null : .number(plain ? integer : pick([integer, "1.0", "2e3"], &random))))
        }
        if chance(30, &random) { members.append(("stop", pick([.null, .string("\n"), .array([.string("\n\n"), .string("END")])], &random))) }
        if chance(40, &random) {
            members.append(("tools", .array([.object([("type", .string("function")), ("function", .object([
                ("name", .string("lookup")), ("description", .string(text(&random))),
                ("parameters", .object([("type", .string("object")), ("properties", value(&random, depth: 1, plain: plain)),
                                        ("required", .array([.string("a")]))])),
            ]))])])))
        }
        if chance(20, &random) { members.append(("logit_bias", .object([("50256", .number("-100")), ("1", .number(number(&random, plain: true)))]))) }
        if chance(20, &random) { members.append(("response_format", .object([("type", .string("json_object"))]))) }
        if chance(30, &random) { members.append(("stream", .bool(chance(50, &random)))) }
        if chance(20, &random) { members.append(("stream_options", .object([("include_usage", .bool(true))]))) }
        if chance(20, &random) { members.append(("user", .string("user-\(random.next() % 100)"))) }
        if chance(40, &random) { members.append(("metadata", value(&random, depth: 0, plain: plain))) }
        if chance(20, &random) { members.append(("tool_choice", pick([.string("auto"), .string("none")], &random))) }
        return .object(members)
    }

    /// Writes `node` with a random member order, whitespace and escaping.
    static func render(_ node: Node, _ random: inout SplitMix) -> String {
        var out = ""
        write(node, into: &out, &random)
        return out
    }

    static func space(_ random: inout SplitMix) -> String {
        chance(80, &random) ? "" : pick([" ", "\n", "\t", "\r\n  "], &random)
    }

    static func write(_ node: Node, into out: inout String, _ random: inout SplitMix) {
        switch node {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): writeString(s, into: &out, &random)
        case .array(let elements):
            out += "[" + space(&random)
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," + space(&random) }
                write(element, into: &out, &random)
            }
            out += space(&random) + "]"
        case .object(let members):
            out += "{" + space(&random)
            for (i, (name, value)) in members.shuffled(using: &random).enumerated() {
                if i > 0 { out += space(&random) + "," + space(&random) }
                writeString(name, into: &out, &random)
                out += space(&random) + ":" + space(&random)
                write(value, into: &out, &random)
            }
            out += space(&random) + "}"
        }
    }

    static func writeString(_ s: String, into out: inout String, _ random: inout SplitMix) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += pick([#"\""#, #"\u0022"#], &random)
            case "\\": out += pick([#"\\"#, #"\u005C"#, #"\u005c"#], &random)
            case "/": out += pick(["/", #"\/"#], &random)
            case "\n": out += pick([#"\n"#, #"\u000a"#, #"\u000A"#], &random)
            case "\t": out += pick([#"\t"#, #"\u0009"#], &random)
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default:
                guard chance(15, &random) else { out.unicodeScalars.append(scalar); continue }
                // Escaped: \uXXXX, or a surrogate pair beyond the BMP.
                let utf16 = Array(String(scalar).utf16)
                for unit in utf16 { out += String(format: chance(50, &random) ? "\\u%04x" : "\\u%04X", unit) }
            }
        }
        out += "\""
    }
}
