import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import LLMCache
import LLMCacheOpenAI
import NIOCore

extension ProxyHandlers {
    /// A streamed miss: the upstream's events are relayed to the caller as
    /// they arrive while the complete answer is assembled; it is stored only
    /// if the stream ended with `[DONE]` and no error event.
    ///
    /// The upstream call runs inside the cache's single-flight. If another
    /// request is already computing the same answer, this one waits for it
    /// and gets it replayed as chunks.
    func streamedMiss(_ miss: Miss) async -> Response {
        let relay = StreamRelay()
        let key = cache.key(for: miss.request, namespace: miss.namespace)
        Task { [cache, upstream, metrics] in
            do {
                let response = try await cache.response(for: miss.request, options: miss.options) {
                    try await Self.relayUpstream(miss, upstream: upstream, relay: relay, metrics: metrics)
                }
                // Stored by now: only now may the caller see [DONE].
                relay.finish()
                relay.settle(.finished(.success(response)))
            } catch {
                relay.finish(throwing: error is StreamIncomplete ? nil : error)
                relay.settle(.finished(.failure(error)))
            }
        }
        switch await relay.head() {
        case .streaming(let upstreamHeaders):
            var headers = cacheHeaders(outcome: miss.outcome, key: key, age: .zero, similarity: nil)
            for field in upstreamHeaders where headers[field.name] == nil { headers.append(field) }
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let metrics = self.metrics
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                do {
                    for try await chunk in relay.chunks { try await writer.write(chunk) }
                    try await writer.finish(nil)
                    metrics.record(miss.route, miss.outcome, since: miss.start)
                } catch {
                    metrics.record(miss.route, .upstreamError, since: miss.start)
                    throw error
                }
            })
        case .finished(.success(let response)):
            return served(response.value, outcome: miss.outcome, key: response.key, age: .zero, similarity: nil, request: miss.request, route: miss.route, streaming: true, start: miss.start)
        case .finished(.failure(let error)):
            return failure(error, route: miss.route, start: miss.start)
        }
    }

    /// The upstream stream ended cleanly but without `[DONE]`, or with an
    /// error event: relayed as it was, not cached.
    struct StreamIncomplete: Error, CustomStringConvertible {
        var description: String { "the upstream stream ended without [DONE] or carried an error event; the answer was relayed as it was and not cached" }
    }

    static func relayUpstream(_ miss: Miss, upstream: Upstream, relay: StreamRelay, metrics: ProxyMetrics) async throws -> Data {
        let start = ContinuousClock.now
        let response: HTTPClientResponse
        do {
            response = try await upstream.execute(upstream.request(.POST, path: miss.route.path, headers: miss.headers, body: miss.body))
        } catch {
            metrics.upstreamErrors.increment()
            throw error
        }
        guard (200..<300).contains(response.status.code) else {
            metrics.upstreamErrors.increment()
            let body = (try? await response.body.collect(upTo: upstream.configuration.maximumResponseBytes)) ?? ByteBuffer()
            throw UpstreamFailure(status: Int(response.status.code), contentType: response.headers.first(name: "content-type"), body: body)
        }
        relay.settle(.streaming(Upstream.relayedHeaders(response.headers)))
        var parser = SSEParser()
        var assembler = StreamAssembler()
        do {
            for try await buffer in response.body {
                for event in parser.feed(buffer.readableBytesView) { assembler.consume(event: event) }
                if assembler.sawDone {
                    relay.holdBack(buffer)
                } else {
                    relay.yield(buffer)
                }
            }
        } catch {
            metrics.upstreamErrors.increment()
            metrics.streamsInterrupted.increment()
            throw Upstream.unavailable(error)
        }
        guard assembler.isComplete else {
            metrics.upstreamErrors.increment()
            metrics.streamsInterrupted.increment()
            throw StreamIncomplete()
        }
        metrics.upstreamDuration.record(ContinuousClock.now - start)
        return Data(assembler.response.jsonBytes)
    }
}
