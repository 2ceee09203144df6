import NIOCore

/// One message delivered to a subscription.
public struct RedisPubSubMessage: Sendable {
    /// The channel it was published on.
    public let channel: String
    /// The pattern that matched, for pattern subscriptions; `nil` otherwise.
    public let pattern: String?
    /// The published bytes.
    public let payload: ByteBuffer

    /// The payload as UTF-8 text.
    public var text: String { String(buffer: payload) }
}

/// Messages from SUBSCRIBE or PSUBSCRIBE, on a connection of their own.
///
/// Iterate it once. Stopping the iteration (or ``close()``) unsubscribes by
/// closing the connection. The sequence ends with a ``RedisError`` if the
/// connection drops. Holds the newest 65,536 unread messages; older ones are
/// dropped when the reader falls behind. Thread-safe.
public struct RedisSubscription: AsyncSequence, Sendable {
    public typealias Element = RedisPubSubMessage

    private let stream: AsyncThrowingStream<RedisPubSubMessage, any Error>
    private let continuation: AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation
    private let connection: RedisConnection

    init(stream: AsyncThrowingStream<RedisPubSubMessage, any Error>, continuation: AsyncThrowingStream<RedisPubSubMessage, any Error>.Continuation, connection: RedisConnection) {
        self.stream = stream
        self.continuation = continuation
        self.connection = connection
    }

    public func makeAsyncIterator() -> AsyncThrowingStream<RedisPubSubMessage, any Error>.Iterator {
        stream.makeAsyncIterator()
    }

    /// Ends the sequence normally and closes the connection.
    public func close() async {
        continuation.finish()
        await connection.close()
    }
}
