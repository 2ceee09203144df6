import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import LLMCacheOpenAI
import NIOCore

extension ProxyHandlers {
    /// A streamed request, through the core's one path by way of
    /// ``CachedStream`` (the flow `CachedChatClient` uses too).
    ///
    /// A hit, or a run another request started, is replayed as chunks. A
    /// miss this request computes relays the upstream's events as they
    /// arrive while the answer is assembled; it is stored only if the stream
    /// ended with `[DONE]` and no error event, and the `[DONE]` itself is held
    /// back until it is stored, so the client's next request is a hit.
    func streamed(_ parsed: RequestMemo.Entry, call: UpstreamCall, options: LLMCache.Options) async throws -> Answer {
        let stream = CachedStream<Relayed>(cache: cache, request: parsed.request, key: parsed.key, options: options) { [upstream, metrics] _ in
            let start = ContinuousClock.now
            let response: HTTPClientResponse
            do {
                response = try await upstream.execute(upstream.request(.POST, path: call.route.path, headers: call.headers, body: call.body))
            } catch {
                metrics.upstreamErrors.increment()
                throw error
            }
            guard (200..<300).contains(response.status.code) else {
                metrics.upstreamErrors.increment()
                let body = (try? await response.body.collect(upTo: upstream.configuration.maximumResponseBytes)) ?? ByteBuffer()
                throw UpstreamFailure(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), body: body)
            }
            let relayed = Relayed(headers: Upstream.relayedHeaders(response.headers), start: start)
            return (relayed, ErrorMappingSequence(response.body) { error in
                metrics.upstreamErrors.increment()
                metrics.streamsInterrupted.increment()
                return Upstream.unavailable(error)
            })
        }
        switch await stream.head() {
        case .answered(let response):
            return served(response, request: parsed.request, streaming: true)
        case .failed(let error):
            throw error
        case .live(let relayed, let computation):
            let outcome = ProxyMetrics.Outcome(computation.source)
            var headers = cacheHeaders(outcome: outcome, key: computation.key, age: .zero, similarity: nil)
            for field in relayed.headers where headers[field.name] == nil { headers.append(field) }
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let metrics = self.metrics
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
                        // ended cleanly but incomplete is counted here.
                        if error is IncompleteStream {
                            metrics.upstreamErrors.increment()
                            metrics.streamsInterrupted.increment()
                        }
                        return .upstreamError
                    }
                }
            )
        }
    }

    /// What a relayed stream keeps of the upstream's answer.
    struct Relayed: Sendable {
        var headers: HTTPFields
        var start: ContinuousClock.Instant
    }
}
