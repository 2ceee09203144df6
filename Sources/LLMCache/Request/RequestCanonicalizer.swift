/// Reads a request body once and writes its ``CanonicalBody`` directly, checking
/// on the way what `JSONParser` checks and what ``RequestSchema`` requires (the
/// table `RequestValidator` reads too), without building a tree of dictionaries
/// and strings.
///
/// It only vouches for what it is sure of. Anything else — a syntax error, a
/// field the schema refuses, a number near the edge of `Double`'s range, a
/// name whose duplicates only Unicode equivalence can find — gives `nil`, and
/// the caller takes the tree-based path, which either throws the error it has
/// always thrown or encodes the body exactly as before. So whenever this
/// returns a result, the tree-based path would have accepted the body and
/// written the same bytes; the tests check that over many generated requests.
struct RequestCanonicalizer {
    /// What one pass over a valid request yields.
    struct Result {
        var body: CanonicalBody
        var model: String
        /// The literal text of the top-level `temperature`, when it is a number.
        var temperature: String?
        var isStreaming: Bool
    }

    /// The body is not one this pass can vouch for.
    struct Unsupported: Error {}

    /// Encodes `input`, a body whose schema is `root`, or returns `nil` when
    /// the tree-based path must decide.
    static func canonicalize(_ input: UnsafeBufferPointer<UInt8>, root: RequestSchema.Kind = .request) -> Result? {
        guard let base = input.baseAddress, !input.isEmpty else { return nil }
        var canonicalizer = RequestCanonicalizer(input: base, count: input.count)
        defer { canonicalizer.deallocate() }
        do {
            return try canonicalizer.run(root: root)
        } catch {
            return nil
        }
    }

    // MARK: - State

    private let input: UnsafePointer<UInt8>
    private let end: Int
    private var index = 0
    private var out: Output
    /// Members of the objects being written, innermost last.
    private var spans: [Span] = []
    /// Where an unsorted object's members wait while they are written back in order.
    private var scratch: Output
    private var topMembers: [CanonicalBody.Member] = []
    private var model: String?
    private var temperature: String?
    private var isStreaming = false
    /// The schema's fields, by kind and name length.
    private let schema = RequestSchema.NameIndex.shared

    /// Deeper bodies go to the tree-based path, which has the exact limit and message.
    private static let maximumDepth = 500

    private struct Span {
        /// The opening quote of the name.
        var start: Int
        /// The closing quote of the name.
        var nameEnd: Int
        /// Just past the value.
        var end: Int
        var name: Range<Int> { start + 1..<nameEnd }
    }

    private init(input: UnsafePointer<UInt8>, count: Int) {
        self.input = input
        self.end = count
        // Canonical numbers can be longer than their literals, so leave room;
        // the buffer grows if a body needs more.
        self.out = Output(capacity: count + count / 4 + 64)
        self.scratch = Output(capacity: count)
        spans.reserveCapacity(32)
    }

    private mutating func deallocate() {
        out.deallocate()
        scratch.deallocate()
    }

    private mutating func run(root: Kind) throws(Unsupported) -> Result {
        skipWhitespace()
        guard index < end, input[index] == UInt8(ascii: "{") else { throw Unsupported() }
        try object(root, depth: 0)
        skipWhitespace()
        guard index == end, let model else { throw Unsupported() }
        let bytes = Array(UnsafeBufferPointer(start: out.base, count: out.count))
        return Result(body: CanonicalBody(bytes: bytes, members: topMembers), model: model, temperature: temperature, isStreaming: isStreaming)
    }

    // MARK: - What the schema expects where

    private typealias Kind = RequestSchema.Kind

    private func name(_ range: Range<Int>, is literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let start = literal.utf8Start
        for offset in 0..<range.count where out.base[range.lowerBound + offset] != start[offset] { return false }
        return true
    }

    // MARK: - Values

    private mutating func skipWhitespace() {
        while index < end {
            switch input[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// Writes the value at `index` (past any whitespace), which sits where
    /// the schema expects `kind`.
    private mutating func value(_ kind: Kind, depth: Int) throws(Unsupported) {
        guard index < end else { throw Unsupported() }
        let allowed = kind.allowed
        switch input[index] {
        case UInt8(ascii: "{"):
            guard allowed.contains(.object) else { throw Unsupported() }
            try object(kind, depth: depth)
        case UInt8(ascii: "["):
            guard allowed.contains(.array) else { throw Unsupported() }
            try array(kind, depth: depth)
        case UInt8(ascii: "\""):
            guard allowed.contains(.string) else { throw Unsupported() }
            let start = out.count
            let flags = try string()
            if kind.isNonEmptyString, out.count - start <= 2 { throw Unsupported() }
            if kind == .model {
                // A name with escapes is rare enough to leave to the tree path.
                guard !flags.escaped else { throw Unsupported() }
                model = String(decoding: UnsafeBufferPointer(start: out.base + start + 1, count: out.count - start - 2), as: UTF8.self)
            }
        case UInt8(ascii: "t"):
            guard allowed.contains(.bool) else { throw Unsupported() }
            try literal("true")
        case UInt8(ascii: "f"):
            guard allowed.contains(.bool) else { throw Unsupported() }
            try literal("false")
        case UInt8(ascii: "n"):
            guard allowed.contains(.null) else { throw Unsupported() }
            try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            guard allowed.contains(.number) else { throw Unsupported() }
            // Every number must be finite, which `number` checks; `.finite`
            // asks nothing more.
            try number(integer: kind.numbers == .integer)
        default:
            throw Unsupported()
        }
    }

    private mutating func literal(_ text: StaticString) throws(Unsupported) {
        let count = text.utf8CodeUnitCount
        guard index + count <= end else { throw Unsupported() }
        for offset in 0..<count where input[index + offset] != text.utf8Start[offset] { throw Unsupported() }
        out.append(text.utf8Start, count: count)
        index += count
    }

    private mutating func array(_ kind: Kind, depth: Int) throws(Unsupported) {
        guard depth < Self.maximumDepth else { throw Unsupported() }
        index += 1
        out.append(UInt8(ascii: "["))
        skipWhitespace()
        if index < end, input[index] == UInt8(ascii: "]") {
            index += 1
            out.append(UInt8(ascii: "]"))
            return
        }
        let element = kind.element
        var first = true
        while true {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            skipWhitespace()
            try value(element, depth: depth + 1)
            skipWhitespace()
            guard index < end else { throw Unsupported() }
            if input[index] == UInt8(ascii: ",") { index += 1; continue }
            if input[index] == UInt8(ascii: "]") { index += 1; break }
            throw Unsupported()
        }
        out.append(UInt8(ascii: "]"))
    }

    private mutating func object(_ kind: Kind, depth: Int) throws(Unsupported) {
        guard depth < Self.maximumDepth else { throw Unsupported() }
        index += 1
        out.append(UInt8(ascii: "{"))
        let base = spans.count
        let summary = schema.summary(of: kind)
        // Names are distinct (duplicates are refused below), so counting the
        // required ones seen tells whether all are there.
        var missingRequired = summary.requiredCount
        var sorted = true
        var hasNonASCIIName = false
        // Fields left out of the encoding (``RequestSchema/KeyRole``); seen
        // again, the object has a duplicate name the tree path refuses.
        var omitted: [StaticString] = []
        skipWhitespace()
        if index < end, input[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard index < end, input[index] == UInt8(ascii: "\"") else { throw Unsupported() }
                let separated = spans.count > base
                if separated { out.append(UInt8(ascii: ",")) }
                let start = out.count
                let flags = try string()
                // Names are ordered by their decoded bytes; an escape in the
                // encoded name would order differently, so leave those to the tree.
                guard !flags.escaped else { throw Unsupported() }
                let nameEnd = out.count - 1
                skipWhitespace()
                guard index < end, input[index] == UInt8(ascii: ":") else { throw Unsupported() }
                index += 1
                out.append(UInt8(ascii: ":"))
                skipWhitespace()
                var memberKind = kind.memberValue
                var role = RequestSchema.KeyRole.kept
                var fieldName: StaticString?
                if flags.nonASCII {
                    // Where names have meaning they must be ASCII, which
                    // compare as bytes exactly as they compare as Swift strings.
                    guard summary.fieldCount == 0 else { throw Unsupported() }
                    hasNonASCIIName = true
                } else if summary.fieldCount > 0, let field = schema.field(of: kind, named: out.base + start + 1, count: nameEnd - start - 1) {
                    memberKind = field.kind
                    role = field.key
                    fieldName = field.name
                    if field.isRequired { missingRequired -= 1 }
                }
                let valueStart = index
                let valueOut = out.count
                try value(memberKind, depth: depth + 1)
                if kind.isRoot { capture(name: start + 1..<nameEnd, valueStart: valueStart) }
                if role != .kept, let fieldName, isOmitted(role, valueAt: valueOut) {
                    guard !omitted.contains(where: { $0.utf8Start == fieldName.utf8Start }) else { throw Unsupported() }
                    omitted.append(fieldName)
                    out.count = separated ? start - 1 : start
                    skipWhitespace()
                    guard index < end else { throw Unsupported() }
                    if input[index] == UInt8(ascii: ",") { index += 1; continue }
                    if input[index] == UInt8(ascii: "}") { index += 1; break }
                    throw Unsupported()
                }
                let span = Span(start: start, nameEnd: nameEnd, end: out.count)
                if sorted, spans.count > base {
                    switch compareNames(spans[spans.count - 1], span) {
                    case .equal: throw Unsupported()
                    case .descending: sorted = false
                    case .ascending: break
                    }
                }
                spans.append(span)
                skipWhitespace()
                guard index < end else { throw Unsupported() }
                if input[index] == UInt8(ascii: ",") { index += 1; continue }
                if input[index] == UInt8(ascii: "}") { index += 1; break }
                throw Unsupported()
            }
        }
        guard missingRequired == 0 else { throw Unsupported() }
        if !sorted { try sortMembers(from: base) }
        if hasNonASCIIName { try requireDistinctNames(from: base) }
        if kind.isRoot {
            topMembers = spans[base...].map { CanonicalBody.Member(name: $0.name, bytes: $0.start..<$0.end, unusualName: nil) }
        }
        spans.removeLast(spans.count - base)
        out.append(UInt8(ascii: "}"))
    }

    /// Whether a member whose role is not `.kept`, its value written from
    /// `start` to the end of the output, is left out of the encoding.
    private func isOmitted(_ role: RequestSchema.KeyRole, valueAt start: Int) -> Bool {
        switch role {
        case .kept: return false
        case .omitted: return true
        case .omittedWhenTrue: return out.count - start == 4 && out.base[start] == UInt8(ascii: "t")
        }
    }

    /// Notes the top-level fields a lookup needs without a tree.
    private mutating func capture(name: Range<Int>, valueStart: Int) {
        if self.name(name, is: "temperature"), input[valueStart] != UInt8(ascii: "n") {
            temperature = String(decoding: UnsafeBufferPointer(start: input + valueStart, count: index - valueStart), as: UTF8.self)
        } else if self.name(name, is: "stream") {
            isStreaming = input[valueStart] == UInt8(ascii: "t")
        }
    }

    private enum Order { case ascending, equal, descending }

    private func compareNames(_ a: Span, _ b: Span) -> Order {
        Self.compare(out.base, a, b)
    }

    private static func compare(_ base: UnsafeMutablePointer<UInt8>, _ a: Span, _ b: Span) -> Order {
        let aCount = a.nameEnd - a.start - 1
        let bCount = b.nameEnd - b.start - 1
        let common = min(aCount, bCount)
        var i = 0
        while i < common {
            let x = base[a.start + 1 + i]
            let y = base[b.start + 1 + i]
            if x != y { return x < y ? .ascending : .descending }
            i += 1
        }
        return aCount == bCount ? .equal : aCount < bCount ? .ascending : .descending
    }

    /// Writes the members of the object being closed again, sorted by name.
    private mutating func sortMembers(from base: Int) throws(Unsupported) {
        let bytes = out.base
        spans.withUnsafeMutableBufferPointer { buffer in
            buffer[base...].sort { Self.compare(bytes, $0, $1) == .ascending }
        }
        for i in base + 1..<spans.count where Self.compare(bytes, spans[i - 1], spans[i]) == .equal {
            throw Unsupported()
        }
        // Members were written one after another, comma-separated: the region
        // from the first written to the last holds them all.
        var regionStart = Int.max
        for span in spans[base...] { regionStart = min(regionStart, span.start) }
        let regionCount = out.count - regionStart
        scratch.count = 0
        scratch.append(out.base + regionStart, count: regionCount)
        out.count = regionStart
        for i in base..<spans.count {
            if i > base { out.append(UInt8(ascii: ",")) }
            let span = spans[i]
            let moved = out.count - span.start
            out.append(scratch.base + (span.start - regionStart), count: span.end - span.start)
            spans[i] = Span(start: span.start + moved, nameEnd: span.nameEnd + moved, end: span.end + moved)
        }
    }

    /// Swift strings that are canonically equivalent Unicode are one dictionary
    /// key, so the tree-based parser rejects them as duplicates: find those too.
    private func requireDistinctNames(from base: Int) throws(Unsupported) {
        var names = Set<String>()
        for span in spans[base...] {
            let name = String(decoding: UnsafeBufferPointer(start: out.base + span.start + 1, count: span.nameEnd - span.start - 1), as: UTF8.self)
            guard names.insert(name).inserted else { throw Unsupported() }
        }
    }

    // MARK: - Strings

    /// Writes the string at `index` as `JSONWriter.writeString` writes its
    /// decoded text. `escaped` says whether the written form has escapes.
    private mutating func string() throws(Unsupported) -> (nonASCII: Bool, escaped: Bool) {
        index += 1
        out.append(UInt8(ascii: "\""))
        var nonASCII = false
        var escaped = false
        var run = index
        while true {
            // Most of a request is plain ASCII text: step over it eight bytes
            // at a time, stopping at a quote, a backslash, a control character
            // or a non-ASCII byte.
            while index + 8 <= end {
                let word = UnsafeRawPointer(input + index).loadUnaligned(as: UInt64.self)
                if Self.needsAttention(word) { break }
                index += 8
            }
            guard index < end else { throw Unsupported() }
            let c = input[index]
            if c == UInt8(ascii: "\"") {
                out.append(input + run, count: index - run)
                index += 1
                out.append(UInt8(ascii: "\""))
                return (nonASCII, escaped)
            }
            if c == UInt8(ascii: "\\") {
                out.append(input + run, count: index - run)
                switch try escape() {
                case .escaped: escaped = true
                case .nonASCII: nonASCII = true
                case .plain: break
                }
                run = index
                continue
            }
            if c < 0x20 { throw Unsupported() }
            if c < 0x80 {
                index += 1
                continue
            }
            nonASCII = true
            index += try utf8SequenceLength(at: index)
        }
    }

    /// Whether any byte of `word` is a quote, a backslash, below 0x20 or above
    /// 0x7F (bit tricks from "Bit Twiddling Hacks": a byte is zero exactly
    /// when subtracting one borrows into its top bit while it had none).
    @inline(__always)
    private static func needsAttention(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let zeroByte = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
        let control = (word &- ones &* 0x20) & ~word
        return (zeroByte | control | word) & high != 0
    }

    /// The length of the valid UTF-8 sequence at `i` (whose first byte is not
    /// ASCII): the well-formed sequences of the Unicode Standard's table 3-7,
    /// which are what `String(validating:)` accepts.
    private func utf8SequenceLength(at i: Int) throws(Unsupported) -> Int {
        let lead = input[i]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xED: length = 3; high = 0x9F
        case 0xE1...0xEF: length = 3
        case 0xF0: length = 4; low = 0x90
        case 0xF4: length = 4; high = 0x8F
        case 0xF1...0xF3: length = 4
        default: throw Unsupported()
        }
        guard i + length <= end else { throw Unsupported() }
        let second = input[i + 1]
        guard second >= low, second <= high else { throw Unsupported() }
        for offset in 2..<max(2, length) where input[i + offset] & 0xC0 != 0x80 { throw Unsupported() }
        return length
    }

    /// What an escape became in canonical form.
    private enum Decoded { case plain, escaped, nonASCII }

    /// Writes the escape at `index` in canonical form.
    private mutating func escape() throws(Unsupported) -> Decoded {
        guard index + 1 < end else { throw Unsupported() }
        let c = input[index + 1]
        index += 2
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(c)
            return .escaped
        case UInt8(ascii: "/"): out.append(c); return .plain
        case UInt8(ascii: "b"): writeControl(0x08); return .escaped
        case UInt8(ascii: "f"): writeControl(0x0C); return .escaped
        case UInt8(ascii: "n"): writeControl(0x0A); return .escaped
        case UInt8(ascii: "r"): writeControl(0x0D); return .escaped
        case UInt8(ascii: "t"): writeControl(0x09); return .escaped
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard index + 1 < end, input[index] == UInt8(ascii: "\\"), input[index + 1] == UInt8(ascii: "u") else { throw Unsupported() }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw Unsupported() }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw Unsupported()
            }
            switch scalar {
            case 0..<0x20: writeControl(UInt8(scalar)); return .escaped
            case 0x22, 0x5C:
                out.append(UInt8(ascii: "\\"))
                out.append(UInt8(scalar))
                return .escaped
            case 0..<0x80:
                out.append(UInt8(scalar))
                return .plain
            case 0..<0x800:
                out.append(UInt8(0xC0 | scalar >> 6))
                out.append(UInt8(0x80 | scalar & 0x3F))
            case 0..<0x10000:
                out.append(UInt8(0xE0 | scalar >> 12))
                out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                out.append(UInt8(0x80 | scalar & 0x3F))
            default:
                out.append(UInt8(0xF0 | scalar >> 18))
                out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
                out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                out.append(UInt8(0x80 | scalar & 0x3F))
            }
            return .nonASCII
        default:
            throw Unsupported()
        }
    }

    /// A control character as `JSONWriter.writeString` escapes it.
    private mutating func writeControl(_ byte: UInt8) {
        out.append(UInt8(ascii: "\\"))
        switch byte {
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        default:
            out.append(UInt8(ascii: "u"))
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "0"))
            out.append(HexDigits.ascii(byte >> 4))
            out.append(HexDigits.ascii(byte & 0xF))
        }
    }

    private mutating func hex4() throws(Unsupported) -> UInt32 {
        guard index + 4 <= end else { throw Unsupported() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = input[index]
            guard let digit = JSONParser.hexDigit(c) else { throw Unsupported() }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    // MARK: - Numbers

    private func isDigit(_ i: Int) -> Bool {
        i < end && input[i] >= UInt8(ascii: "0") && input[i] <= UInt8(ascii: "9")
    }

    /// Writes the number at `index` in `JSONNumber`'s canonical form:
    /// `[-]digits e exponent`, no leading or trailing zeros in the digits,
    /// zero as `0`. With `integer`, only plain integer literals that fit an
    /// `Int` are vouched for (the validator's `intValue`).
    private mutating func number(integer: Bool) throws(Unsupported) {
        let negative = input[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard isDigit(index) else { throw Unsupported() }
        let intStart = index
        if input[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw Unsupported() }
        } else {
            while isDigit(index) { index += 1 }
        }
        let intEnd = index
        var fractionStart = index
        var fractionEnd = index
        if index < end, input[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw Unsupported() }
            fractionStart = index
            while isDigit(index) { index += 1 }
            fractionEnd = index
        }
        var exponent = 0
        var hasExponent = false
        if index < end, input[index] == UInt8(ascii: "e") || input[index] == UInt8(ascii: "E") {
            hasExponent = true
            index += 1
            var exponentNegative = false
            if index < end, input[index] == UInt8(ascii: "+") || input[index] == UInt8(ascii: "-") {
                exponentNegative = input[index] == UInt8(ascii: "-")
                index += 1
            }
            guard isDigit(index) else { throw Unsupported() }
            while isDigit(index) {
                // Clamped like JSONNumber.canonicalize.
                exponent = min(exponent * 10 + Int(input[index] - UInt8(ascii: "0")), 1_000_000_000)
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        if integer {
            guard fractionStart == fractionEnd, !hasExponent, intEnd - intStart <= 18 else { throw Unsupported() }
        }
        exponent -= fractionEnd - fractionStart

        // The digits are the integer part then the fraction; find the first
        // and last non-zero ones across both.
        let zero = UInt8(ascii: "0")
        var first = intStart
        while first < intEnd, input[first] == zero { first += 1 }
        if first == intEnd {
            first = fractionStart
            while first < fractionEnd, input[first] == zero { first += 1 }
            if first == fractionEnd {
                out.append(zero)
                return
            }
        }
        var last = fractionEnd - 1
        while last >= fractionStart, input[last] == zero { last -= 1; exponent += 1 }
        if last < fractionStart {
            last = intEnd - 1
            while input[last] == zero { last -= 1; exponent += 1 }
        }
        let significant: Int
        if negative { out.append(UInt8(ascii: "-")) }
        if first < intEnd && last >= fractionStart {
            out.append(input + first, count: intEnd - first)
            out.append(input + fractionStart, count: last + 1 - fractionStart)
            significant = intEnd - first + last + 1 - fractionStart
        } else {
            out.append(input + first, count: last + 1 - first)
            significant = last + 1 - first
        }
        // value < 10^(significant + exponent): finite as a Double when that is at
        // most 10^308. Larger ones (and very small ones, which Double may parse
        // to zero) are rare enough to leave to the tree path and `Double`.
        guard significant + exponent <= 308, significant + exponent >= -300 else { throw Unsupported() }
        out.append(UInt8(ascii: "e"))
        out.appendDecimal(exponent)
    }
}

/// A growable byte buffer with no uniqueness checks: the canonicalizer owns it alone.
private struct Output {
    var base: UnsafeMutablePointer<UInt8>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    func deallocate() { base.deallocate() }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, capacity * 2)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafePointer<UInt8>, count n: Int) {
        if count + n > capacity { grow(to: count + n) }
        (base + count).update(from: bytes, count: n)
        count += n
    }

    mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[n] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
        }
        if count + n > capacity { grow(to: count + n) }
        withUnsafeBytes(of: &digits) { buffer in
            for i in 0..<n { base[count + i] = buffer[n - 1 - i] }
        }
        count += n
    }
}
