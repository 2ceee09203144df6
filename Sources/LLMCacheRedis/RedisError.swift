/// An error from the Redis client: a reply the server refused, or a failure to
/// talk to it at all.
///
/// A struct wrapping a private code so kinds can be added without breaking code
/// that matches on the existing ones: compare ``code`` with `==` against the
/// static values (`error.code == .server`).
public struct RedisError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case server
            case connectionFailed
            case connectionClosed
            case timeout
            case poolTimeout
            case circuitOpen
            case protocolViolation
            case invalidURL
            case invalidConfiguration
            case unexpectedReply
            case shutdown
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The server answered with an error reply (`-ERR ...`, `-WRONGPASS ...`);
        /// ``RedisError/serverCode`` holds its first word.
        public static let server = Code(.server)
        /// A connection could not be opened (refused, unreachable, TLS handshake,
        /// or the connect timeout ran out).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection closed before the reply arrived.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server did not answer within the command timeout; the connection
        /// is closed, since later replies on it can no longer be matched.
        public static let timeout = Code(.timeout)
        /// No pooled connection became free within the acquire timeout.
        public static let poolTimeout = Code(.poolTimeout)
        /// The circuit breaker is open after repeated failures: the command was
        /// not sent. It closes again once a probe succeeds.
        public static let circuitOpen = Code(.circuitOpen)
        /// The server sent bytes that are not valid RESP.
        public static let protocolViolation = Code(.protocolViolation)
        /// A `redis://` or `rediss://` URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// A configuration value is out of range.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The reply had a type the caller did not expect.
        public static let unexpectedReply = Code(.unexpectedReply)
        /// The client was shut down.
        public static let shutdown = Code(.shutdown)

        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public let code: Code
    /// What went wrong and what to do; for ``Code/server``, the server's own message.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An error reply from the server, e.g. `WRONGPASS invalid username-password pair`.
    init(serverReply: String) {
        self.init(.server, serverReply)
    }

    /// For ``Code/server``: the error's first word as the server sent it
    /// (`ERR`, `WRONGTYPE`, `NOAUTH`, `WRONGPASS`, `NOSCRIPT`, ...); `nil` otherwise.
    public var serverCode: String? {
        guard code == .server else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// Whether the failure says the server or the path to it is unhealthy
    /// (as opposed to a refused command): these count against the circuit breaker.
    var isConnectivityFailure: Bool {
        code == .connectionFailed || code == .connectionClosed || code == .timeout || code == .protocolViolation
    }

    public var description: String { "redis \(code): \(message)" }
}
