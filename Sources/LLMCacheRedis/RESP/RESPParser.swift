import NIOCore

/// Reads RESP2 and RESP3 values from a byte buffer, one complete value at a time.
///
/// Frames may arrive split across any number of reads. The parser is
/// resumable: the elements of an aggregate (array, map, set, push) are consumed
/// from the buffer as each one completes and kept on a stack, so a reply of
/// millions of elements arriving over thousands of reads is parsed once, not
/// re-parsed from its start on every read. A scalar (one line, or one bulk
/// string) is consumed only when whole. RESP3 attributes (`|`) are read and
/// dropped, as the protocol allows clients to do.
struct RESPParser {
    /// Deeper nesting than this is treated as a protocol violation rather than
    /// risking the stack on a hostile or corrupt stream.
    static let maximumDepth = 64

    private struct Frame {
        let kind: UInt8
        var remaining: Int
        var values: [RESPValue]
    }

    private var stack: [Frame] = []

    /// Parses the next value from the front of `buffer`, moving its reader
    /// index past what it consumed; returns `nil` when the value is not
    /// complete yet (call again with more bytes appended).
    mutating func next(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        while true {
            var cursor = buffer.readerIndex
            guard let token = try Self.parseToken(buffer, at: &cursor) else { return nil }
            buffer.moveReaderIndex(to: cursor)
            var completed: RESPValue?
            switch token {
            case .value(let value):
                completed = value
            case .aggregate(let kind, let count):
                guard stack.count < Self.maximumDepth else { throw Self.violation("nesting deeper than \(Self.maximumDepth) levels") }
                guard count > 0 else {
                    completed = kind == UInt8(ascii: "|") ? nil : Self.build(kind, [])
                    break
                }
                stack.append(Frame(kind: kind, remaining: count, values: []))
                stack[stack.count - 1].values.reserveCapacity(min(count, 4096))
                continue
            }
            // Hand the value to the innermost open aggregate, closing every
            // aggregate it completes. A finished attribute yields nothing: it
            // annotates the value that follows and is not an element itself.
            while let value = completed, !stack.isEmpty {
                let top = stack.count - 1
                stack[top].values.append(value)
                stack[top].remaining -= 1
                if stack[top].remaining > 0 {
                    completed = nil
                    break
                }
                let frame = stack.removeLast()
                completed = frame.kind == UInt8(ascii: "|") ? nil : Self.build(frame.kind, frame.values)
            }
            if let completed, stack.isEmpty { return completed }
        }
    }

    /// Parses one whole value from `buffer` with a fresh parser (for tests and
    /// one-off decoding); `nil` when it is incomplete.
    static func parse(_ buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var parser = RESPParser()
        var copy = buffer
        guard let value = try parser.next(&copy) else { return nil }
        buffer = copy
        return value
    }

    /// How many more bytes the value at the front of `buffer` needs before it
    /// is whole, when `buffer` holds the start of one scalar: known for a
    /// length-prefixed payload once its length line has arrived, `nil` otherwise.
    static func missingBytes(in buffer: ByteBuffer) -> Int? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              type == UInt8(ascii: "$") || type == UInt8(ascii: "!") || type == UInt8(ascii: "=") else { return nil }
        var cursor = buffer.readerIndex + 1
        guard let length = try? integerLine(buffer, at: &cursor), length >= 0, length <= Int64(Int32.max) else { return nil }
        return cursor + Int(length) + 2 - buffer.writerIndex
    }

    private enum Token {
        case value(RESPValue)
        case aggregate(kind: UInt8, count: Int)
    }

    private static func build(_ kind: UInt8, _ values: [RESPValue]) -> RESPValue {
        switch kind {
        case UInt8(ascii: "~"): return .set(values)
        case UInt8(ascii: ">"): return .push(values)
        case UInt8(ascii: "%"): return .map(stride(from: 0, to: values.count, by: 2).map { (key: values[$0], value: values[$0 + 1]) })
        default: return .array(values)
        }
    }

    private static func violation(_ message: String) -> RedisError {
        RedisError(.protocolViolation, "the server sent malformed RESP: \(message); the connection is closed and will be reopened")
    }

    /// The bytes of the line starting at `cursor`, without its CRLF; `nil` when
    /// the CRLF has not arrived yet.
    private static func line(_ buffer: ByteBuffer, at cursor: inout Int) -> ByteBufferView? {
        guard let end = lineEnd(buffer, from: cursor) else { return nil }
        let view = buffer.viewBytes(at: cursor, length: end - cursor)
        cursor = end + 2
        return view
    }

    /// The index of the CR of the first CRLF at or after `start`; `nil` when
    /// none has arrived yet.
    private static func lineEnd(_ buffer: ByteBuffer, from start: Int) -> Int? {
        let end = buffer.writerIndex
        // The hot loop of reply parsing: raw bytes rather than a bounds-checked
        // read per byte. Only indices below the writer index are read.
        return buffer.withVeryUnsafeBytes { bytes -> Int? in
            var index = start
            while index + 1 < end {
                if bytes[index] == UInt8(ascii: "\r") && bytes[index + 1] == UInt8(ascii: "\n") { return index }
                index += 1
            }
            return nil
        }
    }

    /// The decimal integer on the line starting at `cursor`, which is moved
    /// past its CRLF; `nil` when the CRLF has not arrived yet.
    private static func integerLine(_ buffer: ByteBuffer, at cursor: inout Int) throws(RedisError) -> Int64? {
        guard let end = lineEnd(buffer, from: cursor) else { return nil }
        let start = cursor
        let value = buffer.withVeryUnsafeBytes { bytes -> Int64? in
            var index = start
            var negative = false
            if index < end && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard index < end else { return nil }
            var value: Int64 = 0
            while index < end {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times.addingReportingOverflow(Int64(digit))
                guard !o1 && !o2 else { return nil }
                value = sum
                index += 1
            }
            return negative ? -value : value
        }
        guard let value else {
            let text = buffer.getString(at: start, length: end - start) ?? ""
            throw violation("'\(text)' is not a 64-bit integer")
        }
        cursor = end + 2
        return value
    }

    /// A length-prefixed payload (bulk string, blob error, verbatim string):
    /// `nil` when incomplete; `.some(nil)` for the RESP2 null (`-1`).
    private static func blob(_ buffer: ByteBuffer, at cursor: inout Int) throws(RedisError) -> ByteBuffer?? {
        guard let length = try integerLine(buffer, at: &cursor) else { return nil }
        if length == -1 { return .some(nil) }
        guard length >= 0, length <= Int64(Int32.max) else { throw violation("bulk length \(length)") }
        let count = Int(length)
        guard buffer.writerIndex - cursor >= count + 2 else { return nil }
        guard buffer.getInteger(at: cursor + count, as: UInt8.self) == UInt8(ascii: "\r"),
              buffer.getInteger(at: cursor + count + 1, as: UInt8.self) == UInt8(ascii: "\n") else {
            throw violation("a bulk string of \(count) bytes is not followed by CRLF")
        }
        let slice = buffer.getSlice(at: cursor, length: count)!
        cursor += count + 2
        return .some(slice)
    }

    private static func count(_ buffer: ByteBuffer, at cursor: inout Int) throws(RedisError) -> Int?? {
        guard let count = try integerLine(buffer, at: &cursor) else { return nil }
        if count == -1 { return .some(nil) }
        guard count >= 0, count <= Int64(Int32.max) else { throw violation("aggregate length \(count)") }
        return .some(Int(count))
    }

    /// One scalar value, or the header of an aggregate; `nil` when incomplete.
    private static func parseToken(_ buffer: ByteBuffer, at cursor: inout Int) throws(RedisError) -> Token? {
        guard cursor < buffer.writerIndex, let type = buffer.getInteger(at: cursor, as: UInt8.self) else { return nil }
        var position = cursor + 1
        let value: RESPValue
        switch type {
        case UInt8(ascii: "+"):
            guard let text = line(buffer, at: &position) else { return nil }
            value = .simpleString(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: "-"):
            guard let text = line(buffer, at: &position) else { return nil }
            value = .error(String(decoding: text, as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let integer = try integerLine(buffer, at: &position) else { return nil }
            value = .integer(integer)
        case UInt8(ascii: "$"):
            guard let payload = try blob(buffer, at: &position) else { return nil }
            value = payload.map(RESPValue.bulkString) ?? .null
        case UInt8(ascii: "!"):
            guard let payload = try blob(buffer, at: &position) else { return nil }
            value = .error(payload.map { String(buffer: $0) } ?? "")
        case UInt8(ascii: "="):
            guard let payload = try blob(buffer, at: &position) else { return nil }
            guard let payload else { value = .null; break }
            let text = String(buffer: payload)
            guard payload.readableBytes >= 4, text.utf8.dropFirst(3).first == UInt8(ascii: ":") else {
                throw violation("a verbatim string without its 3-letter format prefix")
            }
            value = .verbatimString(format: String(text.prefix(3)), text: String(text.dropFirst(4)))
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            guard let count = try count(buffer, at: &position) else { return nil }
            cursor = position
            guard let count else { return .value(.null) }
            let pairs = type == UInt8(ascii: "%") || type == UInt8(ascii: "|")
            return .aggregate(kind: type, count: pairs ? count * 2 : count)
        case UInt8(ascii: "_"):
            guard let text = line(buffer, at: &position) else { return nil }
            guard text.isEmpty else { throw violation("a null with a payload") }
            value = .null
        case UInt8(ascii: "#"):
            guard let text = line(buffer, at: &position) else { return nil }
            switch String(decoding: text, as: UTF8.self) {
            case "t": value = .boolean(true)
            case "f": value = .boolean(false)
            case let other: throw violation("boolean '\(other)'")
            }
        case UInt8(ascii: ","):
            guard let text = line(buffer, at: &position) else { return nil }
            let string = String(decoding: text, as: UTF8.self)
            switch string {
            case "inf", "+inf": value = .double(.infinity)
            case "-inf": value = .double(-.infinity)
            case "nan", "-nan": value = .double(.nan)
            default:
                guard let double = Double(string) else { throw violation("double '\(string)'") }
                value = .double(double)
            }
        case UInt8(ascii: "("):
            guard let text = line(buffer, at: &position) else { return nil }
            let digits = String(decoding: text, as: UTF8.self)
            guard !digits.isEmpty, digits.drop(while: { $0 == "-" || $0 == "+" }).allSatisfy(\.isWholeNumber) else {
                throw violation("big number '\(digits)'")
            }
            value = .bigNumber(digits)
        default:
            throw violation("unknown type byte 0x\(String(type, radix: 16))")
        }
        cursor = position
        return .value(value)
    }
}
