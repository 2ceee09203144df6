/// Rebuilds the answer a non-streamed call would have returned from the
/// events of a streamed one, for one API's stream format: chat and legacy
/// completion chunks (`LLMCacheOpenAI`'s `StreamAssembler`), Responses API
/// events (`ResponsesStreamAssembler`) or Anthropic Messages events
/// (`LLMCacheAnthropic`'s `MessagesStreamAssembler`).
///
/// A relayed stream feeds every event's `data` (as ``SSEParser`` returns it)
/// to one assembler, holds back the bytes that complete the final event
/// until the answer is stored, and stores ``response`` only when
/// ``isComplete``. A value type: use one per stream.
public protocol StreamAssembling: Sendable {
    init()

    /// Consumes the data of one event.
    mutating func consume(event data: [UInt8])

    /// Whether the stream's final event has been consumed: `[DONE]` for
    /// chat, `response.completed` (or another terminal response event) for
    /// the Responses API, `message_stop` for Anthropic. Nothing the stream
    /// sends after it is part of the answer.
    var sawEnd: Bool { get }

    /// Events consumed that carried a payload (a bare `[DONE]` is not one).
    /// Zero at the end of a body means the body was not an event stream.
    var eventCount: Int { get }

    /// Whether the events make a whole answer that may be stored: the final
    /// event was seen and no event reported an error or a failed response.
    var isComplete: Bool { get }

    /// The answer a non-streamed call would have returned. Meaningful once
    /// ``isComplete``.
    var response: JSONValue { get }

    /// Whether the last event consumed carried only usage that the caller
    /// did not ask for, so a relay may leave it out. Only chat streams have
    /// such an event (`stream_options.include_usage`); default false.
    var lastWasUsageOnly: Bool { get }

    /// The event that ends a stream the relay had to cut (a time-out), in
    /// the format's own error shape, so a client reports why it stopped.
    static func errorEvent(message: String) -> [UInt8]
}

extension StreamAssembling {
    public var lastWasUsageOnly: Bool { false }
}
