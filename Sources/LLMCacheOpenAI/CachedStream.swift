import Foundation
import LLMCache
import NIOCore
import Synchronization

/// One streamed request through the cache, shared by the proxy and
/// ``CachedChatClient``: the core's one path (``LLMCache/response(for:options:computing:)``)
/// with a computation that relays the upstream's stream to this caller as it
/// arrives.
///
/// - A hit, a semantic hit, or a run another caller started: ``head()`` is
///   ``Head/answered(_:)`` with the stored answer, which the caller replays
///   as chunks.
/// - A miss or a bypass this caller computes: ``head()`` is ``Head/live(_:_:)``
///   as soon as the upstream answers 2xx, and ``bytes`` carries the upstream's
///   bytes as they arrive while `Assembler` assembles the answer. It is
///   stored only if the stream reached its final event (`[DONE]`,
///   `response.completed`, `message_stop`) with no error event; the bytes
///   that complete the final event are held back until it is stored, so a
///   caller that has read it finds the answer in the cache on its very next
///   request.
/// - A failure before anything was streamed: ``Head/failed(_:)``.
///
/// A stream that ends before its final event or carries an error event is relayed
/// as it was and not cached; ``result()`` is then a failure with
/// ``IncompleteStream``. A broken connection ends ``bytes`` with its error.
/// A stream that outlasts ``Limits/total`` or falls silent for longer than
/// ``Limits/idle`` is cut: ``bytes`` ends with an error event in the
/// format's own shape (``StreamAssembling/errorEvent(message:)``), the answer is
/// not cached, and ``result()`` is a failure with ``StreamTimeout``.
/// Thread-safe.
package final class CachedStream<Metadata: Sendable, Assembler: StreamAssembling>: Sendable {
    package enum Head: Sendable {
        /// This caller relays the upstream: what `open` returned with the
        /// body, and what the cache decided (key, miss or bypass).
        case live(Metadata, LLMCache.Computation)
        /// Answered without streaming to this caller.
        case answered(LLMCache.Response)
        /// The call failed before any byte was streamed.
        case failed(any Error)
    }

    private struct State: Sendable {
        var head: Head?
        var headWaiter: CheckedContinuation<Head, Never>?
        var tail: ByteBuffer?
        var result: Result<LLMCache.Response, any Error>?
        var resultWaiters: [CheckedContinuation<Result<LLMCache.Response, any Error>, Never>] = []
    }

    /// How long a relayed stream may take.
    package struct Limits: Sendable {
        /// The whole exchange, from the upstream call to the stream's end.
        /// `nil`: unbounded.
        package var total: Duration?
        /// The longest silence between two reads once the stream has begun.
        /// `nil`: unbounded.
        package var idle: Duration?

        package init(total: Duration? = nil, idle: Duration? = nil) {
            self.total = total
            self.idle = idle
        }
    }

    /// The upstream's bytes, for a ``Head/live(_:_:)`` head.
    package let bytes: AsyncThrowingStream<ByteBuffer, any Error>
    private let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    private let state = Mutex(State())
    private let limits: Limits
    private let strippingUsage: Bool

    /// Starts the call.
    ///
    /// - Parameters:
    ///   - key: the request's key when the caller already has it.
    ///   - limits: how long the relayed stream may take. Default: unbounded.
    ///   - strippingUsage: the caller did not ask for the usage chunk
    ///     (`stream_options.include_usage`) but `open` asked the upstream for
    ///     it, so that the stored answer has its usage: the chunk without
    ///     choices that carries the usage is assembled but not relayed.
    ///     Events are then relayed one by one as `data:` lines. Default false.
    ///   - open: sends the upstream request and returns once the upstream
    ///     answered 2xx, with the body still arriving; throws for any other
    ///     answer. Called only when this caller computes.
    package init<Body: AsyncSequence & Sendable>(
        cache: LLMCache,
        request: LLMRequest,
        key: CacheKey? = nil,
        options: LLMCache.Options,
        limits: Limits = Limits(),
        strippingUsage: Bool = false,
        open: @escaping @Sendable (LLMCache.Computation) async throws -> (Metadata, Body)
    ) where Body.Element == ByteBuffer {
        (bytes, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        self.limits = limits
        self.strippingUsage = strippingUsage
        Task { [self] in
            let result: Result<LLMCache.Response, any Error>
            do {
                result = .success(try await cache.response(for: request, key: key, options: options) { computation in
                    try await self.relay(computation, open: open)
                })
            } catch {
                result = .failure(error)
            }
            finish(result)
        }
    }

    /// What this call turned out to be; returns as soon as that is known.
    package func head() async -> Head {
        await withCheckedContinuation { waiter in
            let ready = state.withLock { state -> Head? in
                if let head = state.head { return head }
                state.headWaiter = waiter
                return nil
            }
            if let ready { waiter.resume(returning: ready) }
        }
    }

    /// The call's outcome, once the answer is stored (or not).
    package func result() async -> Result<LLMCache.Response, any Error> {
        await withCheckedContinuation { waiter in
            let ready = state.withLock { state -> Result<LLMCache.Response, any Error>? in
                if let result = state.result { return result }
                state.resultWaiters.append(waiter)
                return nil
            }
            if let ready { waiter.resume(returning: ready) }
        }
    }

    private func relay<Body: AsyncSequence & Sendable>(
        _ computation: LLMCache.Computation,
        open: @Sendable (LLMCache.Computation) async throws -> (Metadata, Body)
    ) async throws -> Data where Body.Element == ByteBuffer {
        let started = ContinuousClock.now
        let (metadata, body) = try await open(computation)
        settle(.live(metadata, computation))
        guard limits.total != nil || limits.idle != nil else { return try await consume(body, progress: nil) }
        let progress = Progress()
        let limits = self.limits
        // The reader and a watchdog race; whichever ends first ends the other
        // (cancelling the reader cancels the upstream request).
        return try await withThrowingTaskGroup(of: Data?.self) { group in
            group.addTask { try await self.consume(body, progress: progress) }
            group.addTask {
                try await Self.watch(progress, started: started, limits: limits)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let data = first else {
                throw StreamTimeout(message: "the upstream stream was cut by the proxy's time-out")
            }
            return data
        }
    }

    /// Returns never, or throws ``StreamTimeout`` once the stream has run
    /// past `limits.total` or been silent for `limits.idle`.
    private static func watch(_ progress: Progress, started: ContinuousClock.Instant, limits: Limits) async throws {
        while true {
            let last = progress.last
            var due = ContinuousClock.Instant.now + .seconds(3600)
            if let total = limits.total { due = min(due, started + total) }
            if let idle = limits.idle { due = min(due, last + idle) }
            if ContinuousClock.now >= due {
                if let total = limits.total, ContinuousClock.now >= started + total {
                    throw StreamTimeout(message: "the upstream stream did not finish within the upstream time-out (\(total)); the answer was cut and not cached; retry, or raise the upstream time-out")
                }
                throw StreamTimeout(message: "the upstream stream was silent for longer than the idle time-out (\(limits.idle ?? .zero)); the answer was cut and not cached; retry, or raise the idle time-out")
            }
            try await Task.sleep(until: due, clock: .continuous)
        }
    }

    /// Reads the whole body, relaying it and assembling the answer.
    private func consume<Body: AsyncSequence>(_ body: Body, progress: Progress?) async throws -> Data where Body.Element == ByteBuffer {
        var parser = SSEParser()
        var assembler = Assembler()
        // While stripping, bytes that never formed an event (a body that is
        // not a stream at all) are kept to be relayed as they came.
        var unframed: ByteBuffer?
        for try await buffer in body {
            progress?.advance()
            guard strippingUsage else {
                for event in parser.feed(buffer.readableBytesView) { assembler.consume(event: event) }
                if assembler.sawEnd { holdBack(buffer) } else { continuation.yield(buffer) }
                continue
            }
            // Events relayed one by one as `data:` lines, without the
            // usage-only chunk, and `[DONE]` held back.
            var out = ByteBuffer()
            for event in parser.feed(buffer.readableBytesView) {
                assembler.consume(event: event)
                if assembler.sawEnd {
                    holdBack(ByteBuffer(bytes: SSEParser.event(event)))
                } else if !assembler.lastWasUsageOnly {
                    out.writeBytes(SSEParser.event(event))
                }
            }
            if assembler.eventCount == 0, !assembler.sawEnd {
                if unframed == nil { unframed = ByteBuffer() }
                if unframed!.readableBytes < 1 << 20 { unframed!.writeImmutableBuffer(buffer) }
            } else {
                unframed = nil
                if out.readableBytes > 0 { continuation.yield(out) }
            }
        }
        if let unframed, unframed.readableBytes > 0 { continuation.yield(unframed) }
        guard assembler.isComplete else { throw IncompleteStream() }
        return Data(assembler.response.jsonBytes)
    }

    /// When the relayed stream last made progress, for its watchdog.
    private final class Progress: Sendable {
        private let instant = Mutex(ContinuousClock.now)
        var last: ContinuousClock.Instant { instant.withLock { $0 } }
        func advance() { instant.withLock { $0 = .now } }
    }

    /// Sets the head; only the first call counts.
    private func settle(_ head: Head) {
        let waiter = state.withLock { state -> CheckedContinuation<Head, Never>? in
            guard state.head == nil else { return nil }
            state.head = head
            defer { state.headWaiter = nil }
            return state.headWaiter
        }
        waiter?.resume(returning: head)
    }

    private func holdBack(_ buffer: ByteBuffer) {
        state.withLock { state in
            if var tail = state.tail {
                tail.writeImmutableBuffer(buffer)
                state.tail = tail
            } else {
                state.tail = buffer
            }
        }
    }

    /// Settles a head not yet settled, sends any held-back bytes and ends
    /// ``bytes``: cleanly for a complete or incomplete stream, with the error
    /// for a broken one (so its reader sees an incomplete stream).
    private func finish(_ result: Result<LLMCache.Response, any Error>) {
        switch result {
        case .success(let response): settle(.answered(response))
        case .failure(let error): settle(.failed(error))
        }
        let (tail, waiters) = state.withLock { state in
            state.result = result
            defer {
                state.tail = nil
                state.resultWaiters = []
            }
            return (state.tail, state.resultWaiters)
        }
        if let tail { continuation.yield(tail) }
        if case .failure(let error) = result, let timeout = error as? StreamTimeout {
            // Ended with an error event, so a client reports why the stream stopped.
            continuation.yield(ByteBuffer(bytes: Assembler.errorEvent(message: timeout.message)))
            continuation.finish()
        } else if case .failure(let error) = result, !(error is IncompleteStream) {
            continuation.finish(throwing: error)
        } else {
            continuation.finish()
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }
}

/// A stream that ended cleanly but before its final event (`[DONE]`,
/// `response.completed`, `message_stop`), or carried an error event: relayed
/// as it was, and not cached.
package struct IncompleteStream: Error, CustomStringConvertible {
    package init() {}
    package var description: String {
        "the upstream stream ended before its final event or carried an error event; the answer was relayed as it was and not cached"
    }
}

/// A stream cut by a ``CachedStream/Limits`` time-out: ended with an error
/// event and not cached.
package struct StreamTimeout: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}

/// An async sequence whose errors are replaced by `transform(error)`: a
/// relayed body's transport errors in the terms its reader reports.
package struct ErrorMappingSequence<Base: AsyncSequence>: AsyncSequence {
    package typealias Element = Base.Element

    let base: Base
    let transform: @Sendable (any Error) -> any Error

    package init(_ base: Base, transform: @escaping @Sendable (any Error) -> any Error) {
        self.base = base
        self.transform = transform
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let transform: @Sendable (any Error) -> any Error

        package mutating func next() async throws -> Element? {
            do {
                return try await base.next()
            } catch {
                throw transform(error)
            }
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), transform: transform)
    }
}

extension ErrorMappingSequence: Sendable where Base: Sendable {}
