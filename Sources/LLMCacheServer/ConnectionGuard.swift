import HTTPTypes
import Hummingbird
import HummingbirdCore
import LLMCache
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

extension ProxyServer.Configuration {
    /// How the proxy treats its client connections, so that slow, idle or
    /// surplus clients cannot take the server from the others.
    ///
    /// Each time-out is an event-loop timer of the connection's own (see
    /// docs/PROXY.md, "Slow and idle clients"); what a time-out does is stated
    /// on it.
    public struct Connections: Sendable {
        /// How long a client has to send a complete request head: from when
        /// the connection opens, and on a kept-alive connection from the first
        /// byte of each further request. A connection past it is closed, with a
        /// 408 if part of a head had arrived. Default 10 seconds.
        public var headerTimeout: Duration
        /// How long a request body may take to arrive, counted from its head.
        /// Past it the client gets a 408 and the connection is closed. The time
        /// the proxy itself stops reading (while it is behind) does not count.
        /// Default 60 seconds, for bodies of megabytes on slow links.
        public var bodyTimeout: Duration
        /// How long a kept-alive connection may wait, with no request in
        /// flight, for the first byte of its next request before it is closed.
        /// A response being written, such as a long stream, is not idle time.
        /// Default 60 seconds.
        public var idleTimeout: Duration
        /// Client connections open at once at most; a connection beyond it is
        /// closed as soon as it is accepted, while the open ones are served.
        /// The process must be allowed as many open files (`llm-cache serve`
        /// raises its soft limit to the hard one). Default 10,000.
        public var maximumConnections: Int

        public init(
            headerTimeout: Duration = .seconds(10),
            bodyTimeout: Duration = .seconds(60),
            idleTimeout: Duration = .seconds(60),
            maximumConnections: Int = 10_000
        ) {
            self.headerTimeout = headerTimeout
            self.bodyTimeout = bodyTimeout
            self.idleTimeout = idleTimeout
            self.maximumConnections = maximumConnections
        }
    }
}

/// Enforces ``ProxyServer/Configuration/Connections`` on one client connection,
/// and answers `Expect: 100-continue`.
///
/// Sits in Hummingbird's HTTP/1.1 pipeline after the HTTP codec: it sees
/// request and response parts, and a read that delivered no part (bytes of a
/// head still incomplete) as a `channelReadComplete` alone. One
/// event-loop timer at a time enforces whichever time-out applies; it is moved
/// lazily (a timer set to fire no later than the current deadline is left to
/// fire and re-arm itself), so a keep-alive request usually schedules nothing.
/// Every timer is cancelled when the channel closes, and one that fires after
/// that does nothing.
///
/// Not thread-safe: like every channel handler, used on its channel's event loop only.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let shared: Shared
    private var state: StateMachine
    private var timer: (task: Scheduled<Void>, deadline: NIODeadline)?
    /// Whether this connection holds one of ``Shared``'s slots.
    private var admitted = false
    private var started = false
    /// Whether the reads since the last `channelReadComplete` made any part.
    private var partsRead = false

    init(shared: Shared) {
        self.shared = shared
        self.state = StateMachine(timeouts: shared.timeouts)
    }

    /// Hummingbird's HTTP/1.1 server with a guard on every connection.
    static func server(_ connections: ProxyServer.Configuration.Connections, maximumRequestBytes: Int, logger: Logger) -> HTTPServerBuilder {
        let shared = Shared(connections: connections, maximumRequestBytes: maximumRequestBytes, logger: logger)
        return .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(shared: shared)]))
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard shared.admit() else {
            state.closing()
            context.close(promise: nil)
            return
        }
        admitted = true
        state.connected(now: .now())
        arm(context: context)
    }

    private func finish() {
        state.closing()
        timer?.task.cancel()
        timer = nil
        if admitted {
            admitted = false
            shared.release()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.isClosed else { return }
        partsRead = true
        switch unwrapInboundIn(data) {
        case .head(var head):
            if state.isFirstInLine, let expectation = head.headerFields[.expect], expectation.lowercased() == "100-continue" {
                if let limit = shared.bodyLimit(head), let length = head.headerFields[.contentLength].flatMap(Int.init), length > limit {
                    refuseTooLarge(context: context, limit: limit)
                    return
                }
                // Answered here, so the route never sees an expectation still open.
                head.headerFields[.expect] = nil
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            state.headRead(now: .now())
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body:
            context.fireChannelRead(data)
        case .end:
            state.endRead(now: .now())
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Bytes were read but made no part: they began a head. (Bytes left
        // over after a part are not seen; until more come, the idle time-out
        // applies to them.)
        if !partsRead, state.isWaitingForFirstByte { state.bytesRead(now: .now()) }
        partsRead = false
        // Deadlines changed by the reads just delivered take effect here, once
        // per batch: a request whose head and end came together never arms its
        // body timer.
        state.readsPaused()
        arm(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Once the input closes, the decoder may deliver its last parts
        // without a channelReadComplete.
        arm(context: context)
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if state.readsResumed(now: .now()) { arm(context: context) }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if response.status.kind != .informational || response.status.code == 101 { state.responseStarted() }
        case .body:
            break
        case .end:
            state.responseEnded(now: .now())
            arm(context: context)
        }
        context.write(data, promise: promise)
    }

    // MARK: Timers

    /// Makes sure a timer fires no later than the current deadline.
    private func arm(context: ChannelHandlerContext) {
        guard let deadline = state.deadline?.at else { return }
        if let timer, timer.deadline <= deadline { return }
        timer?.task.cancel()
        let task = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            fire(context: context)
        }
        timer = (task, deadline)
    }

    private func fire(context: ChannelHandlerContext) {
        switch state.timerFired(now: .now()) {
        case .none:
            break
        case .rearm:
            arm(context: context)
        case .close(let reason, let answer):
            shared.logger.trace("closing a client connection", metadata: ["reason": "\(reason)"])
            if answer {
                let head = HTTPResponse(status: .requestTimeout, headerFields: [.connection: "close", .contentLength: "0"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            context.close(promise: nil)
        }
    }

    /// An `Expect: 100-continue` request announcing a body over the limit:
    /// answered before the body is sent, and not passed on.
    private func refuseTooLarge(context: ChannelHandlerContext, limit: Int) {
        state.closing()
        let message = "the request body is larger than the proxy's limit of \(limit) bytes; send a smaller request, or start the proxy with a larger --max-body-bytes"
        let body: JSONValue = .object([
            "error": .object(["message": .string(message), "type": .string("invalid_request_error"), "param": .null, "code": .null])
        ])
        let bytes = ByteBuffer(bytes: body.jsonBytes)
        let head = HTTPResponse(status: .contentTooLarge, headerFields: [.connection: "close", .contentType: "application/json", .contentLength: "\(bytes.readableBytes)"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(bytes)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}

extension ConnectionGuard {
    /// What every connection of one server shares: the settings and the count
    /// of open connections. Thread-safe.
    final class Shared: Sendable {
        let timeouts: StateMachine.Timeouts
        let maximumConnections: Int
        let maximumRequestBytes: Int
        let logger: Logger
        private let open = Atomic<Int>(0)
        private let refusals = Mutex<(lastLogged: NIODeadline?, unlogged: Int)>((nil, 0))
        /// At most one warning about refused connections per this interval.
        static let refusalLogInterval = TimeAmount.seconds(10)

        init(connections: ProxyServer.Configuration.Connections, maximumRequestBytes: Int, logger: Logger) {
            self.timeouts = .init(header: TimeAmount(connections.headerTimeout), body: TimeAmount(connections.bodyTimeout), idle: TimeAmount(connections.idleTimeout))
            self.maximumConnections = connections.maximumConnections
            self.maximumRequestBytes = maximumRequestBytes
            self.logger = logger
        }

        /// The paths whose bodies are held to ``ProxyServer/Configuration/maximumRequestBytes``.
        private let limitedPaths = Set(ProxyMetrics.Route.allCases.map(\.proxyPath))

        /// The body limit a request is held to before it is read, when the
        /// server knows it for the route: the cached routes read at most
        /// ``ProxyServer/Configuration/maximumRequestBytes``; the others (the
        /// admin API, routes passed through) decide for themselves.
        func bodyLimit(_ request: HTTPRequest) -> Int? {
            guard request.method == .post, let target = request.path else { return nil }
            let path = target.firstIndex(of: "?").map { target[..<$0] } ?? target[...]
            return limitedPaths.contains(String(path)) ? maximumRequestBytes : nil
        }

        /// Takes a slot for a new connection, or says there is none (and logs
        /// that, at most once per ``refusalLogInterval``).
        func admit() -> Bool {
            if open.wrappingAdd(1, ordering: .relaxed).newValue <= maximumConnections { return true }
            open.wrappingSubtract(1, ordering: .relaxed)
            let now = NIODeadline.now()
            let refused = refusals.withLock { state -> Int? in
                state.unlogged += 1
                if let last = state.lastLogged, now - last < Self.refusalLogInterval { return nil }
                defer { state = (now, 0) }
                return state.unlogged
            }
            if let refused {
                logger.warning(
                    "connection limit reached: closing new connections until some of the open ones end",
                    metadata: ["limit": "\(maximumConnections)", "refused": "\(refused)"]
                )
            }
            return false
        }

        func release() {
            open.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}
