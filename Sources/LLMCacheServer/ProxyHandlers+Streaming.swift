import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import LLMCacheAnthropic
import LLMCacheOpenAI
import NIOCore

extension ProxyHandlers {
    /// A streamed request, through the core's one path by way of
    /// ``CachedStream`` (the flow `CachedChatClient` uses too), in the
    /// route's stream format, which `Assembler` reads.
    ///
    /// A hit, or a run another request started, is replayed as the route's
    /// events. A miss this request computes relays the upstream's events as
    /// they arrive while the answer is assembled; it is stored only if the
    /// stream reached its final event (`[DONE]`, `response.completed`,
    /// `message_stop`) with no error event, and the final event itself is
    /// held back until it is stored, so the client's next request is a hit.
    func streamed<Assembler: StreamAssembling>(_ parsed: RequestMemo.Entry, call: UpstreamCall, options: LLMCache.Options, as _: Assembler.Type) async throws -> Answer {
        let configuration = upstream.configuration
        // Only chat and completion streams leave usage out unless asked
        // (`stream_options.include_usage`); the other formats always carry it.
        let hasUsageOption = call.route == .chat || call.route == .completions
        let asksForUsage = hasUsageOption && configuration.requestsStreamUsage
            && parsed.request.body["stream_options"]?["include_usage"] != .bool(true)
        let limits = CachedStream<Relayed, Assembler>.Limits(total: configuration.requestTimeout, idle: configuration.idleTimeout)
        let upstream = self.upstream(for: call.route)
        let stream = CachedStream<Relayed, Assembler>(cache: cache, request: parsed.request, key: parsed.key, options: options, limits: limits, strippingUsage: asksForUsage) { [upstream, metrics] _ in
            let start = ContinuousClock.now
            let body = asksForUsage ? Self.askingForUsage(parsed.request.body) : call.body
            let response: HTTPClientResponse
            let permit: UpstreamGate.Permit
            do {
                (response, permit) = try await upstream.execute(upstream.request(.POST, path: call.route.upstreamPath, headers: call.headers, body: body))
            } catch {
                metrics.upstreamErrors.increment()
                throw error
            }
            guard (200..<300).contains(response.status.code) else {
                metrics.upstreamErrors.increment()
                let body = (try? await Upstream.within(start + configuration.requestTimeout) {
                    try await response.body.collect(upTo: configuration.maximumResponseBytes)
                }) ?? ByteBuffer()
                throw UpstreamFailure(UpstreamAnswer(status: Int(response.status.code), headers: response.headers, body: body))
            }
            let relayed = Relayed(headers: Upstream.relayedHeaders(response.headers), start: start)
            return (relayed, ErrorMappingSequence(PermitHoldingSequence(base: response.body, permit: permit)) { error in
                metrics.upstreamErrors.increment()
                metrics.streamsInterrupted.increment()
                return Upstream.unavailable(error)
            })
        }
        switch await stream.head() {
        case .answered(let response):
            return served(response, request: parsed.request, route: call.route, streaming: true)
        case .failed(let error):
            throw error
        case .live(let relayed, let computation):
            let outcome = ProxyMetrics.Outcome(computation.source)
            var headers = cacheHeaders(outcome: outcome, key: computation.key, age: .zero, similarity: nil)
            for field in relayed.headers where headers[field.name] == nil { headers.append(field) }
            if headers[.contentType] == nil { headers[.contentType] = "text/event-stream" }
            if headers[.cacheControl] == nil { headers[.cacheControl] = "no-cache" }
            let metrics = self.metrics
            let failures = server.failures
            let route = call.route
            let requestID = relayed.headers[Upstream.requestIDField]
            return Answer(
                response: Response(status: .ok, headers: headers, body: ResponseBody(asyncSequence: stream.bytes)),
                outcome: outcome,
                settled: {
                    switch await stream.result() {
                    case .success:
                        metrics.upstreamDuration.record(ContinuousClock.now - relayed.start)
                        return outcome
                    case .failure(let error):
                        // A broken stream was counted as it broke; one that
                        // ended cleanly but incomplete, or was cut by a
                        // time-out, is counted here.
                        if error is IncompleteStream || error is StreamTimeout {
                            metrics.upstreamErrors.increment()
                            metrics.streamsInterrupted.increment()
                        }
                        failures.record("a relayed stream did not complete; not cached", route: route.label, status: 200, upstreamRequestID: requestID, detail: "\(error)")
                        return .upstreamError
                    }
                }
            )
        }
    }

    /// The request's body (its tree, already parsed to read `stream_options`,
    /// without a body-level `cache` object) with `stream_options.include_usage`
    /// set, so the stored answer has its usage.
    static func askingForUsage(_ body: JSONValue) -> ByteBuffer {
        guard case .object(var members) = body else { return ByteBuffer(bytes: body.jsonBytes) }
        var options = members["stream_options"]?.objectValue ?? [:]
        options["include_usage"] = .bool(true)
        members["stream_options"] = .object(options)
        return ByteBuffer(bytes: JSONValue.object(members).jsonBytes)
    }

    /// What a relayed stream keeps of the upstream's answer.
    struct Relayed: Sendable {
        var headers: HTTPFields
        var start: ContinuousClock.Instant
    }
}
