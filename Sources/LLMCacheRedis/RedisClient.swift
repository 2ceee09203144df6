import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A Redis client on SwiftNIO: pooled, pipelined connections, timeouts, a
/// circuit breaker, AUTH/ACL, SELECT, TLS and pub/sub.
///
/// ```swift
/// let client = try RedisClient(configuration: .init(url: "redis://localhost:6379"))
/// _ = try await client.send("SET", "greeting", "hello")
/// let value = try await client.send("GET", "greeting").string   // "hello"
/// await client.shutdown()
/// ```
///
/// Every command ends within ``Configuration/Timeouts-swift.struct/command``:
/// with the reply, a server error (``RedisError/Code/server`` with the server's
/// message), or a connection error. After repeated connection failures the
/// circuit breaker fails commands at once; ``run()`` probes the server with a
/// `PING` about every second meanwhile, and commands resume by themselves
/// within about a second of the server answering again.
///
/// Thread-safe: share one client across the whole program. Conforms to
/// ServiceLifecycle's `Service`: `run()` waits for graceful shutdown, then
/// closes every connection; or call ``shutdown()`` yourself.
public final class RedisClient: Sendable, Service {
    /// The settings the client was made with.
    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let sslContext: NIOSSLContext?
    private let pool: RedisConnectionPool<RedisConnection>
    private let breaker: Mutex<CircuitBreakerState>
    /// True while the breaker is closed with no failures counted: the common
    /// case skips the breaker's lock and clock entirely.
    private let breakerClean = Atomic<Bool>(true)
    private let logger: Logger

    /// Creates a client; connections open lazily on first use.
    ///
    /// - Parameters:
    ///   - eventLoopGroup: where I/O runs; default the shared NIO singleton group.
    ///     Pooled connections use ``Configuration/Pool-swift.struct/eventLoops`` of its loops (default 1).
    ///   - logger: the breaker opening and closing are logged at `notice`, once
    ///     each per outage; failed probes at `debug`.
    /// - Throws: ``RedisError/Code/invalidConfiguration`` for out-of-range settings
    ///   or a TLS configuration NIOSSL rejects.
    public init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "llm-cache.redis")
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
        if let tls = configuration.tls {
            do {
                sslContext = try NIOSSLContext(configuration: tls)
            } catch {
                throw RedisError(.invalidConfiguration, "the TLS configuration was refused: \(error)")
            }
        } else {
            sslContext = nil
        }
        breaker = Mutex(CircuitBreakerState(
            threshold: configuration.circuitBreaker.failureThreshold,
            coolDown: configuration.circuitBreaker.coolDown,
            maximumCoolDown: configuration.circuitBreaker.maximumCoolDown
        ))
        let sslContext = self.sslContext
        // The pool's connections cycle over a fixed set of the group's loops
        // (`Pool.eventLoops`); pub/sub and dedicated connections use the whole group.
        let loops = PoolEventLoops(group: eventLoopGroup, count: configuration.pool.eventLoops)
        pool = RedisConnectionPool(
            size: configuration.pool.size,
            leasedLimit: configuration.pool.leasedConnections,
            acquireTimeout: configuration.timeouts.acquire
        ) { [configuration, logger] onClose throws(RedisError) in
            let box = ConnectionBox()
            let connection = try await RedisConnection.connect(
                configuration: configuration,
                sslContext: sslContext,
                group: loops.next(),
                onClose: { error in
                    logger.debug("redis connection closed", metadata: ["endpoint": "\(configuration.endpoint)", "reason": "\(error.message)"])
                    if let connection = box.connection { onClose(connection) }
                }
            )
            // One that closes before this line is not reported here; the pool
            // checks that a connection is still open when it adds it.
            box.connection = connection
            return connection
        }
    }

    /// Creates a client for a `redis://` or `rediss://` URL with default settings.
    public convenience init(url: String, logger: Logger = Logger(label: "llm-cache.redis")) throws {
        try self.init(configuration: Configuration(url: url), logger: logger)
    }

    // MARK: - Commands

    /// Sends one command on a shared connection and returns its reply.
    ///
    /// - Throws: ``RedisError``: ``RedisError/Code/server`` with the server's
    ///   message for an error reply; ``RedisError/Code/timeout``,
    ///   ``RedisError/Code/connectionFailed``, ``RedisError/Code/connectionClosed``
    ///   or ``RedisError/Code/circuitOpen`` when the server was not reached.
    @discardableResult
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        try await guarded { connection throws(RedisError) in try await connection.send(command) }
    }

    /// Sends `name` with `arguments`; see ``send(_:)-(RedisCommand)``.
    @discardableResult
    public func send(_ name: String, _ arguments: any RESPArgument...) async throws(RedisError) -> RESPValue {
        try await send(RedisCommand(name, arguments: arguments))
    }

    /// Sends every command in one write on one connection and returns the
    /// replies in order; error replies are returned as ``RESPValue/error(_:)``.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        try await guarded { connection throws(RedisError) in try await connection.pipeline(commands) }
    }

    /// Runs `body` with a connection no other caller uses until it returns: for
    /// MULTI/EXEC, WATCH or blocking commands.
    ///
    /// - Throws: ``RedisError/Code/poolTimeout`` when every leasable connection
    ///   stays leased for ``Configuration/Timeouts-swift.struct/acquire``; or what `body` throws.
    public func withConnection<Result: Sendable>(_ body: (RedisConnection) async throws -> Result) async throws -> Result {
        let connection = try await guarded { () throws(RedisError) in try await pool.lease() }
        defer { pool.release(connection) }
        return try await body(connection)
    }

    /// Opens a connection of the caller's own, outside the pool, for commands
    /// that block (`XREAD BLOCK`, `BLPOP`): a blocked shared connection would
    /// hold up every command pipelined behind it, and a leased one would count
    /// against ``Configuration/Pool-swift.struct/leasedConnections`` for as long
    /// as it is kept. The caller closes it with ``RedisConnection/close()``;
    /// ``shutdown()`` does not.
    ///
    /// - Parameter commandTimeout: how long a reply may take on this connection;
    ///   default ``Configuration/Timeouts-swift.struct/command``. A blocking
    ///   command needs its blocking time plus a margin.
    /// - Throws: ``RedisError`` when the server cannot be reached, as ``send(_:)-(RedisCommand)`` does.
    public func dedicatedConnection(commandTimeout: Duration? = nil) async throws(RedisError) -> RedisConnection {
        var configuration = self.configuration
        if let commandTimeout {
            guard commandTimeout > .zero else {
                throw RedisError(.invalidConfiguration, "a dedicated connection's command timeout must be positive, got \(commandTimeout)")
            }
            configuration.timeouts.command = commandTimeout
        }
        let sslContext = self.sslContext
        let group = self.group
        return try await guarded { () throws(RedisError) in
            try await RedisConnection.connect(configuration: configuration, sslContext: sslContext, group: group)
        }
    }

    private func guarded<Result>(_ body: (RedisConnection) async throws(RedisError) -> Result) async throws(RedisError) -> Result {
        try await guarded { () throws(RedisError) -> Result in
            try await body(try await pool.shared())
        }
    }

    /// Runs `body` if the circuit breaker allows, and tells the breaker how it went.
    private func guarded<Result>(_ body: () async throws(RedisError) -> Result) async throws(RedisError) -> Result {
        let admission: CircuitBreakerState.Admission
        if breakerClean.load(ordering: .relaxed) {
            admission = .allow
        } else {
            admission = breaker.withLock { $0.admit(now: .now) }
        }
        if case .reject(let retryIn) = admission {
            let retry = configuration.circuitBreaker.probeInterval == nil ? "not trying again for \(retryIn)" : "probing it in the background"
            throw RedisError(.circuitOpen, "Redis at \(configuration.endpoint) failed \(configuration.circuitBreaker.failureThreshold) times in a row; \(retry) (the cache falls back to misses meanwhile)")
        }
        do {
            let result = try await body()
            if !breakerClean.load(ordering: .relaxed) { recordSuccess() }
            return result
        } catch {
            record(error, probe: admission == .probe)
            throw error
        }
    }

    /// Tells the breaker what a failed command or probe says about the server.
    private func record(_ error: RedisError, probe: Bool) {
        if error.isConnectivityFailure {
            let transition = breaker.withLock { state in
                breakerClean.store(false, ordering: .relaxed)
                return state.failed(now: .now)
            }
            log(transition, error: error)
        } else if error.code == .server {
            // The server answered: it is reachable, whatever it thought of the command.
            if !breakerClean.load(ordering: .relaxed) { recordSuccess() }
        } else if probe {
            breaker.withLock { $0.probeAbandoned(now: .now) }
        }
    }

    private func recordSuccess() {
        let transition = breaker.withLock { state in
            defer { breakerClean.store(true, ordering: .relaxed) }
            return state.succeeded(now: .now)
        }
        log(transition, error: nil)
    }

    /// One line when the breaker opens and one when it closes, at `notice`:
    /// a cache over this client reports the outage to its operator itself
    /// (``LLMCache``'s store health), and failed probes in between are only
    /// `debug`, so an outage costs two lines however long it lasts.
    private func log(_ transition: CircuitBreakerState.Transition, error: RedisError?) {
        switch transition {
        case .none:
            break
        case .opened:
            logger.notice("redis unreachable; circuit breaker open", metadata: ["endpoint": "\(configuration.endpoint)", "error": "\(error?.message ?? "")"])
        case .stillOpen:
            logger.debug("redis still unreachable", metadata: ["endpoint": "\(configuration.endpoint)", "error": "\(error?.message ?? "")"])
        case .closed(let outage):
            logger.notice("redis reachable again; circuit breaker closed", metadata: ["endpoint": "\(configuration.endpoint)", "outage_seconds": "\((outage.seconds * 1000).rounded() / 1000)"])
        }
    }

    /// Whether the server answered the latest command or probe: `false` from a
    /// connection failure or time-out (so also while the circuit breaker is
    /// open) until the server answers again. Thread-safe; one atomic load.
    ///
    /// Stricter than "the breaker is closed" on purpose: a store that serves
    /// some reads from memory (``TieredStore``) reports it as its backend's
    /// state, and a hung server takes a few time-outs to open the breaker;
    /// memory hits in between must not look like the server coming back.
    public var isReachable: Bool { breakerClean.load(ordering: .relaxed) }

    /// Sends a `PING` while the breaker is open, every ``Configuration/CircuitBreaker-swift.struct/probeInterval``
    /// (jittered), until cancelled. A look at a closed breaker is one atomic
    /// load, so a healthy client pays nothing but the timer.
    func probeWhileOpen(interval: Duration) async {
        var generator = SystemRandomNumberGenerator()
        while true {
            let delay = CircuitBreakerState.probeDelay(interval: interval, unit: Double.random(in: 0..<1, using: &generator))
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            if !breakerClean.load(ordering: .relaxed) { await probe() }
        }
    }

    /// One background probe, if the breaker is open and no probe is in flight.
    func probe() async {
        guard breaker.withLock({ $0.beginBackgroundProbe() }) else { return }
        do throws(RedisError) {
            _ = try await pool.shared().send(RedisCommand("PING"))
            recordSuccess()
        } catch {
            record(error, probe: true)
        }
    }

    // MARK: - Pub/sub

    /// Subscribes to `channels` on a dedicated connection and returns the
    /// messages as an async sequence; returns once the server has confirmed
    /// every subscription, so messages published after it returns are delivered.
    ///
    /// The sequence ends with an error when the connection drops; subscribe
    /// again to resume (messages published meanwhile are lost, as in Redis itself).
    public func subscribe(to channels: [String]) async throws(RedisError) -> RedisSubscription {
        try await subscription("SUBSCRIBE", channels)
    }

    /// Subscribes to the glob `patterns` (PSUBSCRIBE); see ``subscribe(to:)``.
    public func subscribe(toPatterns patterns: [String]) async throws(RedisError) -> RedisSubscription {
        try await subscription("PSUBSCRIBE", patterns)
    }

    private func subscription(_ command: String, _ names: [String]) async throws(RedisError) -> RedisSubscription {
        guard !names.isEmpty else {
            throw RedisError(.invalidConfiguration, "\(command) needs at least one channel or pattern")
        }
        let configuration = self.configuration
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: RedisPubSubMessage.self, bufferingPolicy: .bufferingNewest(65_536))
        let eventLoop = group.next()
        let confirmed = eventLoop.makePromise(of: Void.self)
        let expected = names.count
        let confirmations = Atomic<Int>(0)
        let connection: RedisConnection
        do {
            connection = try await guarded { () throws(RedisError) in
                try await RedisConnection.connect(
                    configuration: configuration,
                    sslContext: sslContext,
                    group: group,
                    subscriber: true,
                    onPush: { value in
                        guard let parts = value.elements, let kind = parts.first?.string?.lowercased() else { return }
                        switch kind {
                        case "message" where parts.count == 3:
                            continuation.yield(RedisPubSubMessage(channel: parts[1].string ?? "", pattern: nil, payload: parts[2].bytes ?? ByteBuffer()))
                        case "pmessage" where parts.count == 4:
                            continuation.yield(RedisPubSubMessage(channel: parts[2].string ?? "", pattern: parts[1].string, payload: parts[3].bytes ?? ByteBuffer()))
                        case "subscribe", "psubscribe":
                            if confirmations.add(1, ordering: .relaxed).newValue == expected { confirmed.succeed() }
                        default:
                            break
                        }
                    },
                    onClose: { error in
                        confirmed.fail(error)
                        continuation.finish(throwing: error)
                    }
                )
            }
        } catch {
            // NIO traps on a promise dropped unfulfilled, and a refused
            // connection (or an open breaker) never reaches onClose.
            confirmed.fail(error)
            continuation.finish(throwing: error)
            throw error
        }
        connection.sendWithoutReply(RedisCommand(command, arguments: names))
        let timeout = eventLoop.scheduleTask(in: TimeAmount(configuration.timeouts.command)) {
            confirmed.fail(RedisError(.timeout, "\(configuration.endpoint) did not confirm \(command) within \(configuration.timeouts.command)"))
        }
        do {
            try await confirmed.futureResult.get()
            timeout.cancel()
        } catch {
            await connection.close()
            throw error as? RedisError ?? RedisError(.connectionClosed, "\(error)")
        }
        continuation.onTermination = { _ in
            Task { await connection.close() }
        }
        return RedisSubscription(stream: stream, continuation: continuation, connection: connection)
    }

    // MARK: - Lifecycle

    /// Runs until graceful shutdown is triggered (or the task is cancelled),
    /// then closes every connection (ServiceLifecycle's `Service`). While it
    /// runs, an open circuit breaker is probed in the background (see
    /// ``Configuration/CircuitBreaker-swift.struct``).
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            // A child of this task rather than a task of its own, so it
            // cannot outlive the client.
            if let interval = configuration.circuitBreaker.probeInterval {
                group.addTask { await self.probeWhileOpen(interval: interval) }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await shutdown()
    }

    /// Closes every connection; commands after this throw ``RedisError/Code/shutdown``.
    /// Subscriptions are separate and end when their own sequence is dropped or closed.
    public func shutdown() async {
        await pool.shutdown()
    }
}

/// The event loops the pool's connections are opened on, in turn.
private final class PoolEventLoops: Sendable {
    private let loops: [any EventLoop]
    private let counter = Atomic<Int>(0)

    init(group: any EventLoopGroup, count: Int) {
        // `next()` hands out a group's loops in turn, so `count` calls name
        // `count` different loops (fewer when the group has fewer).
        var loops: [any EventLoop] = []
        for _ in 0..<count {
            let loop = group.next()
            if loops.contains(where: { $0 === loop }) { break }
            loops.append(loop)
        }
        self.loops = loops
    }

    func next() -> any EventLoop {
        loops[counter.add(1, ordering: .relaxed).oldValue % loops.count]
    }
}

/// Lets the close callback, made before the connection exists, name it.
private final class ConnectionBox: Sendable {
    private let value = Mutex<RedisConnection?>(nil)
    var connection: RedisConnection? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
