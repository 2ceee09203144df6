import Foundation
import NIOCore
import NIOSSL

extension RedisClient {
    /// Where the server is and how to talk to it.
    ///
    /// ```swift
    /// var configuration = try RedisClient.Configuration(url: "redis://app:secret@cache.internal:6379/2")
    /// configuration.pool.size = 8
    /// configuration.timeouts.command = .milliseconds(250)
    /// let client = RedisClient(configuration: configuration)
    /// ```
    public struct Configuration: Sendable {
        /// Host name or IP address. Default `"127.0.0.1"`.
        public var host: String
        /// TCP port. Default 6379.
        public var port: Int
        /// ACL user for `AUTH user password`; `nil` authenticates as the default
        /// user (`AUTH password`, for `requirepass`). Default `nil`.
        public var username: String?
        /// Password; `nil` sends no `AUTH`. Default `nil`.
        public var password: String?
        /// Database index selected with `SELECT` on every connection. Default 0.
        public var database: Int
        /// TLS settings; `nil` for plain TCP. `rediss://` URLs set the default
        /// client configuration (certificate verification on). Default `nil`.
        public var tls: TLSConfiguration?
        /// The name the server's certificate is checked against; `nil` uses
        /// ``host`` when it is a name rather than an address. Default `nil`.
        public var tlsServerName: String?
        /// The protocol to ask for: 3 sends `HELLO 3` on connect (RESP3 replies:
        /// maps, doubles, push messages); 2 keeps RESP2. Both are fully parsed.
        /// Default 2, which every Redis since 1.2 speaks.
        public var protocolVersion: Int
        /// Time limits. See ``Timeouts``.
        public var timeouts: Timeouts
        /// Connection pool. See ``Pool``.
        public var pool: Pool
        /// When to stop trying a server that keeps failing. See ``CircuitBreaker``.
        public var circuitBreaker: CircuitBreaker

        /// Time limits; every operation ends within one of them.
        public struct Timeouts: Sendable {
            /// Opening a TCP (and TLS) connection, including the AUTH/SELECT
            /// handshake. Default 1 s.
            public var connect: Duration
            /// From sending a command to its reply. On expiry the command throws
            /// ``RedisError/Code/timeout`` and its connection is closed. Default 2 s.
            public var command: Duration
            /// Waiting for an exclusively leased connection (``RedisClient/withConnection(_:)``)
            /// when every pooled connection is leased. Default 1 s.
            public var acquire: Duration

            public init(connect: Duration = .seconds(1), command: Duration = .seconds(2), acquire: Duration = .seconds(1)) {
                self.connect = connect
                self.command = command
                self.acquire = acquire
            }
        }

        /// How many connections to keep and how commands share them.
        ///
        /// Commands are pipelined: many callers' commands travel on one connection
        /// at once and replies are matched in order. The pool opens another
        /// connection (up to ``size``) whenever every open one already has
        /// commands in flight, so load spreads over the connections.
        ///
        /// Commands that must not interleave with other callers' (MULTI/EXEC,
        /// WATCH, blocking pops) run on a connection leased to one caller through
        /// ``RedisClient/withConnection(_:)``; those come from a separate set of
        /// at most ``leasedConnections``, and a caller waits up to
        /// ``Timeouts/acquire`` for one to be returned.
        public struct Pool: Sendable {
            /// Most shared (pipelined) connections open at once. Default 4: on
            /// few cores, more connections add system calls, not throughput.
            public var size: Int
            /// Most connections leased to single callers at once. Default 4.
            public var leasedConnections: Int
            /// How many of the event loop group's loops the pooled connections
            /// are spread over. Default 1: one loop serves a Redis server (which
            /// runs commands on one thread) at well over a million pipelined
            /// commands a second, and a single loop gathers more replies per
            /// wake-up, leaving the other cores to the callers' tasks
            /// (docs/REDIS.md, "Why the client is built this way").
            /// Raise it when one loop's core is saturated (TLS, several servers'
            /// clients in one process sharing a loop).
            public var eventLoops: Int

            public init(size: Int = 4, leasedConnections: Int = 4, eventLoops: Int = 1) {
                self.size = size
                self.leasedConnections = leasedConnections
                self.eventLoops = eventLoops
            }
        }

        /// Stops hammering a server that is down: after ``failureThreshold``
        /// consecutive connection failures or timeouts the breaker opens and
        /// commands fail at once with ``RedisError/Code/circuitOpen``.
        ///
        /// While it is open, ``RedisClient/run()`` sends a `PING` every
        /// ``probeInterval`` (each wait drawn between half and all of it, so
        /// processes that lost the same server do not probe it in step); the
        /// first answer closes the breaker, so commands flow again within about
        /// ``probeInterval`` of the server answering, however long it was away.
        ///
        /// A client that nobody runs (no ``RedisClient/run()``) probes with a
        /// command instead: after ``coolDown`` one command is let through
        /// (half-open), and its success closes the breaker. Each failed probe
        /// doubles the cool-down, up to ``maximumCoolDown``.
        public struct CircuitBreaker: Sendable {
            /// Consecutive failures that open the breaker. Default 3.
            public var failureThreshold: Int
            /// Wait before the first probe by a command. Default 500 ms.
            public var coolDown: Duration
            /// Longest wait between probes by commands. Default 30 s.
            public var maximumCoolDown: Duration
            /// The longest wait between background `PING`s while the breaker is
            /// open (each wait is drawn between half and all of it); `nil` sends
            /// none, leaving recovery to probes by commands. Default 1 s: a
            /// `PING` a second costs the server nothing, and the cache comes back
            /// within a second of Redis.
            public var probeInterval: Duration?

            public init(failureThreshold: Int = 3, coolDown: Duration = .milliseconds(500), maximumCoolDown: Duration = .seconds(30), probeInterval: Duration? = .seconds(1)) {
                self.failureThreshold = failureThreshold
                self.coolDown = coolDown
                self.maximumCoolDown = maximumCoolDown
                self.probeInterval = probeInterval
            }
        }

        /// A configuration with every default; see each property.
        public init(
            host: String = "127.0.0.1",
            port: Int = 6379,
            username: String? = nil,
            password: String? = nil,
            database: Int = 0,
            tls: TLSConfiguration? = nil,
            protocolVersion: Int = 2,
            timeouts: Timeouts = Timeouts(),
            pool: Pool = Pool(),
            circuitBreaker: CircuitBreaker = CircuitBreaker()
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.tlsServerName = nil
            self.protocolVersion = protocolVersion
            self.timeouts = timeouts
            self.pool = pool
            self.circuitBreaker = circuitBreaker
        }

        /// Parses `redis://[[user]:password@]host[:port][/db]` or the TLS form
        /// `rediss://...`. User and password are percent-decoded; the port
        /// defaults to 6379 and the database to 0. IPv6 hosts go in brackets.
        ///
        /// - Throws: ``RedisError/Code/invalidURL`` naming the part that is wrong.
        public init(url: String) throws {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
                throw RedisError(.invalidURL, "'\(url)' is not a URL; write redis://[user:password@]host:port/db")
            }
            guard scheme == "redis" || scheme == "rediss" else {
                throw RedisError(.invalidURL, "'\(url)' has scheme '\(scheme)'; use redis:// or rediss:// (TLS)")
            }
            guard var host = components.host, !host.isEmpty else {
                throw RedisError(.invalidURL, "'\(url)' names no host; write redis://host:port")
            }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.init(host: host, port: components.port ?? 6379)
            guard (1...65535).contains(port) else {
                throw RedisError(.invalidURL, "'\(url)' has port \(port); ports are 1...65535")
            }
            let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding }
            username = user?.isEmpty == false ? user : nil
            password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
            let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            if !path.isEmpty {
                guard let db = Int(path), db >= 0 else {
                    throw RedisError(.invalidURL, "'\(url)' has database '\(path)'; the path is a database number such as /0")
                }
                database = db
            }
            if scheme == "rediss" { tls = .makeClientConfiguration() }
        }

        func validate() throws(RedisError) {
            guard pool.size >= 1, pool.leasedConnections >= 1, pool.eventLoops >= 1 else {
                throw RedisError(.invalidConfiguration, "pool.size is \(pool.size), pool.leasedConnections \(pool.leasedConnections) and pool.eventLoops \(pool.eventLoops); each must be at least 1")
            }
            guard protocolVersion == 2 || protocolVersion == 3 else {
                throw RedisError(.invalidConfiguration, "protocolVersion is \(protocolVersion); use 2 or 3")
            }
            guard timeouts.command > .zero, timeouts.connect > .zero, timeouts.acquire >= .zero else {
                throw RedisError(.invalidConfiguration, "timeouts must be positive (connect \(timeouts.connect), command \(timeouts.command))")
            }
            guard circuitBreaker.failureThreshold >= 1 else {
                throw RedisError(.invalidConfiguration, "circuitBreaker.failureThreshold is \(circuitBreaker.failureThreshold); it must be at least 1")
            }
            if let interval = circuitBreaker.probeInterval, interval <= .zero {
                throw RedisError(.invalidConfiguration, "circuitBreaker.probeInterval is \(interval); make it positive, or nil to send no background probes")
            }
        }

        /// `host:port`, for messages.
        var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(duration.nanosecondsClamped)
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        return scaled &+ attoseconds / 1_000_000_000
    }
}
