/// A shell-style pattern over model names and namespaces: `*` matches any run of
/// characters, `?` one character, `[abc]` / `[a-z]` / `[!abc]` one of a set, and
/// `\` makes the next character literal. Matching is case-sensitive and over
/// whole strings: `gpt-4*` matches `gpt-4o` but not `my-gpt-4`.
public struct GlobPattern: Hashable, Sendable, CustomStringConvertible {
    private enum Token: Hashable, Sendable {
        case literal(Character)
        case any
        case anyRun
        case set(ranges: [ClosedRange<Character>], negated: Bool)
    }

    /// The pattern as written.
    public let pattern: String
    private let tokens: [Token]

    /// Parses `pattern`; throws ``CacheError/Code/invalidArgument`` for an
    /// unterminated `[` set or a trailing `\`.
    public init(_ pattern: String) throws {
        self.pattern = pattern
        var tokens: [Token] = []
        var chars = Array(pattern)[...]
        while let c = chars.popFirst() {
            switch c {
            case "*":
                if tokens.last != .anyRun { tokens.append(.anyRun) }
            case "?":
                tokens.append(.any)
            case "\\":
                guard let next = chars.popFirst() else {
                    throw CacheError(.invalidArgument, "pattern '\(pattern)' ends with a lone '\\'; write '\\\\' for a literal backslash")
                }
                tokens.append(.literal(next))
            case "[":
                var negated = false
                if chars.first == "!" || chars.first == "^" { negated = true; chars.removeFirst() }
                var ranges: [ClosedRange<Character>] = []
                var closed = false
                var first = true
                while let m = chars.popFirst() {
                    if m == "]" && !first { closed = true; break }
                    first = false
                    var low = m
                    if low == "\\", let escaped = chars.popFirst() { low = escaped }
                    if chars.first == "-", chars.dropFirst().first.map({ $0 != "]" }) ?? false {
                        chars.removeFirst()
                        let high = chars.removeFirst()
                        guard low <= high else {
                            throw CacheError(.invalidArgument, "pattern '\(pattern)' has a reversed range \(low)-\(high) in a [set]")
                        }
                        ranges.append(low...high)
                    } else {
                        ranges.append(low...low)
                    }
                }
                guard closed else {
                    throw CacheError(.invalidArgument, "pattern '\(pattern)' has a '[' with no closing ']'; write '\\[' for a literal bracket")
                }
                tokens.append(.set(ranges: ranges, negated: negated))
            default:
                tokens.append(.literal(c))
            }
        }
        self.tokens = tokens
    }

    /// Whether the pattern is a plain string with no wildcards.
    public var isLiteral: Bool {
        tokens.allSatisfy { if case .literal = $0 { return true } else { return false } }
    }

    /// Whether `text` matches the whole pattern.
    public func matches(_ text: String) -> Bool {
        let chars = Array(text)
        // Iterative matching with single backtrack point per star: linear in practice,
        // never exponential.
        var t = 0, p = 0
        var starP = -1, starT = 0
        while t < chars.count {
            if p < tokens.count {
                switch tokens[p] {
                case .anyRun:
                    starP = p; starT = t; p += 1
                    continue
                case .any:
                    t += 1; p += 1
                    continue
                case .literal(let c) where c == chars[t]:
                    t += 1; p += 1
                    continue
                case .set(let ranges, let negated) where ranges.contains(where: { $0.contains(chars[t]) }) != negated:
                    t += 1; p += 1
                    continue
                default:
                    break
                }
            }
            guard starP >= 0 else { return false }
            p = starP + 1
            starT += 1
            t = starT
        }
        while p < tokens.count, tokens[p] == .anyRun { p += 1 }
        return p == tokens.count
    }

    public var description: String { pattern }
}
