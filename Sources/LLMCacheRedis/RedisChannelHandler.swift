import NIOCore
import Synchronization

/// A caller waiting for the reply to one command.
typealias ReplyContinuation = UnsafeContinuation<Result<RESPValue, RedisError>, Never>
/// A caller waiting for the replies to a pipeline, all at once.
typealias RepliesContinuation = UnsafeContinuation<Result<[RESPValue], RedisError>, Never>

/// Who waits for the replies to commands written together.
///
/// Continuations rather than promises: a promise costs a future, its callback
/// list and a second continuation in `get()` per command, and resuming one is
/// the whole cost of a reply here. The unsafe kind is sound because every path
/// that takes a responder resumes it exactly once: its reply, ``RedisChannelHandler``'s
/// `fail` (close, timeout, protocol violation), or a write refused because the
/// connection is already closed.
enum Responder: Sendable {
    case single(ReplyContinuation)
    /// `count` replies, handed over together when the last one arrives.
    case batch(RepliesContinuation, count: Int)

    /// How many replies the responder waits for.
    var count: Int {
        switch self {
        case .single: return 1
        case .batch(_, let count): return count
        }
    }

    func fail(_ error: RedisError) {
        switch self {
        case .single(let continuation): continuation.resume(returning: .failure(error))
        case .batch(let continuation, _): continuation.resume(returning: .failure(error))
        }
    }
}

/// Commands queued for one connection and not yet handed to its event loop.
struct Outbox {
    /// Encoded commands back to back, written with one write: a pipeline of
    /// sixteen GETs is one small copy, not sixteen buffers for the channel to
    /// track and hand to `writev`.
    var bytes = ByteBuffer()
    /// Writes that go before ``bytes``: a command too large to copy, and what
    /// was queued before it. Empty unless such a command came.
    var earlier: [ByteBuffer] = []
    /// One per command or pipeline expecting replies, in the order written.
    var responders: [Responder] = []
    /// Whether a task to hand the outbox to the event loop is already queued.
    var scheduled = false

    /// Commands at least this long are written as they are rather than
    /// copied, so a large SET value is not copied twice.
    static let copyLimit = 16 * 1024

    mutating func append(_ encoded: ByteBuffer, allocator: ByteBufferAllocator) {
        if encoded.readableBytes >= Self.copyLimit {
            if bytes.readableBytes > 0 {
                earlier.append(bytes)
                bytes = ByteBuffer()
            }
            earlier.append(encoded)
            return
        }
        if bytes.capacity == 0 {
            // One allocation per event-loop turn rather than a doubling series.
            bytes = allocator.buffer(capacity: max(2048, encoded.readableBytes))
        }
        bytes.writeImmutableBuffer(encoded)
    }
}

/// The reading side of a connection: the parser, the commands waiting for
/// replies, and the start of a reply split across reads.
///
/// A struct the handler holds, so that one read is one exclusive access to
/// the handler's property: a class's mutable properties are checked for
/// exclusive access at run time, and with the parser, the queue and the
/// pipeline's replies as the handler's own properties, they were checked
/// several times per reply (the profile is in docs/benchmarks/log.md,
/// 2026-11-27 08:39–08:43Z).
struct ReplyReader {
    struct Pending {
        let responder: Responder
        let deadline: NIODeadline
    }

    private(set) var pending = CircularBuffer<Pending>(initialCapacity: 64)
    /// The replies so far of the pipeline at the head of ``pending``: replies
    /// arrive in order, so only one pipeline collects at a time.
    private var collected: [RESPValue] = []
    /// Bytes read and not parsed yet: the start of a reply split across reads.
    private var unparsed = ByteBuffer()
    /// Whether ``unparsed`` is a buffer of the reader's own, which bytes can
    /// be appended to in place, rather than the tail of a read buffer shared
    /// with the replies sliced from it.
    private var ownsUnparsed = false
    private var parser = RESPParser()

    /// Who, besides the callers, replies go to.
    struct Receivers {
        let inFlight: InFlightCounter
        /// After SUBSCRIBE on RESP2, deliveries arrive as ordinary arrays.
        let isSubscriber: Bool
        let onPush: ((RESPValue) -> Void)?
    }

    mutating func expect(_ responders: [Responder], deadline: NIODeadline) {
        for responder in responders {
            pending.append(Pending(responder: responder, deadline: deadline))
        }
    }

    /// Parses `incoming` and resumes every caller whose replies are complete.
    ///
    /// - Returns: a reply no command was waiting for, after which nothing
    ///   more is parsed; the connection is then beyond repair.
    mutating func read(_ incoming: inout ByteBuffer, allocator: ByteBufferAllocator, to receivers: Receivers) throws(RedisError) -> RESPValue? {
        if unparsed.readableBytes > 0 {
            if let stray = try finishSplitReply(from: &incoming, allocator: allocator, to: receivers) { return stray }
            guard unparsed.readableBytes == 0 else { return nil }
        }
        // Replies are parsed where they were read: a bulk string is a slice
        // of the read buffer, not a copy.
        if let stray = try parse(&incoming, to: receivers) { return stray }
        if incoming.readableBytes > 0 {
            unparsed = incoming
            ownsUnparsed = false
        }
        return nil
    }

    /// Completes the reply that the previous read ended inside of, moving over
    /// from `incoming` only the bytes it lacks, and parses it.
    ///
    /// Appending the whole new read to the leftover instead would copy every
    /// byte read (a read ends inside a reply almost every time when values are
    /// large), into a buffer allocated afresh, since the replies already handed
    /// out still share the old one.
    private mutating func finishSplitReply(from incoming: inout ByteBuffer, allocator: ByteBufferAllocator, to receivers: Receivers) throws(RedisError) -> RESPValue? {
        var buffer = unparsed
        unparsed = ByteBuffer()
        if !ownsUnparsed {
            var owned = allocator.buffer(capacity: buffer.readableBytes + (RESPParser.missingBytes(in: buffer) ?? 256))
            owned.writeBuffer(&buffer)
            buffer = owned
            ownsUnparsed = true
        }
        while buffer.readableBytes > 0, incoming.readableBytes > 0 {
            let take: Int
            if let missing = RESPParser.missingBytes(in: buffer) {
                take = min(max(missing, 1), incoming.readableBytes)
                buffer.reserveCapacity(minimumWritableBytes: take)
            } else {
                // A line (or a bulk string's length line) not ended yet: through the next LF.
                let lineFeed = incoming.readableBytesView.firstIndex(of: UInt8(ascii: "\n"))
                take = lineFeed.map { $0 - incoming.readerIndex + 1 } ?? incoming.readableBytes
            }
            var bytes = incoming.readSlice(length: take)!
            buffer.writeBuffer(&bytes)
            if let stray = try parse(&buffer, to: receivers) { return stray }
        }
        if buffer.readableBytes > 0 {
            unparsed = buffer
        } else {
            ownsUnparsed = false
        }
        return nil
    }

    private mutating func parse(_ buffer: inout ByteBuffer, to receivers: Receivers) throws(RedisError) -> RESPValue? {
        while let value = try parser.next(&buffer) {
            if let stray = deliver(value, to: receivers) { return stray }
        }
        return nil
    }

    private mutating func deliver(_ value: RESPValue, to receivers: Receivers) -> RESPValue? {
        if case .push = value {
            receivers.onPush?(value)
            return nil
        }
        if receivers.isSubscriber, case .array(let parts) = value, let kind = parts.first?.string?.lowercased(),
           ["message", "pmessage", "subscribe", "psubscribe", "unsubscribe", "punsubscribe", "pong"].contains(kind) {
            receivers.onPush?(value)
            return nil
        }
        guard let head = pending.first else {
            return receivers.isSubscriber ? nil : value
        }
        switch head.responder {
        case .single(let continuation):
            pending.removeFirst()
            receivers.inFlight.decrement(by: 1)
            if case .error(let message) = value {
                continuation.resume(returning: .failure(RedisError(serverReply: message)))
            } else {
                continuation.resume(returning: .success(value))
            }
        case .batch(let continuation, let count):
            if collected.isEmpty { collected.reserveCapacity(count) }
            collected.append(value)
            guard collected.count == count else { return nil }
            pending.removeFirst()
            receivers.inFlight.decrement(by: count)
            let replies = collected
            collected = []
            continuation.resume(returning: .success(replies))
        }
        return nil
    }

    /// Fails every command waiting for a reply, and forgets any partial reply.
    mutating func failAll(_ error: RedisError, inFlight: InFlightCounter) {
        collected = []
        unparsed = ByteBuffer()
        ownsUnparsed = false
        while let head = pending.popFirst() {
            inFlight.decrement(by: head.responder.count)
            head.responder.fail(error)
        }
    }
}

/// Parses replies and matches them to commands on one channel, and times out
/// the oldest command still waiting.
///
/// Lives on the channel's event loop; every method runs there. It reads the
/// raw bytes itself rather than behind a `ByteToMessageHandler`: passing each
/// reply down the pipeline boxed in `NIOAny` and moving the decoder's buffer in
/// and out of its queue once per reply cost more than parsing the reply.
final class RedisChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var reader = ReplyReader()
    private var context: ChannelHandlerContext?
    private var failure: RedisError?
    private var timer: RepeatedTask?
    private let commandTimeout: TimeAmount
    /// The limit for commands sent now: the connect timeout while the
    /// handshake runs (``RedisClient/Configuration-swift.struct/Timeouts-swift.struct/connect``
    /// covers it), the command timeout after ``handshakeEnded()``.
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

    /// Writes what `outbox` holds and flushes once; its responders then wait
    /// for their replies, or fail at once when the connection is closed.
    func write(_ outbox: Outbox) {
        guard let context, failure == nil else {
            let error = failure ?? RedisError(.connectionClosed, "the connection to \(endpoint) is closed")
            for responder in outbox.responders {
                inFlight.decrement(by: responder.count)
                responder.fail(error)
            }
            return
        }
        reader.expect(outbox.responders, deadline: .now() + timeout)
        for bytes in outbox.earlier {
            context.write(wrapOutboundOut(bytes), promise: nil)
        }
        if outbox.bytes.readableBytes > 0 {
            context.write(wrapOutboundOut(outbox.bytes), promise: nil)
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        var incoming = unwrapInboundIn(data)
        let receivers = ReplyReader.Receivers(inFlight: inFlight, isSubscriber: isSubscriber, onPush: onPush)
        let stray: RESPValue?
        do {
            stray = try reader.read(&incoming, allocator: context.channel.allocator, to: receivers)
        } catch {
            fail(error)
            context.close(promise: nil)
            return
        }
        if let stray {
            fail(RedisError(.protocolViolation, "\(endpoint) sent a reply no command was waiting for: \(stray)"))
            context.close(promise: nil)
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
        guard let head = reader.pending.first, head.deadline < .now() else { return }
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
        reader.failAll(error, inFlight: inFlight)
        if first {
            let onClose = self.onClose
            self.onClose = nil
            onClose?(error)
        }
    }
}

/// Commands written but not answered on one connection: the pool sends new
/// commands to the least loaded connection.
final class InFlightCounter: Sendable {
    private let count = Atomic<Int>(0)
    func increment(by amount: Int) { count.add(amount, ordering: .relaxed) }
    func decrement(by amount: Int) { count.subtract(amount, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
