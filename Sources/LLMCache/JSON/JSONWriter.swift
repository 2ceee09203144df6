extension JSONValue {
    /// The value as compact JSON text. Numbers keep the text they were parsed
    /// from; object members are sorted by name so output is deterministic.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        JSONWriter.write(self, canonical: false, into: &out)
        return out
    }

    /// The canonical encoding fingerprints are made of: members sorted by the
    /// UTF-8 bytes of their names, numbers in canonical decimal form, strings
    /// with only the escapes JSON requires, no whitespace. Two values have the
    /// same canonical bytes exactly when they mean the same JSON.
    public var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        JSONWriter.write(self, canonical: true, into: &out)
        return out
    }
}

enum JSONWriter {
    static func write(_ value: JSONValue, canonical: Bool, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .number(let n): out.append(contentsOf: (canonical ? n.canonical : n.text).utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(element, canonical: canonical, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members) where canonical:
            writeObject(members, skipping: [], into: &out)
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // String's < is locale-free and the same on every platform, so the
            // order is stable. (Names that are canonically equivalent Unicode
            // are one name to a Swift dictionary: the parser rejects them as
            // duplicates rather than keep either silently.)
            var first = true
            for name in members.keys.sorted() {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                write(members[name]!, canonical: canonical, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A canonical object, leaving out the members named in `skipped`.
    static func writeObject(_ members: [String: JSONValue], skipping skipped: Set<String>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        // Ordered by UTF-8 bytes: locale-free, the same everywhere, and cheaper
        // than String's Unicode-aware comparison.
        var names = Array(members.keys)
        names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var first = true
        for name in names where skipped.isEmpty || !skipped.contains(name) {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            writeString(name, into: &out)
            out.append(UInt8(ascii: ":"))
            write(members[name]!, canonical: true, into: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escaping: copy their bytes in one go.
        let plain = string.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(contentsOf: bytes)
            return true
        } ?? false
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), HexDigits.ascii(byte >> 4), HexDigits.ascii(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
