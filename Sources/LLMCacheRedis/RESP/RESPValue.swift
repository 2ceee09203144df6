import NIOCore

/// One reply from a Redis server, in any RESP2 or RESP3 type.
///
/// A value type; safe to share across tasks. Bulk strings keep their bytes in a
/// `ByteBuffer` slice of the read buffer, so large values are not copied.
public enum RESPValue: Sendable, Equatable, CustomStringConvertible {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR ...` or a RESP3 blob error: the server refused the command.
    case error(String)
    /// `:42`: a signed 64-bit integer.
    case integer(Int64)
    /// `$5 hello`: binary-safe bytes.
    case bulkString(ByteBuffer)
    /// `$-1`, `*-1` (RESP2) or `_` (RESP3): no value.
    case null
    /// `*N`: an ordered list of values.
    case array([RESPValue])
    /// `%N` (RESP3): key/value pairs, in the order the server sent them.
    case map([(key: RESPValue, value: RESPValue)])
    /// `~N` (RESP3): an unordered collection.
    case set([RESPValue])
    /// `,3.14` (RESP3), including `inf`, `-inf` and `nan`.
    case double(Double)
    /// `#t` / `#f` (RESP3).
    case boolean(Bool)
    /// `(1234...` (RESP3): an integer outside 64 bits, as its decimal digits.
    case bigNumber(String)
    /// `=15 txt:...` (RESP3): text with a three-letter format (`txt`, `mkd`).
    case verbatimString(format: String, text: String)
    /// `>N` (RESP3): an out-of-band message such as a pub/sub delivery.
    case push([RESPValue])

    public static func == (lhs: RESPValue, rhs: RESPValue) -> Bool {
        switch (lhs, rhs) {
        case (.simpleString(let a), .simpleString(let b)): return a == b
        case (.error(let a), .error(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.bulkString(let a), .bulkString(let b)): return a == b
        case (.null, .null): return true
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.set(let a), .set(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b || (a.isNaN && b.isNaN)
        case (.boolean(let a), .boolean(let b)): return a == b
        case (.bigNumber(let a), .bigNumber(let b)): return a == b
        case (.verbatimString(let f1, let t1), .verbatimString(let f2, let t2)): return f1 == f2 && t1 == t2
        case (.push(let a), .push(let b)): return a == b
        default: return false
        }
    }

    /// The value as text: simple, bulk and verbatim strings, and the digits of
    /// integers and big numbers; `nil` for other types.
    public var string: String? {
        switch self {
        case .simpleString(let s), .bigNumber(let s): return s
        case .bulkString(let buffer): return String(buffer: buffer)
        case .verbatimString(_, let text): return text
        case .integer(let i): return String(i)
        default: return nil
        }
    }

    /// The value as an integer: integers, and strings holding decimal digits
    /// (RESP2 sends some numbers as bulk strings); `nil` otherwise.
    public var int: Int? {
        switch self {
        case .integer(let i): return Int(i)
        case .bulkString, .simpleString: return string.flatMap { Int($0) }
        case .boolean(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The bytes of a bulk string, or the UTF-8 of a simple or verbatim string.
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let buffer): return buffer
        case .simpleString(let s), .verbatimString(_, let s): return ByteBuffer(string: s)
        default: return nil
        }
    }

    /// The elements of an array, set or push; a map flattened to key, value,
    /// key, value (how RESP2 sends maps); `nil` for other types.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): return values
        case .map(let pairs): return pairs.flatMap { [$0.key, $0.value] }
        default: return nil
        }
    }

    /// Whether the value is a null.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .simpleString(let s): return "+\(s)"
        case .error(let s): return "-\(s)"
        case .integer(let i): return ":\(i)"
        case .bulkString(let b): return "\"\(String(buffer: b))\""
        case .null: return "(nil)"
        case .array(let a): return "[\(a.map(\.description).joined(separator: ", "))]"
        case .map(let pairs): return "{\(pairs.map { "\($0.key.description): \($0.value.description)" }.joined(separator: ", "))}"
        case .set(let s): return "~[\(s.map(\.description).joined(separator: ", "))]"
        case .double(let d): return ",\(d)"
        case .boolean(let b): return b ? "#t" : "#f"
        case .bigNumber(let n): return "(\(n)"
        case .verbatimString(let f, let t): return "=\(f):\(t)"
        case .push(let a): return ">[\(a.map(\.description).joined(separator: ", "))]"
        }
    }
}
