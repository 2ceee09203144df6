/// An error from LLMCache: what went wrong and what to do about it.
///
/// A struct wrapping a private code, so new kinds can be added without breaking
/// code that matches on the existing ones: compare with `==` against the static
/// values (`error.code == .entryTooLarge`).
public struct CacheError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of error, compared with `==` against the static values.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidRequest
            case entryTooLarge
            case backendUnavailable
            case timeout
            case corruptData
            case invalidConfiguration
            case invalidArgument
            case unsupportedVersion
            case bypassed
            case storeFull
            case overloaded
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The request cannot be fingerprinted: a field is missing, of the wrong
        /// type, or not a finite number. ``CacheError/field`` names it.
        public static let invalidRequest = Code(.invalidRequest)
        /// The entry is larger than the store's maximum entry size and was not stored.
        public static let entryTooLarge = Code(.entryTooLarge)
        /// The backend could not be reached or refused the operation.
        public static let backendUnavailable = Code(.backendUnavailable)
        /// The backend did not answer within its timeout.
        public static let timeout = Code(.timeout)
        /// Stored bytes could not be decoded (truncated, corrupted or foreign data).
        public static let corruptData = Code(.corruptData)
        /// A configuration value is out of range or inconsistent.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// An argument to an API call is not acceptable (e.g. a malformed pattern).
        public static let invalidArgument = Code(.invalidArgument)
        /// Data was written by a newer version of LLMCache than this one.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// An answer was not stored because the sampling policy skips its
        /// request (``SamplingPolicy/skip(above:)``): nothing is wrong.
        public static let bypassed = Code(.bypassed)
        /// The backend is out of memory and refused the write (Redis at
        /// `maxmemory` under the `noeviction` policy): nothing was stored, and
        /// what was stored before is intact. Reads and deletes still work.
        public static let storeFull = Code(.storeFull)
        /// The work was refused because as much was already waiting as the
        /// configuration allows (``SemanticCache/Configuration/maximumPendingEmbeddings``):
        /// nothing is wrong, and the caller goes on without it.
        public static let overloaded = Code(.overloaded)

        public var description: String { base.rawValue }
    }

    /// The kind of error.
    public let code: Code
    /// What was wrong and what to do, in a sentence or two.
    public let message: String
    /// The request field at fault (a JSON path such as `messages[2].content`),
    /// for ``Code/invalidRequest``.
    public let field: String?

    public init(_ code: Code, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String {
        if let field { return "\(code) at \(field): \(message)" }
        return "\(code): \(message)"
    }
}
