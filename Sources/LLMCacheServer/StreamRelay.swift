import Hummingbird
import HTTPTypes
import LLMCache
import Synchronization

/// Carries a streamed miss from the upstream call (which runs inside the
/// cache's single-flight task) to the response of the request that started
/// it: first the head — the upstream answered 2xx and the stream begins, or
/// the computation finished without streaming to us — then the body's bytes
/// as they arrive.
///
/// The buffer that completes the `[DONE]` event is held back until the
/// answer is stored, so a client that has read `[DONE]` finds the answer in
/// the cache on its very next request. Thread-safe.
final class StreamRelay: Sendable {
    enum Head: Sendable {
        /// The upstream answered 2xx; its relayed headers.
        case streaming(HTTPFields)
        /// The computation ended without streaming to this request: shared
        /// with another request's computation, or failed before streaming.
        case finished(Result<LLMCache.Response, any Error>)
    }

    private struct State: Sendable {
        var head: Head?
        var waiter: CheckedContinuation<Head, Never>?
        var tail: ByteBuffer?
    }

    let chunks: AsyncThrowingStream<ByteBuffer, any Error>
    private let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
    private let state = Mutex(State())

    init() {
        (chunks, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
    }

    /// Sets the head; only the first call counts.
    func settle(_ head: Head) {
        let waiter = state.withLock { state -> CheckedContinuation<Head, Never>? in
            guard state.head == nil else { return nil }
            state.head = head
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: head)
    }

    /// Waits for the head.
    func head() async -> Head {
        await withCheckedContinuation { waiter in
            let ready = state.withLock { state -> Head? in
                if let head = state.head { return head }
                state.waiter = waiter
                return nil
            }
            if let ready { waiter.resume(returning: ready) }
        }
    }

    /// Passes bytes on to the caller now.
    func yield(_ buffer: ByteBuffer) {
        continuation.yield(buffer)
    }

    /// Keeps the last bytes until ``finish(throwing:)``.
    func holdBack(_ buffer: ByteBuffer) {
        state.withLock { state in
            if var tail = state.tail {
                tail.writeImmutableBuffer(buffer)
                state.tail = tail
            } else {
                state.tail = buffer
            }
        }
    }

    /// Sends any held-back bytes and ends the body, with an error if given
    /// (which breaks the connection, so the client sees an incomplete stream).
    func finish(throwing error: (any Error)? = nil) {
        if let tail = state.withLock({ state -> ByteBuffer? in defer { state.tail = nil }; return state.tail }) {
            continuation.yield(tail)
        }
        if let error { continuation.finish(throwing: error) } else { continuation.finish() }
    }
}
