import AsyncHTTPClient
import Foundation
import LLMCache
import LLMCacheFakeUpstream
import NIOCore
import NIOHTTP1
import Testing

/// What FakeUpstream answers over plain HTTP, read without any of the
/// project's clients: the body, and for a stream its named events.
private struct Reply {
    var status: Int
    var headers: HTTPHeaders
    var body: String
    /// Set when the body broke off.
    var error: (any Error)?

    var json: JSONValue? { try? JSONValue(parsing: body) }

    /// The server-sent events: each one's `event:` name and parsed `data:`.
    var events: [(name: String?, data: JSONValue)] {
        body.components(separatedBy: "\n\n").compactMap { frame in
            var name: String?
            var data: String?
            for line in frame.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
            }
            return data.flatMap { try? JSONValue(parsing: $0) }.map { (name, $0) }
        }
    }
}

/// Sends one request to the fake's root (`http://127.0.0.1:port`).
private func send(_ root: String, _ path: String, method: HTTPMethod = .POST, body: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
    var request = HTTPClientRequest(url: root + path)
    request.method = method
    if let body {
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
    }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
    var bytes = ByteBuffer()
    var failure: (any Error)?
    do {
        for try await chunk in response.body { bytes.writeImmutableBuffer(chunk) }
    } catch {
        failure = error
    }
    return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes), error: failure)
}

/// Runs `body` with a fresh fake, given its root URL (no `/v1`).
private func withFake<T: Sendable>(_ body: (FakeUpstream, String) async throws -> T) async throws -> T {
    try await Upstream.run { upstream in
        try await body(upstream.fake, String(upstream.baseURL.dropLast(3)))
    }
}

/// `value` without the members that differ on every call (ids and times).
private func withoutIDs(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let members):
        var kept: [String: JSONValue] = [:]
        for (key, member) in members where !["id", "call_id", "created_at", "completed_at"].contains(key) { kept[key] = withoutIDs(member) }
        return .object(kept)
    case .array(let elements): return .array(elements.map(withoutIDs))
    default: return value
    }
}

private func int(_ value: JSONValue?) -> Int? { value?.numberValue?.intValue }

// MARK: - OpenAI's Responses API

@Suite struct FakeUpstreamResponsesTests {
    static let answer = "You said: What is Swift?. This answer comes from the stand-in upstream, word by word."
    static let tools = #"[{"type":"function","name":"search_docs","description":"Search the docs","parameters":{"type":"object","properties":{"query":{"type":"string"}}}}]"#

    static func body(_ fields: String = "", input: String = #""What is Swift?""#) -> String {
        #"{"model":"gpt-4.1","input":\#(input)\#(fields.isEmpty ? "" : "," + fields)}"#
    }

    @Test func aResponseHasTheRealShapeAndEchoesTheRequest() async throws {
        try await withFake { fake, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(#""instructions":"Be brief.","top_p":0.5,"metadata":{"k":"v"}"#))
            #expect(reply.status == 200)
            let response = try #require(reply.json)
            #expect(response["id"]?.stringValue?.hasPrefix("resp_") == true)
            #expect(response["object"] == .string("response"))
            #expect(response["status"] == .string("completed"))
            #expect(response["model"] == .string("gpt-4.1"))
            #expect(int(response["created_at"]) != nil)
            let message = try #require(response["output"]?[0])
            #expect(response["output"]?.arrayValue?.count == 1)
            #expect(message["type"] == .string("message"))
            #expect(message["id"]?.stringValue?.hasPrefix("msg_") == true)
            #expect(message["role"] == .string("assistant"))
            #expect(message["status"] == .string("completed"))
            #expect(message["content"]?[0]?["type"] == .string("output_text"))
            #expect(message["content"]?[0]?["text"] == .string("[instructions: Be brief.] " + Self.answer))
            #expect(message["content"]?[0]?["annotations"] == .array([]))
            let usage = try #require(response["usage"])
            let input = try #require(int(usage["input_tokens"]))
            let output = try #require(int(usage["output_tokens"]))
            #expect(input > 0 && output > 0)
            #expect(int(usage["total_tokens"]) == input + output)
            #expect(int(usage["input_tokens_details"]?["cached_tokens"]) == 0)
            #expect(int(usage["output_tokens_details"]?["reasoning_tokens"]) == 0)
            #expect(response["instructions"] == .string("Be brief."))
            #expect(response["top_p"]?.numberValue?.doubleValue == 0.5)
            #expect(response["metadata"] == .object(["k": .string("v")]))
            #expect(response["previous_response_id"] == .null)
            #expect(response["parallel_tool_calls"] == .bool(true))
            #expect(response["store"] == .bool(true))
            #expect(response["text"]?["format"]?["type"] == .string("text"))
            #expect(response["tools"] == .array([]))
            #expect(response["error"] == .null)
            #expect(reply.headers.first(name: "x-request-id")?.hasPrefix("req_") == true)
            #expect(fake.snapshot.responses == 1)
            #expect(fake.snapshot.responseStreams == 0)
            #expect(fake.snapshot.total == 1)
        }
    }

    @Test("every form of input is read for its last user text", arguments: [
        #""What is Swift?""#,
        #"[{"role":"user","content":"What is Swift?"}]"#,
        #"[{"type":"message","role":"user","content":[{"type":"input_text","text":"What is Swift?"}]}]"#,
        #"[{"role":"user","content":"First question"},{"role":"assistant","content":"An answer"},{"role":"user","content":"What is Swift?"}]"#,
    ])
    func inputForms(input: String) async throws {
        try await withFake { _, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(input: input))
            #expect(reply.json?["output"]?[0]?["content"]?[0]?["text"] == .string(Self.answer))
        }
    }

    @Test func aFunctionToolIsCalledAndItsOutputAnswered() async throws {
        try await withFake { _, root in
            let call = try #require(try await send(root, "/v1/responses", body: Self.body(#""tools":\#(Self.tools)"#)).json?["output"]?[0])
            #expect(call["type"] == .string("function_call"))
            #expect(call["name"] == .string("search_docs"))
            #expect(call["id"]?.stringValue?.hasPrefix("fc_") == true)
            let callID = try #require(call["call_id"]?.stringValue)
            #expect(callID.hasPrefix("call_"))
            let arguments = try JSONValue(parsing: try #require(call["arguments"]?.stringValue))
            #expect(arguments["query"] == .string("What is Swift?"))

            let input = #"[{"role":"user","content":"What is Swift?"},{"type":"function_call","call_id":"\#(callID)","name":"search_docs","arguments":"{}"},{"type":"function_call_output","call_id":"\#(callID)","output":"3 results"}]"#
            let answer = try await send(root, "/v1/responses", body: Self.body(#""tools":\#(Self.tools)"#, input: input)).json
            #expect(answer?["output"]?[0]?["type"] == .string("message"))
            #expect(answer?["output"]?[0]?["content"]?[0]?["text"]?.stringValue?.hasPrefix("The tool returned: 3 results.") == true)
        }
    }

    @Test func aChainNamesThePreviousResponseAndCountsItsContext() async throws {
        try await withFake { _, root in
            let first = try #require(try await send(root, "/v1/responses", body: Self.body()).json)
            let firstID = try #require(first["id"]?.stringValue)
            let second = try #require(try await send(root, "/v1/responses", body: Self.body(#""previous_response_id":"\#(firstID)""#)).json)
            #expect(second["previous_response_id"] == .string(firstID))
            #expect(second["output"]?[0]?["content"]?[0]?["text"] == .string(Self.answer + " Turn 2, after \(firstID)."))
            let context = try #require(int(first["usage"]?["total_tokens"]))
            #expect(int(second["usage"]?["input_tokens_details"]?["cached_tokens"]) == context)
            #expect(int(second["usage"]?["input_tokens"]) == int(first["usage"]?["input_tokens"]).map { $0 + context })

            let third = try await send(root, "/v1/responses", body: Self.body(#""previous_response_id":"\#(try #require(second["id"]?.stringValue))""#)).json
            #expect(third?["output"]?[0]?["content"]?[0]?["text"]?.stringValue?.contains("Turn 3, after resp_") == true)
        }
    }

    @Test func anUnknownPreviousResponseIsOpenAIsError() async throws {
        try await withFake { _, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(#""previous_response_id":"resp_unknown""#))
            #expect(reply.status == 400)
            #expect(reply.json?["error"]?["code"] == .string("previous_response_not_found"))
            #expect(reply.json?["error"]?["type"] == .string("invalid_request_error"))
            #expect(reply.json?["error"]?["param"] == .string("previous_response_id"))
        }
    }

    @Test func aStoredResponseCanBeFetchedListedAndDeleted() async throws {
        try await withFake { _, root in
            let created = try await send(root, "/v1/responses", body: Self.body())
            let id = try #require(created.json?["id"]?.stringValue)
            let fetched = try await send(root, "/v1/responses/\(id)", method: .GET)
            #expect(fetched.status == 200)
            #expect(fetched.json == created.json)

            let items = try await send(root, "/v1/responses/\(id)/input_items", method: .GET).json
            #expect(items?["object"] == .string("list"))
            #expect(items?["data"]?[0]?["role"] == .string("user"))
            #expect(items?["data"]?[0]?["content"]?[0] == .object(["type": .string("input_text"), "text": .string("What is Swift?")]))

            let deleted = try await send(root, "/v1/responses/\(id)", method: .DELETE)
            #expect(deleted.json?["deleted"] == .bool(true))
            let gone = try await send(root, "/v1/responses/\(id)", method: .GET)
            #expect(gone.status == 404)
            #expect(gone.json?["error"]?["type"] == .string("invalid_request_error"))
            #expect(gone.json?["error"]?["message"]?.stringValue?.contains(id) == true)
        }
    }

    @Test func aResponseNotStoredCannotBeFetched() async throws {
        try await withFake { _, root in
            let id = try #require(try await send(root, "/v1/responses", body: Self.body(#""store":false"#)).json?["id"]?.stringValue)
            let fetched = try await send(root, "/v1/responses/\(id)", method: .GET)
            #expect(fetched.status == 404)
        }
    }

    @Test func aSampledAnswerDiffersOnEveryCall() async throws {
        try await withFake { _, root in
            func text(_ fields: String) async throws -> JSONValue? {
                try await send(root, "/v1/responses", body: Self.body(fields)).json?["output"]?[0]?["content"]?[0]?["text"]
            }
            let (sampled, resampled) = (try await text(#""temperature":0.8"#), try await text(#""temperature":0.8"#))
            #expect(sampled != resampled)
            let (greedy, again) = (try await text(#""temperature":0"#), try await text(#""temperature":0"#))
            #expect(greedy == again)
        }
    }

    @Test func aBackgroundResponseIsQueuedAndThenFoundDone() async throws {
        try await withFake { _, root in
            let queued = try #require(try await send(root, "/v1/responses", body: Self.body(#""background":true"#)).json)
            #expect(queued["status"] == .string("queued"))
            #expect(queued["output"] == .array([]))
            #expect(queued["background"] == .bool(true))
            let id = try #require(queued["id"]?.stringValue)
            let done = try await send(root, "/v1/responses/\(id)", method: .GET).json
            #expect(done?["status"] == .string("completed"))
            #expect(done?["output"]?[0]?["content"]?[0]?["text"] == .string(Self.answer))
        }
    }

    @Test("reasoning comes as a summarized item before the message", arguments: [false, true])
    func reasoning(byHeader: Bool) async throws {
        try await withFake { _, root in
            let reply = try await send(
                root, "/v1/responses", body: Self.body(byHeader ? "" : #""reasoning":{"effort":"low","summary":"auto"}"#),
                headers: byHeader ? ["X-Fake-Reasoning": "1"] : [:]
            )
            let response = try #require(reply.json)
            #expect(response["output"]?[0]?["type"] == .string("reasoning"))
            #expect(response["output"]?[0]?["id"]?.stringValue?.hasPrefix("rs_") == true)
            #expect(response["output"]?[0]?["summary"]?[0]?["type"] == .string("summary_text"))
            #expect(response["output"]?[0]?["summary"]?[0]?["text"]?.stringValue?.isEmpty == false)
            #expect(response["output"]?[1]?["content"]?[0]?["text"] == .string(Self.answer))
            #expect((int(response["usage"]?["output_tokens_details"]?["reasoning_tokens"]) ?? 0) > 0)
            if !byHeader { #expect(response["reasoning"]?["effort"] == .string("low")) }
        }
    }

    @Test func aShortOutputLimitLeavesTheResponseIncomplete() async throws {
        try await withFake { _, root in
            let response = try await send(root, "/v1/responses", body: Self.body(#""max_output_tokens":16"#, input: #""\#(String(repeating: "word ", count: 20))""#)).json
            #expect(response?["status"] == .string("incomplete"))
            #expect(response?["incomplete_details"]?["reason"] == .string("max_output_tokens"))
            #expect(int(response?["usage"]?["output_tokens"]) == 16)
            let tooLow = try await send(root, "/v1/responses", body: Self.body(#""max_output_tokens":8"#))
            #expect(tooLow.status == 400)
            #expect(tooLow.json?["error"]?["param"] == .string("max_output_tokens"))
        }
    }

    @Test("a stream is the real event sequence, ending in the response a plain call gives", arguments: ["", #""tools":\#(tools)"#, #""reasoning":{"summary":"auto"}"#])
    func stream(fields: String) async throws {
        try await withFake { fake, root in
            let plain = try #require(try await send(root, "/v1/responses", body: Self.body(fields)).json)
            let reply = try await send(root, "/v1/responses", body: Self.body(fields + (fields.isEmpty ? "" : ",") + #""stream":true"#))
            #expect(reply.headers.first(name: "content-type") == "text/event-stream")
            let events = reply.events
            #expect(events.allSatisfy { $0.name != nil && $0.data["type"] == .string($0.name!) })
            #expect(events.map { int($0.data["sequence_number"]) } == events.indices.map { $0 })
            let names = events.map { $0.name ?? "" }
            #expect(names.prefix(3) == ["response.created", "response.in_progress", "response.output_item.added"])
            #expect(names.last == "response.completed")
            #expect(!names.contains("response.failed"))
            #expect(events.first?.data["response"]?["status"] == .string("in_progress"))
            #expect(events.first?.data["response"]?["output"] == .array([]))
            let final = try #require(events.last?.data["response"])
            #expect(withoutIDs(final) == withoutIDs(plain))

            // The deltas add up to the final text (or arguments).
            let deltas = events.filter { $0.name == "response.output_text.delta" || $0.name == "response.function_call_arguments.delta" }
            #expect(deltas.count > 3)
            let joined = deltas.compactMap { $0.data["delta"]?.stringValue }.joined()
            let last = try #require(final["output"]?.arrayValue?.last)
            #expect(joined == (last["arguments"]?.stringValue ?? last["content"]?[0]?["text"]?.stringValue))
            if fields.contains("reasoning") {
                #expect(names.contains("response.reasoning_summary_text.delta"))
                #expect(names.contains("response.reasoning_summary_part.done"))
            }
            if fields.contains("tools") { #expect(names.contains("response.function_call_arguments.done")) }
            #expect(fake.snapshot.responses == 2)
            #expect(fake.snapshot.responseStreams == 1)
            #expect(fake.snapshot.completedStreams == 1)
        }
    }

    @Test func aStreamErrorEndsWithAFailedResponse() async throws {
        try await withFake { fake, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(#""stream":true"#), headers: ["X-Fake-Stream-Error": "1"])
            #expect(reply.error == nil)
            let events = reply.events
            #expect(events.filter { $0.name == "response.output_text.delta" }.count == 3)
            #expect(events.last?.name == "response.failed")
            #expect(events.last?.data["response"]?["status"] == .string("failed"))
            #expect(events.last?.data["response"]?["error"]?["code"] == .string("server_error"))
            #expect(events.map { int($0.data["sequence_number"]) } == events.indices.map { $0 })
            #expect(fake.snapshot.completedStreams == 0)
        }
    }

    @Test func noDoneEndsAStreamCleanlyWithoutItsTerminalEvent() async throws {
        try await withFake { fake, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(#""stream":true"#), headers: ["X-Fake-No-Done": "1"])
            #expect(reply.error == nil)
            #expect(reply.events.last?.name == "response.output_item.done")
            #expect(fake.snapshot.completedStreams == 0)
        }
    }

    @Test func failAfterBreaksTheConnection() async throws {
        try await withFake { _, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(#""stream":true"#), headers: ["X-Fake-Fail-After": "4"])
            #expect(reply.error != nil)
            #expect(reply.events.count <= 4)
            #expect(!reply.events.contains { $0.name == "response.completed" })
        }
    }

    @Test func aForcedStatusIsOpenAIsErrorBody() async throws {
        try await withFake { fake, root in
            let reply = try await send(root, "/v1/responses", body: Self.body(), headers: ["X-Fake-Status": "500"])
            #expect(reply.status == 500)
            #expect(reply.json?["error"]?["type"] == .string("server_error"))
            #expect(fake.snapshot.responses == 1)
        }
    }

    @Test func aQueuedAnswerIsGivenAndTheRequestRecorded() async throws {
        try await withFake { fake, root in
            fake.enqueue(.events(named: [(name: "response.created", data: #"{"type":"response.created","sequence_number":0}"#)]), for: "/v1/responses")
            let reply = try await send(root, "/v1/responses", body: Self.body())
            #expect(reply.body == "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n")
            #expect(fake.snapshot.responses == 0)
            #expect(fake.recordedRequests.map(\.path) == ["/v1/responses"])
        }
    }
}

// MARK: - Anthropic's Messages API

@Suite struct FakeUpstreamMessagesTests {
    static let answer = "You said: What is Swift?. This answer comes from the stand-in upstream, word by word."
    static let headers = ["x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"]
    static let tools = #"[{"name":"search_docs","description":"Search the docs","input_schema":{"type":"object","properties":{"query":{"type":"string"}}}}]"#

    static func body(_ fields: String = "", content: String = #""What is Swift?""#) -> String {
        #"{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":\#(content)}]\#(fields.isEmpty ? "" : "," + fields)}"#
    }

    fileprivate static func message(_ root: String, _ fields: String = "", content: String = #""What is Swift?""#, headers: [String: String] = [:]) async throws -> Reply {
        try await send(root, "/v1/messages", body: body(fields, content: content), headers: Self.headers.merging(headers) { $1 })
    }

    @Test func aMessageHasTheRealShapeAndAnthropicsHeaders() async throws {
        try await withFake { fake, root in
            let reply = try await Self.message(root)
            #expect(reply.status == 200)
            let message = try #require(reply.json)
            #expect(message["id"]?.stringValue?.hasPrefix("msg_") == true)
            #expect(message["type"] == .string("message"))
            #expect(message["role"] == .string("assistant"))
            #expect(message["model"] == .string("claude-sonnet-4-5"))
            #expect(message["content"] == .array([.object(["type": .string("text"), "text": .string(Self.answer)])]))
            #expect(message["stop_reason"] == .string("end_turn"))
            #expect(message["stop_sequence"] == .null)
            let usage = try #require(message["usage"])
            #expect((int(usage["input_tokens"]) ?? 0) > 0)
            #expect((int(usage["output_tokens"]) ?? 0) > 0)
            #expect(int(usage["cache_creation_input_tokens"]) == 0)
            #expect(int(usage["cache_read_input_tokens"]) == 0)
            #expect(reply.headers.first(name: "request-id")?.hasPrefix("req_") == true)
            #expect(reply.headers.first(name: "anthropic-ratelimit-requests-remaining") != nil)
            #expect(reply.headers.first(name: "anthropic-ratelimit-tokens-limit") != nil)
            #expect(fake.snapshot.messages == 1)
            #expect(fake.snapshot.total == 1)
        }
    }

    struct Refusal: Sendable, CustomStringConvertible {
        var headers: [String: String]
        var body: String
        var status: Int
        var type: String
        var description: String { "\(status) \(type)" }
    }

    @Test("the API's own checks are made, with Anthropic's error body", arguments: [
        Refusal(headers: ["anthropic-version": "2023-06-01"], body: body(), status: 401, type: "authentication_error"),
        Refusal(headers: ["x-api-key": "sk-ant-test"], body: body(), status: 400, type: "invalid_request_error"),
        Refusal(headers: headers, body: #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"#, status: 400, type: "invalid_request_error"),
        Refusal(headers: headers, body: "not json", status: 400, type: "invalid_request_error"),
    ])
    func refusals(refusal: Refusal) async throws {
        try await withFake { _, root in
            let reply = try await send(root, "/v1/messages", body: refusal.body, headers: refusal.headers)
            #expect(reply.status == refusal.status)
            #expect(reply.json?["type"] == .string("error"))
            #expect(reply.json?["error"]?["type"] == .string(refusal.type))
            #expect(reply.json?["error"]?["message"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func aBearerTokenServesAsTheKey() async throws {
        try await withFake { _, root in
            let reply = try await send(root, "/v1/messages", body: Self.body(), headers: ["authorization": "Bearer sk-ant-oat", "anthropic-version": "2023-06-01"])
            #expect(reply.status == 200)
        }
    }

    @Test func theSystemPromptShowsInTheAnswer() async throws {
        try await withFake { _, root in
            let plain = try await Self.message(root, #""system":"Be brief.""#).json
            #expect(plain?["content"]?[0]?["text"] == .string("[system: Be brief.] " + Self.answer))
            let blocks = try await Self.message(root, #""system":[{"type":"text","text":"Be thorough."}]"#).json
            #expect(blocks?["content"]?[0]?["text"] == .string("[system: Be thorough.] " + Self.answer))
        }
    }

    @Test func aToolIsUsedAndItsResultAnswered() async throws {
        try await withFake { _, root in
            let message = try #require(try await Self.message(root, #""tools":\#(Self.tools)"#).json)
            #expect(message["stop_reason"] == .string("tool_use"))
            let use = try #require(message["content"]?[0])
            #expect(use["type"] == .string("tool_use"))
            #expect(use["name"] == .string("search_docs"))
            #expect(use["input"]?["query"] == .string("What is Swift?"))
            let id = try #require(use["id"]?.stringValue)
            #expect(id.hasPrefix("toolu_"))

            let conversation = #"{"model":"claude-sonnet-4-5","max_tokens":1024,"tools":\#(Self.tools),"messages":[{"role":"user","content":"What is Swift?"},{"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"search_docs","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"\#(id)","content":"3 results"}]}]}"#
            let answer = try await send(root, "/v1/messages", body: conversation, headers: Self.headers).json
            #expect(answer?["stop_reason"] == .string("end_turn"))
            #expect(answer?["content"]?[0]?["text"]?.stringValue?.hasPrefix("The tool returned: 3 results.") == true)
        }
    }

    @Test func thinkingComesAsASignedBlockBeforeTheText() async throws {
        try await withFake { _, root in
            let content = try #require(try await Self.message(root, #""thinking":{"type":"enabled","budget_tokens":2048}"#).json?["content"])
            #expect(content[0]?["type"] == .string("thinking"))
            #expect(content[0]?["thinking"]?.stringValue?.isEmpty == false)
            #expect(content[0]?["signature"]?.stringValue?.isEmpty == false)
            #expect(content[1]?["text"] == .string(Self.answer))
        }
    }

    @Test func aStopSequenceOrTheTokenLimitEndsTheAnswer() async throws {
        try await withFake { _, root in
            let stopped = try await Self.message(root, #""stop_sequences":["upstream","answer"]"#).json
            #expect(stopped?["stop_reason"] == .string("stop_sequence"))
            #expect(stopped?["stop_sequence"] == .string("answer"))
            #expect(stopped?["content"]?[0]?["text"] == .string("You said: What is Swift?. This "))

            let short = try await send(root, "/v1/messages", body: Self.body().replacingOccurrences(of: "1024", with: "4"), headers: Self.headers).json
            #expect(short?["stop_reason"] == .string("max_tokens"))
            #expect(short?["content"]?[0]?["text"] == .string("You said: What is"))
            #expect(int(short?["usage"]?["output_tokens"]) == 4)
        }
    }

    @Test func aMarkedPrefixIsWrittenToTheCacheThenRead() async throws {
        try await withFake { _, root in
            let system = #""system":[{"type":"text","text":"A long and stable system prompt","cache_control":{"type":"ephemeral"}}]"#
            let first = try #require(try await Self.message(root, system).json?["usage"])
            #expect(int(first["cache_creation_input_tokens"]) == 6)
            #expect(int(first["cache_read_input_tokens"]) == 0)
            let second = try #require(try await Self.message(root, system, content: #""Another question""#).json?["usage"])
            #expect(int(second["cache_creation_input_tokens"]) == 0)
            #expect(int(second["cache_read_input_tokens"]) == 6)
            #expect(int(second["input_tokens"]) == 2)
            let unmarked = try await Self.message(root, #""system":"A long and stable system prompt""#).json?["usage"]
            #expect(int(unmarked?["cache_creation_input_tokens"]) == 0)
            #expect(int(unmarked?["cache_read_input_tokens"]) == 0)
        }
    }

    @Test func aSampledAnswerDiffersOnEveryCall() async throws {
        try await withFake { _, root in
            func text(_ fields: String) async throws -> JSONValue? { try await Self.message(root, fields).json?["content"]?[0]?["text"] }
            let (sampled, resampled) = (try await text(#""temperature":1"#), try await text(#""temperature":1"#))
            #expect(sampled != resampled)
            let (greedy, again) = (try await text(#""temperature":0"#), try await text(#""temperature":0"#))
            #expect(greedy == again)
        }
    }

    @Test func tokensAreCountedAsAMessageWouldCountThem() async throws {
        try await withFake { fake, root in
            let fields = #""system":"Be brief.","tools":\#(Self.tools)"#
            let counted = try await send(root, "/v1/messages/count_tokens", body: Self.body(fields), headers: Self.headers)
            #expect(counted.status == 200)
            let message = try await Self.message(root, fields).json
            let inputTokens = try #require(message?["usage"]?["input_tokens"])
            #expect(counted.json == .object(["input_tokens": inputTokens]))
            #expect(fake.snapshot.countTokens == 1)
            let unauthenticated = try await send(root, "/v1/messages/count_tokens", body: Self.body())
            #expect(unauthenticated.status == 401)
        }
    }

    /// The content blocks a stream's events add up to.
    static func assemble(_ events: [(name: String?, data: JSONValue)]) -> [JSONValue] {
        var blocks: [[String: JSONValue]] = []
        var json: [Int: String] = [:]
        for (name, data) in events {
            let index = int(data["index"]) ?? 0
            switch name {
            case "content_block_start": blocks.append(data["content_block"]?.objectValue ?? [:])
            case "content_block_delta":
                let delta = data["delta"]
                switch delta?["type"]?.stringValue {
                case "text_delta": blocks[index]["text"] = .string((blocks[index]["text"]?.stringValue ?? "") + (delta?["text"]?.stringValue ?? ""))
                case "thinking_delta": blocks[index]["thinking"] = .string((blocks[index]["thinking"]?.stringValue ?? "") + (delta?["thinking"]?.stringValue ?? ""))
                case "signature_delta": blocks[index]["signature"] = delta?["signature"]
                case "input_json_delta": json[index, default: ""] += delta?["partial_json"]?.stringValue ?? ""
                default: break
                }
            case "content_block_stop":
                if let text = json[index] { blocks[index]["input"] = try? JSONValue(parsing: text) }
            default: break
            }
        }
        return blocks.map { .object($0) }
    }

    @Test("a stream is Anthropic's event sequence and adds up to the message a plain call gives", arguments: [
        "", #""tools":\#(tools)"#, #""thinking":{"type":"enabled","budget_tokens":2048}"#,
    ])
    func stream(fields: String) async throws {
        try await withFake { fake, root in
            let plain = try #require(try await Self.message(root, fields).json)
            let reply = try await Self.message(root, fields + (fields.isEmpty ? "" : ",") + #""stream":true"#)
            #expect(reply.headers.first(name: "content-type") == "text/event-stream")
            #expect(reply.headers.first(name: "request-id") != nil)
            let events = reply.events
            #expect(events.allSatisfy { $0.name != nil && $0.data["type"] == .string($0.name!) })
            let names = events.map { $0.name ?? "" }
            #expect(names.prefix(3) == ["message_start", "content_block_start", "ping"])
            #expect(names.suffix(3) == ["content_block_stop", "message_delta", "message_stop"])
            let start = try #require(events.first?.data["message"])
            #expect(start["content"] == .array([]))
            #expect(start["stop_reason"] == .null)
            #expect(start["usage"]?["input_tokens"] == plain["usage"]?["input_tokens"])
            let delta = try #require(events.first { $0.name == "message_delta" }?.data)
            #expect(delta["delta"]?["stop_reason"] == plain["stop_reason"])
            #expect(delta["usage"]?["output_tokens"] == plain["usage"]?["output_tokens"])
            let assembled = Self.assemble(events).map(withoutIDs)
            #expect(assembled == plain["content"]?.arrayValue?.map(withoutIDs))
            #expect(fake.snapshot.messageStreams == 1)
            #expect(fake.snapshot.completedStreams == 1)
        }
    }

    struct Forced: Sendable, CustomStringConvertible {
        var status: Int
        var type: String
        var description: String { "\(status) \(type)" }
    }

    @Test("a forced status is Anthropic's error", arguments: [
        Forced(status: 529, type: "overloaded_error"), Forced(status: 429, type: "rate_limit_error"),
        Forced(status: 500, type: "api_error"), Forced(status: 400, type: "invalid_request_error"),
    ])
    func forcedStatus(forced: Forced) async throws {
        try await withFake { _, root in
            let reply = try await Self.message(root, headers: ["X-Fake-Status": "\(forced.status)"])
            #expect(reply.status == forced.status)
            #expect(reply.json?["type"] == .string("error"))
            #expect(reply.json?["error"]?["type"] == .string(forced.type))
            #expect(reply.json?["request_id"]?.stringValue == reply.headers.first(name: "request-id"))
            if forced.status == 529 { #expect(reply.json?["error"]?["message"] == .string("Overloaded")) }
            #expect((reply.headers.first(name: "retry-after") != nil) == (forced.status == 429))
        }
    }

    @Test func aStreamErrorIsAnOverloadedErrorEvent() async throws {
        try await withFake { fake, root in
            let reply = try await Self.message(root, #""stream":true"#, headers: ["X-Fake-Stream-Error": "1"])
            #expect(reply.status == 200)
            #expect(reply.error == nil)
            let events = reply.events
            #expect(events.filter { $0.name == "content_block_delta" }.count == 3)
            #expect(events.last?.name == "error")
            #expect(events.last?.data["error"]?["type"] == .string("overloaded_error"))
            #expect(fake.snapshot.completedStreams == 0)
        }
    }

    @Test func noDoneEndsWithoutMessageStop() async throws {
        try await withFake { _, root in
            let reply = try await Self.message(root, #""stream":true"#, headers: ["X-Fake-No-Done": "1"])
            #expect(reply.error == nil)
            #expect(reply.events.last?.name == "message_delta")
        }
    }

    @Test func failAfterBreaksTheConnection() async throws {
        try await withFake { _, root in
            let reply = try await Self.message(root, #""stream":true"#, headers: ["X-Fake-Fail-After": "3"])
            #expect(reply.error != nil)
            #expect(reply.events.count <= 3)
        }
    }

    @Test func aQueuedAnswerCarriesAnthropicsRequestID() async throws {
        try await withFake { fake, root in
            fake.enqueue(.json(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, status: 529), for: "/v1/messages")
            let reply = try await Self.message(root)
            #expect(reply.status == 529)
            #expect(reply.headers.first(name: "request-id") != nil)
            #expect(fake.snapshot.messages == 0)
            #expect(fake.recordedRequests.first?.headers["anthropic-version"] == "2023-06-01")
        }
    }
}
