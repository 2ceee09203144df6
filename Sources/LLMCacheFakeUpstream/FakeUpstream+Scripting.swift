import HTTPTypes
import Hummingbird
import NIOCore

extension FakeUpstream {
    /// A request as the upstream received it.
    public struct RecordedRequest: Sendable, Equatable {
        /// `POST`, `GET`, ...
        public var method: String
        /// The path and query, e.g. `/v1/embeddings`.
        public var path: String
        /// The headers, names lower-cased; repeated fields joined with `", "`.
        public var headers: [String: String]
        /// The body as sent.
        public var body: [UInt8]

        public init(method: String, path: String, headers: [String: String], body: [UInt8]) {
            self.method = method
            self.path = path
            self.headers = headers
            self.body = body
        }
    }

    /// An answer given in place of a route's own, for exactly one request:
    /// see ``enqueue(_:for:)``.
    public struct CannedResponse: Sendable, Equatable {
        /// The HTTP status. Default 200.
        public var status: Int
        /// The `Content-Type`. Default `application/json`.
        public var contentType: String
        /// The body, sent unchanged.
        public var body: [UInt8]
        /// When set, the answer waits until ``FakeUpstream/release(_:)`` is
        /// called with this name (before or after the request arrives), so a
        /// client's time limit can be tested without a slow server. Default `nil`.
        public var holdUntilReleased: String?
        /// More response headers, e.g. `["Retry-After": "7"]`. Default none.
        public var headers: [String: String]

        public init(status: Int = 200, contentType: String = "application/json", body: [UInt8], holdUntilReleased: String? = nil, headers: [String: String] = [:]) {
            self.status = status
            self.contentType = contentType
            self.body = body
            self.holdUntilReleased = holdUntilReleased
            self.headers = headers
        }

        /// A JSON answer: `text` sent as it is, valid JSON or not.
        public static func json(_ text: String, status: Int = 200, headers: [String: String] = [:]) -> CannedResponse {
            CannedResponse(status: status, body: Array(text.utf8), headers: headers)
        }

        /// An HTML page, as a gateway or captive portal serves in place of the API.
        public static func html(_ text: String = "<html><body><h1>Gateway</h1><p>Please sign in to continue.</p></body></html>", status: Int = 200) -> CannedResponse {
            CannedResponse(status: status, contentType: "text/html; charset=utf-8", body: Array(text.utf8))
        }

        /// A `text/event-stream` answer: one `data:` event per payload, then
        /// `data: [DONE]` unless `done` is false.
        public static func events(_ payloads: [String], done: Bool = true) -> CannedResponse {
            var body = ""
            for payload in payloads + (done ? ["[DONE]"] : []) { body += "data: \(payload)\n\n" }
            return CannedResponse(contentType: "text/event-stream", body: Array(body.utf8))
        }

        /// A `text/event-stream` answer of named events, as the Responses and
        /// Messages APIs send: `event: <name>` then `data: <data>` for each,
        /// and nothing after (those APIs have no `[DONE]`).
        public static func events(named events: [(name: String, data: String)]) -> CannedResponse {
            var body = ""
            for event in events { body += "event: \(event.name)\ndata: \(event.data)\n\n" }
            return CannedResponse(contentType: "text/event-stream", body: Array(body.utf8))
        }
    }

    /// What ``enqueue(_:for:)`` and request recording keep between requests.
    struct Script: Sendable {
        var recording = false
        var recorded: [RecordedRequest] = []
        var queued: [String: [CannedResponse]] = [:]
    }

    /// Whether each request is kept in ``recordedRequests``. Default `false`,
    /// so a long benchmark keeps no history. Set it before sending.
    public var recordsRequests: Bool {
        get { script.withLock { $0.recording } }
        set { script.withLock { $0.recording = newValue } }
    }

    /// The requests received while ``recordsRequests`` was on, oldest first.
    public var recordedRequests: [RecordedRequest] { script.withLock { $0.recorded } }

    /// Answers the next request to `path` (e.g. `/v1/embeddings`) with
    /// `response` instead of the route's own answer; several calls queue
    /// answers in order. A canned answer is not counted in ``snapshot``, and
    /// it is given even for paths without a route.
    public func enqueue(_ response: CannedResponse, for path: String) {
        script.withLock { $0.queued[path, default: []].append(response) }
    }

    /// The `x-request-id` of the request being answered, for routes that put
    /// it in their bodies too (Anthropic's errors carry a `request_id`).
    @TaskLocal static var requestID: String?

    static let anthropicRequestIDHeader = HTTPField.Name("request-id")!

    /// Runs before every route: records the request when asked to, gives
    /// a queued answer in place of the route's, and gives every answer an
    /// `x-request-id` (`req_fake_<n>`, counting from 1), as OpenAI does, and
    /// on Anthropic's paths (`/v1/messages...`) the same as `request-id`.
    struct ScriptMiddleware<Context: RequestContext>: RouterMiddleware {
        let upstream: FakeUpstream

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var request = request
            let path = request.uri.path
            if upstream.recordsRequests {
                let body = try await request.collectBody(upTo: 16 << 20)
                var headers: [String: String] = [:]
                for field in request.headers {
                    let name = field.name.canonicalName
                    headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
                }
                let recorded = RecordedRequest(method: request.method.rawValue, path: request.uri.description, headers: headers, body: Array(body.readableBytesView))
                upstream.script.withLock { $0.recorded.append(recorded) }
            }
            let canned = upstream.script.withLock { script -> CannedResponse? in
                guard var queue = script.queued[path], !queue.isEmpty else { return nil }
                let first = queue.removeFirst()
                script.queued[path] = queue
                return first
            }
            let requestID = "req_fake_\(upstream.requestIDs.add(1, ordering: .relaxed).newValue)"
            let anthropic = path.hasPrefix("/v1/messages")
            guard let canned else {
                var response = try await FakeUpstream.$requestID.withValue(requestID) { try await next(request, context) }
                response.headers[FakeUpstream.requestIDHeader] = requestID
                if anthropic { response.headers[FakeUpstream.anthropicRequestIDHeader] = requestID }
                return response
            }
            if let name = canned.holdUntilReleased { await upstream.hold(name) }
            var headers = HTTPFields()
            headers[.contentType] = canned.contentType
            headers[FakeUpstream.requestIDHeader] = requestID
            if anthropic { headers[FakeUpstream.anthropicRequestIDHeader] = requestID }
            for (name, value) in canned.headers.sorted(by: { $0.key < $1.key }) {
                if let field = HTTPField.Name(name) { headers[field] = value }
            }
            return Response(status: HTTPResponse.Status(code: canned.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: canned.body)))
        }
    }
}
