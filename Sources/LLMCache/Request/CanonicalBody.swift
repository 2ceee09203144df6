/// The canonical encoding of a request body — the bytes `JSONWriter` writes for
/// the parsed object: members sorted by the UTF-8 bytes of their names, numbers
/// in canonical decimal form, strings with only the escapes JSON requires, no
/// whitespace — and where each top-level member lies in it, so a fingerprint can
/// leave out ignored fields without encoding anything again.
///
/// Made once per request, by ``RequestCanonicalizer`` straight from the request
/// bytes or by `init(members:)` from a parsed tree; both give the same bytes.
struct CanonicalBody: Sendable {
    struct Member: Sendable {
        /// The member's name as written in ``CanonicalBody/bytes``, without quotes.
        var name: Range<Int>
        /// `"name":value`.
        var bytes: Range<Int>
        /// The name as a string when its bytes in ``CanonicalBody/bytes`` are not
        /// plain ASCII without escapes; otherwise the bytes are the name.
        var unusualName: String?
    }

    /// `{` members `}`.
    let bytes: [UInt8]
    /// The top-level members, in the order they appear in ``bytes``.
    let members: [Member]

    init(bytes: [UInt8], members: [Member]) {
        self.bytes = bytes
        self.members = members
    }

    /// The encoding of a parsed object: what the tree-based path has always written.
    init(members object: [String: JSONValue]) {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(1024)
        var members: [Member] = []
        members.reserveCapacity(object.count)
        var names = Array(object.keys)
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        for name in names {
            if !members.isEmpty { out.append(UInt8(ascii: ",")) }
            let start = out.count
            JSONWriter.writeString(name, into: &out)
            let nameRange = start + 1..<out.count - 1
            out.append(UInt8(ascii: ":"))
            JSONWriter.write(object[name]!, canonical: true, into: &out)
            let plain = name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
            members.append(Member(name: nameRange, bytes: start..<out.count, unusualName: plain ? nil : name))
        }
        out.append(UInt8(ascii: "}"))
        self.init(bytes: out, members: members)
    }

    /// Calls `body` with the encoding of the object without the members
    /// `isSkipped` picks, in as few contiguous pieces as possible (one when
    /// nothing is skipped).
    func withPieces(skipping isSkipped: (Member) -> Bool, _ body: (UnsafeRawBufferPointer) -> Void) {
        bytes.withUnsafeBytes { raw in
            // The pending piece [start, end) of `bytes`; it starts as "{".
            var start = 0
            var end = 1
            var wroteMember = false
            for member in members where !isSkipped(member) {
                if member.bytes.lowerBound == end + (wroteMember ? 1 : 0) {
                    end = member.bytes.upperBound
                } else {
                    body(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                    if wroteMember { body(UnsafeRawBufferPointer(Self.comma)) }
                    start = member.bytes.lowerBound
                    end = member.bytes.upperBound
                }
                wroteMember = true
            }
            if end == raw.count - 1 {
                body(UnsafeRawBufferPointer(rebasing: raw[start...]))
            } else {
                body(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                body(UnsafeRawBufferPointer(Self.closingBrace))
            }
        }
    }

    private static var comma: UnsafeBufferPointer<UInt8> { .staticBytes(",") }
    private static var closingBrace: UnsafeBufferPointer<UInt8> { .staticBytes("}") }

    /// The name of `member` as bytes, when it is plain ASCII.
    func plainName(of member: Member) -> ArraySlice<UInt8>? {
        member.unusualName == nil ? bytes[member.name] : nil
    }

    /// The name of `member` as a string.
    func name(of member: Member) -> String {
        member.unusualName ?? String(decoding: bytes[member.name], as: UTF8.self)
    }

    /// The JSON type name of the top-level member `name`'s value, or `nil` when
    /// there is no such member. Read from the first byte of the encoded value.
    func typeName(of name: String) -> String? {
        for member in members where self.name(of: member) == name {
            switch bytes[member.name.upperBound + 2] {
            case UInt8(ascii: "{"): return "object"
            case UInt8(ascii: "["): return "array"
            case UInt8(ascii: "\""): return "string"
            case UInt8(ascii: "n"): return "null"
            case UInt8(ascii: "t"), UInt8(ascii: "f"): return "boolean"
            default: return "number"
            }
        }
        return nil
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The bytes of a static string literal, which live as long as the program.
    static func staticBytes(_ literal: StaticString) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }
}
