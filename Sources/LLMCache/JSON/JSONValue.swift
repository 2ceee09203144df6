/// A JSON number kept exactly as written, with a canonical form for comparison.
///
/// `0.7`, `0.70` and `7e-1` have the same ``canonical`` text (`7e-1`), so they
/// fingerprint alike; integers beyond 2^53 (seeds) keep every digit, unlike a
/// `Double`.
public struct JSONNumber: Hashable, Sendable, CustomStringConvertible {
    /// The number's text as it appeared in the input (or as produced by `init`).
    public let text: String
    /// The canonical decimal form: `[-]digits e exponent`, with no leading or
    /// trailing zeros in the digits (zero is `0`).
    public let canonical: String

    /// The nearest `Double`; may be infinite for out-of-range literals.
    public var doubleValue: Double { Double(text) ?? .nan }

    /// The value as an `Int` when it is a whole number in range.
    public var intValue: Int? {
        if let int = Int(text) { return int }
        let d = doubleValue
        guard d.isFinite, d.rounded() == d, d.magnitude < 9.2e18 else { return nil }
        return Int(d)
    }

    public var description: String { text }

    /// Makes a number from a Swift `Double`; `nil` for NaN and infinities.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        let text = value == value.rounded() && value.magnitude < 1e15 ? String(Int64(value)) : "\(value)"
        self.init(validatedText: text)
    }

    /// Makes a number from a Swift integer.
    public init(_ value: Int) {
        self.init(validatedText: String(value))
    }

    /// `text` must already be a valid JSON number literal.
    init(validatedText text: String) {
        self.text = text
        self.canonical = Self.canonicalize(Array(text.utf8))
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.canonical == rhs.canonical }
    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

    /// Canonical decimal form of a valid JSON number literal.
    static func canonicalize(_ bytes: [UInt8]) -> String {
        var index = 0
        var negative = false
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { negative = true; index += 1 }
        var digits: [UInt8] = []
        var exponent = 0
        var seenPoint = false
        while index < bytes.count {
            let c = bytes[index]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits.append(c)
                if seenPoint { exponent -= 1 }
            } else if c == UInt8(ascii: ".") {
                seenPoint = true
            } else {
                break
            }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var expNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                expNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var value = 0
            while index < bytes.count {
                // Exponents beyond a billion are clamped: such numbers are out of
                // every range a request field accepts, and validation rejects them.
                value = min(value * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1_000_000_000)
                index += 1
            }
            exponent += expNegative ? -value : value
        }
        let firstNonZero = digits.firstIndex { $0 != UInt8(ascii: "0") }
        guard let start = firstNonZero else { return "0" }
        var end = digits.count
        while digits[end - 1] == UInt8(ascii: "0") { end -= 1; exponent += 1 }
        let significant = digits[start..<end]
        return (negative ? "-" : "") + String(decoding: significant, as: UTF8.self) + "e" + String(exponent)
    }
}

/// A parsed JSON document: what LLM requests and responses are made of.
///
/// Objects are unordered (`[String: JSONValue]`): the fingerprint sorts keys, and
/// a duplicate key is rejected at parse time rather than silently resolved.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The member `key` of an object; `nil` for other values or a missing key.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The array's elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The members, when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The number, when this is a number.
    public var numberValue: JSONNumber? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// The name of this value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}
