import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One connection to a Redis server, shared by any number of tasks.
///
/// Commands from concurrent callers are pipelined: they are queued, written in
/// one batch per event-loop turn with a single flush, and their replies are
/// matched in order. Thread-safe.
public final class RedisConnection: Sendable {
    let channel: any Channel
    private let allocator: ByteBufferAllocator
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let outbox = Mutex(Outbox())
    let inFlight: InFlightCounter
    let endpoint: String

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, inFlight: InFlightCounter, endpoint: String) {
        self.channel = channel
        self.allocator = channel.allocator
        self.handler = handler
        self.inFlight = inFlight
        self.endpoint = endpoint
    }

    /// Whether the connection is open.
    public var isActive: Bool { channel.isActive }

    /// Sends `command` and returns its reply.
    ///
    /// - Throws: ``RedisError`` with code ``RedisError/Code/server`` carrying the
    ///   server's message for an error reply; ``RedisError/Code/timeout`` or
    ///   ``RedisError/Code/connectionClosed`` when no reply came.
    public func send(_ command: RedisCommand) async throws(RedisError) -> RESPValue {
        let reply = await withUnsafeContinuation { (continuation: ReplyContinuation) in
            inFlight.increment(by: 1)
            submit(.single(continuation)) { $0.append(command.encoded, allocator: allocator) }
        }
        return try reply.get()
    }

    /// Sends every command in one write and returns the replies in order; an
    /// error reply is returned as ``RESPValue/error(_:)`` rather than thrown,
    /// so one refused command does not hide the others' replies.
    ///
    /// - Throws: ``RedisError`` when the connection fails or times out.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let replies = await withUnsafeContinuation { (continuation: RepliesContinuation) in
            inFlight.increment(by: commands.count)
            submit(.batch(continuation, count: commands.count)) { outbox in
                for command in commands { outbox.append(command.encoded, allocator: allocator) }
            }
        }
        return try replies.get()
    }

    /// Writes a command that gets no ordinary reply (SUBSCRIBE on a subscriber connection).
    func sendWithoutReply(_ command: RedisCommand) {
        submit(nil) { $0.append(command.encoded, allocator: allocator) }
    }

    /// Queues commands (`write` adds their bytes) and whoever waits for their replies.
    private func submit(_ responder: Responder?, _ write: (inout Outbox) -> Void) {
        let schedule = outbox.withLock { outbox in
            write(&outbox)
            if let responder { outbox.responders.append(responder) }
            if outbox.scheduled { return false }
            outbox.scheduled = true
            return true
        }
        // Commands submitted before the event loop gets to the queue travel in
        // the same write: concurrency becomes pipelining with one flush.
        if schedule {
            channel.eventLoop.execute { self.drain() }
        }
    }

    private func drain() {
        let queued = outbox.withLock { outbox in
            var queued = Outbox()
            swap(&queued, &outbox)
            return queued
        }
        handler.value.write(queued)
    }

    /// Closes the connection; pending commands fail with ``RedisError/Code/connectionClosed``.
    public func close() async {
        try? await channel.close()
    }

    // MARK: - Opening

    /// Opens a connection, negotiates TLS, and runs the handshake: `HELLO 3`
    /// (RESP3) or `AUTH`, then `SELECT`.
    static func connect(
        configuration: RedisClient.Configuration,
        sslContext: NIOSSLContext?,
        group: any EventLoopGroup,
        subscriber: Bool = false,
        onPush: (@Sendable (RESPValue) -> Void)? = nil,
        onClose: (@Sendable (RedisError) -> Void)? = nil
    ) async throws(RedisError) -> RedisConnection {
        let endpoint = configuration.endpoint
        let commandTimeout = TimeAmount(configuration.timeouts.command)
        let connectTimeout = TimeAmount(configuration.timeouts.connect)
        let serverName = configuration.tlsServerName ?? (configuration.host.isIPAddress ? nil : configuration.host)
        let inFlight = InFlightCounter()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(configuration.timeouts.connect))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    let handler = RedisChannelHandler(
                        commandTimeout: commandTimeout, handshakeTimeout: max(commandTimeout, connectTimeout), endpoint: endpoint, inFlight: inFlight
                    )
                    handler.isSubscriber = subscriber
                    handler.onPush = onPush
                    handler.onClose = onClose
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch let error as ChannelError where error == .connectTimeout(TimeAmount(configuration.timeouts.connect)) {
            throw RedisError(.connectionFailed, "could not connect to \(endpoint) within \(configuration.timeouts.connect); check the host and port, and that the network lets you reach it")
        } catch {
            throw RedisError(.connectionFailed, "could not connect to \(endpoint): \(error); is redis-server running there?")
        }
        let handler: NIOLoopBound<RedisChannelHandler>
        do {
            handler = try await channel.eventLoop.submit {
                NIOLoopBound(try channel.pipeline.syncOperations.handler(type: RedisChannelHandler.self), eventLoop: channel.eventLoop)
            }.get()
        } catch {
            try? await channel.close()
            throw RedisError(.connectionClosed, "the connection to \(endpoint) closed during setup")
        }
        let connection = RedisConnection(channel: channel, handler: handler, inFlight: inFlight, endpoint: endpoint)
        do {
            try await connection.handshake(configuration)
            try await channel.eventLoop.submit { handler.value.handshakeEnded() }.get()
        } catch let error as RedisError {
            await connection.close()
            throw error
        } catch {
            await connection.close()
            throw RedisError(.connectionClosed, "the connection to \(endpoint) closed during setup")
        }
        return connection
    }

    private func handshake(_ configuration: RedisClient.Configuration) async throws(RedisError) {
        var commands: [RedisCommand] = []
        if configuration.protocolVersion == 3 {
            var arguments: [any RESPArgument] = ["3"]
            if let password = configuration.password {
                arguments += ["AUTH", configuration.username ?? "default", password]
            }
            commands.append(RedisCommand("HELLO", arguments: arguments))
        } else if let password = configuration.password {
            if let username = configuration.username {
                commands.append(RedisCommand("AUTH", username, password))
            } else {
                commands.append(RedisCommand("AUTH", password))
            }
        }
        if configuration.database != 0 {
            commands.append(RedisCommand("SELECT", configuration.database))
        }
        guard !commands.isEmpty else { return }
        let replies = try await pipeline(commands)
        for (command, reply) in zip(commands, replies) {
            if case .error(let message) = reply {
                throw RedisError(.server, "\(message) (during \(command.name) on connect to \(endpoint); check the password, user and database in the configuration)")
            }
        }
    }
}

extension String {
    /// Whether the string is an IPv4 or IPv6 address literal (no SNI for those).
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
