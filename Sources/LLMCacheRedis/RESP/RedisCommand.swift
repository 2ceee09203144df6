import Foundation
import NIOCore

/// A value that can be sent as one argument of a Redis command (a RESP bulk string).
public protocol RESPArgument: Sendable {
    /// Appends this argument as a RESP bulk string (`$<length>\r\n<bytes>\r\n`).
    func writeBulkString(into buffer: inout ByteBuffer)
}

extension ByteBuffer {
    @inlinable
    mutating func writeBulkHeader(_ length: Int) {
        writeInteger(UInt8(ascii: "$"))
        writeDecimal(length)
        writeStaticString("\r\n")
    }

    @inlinable
    mutating func writeDecimal(_ value: Int) {
        // Avoids String allocation for the lengths and counts on every command.
        if value < 10 && value >= 0 {
            writeInteger(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var magnitude = value.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            if value < 0 { count += 1; raw[20 - count] = UInt8(ascii: "-") }
            writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }
}

extension String: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) {
        buffer.writeBulkHeader(utf8.count)
        buffer.writeString(self)
        buffer.writeStaticString("\r\n")
    }
}

extension Substring: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) { String(self).writeBulkString(into: &buffer) }
}

extension Int: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) {
        // Decimal strings of an Int fit Swift's inline small-string storage: no allocation.
        String(self).writeBulkString(into: &buffer)
    }
}

extension Int64: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) { Int(self).writeBulkString(into: &buffer) }
}

extension Double: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) {
        (isInfinite ? (self > 0 ? "+inf" : "-inf") : "\(self)").writeBulkString(into: &buffer)
    }
}

extension ByteBuffer: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) {
        buffer.writeBulkHeader(readableBytes)
        buffer.writeImmutableBuffer(self)
        buffer.writeStaticString("\r\n")
    }
}

extension Array: RESPArgument where Element == UInt8 {
    public func writeBulkString(into buffer: inout ByteBuffer) {
        buffer.writeBulkHeader(count)
        buffer.writeBytes(self)
        buffer.writeStaticString("\r\n")
    }
}

extension Data: RESPArgument {
    public func writeBulkString(into buffer: inout ByteBuffer) {
        buffer.writeBulkHeader(count)
        buffer.writeBytes(self)
        buffer.writeStaticString("\r\n")
    }
}

/// One command, encoded once as a RESP array of bulk strings, ready to send.
///
/// ```swift
/// let reply = try await client.send(RedisCommand("SET", "greeting", "hello", "PX", 5000))
/// ```
///
/// A value type; safe to share across tasks.
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// The command's name as given (`GET`, `EVALSHA`, ...), for errors and logs.
    public let name: String
    /// The encoded bytes.
    let encoded: ByteBuffer

    /// A command with a name and its arguments.
    public init(_ name: String, _ arguments: any RESPArgument...) {
        self.init(name, arguments: arguments)
    }

    /// A command with a name and an array of arguments.
    public init(_ name: String, arguments: [any RESPArgument]) {
        self.name = name
        var buffer = ByteBufferAllocator().buffer(capacity: 32 + name.utf8.count + arguments.count * 24)
        buffer.writeInteger(UInt8(ascii: "*"))
        buffer.writeDecimal(arguments.count + 1)
        buffer.writeStaticString("\r\n")
        name.writeBulkString(into: &buffer)
        for argument in arguments { argument.writeBulkString(into: &buffer) }
        encoded = buffer
    }

    public var description: String { name }
}
