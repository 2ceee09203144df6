import ArgumentParser
import AsyncHTTPClient
import Foundation

/// The proxy's other cached APIs beside chat completions, in the same
/// `bench proxy` run:
///
/// - `proxy.responses.hit.rps`, `.p99` and `proxy.messages.hit.rps`, `.p99`:
///   exact hits of a Responses API request (instructions and one user input
///   item) and of an Anthropic Messages request (system and one user
///   message, with `x-api-key` and `anthropic-version`), each about the size
///   of the chat request, under the same wrk load and for as long as
///   `proxy.hit.rps`, in slices taken in turn with the chat ones;
///   `.ratio_to_chat` is each over `proxy.hit.rps` of the same run (target
///   ≥ 0.8). `proxy.hit.cpu_us`, `proxy.<api>.hit.cpu_us`: the proxy's CPU
///   time per hit in those runs, steadier than the rates on a shared machine.
/// - `proxy.chat.stream_hit.p99_ms`, `proxy.responses.stream_hit.p99_ms`,
///   `proxy.messages.stream_hit.p99_ms`: time to the last byte of a streamed
///   hit (`"stream": true`) of a ~150-word answer, which the proxy replays as
///   about 60 events, one request at a time (target ≤ 5 ms). `.p50_ms` beside
///   it, and `long_hit.p50_ms`, the same answer not streamed, interleaved
///   with the streamed ones, so the difference is what the replay costs.
extension ProxyBench {
    /// One cached API as the benchmark calls it.
    struct Surface: Sendable {
        /// `chat`, `responses` or `messages`: the middle of the figures' names.
        var name: String
        var path: String
        /// The caller's credentials (and Anthropic's version header).
        var headers: [String: String]
        /// A request of about the chat request's size, for the wrk hits.
        var hitBody: String
        /// A request whose stand-in answer is about 150 words (the fake
        /// upstream echoes the last user text), `"stream"` set as asked.
        var longBody: @Sendable (_ stream: Bool) -> String
    }

    static let openAIHeaders = ["Authorization": "Bearer sk-bench"]
    static let anthropicHeaders = ["x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"]

    /// What the hit requests say: the chat request's conversation, folded
    /// into the shape each API has for one instruction and one user turn.
    static let bookshopInstructions = """
        You are a concise assistant for an online bookshop. Answer in two sentences at most, cite the catalogue number \
        when you mention a book, and never invent prices. Earlier the customer asked for introductions to distributed \
        systems for someone who knows Python, and was offered 'Designing Data-Intensive Applications' (CAT-1182), the \
        usual first read, and 'Distributed Systems for Practitioners' (CAT-2291), which is shorter.
        """
    static let bookshopQuestion = "Which of the two is better for a reading group of five people, question 0?"
    static let stockTool = #""name":"lookup_stock","description":"Stock level of a catalogue number""#
    static let stockSchema = #"{"type":"object","properties":{"catalogue_number":{"type":"string"}},"required":["catalogue_number"]}"#

    /// The short instruction of the long-answer requests. The Responses and
    /// Messages stand-ins echo it (`[instructions: …]`, `[system: …]`) and the
    /// chat one does not, so their prompts are that many words shorter and
    /// the three answers are all about 150 words.
    static let shortInstructions = "You are a concise assistant for an online bookshop."

    static let surfaces: [Surface] = [
        Surface(
            name: "chat", path: "/v1/chat/completions", headers: openAIHeaders,
            hitBody: String(decoding: sampleChatRequest(variant: 0), as: UTF8.self),
            longBody: { stream in
                #"{"model":"gpt-4o-mini","temperature":0.2,"max_tokens":1024,"stream":\#(stream),"messages":[{"role":"system","content":"\#(shortInstructions)"},{"role":"user","content":"\#(prose(words: 139, seed: 5_000_001))"}]}"#
            }
        ),
        Surface(
            name: "responses", path: "/v1/responses", headers: openAIHeaders,
            hitBody: #"{"model":"gpt-4o-mini","temperature":0.2,"top_p":1,"max_output_tokens":512,"instructions":"\#(bookshopInstructions)","input":[{"type":"message","role":"user","content":"\#(bookshopQuestion)"}],"tools":[{"type":"function",\#(stockTool),"parameters":\#(stockSchema)}]}"#,
            longBody: { stream in
                #"{"model":"gpt-4o-mini","temperature":0.2,"max_output_tokens":1024,"stream":\#(stream),"instructions":"\#(shortInstructions)","input":[{"type":"message","role":"user","content":"\#(prose(words: 130, seed: 5_000_002))"}]}"#
            }
        ),
        Surface(
            name: "messages", path: "/v1/messages", headers: anthropicHeaders,
            hitBody: #"{"model":"claude-sonnet-4-5","temperature":0.2,"max_tokens":512,"system":"\#(bookshopInstructions)","messages":[{"role":"user","content":"\#(bookshopQuestion)"}],"tools":[{\#(stockTool),"input_schema":\#(stockSchema)}]}"#,
            longBody: { stream in
                #"{"model":"claude-sonnet-4-5","temperature":0.2,"max_tokens":1024,"stream":\#(stream),"system":"\#(shortInstructions)","messages":[{"role":"user","content":"\#(prose(words: 130, seed: 5_000_003))"}]}"#
            }
        ),
    ]

    /// Sends `body` until it is answered from the cache: the first time may
    /// be a miss, the second must be a hit.
    static func warm(_ client: HTTPClient, _ url: String, body: String, headers: [String: String]) async throws {
        let first = try await post(client, url, body: body, headers: headers)
        guard first.cache == "MISS" || first.cache == "HIT" else { throw ValidationError("\(url) did not answer the warm-up request (X-Cache: \(first.cache ?? "none"))") }
        let check = try await post(client, url, body: body, headers: headers)
        guard check.cache == "HIT" else { throw ValidationError("a repeat to \(url) was not a hit (X-Cache: \(check.cache ?? "none"))") }
    }

    /// Slices of the hit runs: five, so the machine's load (shared with
    /// other builds) drifts over the three APIs alike; one with `--quick`.
    var hitRounds: Int { options.quick ? 1 : 5 }

    /// The hits of every surface under the same wrk load, `seconds` for each
    /// in ``hitRounds`` slices taken in turn (the order rotated each round,
    /// so no API always follows the same one): each slice's wrk opens its
    /// connections afresh. `rps` is the mean of the slices' (all as long),
    /// `p50` and `p99` the median of theirs, `cpu_us` this process's CPU time
    /// over all of them per request. Reports `proxy.hit.*` for chat and
    /// `proxy.<api>.hit.*`, `.ratio_to_chat` among them, for the others;
    /// returns chat's.
    func measureHits(into report: inout BenchReport, wrk: String, seconds: Int, client: HTTPClient, proxyURL: String) async throws -> WrkResult {
        let surfaces = Self.surfaces
        for surface in surfaces { try await Self.warm(client, proxyURL + surface.path, body: surface.hitBody, headers: surface.headers) }
        let slice = max(1, seconds / hitRounds)
        let sizes = surfaces.map { "\($0.name) \($0.hitBody.utf8.count) bytes" }.joined(separator: ", ")
        progress("hits: wrk -t\(wrkThreads) -c\(connections) -d\(slice)s on \(proxyURL), \(hitRounds) round(s) over \(surfaces.count) APIs (requests: \(sizes))")
        var slices = Array(repeating: [WrkResult](), count: surfaces.count)
        var cpu = Array(repeating: 0.0, count: surfaces.count)
        for round in 0..<hitRounds {
            for turn in 0..<surfaces.count {
                let index = (round + turn) % surfaces.count
                let surface = surfaces[index]
                let before = Self.processCPUSeconds()
                slices[index].append(try Self.runWrk(wrk, url: proxyURL + surface.path, body: surface.hitBody, headers: surface.headers, threads: wrkThreads, connections: connections, seconds: slice))
                cpu[index] += Self.processCPUSeconds() - before
            }
        }
        let results = slices.map { runs in
            WrkResult(
                requestsPerSecond: runs.map(\.requestsPerSecond).reduce(0, +) / Double(runs.count),
                p50Milliseconds: Self.median(runs.map(\.p50Milliseconds)),
                p99Milliseconds: Self.median(runs.map(\.p99Milliseconds))
            )
        }
        // This process's CPU time is the proxy's during a slice: the stand-in
        // upstream and this client are idle then. Per hit, it moves far less
        // with the machine's load than the rates do.
        let cpuPerHit = cpu.indices.map { index in cpu[index] * 1e6 / Double(max(1, slices[index].map(\.requests).reduce(0, +))) }
        let chat = results[0]
        report.add("proxy.hit.rps", chat.requestsPerSecond, "req/s")
        report.add("proxy.hit.p99", chat.p99Milliseconds, "ms")
        report.add("proxy.hit.p50", chat.p50Milliseconds, "ms")
        report.add("proxy.hit.cpu_us", cpuPerHit[0], "us")
        for (index, surface) in surfaces.enumerated().dropFirst() {
            report.add("proxy.\(surface.name).hit.rps", results[index].requestsPerSecond, "req/s")
            report.add("proxy.\(surface.name).hit.p99", results[index].p99Milliseconds, "ms")
            report.add("proxy.\(surface.name).hit.ratio_to_chat", results[index].requestsPerSecond / chat.requestsPerSecond, "ratio")
            report.add("proxy.\(surface.name).hit.cpu_us", cpuPerHit[index], "us")
        }
        if hitRounds > 1 {
            let spread = zip(surfaces, slices).map { surface, runs in
                "\(surface.name) " + runs.map { String(format: "%.0f", $0.requestsPerSecond) }.joined(separator: "/")
            }
            progress("hits per slice (req/s): " + spread.joined(separator: ", "))
        }
        return chat
    }

    /// Streamed hits of a ~150-word answer on every surface, one request at
    /// a time, each followed by the same request not streamed.
    func measureStreamHits(into report: inout BenchReport, client: HTTPClient, proxyURL: String) async throws {
        let count = options.quick ? 200 : 2000
        let warmUps = 20
        for surface in Self.surfaces {
            let url = proxyURL + surface.path
            let streamed = surface.longBody(true)
            let whole = surface.longBody(false)
            try await Self.warm(client, url, body: streamed, headers: surface.headers)
            try await Self.warm(client, url, body: whole, headers: surface.headers)
            let sample = try await Self.post(client, url, body: streamed, headers: surface.headers)
            let events = sample.body.components(separatedBy: "\n\n").count - 1
            progress("\(surface.name) streamed hits: \(count) one at a time, each replaying \(events) events (\(sample.body.utf8.count) bytes), interleaved with the same hit not streamed")
            var streamTimes: [Double] = []
            var wholeTimes: [Double] = []
            for index in 0..<(count + warmUps) {
                var outcome: String?
                let s = try await Self.timed { outcome = try await Self.post(client, url, body: streamed, headers: surface.headers).cache }
                guard outcome == "HIT" else { throw ValidationError("a streamed repeat to \(url) was not a hit (X-Cache: \(outcome ?? "none"))") }
                let w = try await Self.timed { outcome = try await Self.post(client, url, body: whole, headers: surface.headers).cache }
                guard outcome == "HIT" else { throw ValidationError("a repeat to \(url) was not a hit (X-Cache: \(outcome ?? "none"))") }
                if index >= warmUps {
                    streamTimes.append(s)
                    wholeTimes.append(w)
                }
            }
            report.add("proxy.\(surface.name).stream_hit.p99_ms", Self.percentile(streamTimes, 0.99), "ms")
            report.add("proxy.\(surface.name).stream_hit.p50_ms", Self.median(streamTimes), "ms")
            report.add("proxy.\(surface.name).long_hit.p50_ms", Self.median(wholeTimes), "ms")
        }
    }

    /// CPU time this process has used, user and system, in seconds.
    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The smallest value at or above the fraction `p` of `values`.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
    }
}
