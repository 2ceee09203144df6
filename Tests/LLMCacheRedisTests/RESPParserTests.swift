import NIOCore
import Testing
@testable import LLMCacheRedis

private func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }

struct ParseCase: Sendable, CustomStringConvertible {
    let name: String
    let wire: String
    let expected: RESPValue
    var description: String { name }
}

@Suite struct RESPParserTests {
    static let cases: [ParseCase] = [
        ParseCase(name: "simple string", wire: "+OK\r\n", expected: .simpleString("OK")),
        ParseCase(name: "error", wire: "-WRONGTYPE Operation against a key\r\n", expected: .error("WRONGTYPE Operation against a key")),
        ParseCase(name: "integer", wire: ":-42\r\n", expected: .integer(-42)),
        ParseCase(name: "bulk string", wire: "$5\r\nhe\r\no\r\n", expected: bulk("he\r\no")),
        ParseCase(name: "empty bulk string", wire: "$0\r\n\r\n", expected: bulk("")),
        ParseCase(name: "RESP2 null bulk", wire: "$-1\r\n", expected: .null),
        ParseCase(name: "RESP2 null array", wire: "*-1\r\n", expected: .null),
        ParseCase(name: "nested arrays", wire: "*2\r\n*2\r\n:1\r\n$1\r\na\r\n*1\r\n*0\r\n", expected: .array([.array([.integer(1), bulk("a")]), .array([.array([])])])),
        ParseCase(name: "array holding an error", wire: "*2\r\n+OK\r\n-ERR no\r\n", expected: .array([.simpleString("OK"), .error("ERR no")])),
        ParseCase(name: "RESP3 null", wire: "_\r\n", expected: .null),
        ParseCase(name: "RESP3 double", wire: ",3.25\r\n", expected: .double(3.25)),
        ParseCase(name: "RESP3 double infinity", wire: ",-inf\r\n", expected: .double(-.infinity)),
        ParseCase(name: "RESP3 booleans", wire: "*2\r\n#t\r\n#f\r\n", expected: .array([.boolean(true), .boolean(false)])),
        ParseCase(name: "RESP3 blob error", wire: "!21\r\nSYNTAX invalid syntax\r\n", expected: .error("SYNTAX invalid syntax")),
        ParseCase(name: "RESP3 verbatim string", wire: "=15\r\ntxt:Some string\r\n", expected: .verbatimString(format: "txt", text: "Some string")),
        ParseCase(name: "RESP3 big number", wire: "(3492890328409238509324850943850943825024385\r\n", expected: .bigNumber("3492890328409238509324850943850943825024385")),
        ParseCase(name: "RESP3 map", wire: "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n~1\r\n:2\r\n", expected: .map([(key: .simpleString("first"), value: .integer(1)), (key: bulk("second"), value: .set([.integer(2)]))])),
        ParseCase(name: "RESP3 set", wire: "~2\r\n+a\r\n+b\r\n", expected: .set([.simpleString("a"), .simpleString("b")])),
        ParseCase(name: "RESP3 push", wire: ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", expected: .push([bulk("message"), bulk("ch"), bulk("hi")])),
        ParseCase(name: "RESP3 attribute is dropped", wire: "|1\r\n+ttl\r\n:3\r\n:7\r\n", expected: .integer(7)),
    ]

    @Test(arguments: cases)
    func parsesWholeFrame(_ check: ParseCase) throws {
        var buffer = ByteBuffer(string: check.wire + "+NEXT\r\n")
        let value = try RESPParser.parse(&buffer)
        #expect(value == check.expected)
        #expect(try RESPParser.parse(&buffer) == .simpleString("NEXT"), "the parser consumed more or less than one value")
    }

    @Test(arguments: cases)
    func parsesFrameArrivingOneByteAtATime(_ check: ParseCase) throws {
        let bytes = Array(check.wire.utf8)
        var buffer = ByteBuffer()
        var parser = RESPParser()
        var parsed: RESPValue?
        for (index, byte) in bytes.enumerated() {
            buffer.writeInteger(byte)
            parsed = try parser.next(&buffer)
            if index < bytes.count - 1 {
                #expect(parsed == nil, "a value was produced after \(index + 1) of \(bytes.count) bytes")
            }
        }
        #expect(parsed == check.expected)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: [
        "?oops\r\n",
        ":12a\r\n",
        "$3\r\nabcd\r\n",
        "#x\r\n",
        ",notanumber\r\n",
        ":99999999999999999999\r\n",
    ])
    func rejectsMalformedFrames(_ wire: String) {
        var buffer = ByteBuffer(string: wire)
        #expect(throws: RedisError.self) { try RESPParser.parse(&buffer) }
    }

    @Test func aLargeReplyInManyReadsParsesOnceInOrder() throws {
        let count = 50_000
        var wire = "*\(count)\r\n"
        for i in 0..<count { wire += "*2\r\n:\(i)\r\n$5\r\nvalue\r\n" }
        wire += "+NEXT\r\n"
        let bytes = Array(wire.utf8)
        var parser = RESPParser()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in stride(from: 0, to: bytes.count, by: 1000) {
            buffer.writeBytes(bytes[chunk..<min(chunk + 1000, bytes.count)])
            while let value = try parser.next(&buffer) { values.append(value) }
        }
        #expect(values.count == 2)
        #expect(values.first?.elements?.count == count)
        #expect(values.first?.elements?.last == .array([.integer(Int64(count - 1)), .bulkString(ByteBuffer(string: "value"))]))
        #expect(values.last == .simpleString("NEXT"))
    }

    @Test func rejectsNestingBeyondTheLimit() {
        var buffer = ByteBuffer(string: String(repeating: "*1\r\n", count: 100) + ":1\r\n")
        #expect(throws: RedisError.self) { try RESPParser.parse(&buffer) }
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() {
        let command = RedisCommand("SET", "k", ByteBuffer(string: "v\r\n"), 1234, -5)
        #expect(String(buffer: command.encoded) == "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n$4\r\n1234\r\n$2\r\n-5\r\n")
    }

    @Test(arguments: [
        ("redis://localhost", "localhost", 6379, nil, nil, 0, false),
        ("redis://:s%40cret@10.0.0.5:6380/3", "10.0.0.5", 6380, nil, "s@cret", 3, false),
        ("rediss://app:pw@cache.example.com:6390/1", "cache.example.com", 6390, "app", "pw", 1, true),
        ("redis://[::1]:7000", "::1", 7000, nil, nil, 0, false),
    ] as [(String, String, Int, String?, String?, Int, Bool)])
    func parsesURLs(_ url: String, host: String, port: Int, user: String?, password: String?, database: Int, tls: Bool) throws {
        let configuration = try RedisClient.Configuration(url: url)
        #expect(configuration.host == host)
        #expect(configuration.port == port)
        #expect(configuration.username == user)
        #expect(configuration.password == password)
        #expect(configuration.database == database)
        #expect((configuration.tls != nil) == tls)
    }

    @Test(arguments: ["http://localhost", "redis://", "redis://host/x", "redis://host:0"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisClient.Configuration(url: url) }
    }
}
