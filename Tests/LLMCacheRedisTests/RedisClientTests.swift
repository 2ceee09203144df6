import Foundation
import NIOCore
import NIOSSL
import Testing
@testable import LLMCacheRedis

@Suite struct RedisClientTests {
    @Test func setGetAndServerErrorsCarryTheServersMessage() async throws {
        try await withRedisServer { server in
            try await withClient(server.configuration()) { client in
                try await client.send("SET", "greeting", "hello")
                #expect(try await client.send("GET", "greeting").string == "hello")
                #expect(try await client.send("GET", "absent").isNull)
                await #expect {
                    try await client.send("INCR", "greeting")
                } throws: { error in
                    let error = error as? RedisError
                    return error?.code == .server && error?.serverCode == "ERR" && error?.message.contains("not an integer") == true
                }
                #expect(try await client.send("GET", "greeting").string == "hello", "the connection is unusable after an error reply")
            }
        }
    }

    @Test(arguments: [2, 3])
    func repliesOfEveryProtocolVersionDecode(_ version: Int) async throws {
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.protocolVersion = version
            try await withClient(configuration) { client in
                try await client.send("HSET", "h", "a", "1", "b", "2")
                let all = try await client.send("HGETALL", "h")
                if version == 3 {
                    guard case .map(let pairs) = all else { Issue.record("HGETALL under RESP3 is not a map: \(all)"); return }
                    #expect(pairs.count == 2)
                } else {
                    #expect(all.elements?.count == 4)
                }
                try await client.send("SADD", "s", "x")
                let members = try await client.send("SMEMBERS", "s")
                #expect(members.elements?.first?.string == "x")
                try await client.send("ZADD", "z", "1.5", "m")
                let score = try await client.send("ZSCORE", "z", "m")
                #expect(version == 3 ? score == .double(1.5) : score.string == "1.5")
            }
        }
    }

    @Test func concurrentCommandsOnOneConnectionGetTheirOwnReplies() async throws {
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.pool.size = 1
            try await withClient(configuration) { client in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<50 {
                        group.addTask {
                            for i in 0..<40 {
                                let reply = try await client.send("ECHO", "\(task)-\(i)")
                                #expect(reply.string == "\(task)-\(i)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let replies = try await client.pipeline((0..<1000).map { _ in RedisCommand("INCR", "counter") })
                #expect(replies.map(\.int) == (1...1000).map { Optional($0) }, "pipelined replies came back out of order")
            }
        }
    }

    /// Reads end inside replies all the time once values are large: every
    /// reply must still arrive whole, byte for byte, and matched to its command.
    @Test func repliesSplitAcrossReadsArriveWhole() async throws {
        let sizes = [0, 1, 2, 9, 10, 1023, 1024, 4095, 65_535, 65_536, 65_537, 200_003, 1_000_000]
        let values = Dictionary(uniqueKeysWithValues: sizes.map { size in
            (size, ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }))
        })
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.pool.size = 1
            try await withClient(configuration) { client in
                for size in sizes { try await client.send("SET", "v\(size)", values[size]!) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<8 {
                        group.addTask {
                            for round in 0..<3 {
                                let keys = (0..<20).map { sizes[($0 + task + round) % sizes.count] }
                                let replies = try await client.pipeline(keys.map { RedisCommand("GET", "v\($0)") })
                                #expect(replies.map(\.bytes) == keys.map { values[$0] }, "a GET's reply is not its value")
                                let all = try await client.send(RedisCommand("MGET", arguments: keys.map { "v\($0)" }))
                                #expect(all.elements?.map(\.bytes) == keys.map { values[$0] }, "an MGET's reply is not its values")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// Commands too large to copy into the outbox are written on their own,
    /// between the small ones queued before and after them: the server must
    /// still see every command in the order it was sent.
    @Test func largeAndSmallCommandsKeepTheirOrder() async throws {
        let large = ByteBuffer(repeating: 0x6c, count: 100_000)
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.pool.size = 1
            configuration.pool.eventLoops = 2
            try await withClient(configuration) { client in
                var commands: [RedisCommand] = []
                for i in 0..<10 {
                    commands.append(RedisCommand("RPUSH", "order", "small-\(i)"))
                    commands.append(RedisCommand("RPUSH", "order", large))
                }
                let replies = try await client.pipeline(commands)
                #expect(replies.map(\.int) == (1...20).map { Optional($0) })
                let list = try await client.send("LRANGE", "order", 0, -1).elements ?? []
                let expected = (0..<10).flatMap { [ByteBuffer(string: "small-\($0)"), large] }
                #expect(list.map(\.bytes) == expected.map { Optional($0) })
            }
        }
    }

    @Test func aPoolWithoutEventLoopsIsRefused() {
        var configuration = RedisClient.Configuration()
        configuration.pool.eventLoops = 0
        #expect { try RedisClient(configuration: configuration) } throws: { error in
            (error as? RedisError)?.code == .invalidConfiguration
        }
    }

    @Test func leasedConnectionsRunOutAndTheWaiterTimesOut() async throws {
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.pool.leasedConnections = 1
            configuration.timeouts.acquire = .milliseconds(100)
            try await withClient(configuration) { client in
                try await client.withConnection { held in
                    _ = try await held.send(RedisCommand("PING"))
                    await #expect {
                        try await client.withConnection { _ in 0 }
                    } throws: { ($0 as? RedisError)?.code == .poolTimeout }
                    // Shared commands do not wait for leases.
                    #expect(try await client.send("PING").string == "PONG")
                }
                let pong = try await client.withConnection { try await $0.send(RedisCommand("PING")).string }
                #expect(pong == "PONG", "the released connection was not reused")
            }
        }
    }

    @Test func aHungServerTimesOutInsteadOfHanging() async throws {
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.timeouts.command = .milliseconds(200)
            // The command time-out is under test, not opening the connection,
            // which the whole suite's load can slow past the 1 s default.
            configuration.timeouts.connect = .seconds(10)
            configuration.timeouts.acquire = .seconds(20)
            try await withClient(configuration) { client in
                try await client.send("PING")
                server.pause(true)
                defer { server.pause(false) }
                await #expect {
                    try await client.send("GET", "k")
                } throws: { ($0 as? RedisError)?.code == .timeout }
            }
        }
    }

    @Test func passwordAndACLUsersAuthenticate() async throws {
        try await withRedisServer(arguments: ["--requirepass", "s3cret", "--user", "app", "on", ">apppass", "~app:*", "+@all"]) { server in
            // The refusals arrive while a connection is being opened; on a
            // machine busy with the rest of the suite that can take longer
            // than a caller waits for one by default, and the caller
            // would see a pool time-out instead of the server's answer.
            func patient(_ configuration: RedisClient.Configuration) -> RedisClient.Configuration {
                var configuration = configuration
                configuration.timeouts.connect = .seconds(10)
                configuration.timeouts.acquire = .seconds(20)
                return configuration
            }
            var anonymous = patient(server.configuration())
            anonymous.timeouts.command = .seconds(1)
            try await withClient(anonymous) { client in
                await #expect { try await client.send("GET", "x") } throws: { ($0 as? RedisError)?.serverCode == "NOAUTH" }
            }
            var withPassword = patient(server.configuration())
            withPassword.password = "s3cret"
            try await withClient(withPassword) { client in
                let pong = try await client.send("PING")
                #expect(pong.string == "PONG")
            }
            var wrong = patient(server.configuration())
            wrong.password = "nope"
            try await withClient(wrong) { client in
                await #expect { try await client.send("PING") } throws: { ($0 as? RedisError)?.serverCode == "WRONGPASS" }
            }
            for version in [2, 3] {
                var user = try RedisClient.Configuration(url: "redis://app:apppass@127.0.0.1:\(server.port)")
                user.protocolVersion = version
                try await withClient(user) { client in
                    try await client.send("SET", "app:k", "v")
                    await #expect { try await client.send("SET", "other:k", "v") } throws: { ($0 as? RedisError)?.serverCode == "NOPERM" }
                }
            }
        }
    }

    @Test func tlsConnectionsVerifyTheServerAndCarryCommands() async throws {
        let port = try RedisServer.freePort()
        let directoryURL = FileManager.default.temporaryDirectory.appendingPathComponent("llmcache-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directoryURL, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directoryURL) }
        let directory = directoryURL.path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=DNS:localhost", "-keyout", "\(directory)/key.pem", "-out", "\(directory)/cert.pem"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0, "openssl could not make a test certificate")
        let tlsServer = try RedisServer(port: port, arguments: [
            "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", "\(directory)/cert.pem",
            "--tls-key-file", "\(directory)/key.pem", "--tls-ca-cert-file", "\(directory)/cert.pem", "--tls-auth-clients", "no",
        ])
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile("\(directory)/cert.pem"))
        tlsServer.tls = tls
        try await tlsServer.start()
        defer { tlsServer.stop() }
        try await withClient(tlsServer.configuration()) { client in
            try await client.send("SET", "secret", "over tls")
            #expect(try await client.send("GET", "secret").string == "over tls")
        }
        // A client that does not trust the certificate must not connect.
        var untrusting = tlsServer.configuration()
        untrusting.tls = .makeClientConfiguration()
        try await withClient(untrusting) { client in
            await #expect(throws: RedisError.self) { try await client.send("PING") }
        }
    }

    @Test func databasesAreIsolated() async throws {
        try await withRedisServer { server in
            let zero = try RedisClient.Configuration(url: "\(server.url)/0")
            let five = try RedisClient.Configuration(url: "\(server.url)/5")
            try await withClient(zero) { a in
                try await withClient(five) { b in
                    try await a.send("SET", "k", "in-0")
                    #expect(try await b.send("GET", "k").isNull)
                    try await b.send("SET", "k", "in-5")
                    #expect(try await a.send("GET", "k").string == "in-0")
                    #expect(try await b.send("GET", "k").string == "in-5")
                }
            }
        }
    }

    @Test(arguments: [2, 3])
    func pubSubDeliversChannelAndPatternMessages(_ version: Int) async throws {
        try await withRedisServer { server in
            var configuration = server.configuration()
            configuration.protocolVersion = version
            try await withClient(configuration) { client in
                let direct = try await client.subscribe(to: ["news"])
                let patterned = try await client.subscribe(toPatterns: ["news.*"])
                #expect(try await client.send("PUBLISH", "news", "first").int == 1)
                #expect(try await client.send("PUBLISH", "news.sport", "second").int == 1)
                var iterator = direct.makeAsyncIterator()
                let message = try await iterator.next()
                #expect(message?.channel == "news" && message?.text == "first")
                var patternIterator = patterned.makeAsyncIterator()
                let matched = try await patternIterator.next()
                #expect(matched?.channel == "news.sport" && matched?.pattern == "news.*" && matched?.text == "second")
                await direct.close()
                await patterned.close()
            }
        }
    }

    @Test func theBreakerOpensWhileTheServerIsDownAndClosesWhenItReturns() async throws {
        let server = try RedisServer()
        try await server.start()
        defer { server.stop() }
        var configuration = server.configuration()
        configuration.timeouts.command = .milliseconds(500)
        configuration.timeouts.connect = .milliseconds(300)
        configuration.circuitBreaker = .init(failureThreshold: 2, coolDown: .milliseconds(50), maximumCoolDown: .milliseconds(200))
        try await withClient(configuration) { client in
            // The timeouts are tight for the breaker's sake; on a machine busy with
            // parallel tests the very first connection may need more than one try.
            var written = false
            for _ in 0..<40 where !written {
                written = (try? await client.send("SET", "k", "v")) != nil
                if !written { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(written, "the client never reached the freshly started server")
            server.kill()
            var codes: [RedisError.Code] = []
            for _ in 0..<6 {
                do {
                    try await client.send("GET", "k")
                } catch let error as RedisError {
                    codes.append(error.code)
                }
            }
            #expect(codes.count == 6, "commands succeeded against a killed server")
            #expect(codes.contains(.circuitOpen), "the breaker never opened: \(codes)")
            try await server.start()
            var recovered = false
            for _ in 0..<200 where !recovered {
                recovered = (try? await client.send("PING"))?.string == "PONG"
                if !recovered { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(recovered, "the client did not resume after the server came back")
        }
    }
}
