import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Matches replies to commands on one channel, and times out the oldest
/// command still waiting.
///
/// Lives on the channel's event loop; every method runs there.
final class RedisChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = RESPValue

    /// Collects the replies of one pipeline, so its caller resumes once for
    /// the whole batch rather than once per command.
    private final class Batch {
        var replies: [RESPValue] = []
        let promise: EventLoopPromise<[RESPValue]>
        var failed = false
        init(count: Int, promise: EventLoopPromise<[RESPValue]>) {
            self.promise = promise
            replies.reserveCapacity(count)
        }
    }

    private enum Responder {
        case single(EventLoopPromise<RESPValue>)
        case batch(Batch, last: Bool)
    }

    private struct Pending {
        let responder: Responder
        let deadline: NIODeadline
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 64)
    private var context: ChannelHandlerContext?
    private var failure: RedisError?
    private var timer: RepeatedTask?
    private let commandTimeout: TimeAmount
    /// The limit for commands sent now: the connect timeout while the
    /// handshake runs (``Configuration/Timeouts-swift.struct/connect`` covers
    /// it), the command timeout after ``handshakeEnded()``.
    private var timeout: TimeAmount
    private let endpoint: String
    private let inFlight: InFlightCounter
    /// Receives pub/sub deliveries and subscription confirmations.
    var onPush: ((RESPValue) -> Void)?
    /// After SUBSCRIBE on RESP2, deliveries arrive as ordinary arrays.
    var isSubscriber = false
    /// Told once, when the connection ends, why it ended.
    var onClose: ((RedisError) -> Void)?

    init(commandTimeout: TimeAmount, handshakeTimeout: TimeAmount, endpoint: String, inFlight: InFlightCounter) {
        self.commandTimeout = commandTimeout
        self.timeout = handshakeTimeout
        self.endpoint = endpoint
        self.inFlight = inFlight
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Replies come back in order, so only the oldest pending command can be
        // the first to time out: one periodic check per connection is enough,
        // rather than a timer per command on the hot path.
        let tick = TimeAmount.nanoseconds(max(5_000_000, min(commandTimeout.nanoseconds / 8, 100_000_000)))
        // The timer's reference to the handler is dropped when `fail` cancels it.
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            bound.value.checkDeadline()
        }
    }

    /// From now on commands get the command timeout.
    func handshakeEnded() {
        timeout = commandTimeout
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(RedisError(.connectionClosed, "the connection to \(endpoint) closed before the reply arrived"))
        self.context = nil
    }

    /// Writes `requests` and flushes once; a single request without a promise
    /// expects no reply (SUBSCRIBE, whose confirmations arrive as pushes).
    func enqueue(_ requests: [OutboundRequest]) {
        guard let context, failure == nil else {
            let error = failure ?? RedisError(.connectionClosed, "the connection to \(endpoint) is closed")
            for request in requests {
                switch request {
                case .single(_, let promise): promise?.fail(error)
                case .batch(_, let promise): promise.fail(error)
                }
            }
            return
        }
        let deadline = NIODeadline.now() + timeout
        for request in requests {
            switch request {
            case .single(let bytes, let promise):
                if let promise { pending.append(Pending(responder: .single(promise), deadline: deadline)) }
                context.write(NIOAny(bytes), promise: nil)
            case .batch(let commands, let promise):
                let batch = Batch(count: commands.count, promise: promise)
                for (index, bytes) in commands.enumerated() {
                    pending.append(Pending(responder: .batch(batch, last: index == commands.count - 1), deadline: deadline))
                    context.write(NIOAny(bytes), promise: nil)
                }
            }
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        if case .push = value {
            onPush?(value)
            return
        }
        if isSubscriber, case .array(let parts) = value, let kind = parts.first?.string?.lowercased(),
           ["message", "pmessage", "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "pong"].contains(kind) {
            onPush?(value)
            return
        }
        guard let head = pending.popFirst() else {
            if isSubscriber { return }
            fail(RedisError(.protocolViolation, "\(endpoint) sent a reply no command was waiting for: \(value)"))
            context.close(promise: nil)
            return
        }
        inFlight.decrement()
        switch head.responder {
        case .single(let promise):
            if case .error(let message) = value {
                promise.fail(RedisError(serverReply: message))
            } else {
                promise.succeed(value)
            }
        case .batch(let batch, let last):
            batch.replies.append(value)
            if last && !batch.failed { batch.promise.succeed(batch.replies) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(RedisError(.connectionClosed, "the connection to \(endpoint) closed before the reply arrived"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let redisError = error as? RedisError
            ?? RedisError(.connectionClosed, "the connection to \(endpoint) failed: \(error)")
        fail(redisError)
        context.close(promise: nil)
    }

    private func checkDeadline() {
        guard let head = pending.first, head.deadline < .now() else { return }
        let timeout = RedisError(.timeout, "\(endpoint) did not answer within \(commandTimeout.nanoseconds / 1_000_000) ms; the connection is closed and a new one will be opened")
        fail(timeout)
        context?.close(promise: nil)
    }

    /// Fails every pending command with `error` and remembers it, so later
    /// writes fail at once instead of waiting for replies that cannot come.
    private func fail(_ error: RedisError) {
        timer?.cancel()
        timer = nil
        let first = failure == nil
        if first { failure = error }
        while let head = pending.popFirst() {
            inFlight.decrement()
            switch head.responder {
            case .single(let promise):
                promise.fail(error)
            case .batch(let batch, _):
                if !batch.failed {
                    batch.failed = true
                    batch.promise.fail(error)
                }
            }
        }
        if first {
            let onClose = self.onClose
            self.onClose = nil
            onClose?(error)
        }
    }
}

/// What a connection hands its event loop to write.
enum OutboundRequest: Sendable {
    /// One command; its reply completes the promise (none for SUBSCRIBE).
    case single(ByteBuffer, EventLoopPromise<RESPValue>?)
    /// A pipeline; the promise gets every reply, in order, at once.
    case batch([ByteBuffer], EventLoopPromise<[RESPValue]>)
}

/// Commands written but not answered on one connection: the pool sends new
/// commands to the least loaded connection.
final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment() { count.add(1, ordering: .relaxed) }
    func decrement() { count.subtract(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

/// One connection to a Redis server, shared by any number of tasks.
///
/// Commands from concurrent callers are pipelined: they are queued, written in
/// one batch per event-loop turn with a single flush, and their replies are
/// matched in order. Thread-safe.
public final class RedisConnection: Sendable {
    private struct Outbox {
        var requests: [OutboundRequest] = []
        var scheduled = false
    }

    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let outbox = Mutex(Outbox())
    let inFlight: InFlightCounter
    let endpoint: String

    private init(channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>, inFlight: InFlightCounter, endpoint: String) {
        self.channel = channel
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
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        inFlight.increment()
        submit(.single(command.encoded, promise))
        return try await Self.reply(promise.futureResult, endpoint: endpoint)
    }

    /// Sends every command in one write and returns the replies in order; an
    /// error reply is returned as ``RESPValue/error(_:)`` rather than thrown,
    /// so one refused command does not hide the others' replies.
    ///
    /// - Throws: ``RedisError`` when the connection fails or times out.
    public func pipeline(_ commands: [RedisCommand]) async throws(RedisError) -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let promise = channel.eventLoop.makePromise(of: [RESPValue].self)
        for _ in commands { inFlight.increment() }
        submit(.batch(commands.map(\.encoded), promise))
        return try await Self.reply(promise.futureResult, endpoint: endpoint)
    }

    /// Writes a command that gets no ordinary reply (SUBSCRIBE on a subscriber connection).
    func sendWithoutReply(_ command: RedisCommand) {
        submit(.single(command.encoded, nil))
    }

    private func submit(_ request: OutboundRequest) {
        let schedule = outbox.withLock { outbox in
            outbox.requests.append(request)
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
        let requests = outbox.withLock { outbox in
            let requests = outbox.requests
            outbox.requests = []
            outbox.scheduled = false
            return requests
        }
        handler.value.enqueue(requests)
    }

    private static func reply<Value: Sendable>(_ future: EventLoopFuture<Value>, endpoint: String) async throws(RedisError) -> Value {
        do {
            return try await future.get()
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError(.connectionClosed, "the connection to \(endpoint) failed: \(error)")
        }
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
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
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
