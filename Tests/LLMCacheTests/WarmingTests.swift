import Foundation
import Testing
@testable import LLMCache

@Suite struct WarmingTests {
    let request = #"{"model":"gpt-4o","messages":[{"role":"user","content":"What is 2+2?"}]}"#

    @Test func warmedAnswersAreServedAsHits() async throws {
        let file = """
        {"request": \(request), "response": {"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"4"},"finish_reason":"stop"}]}}

        {"request": {"model":"gpt-4o","prompt":"Say hi"}, "response": "hi", "tags": ["greetings"], "namespace": "support"}
        """
        let records = try WarmRecord.parseFile(Data(file.utf8))
        #expect(records.count == 2)
        let cache = LLMCache(store: DictionaryStore())
        let report = await cache.warm(records)
        #expect(report.stored == 2 && report.failed.isEmpty)

        let hit = try await cache.response(for: try LLMRequest(json: Array(request.utf8))) { Data() }
        #expect(hit.source == .hit)
        let body = try JSONValue(parsing: hit.value)
        #expect(body["choices"]?.arrayValue?.first?["message"]?["content"] == .string("4"))

        let prompt = try LLMRequest(json: Array(#"{"model":"gpt-4o","prompt":"Say hi"}"#.utf8))
        let wrapped = try #require(await cache.lookup(prompt, options: .init(namespace: "support")))
        let text = try JSONValue(parsing: wrapped.value)
        #expect(text["object"] == .string("text_completion"))
        #expect(text["choices"]?.arrayValue?.first?["text"] == .string("hi"))
        #expect(try await cache.invalidate(.tag("greetings")) == 1)
    }

    @Test func linesNameTheirAPI() async throws {
        let file = """
        {"endpoint": "/responses", "request": {"model": "gpt-5-mini", "input": "What is 2+2?"}, "response": "4"}
        {"endpoint": "/messages", "request": {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "What is 2+2?"}]}, "response": "four"}
        {"endpoint": "/messages", "api_version": "2023-06-01; beta=b1", "request": {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "What is 2+2?"}]}, "response": "beta four"}
        """
        let cache = LLMCache(store: DictionaryStore())
        #expect(await cache.warm(try WarmRecord.parseFile(Data(file.utf8))).stored == 3)

        let responses = try LLMRequest(json: Array(#"{"model":"gpt-5-mini","input":"What is 2+2?"}"#.utf8), endpoint: .responses)
        let response = try JSONValue(parsing: try #require(await cache.lookup(responses)).value)
        #expect(response["object"] == .string("response") && response["status"] == .string("completed"))
        #expect(response["output"]?.arrayValue?.first?["content"]?.arrayValue?.first?["text"] == .string("4"))
        // The same body as a chat request was not warmed.
        #expect(await cache.lookup(try LLMRequest(json: Array(#"{"model":"gpt-5-mini","input":"What is 2+2?"}"#.utf8))) == nil)

        let body = Array(#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"What is 2+2?"}]}"#.utf8)
        let plain = try #require(await cache.lookup(try LLMRequest(json: body, endpoint: .anthropicMessages.version("2023-06-01"))))
        let message = try JSONValue(parsing: plain.value)
        #expect(message["type"] == .string("message") && message["content"]?.arrayValue?.first?["text"] == .string("four"))
        let beta = try #require(await cache.lookup(try LLMRequest(json: body, endpoint: .anthropicMessages.version("2023-06-01; beta=b1"))))
        #expect(try JSONValue(parsing: beta.value)["content"]?.arrayValue?.first?["text"] == .string("beta four"))
    }

    @Test(arguments: [
        (#"{"response": "x"}"#, "request"),
        (#"{"endpoint": "responses", "request": {"model": "m"}, "response": "x"}"#, "endpoint"),
        (#"{"endpoint": "/responses", "api_version": "2023-06-01", "request": {"model": "m"}, "response": "x"}"#, "api_version"),
        (#"{"endpoint": "/messages", "request": {"model": "m", "messages": []}, "response": "x"}"#, "request.max_tokens"),
        (#"{"request": {"messages": []}, "response": "x"}"#, "request.model"),
        (#"{"request": {"model": "m"}}"#, "response"),
        (#"{"request": {"model": "m"}, "response": 42}"#, "response"),
        (#"{"request": {"model": "m"}, "response": "x", "tags": "faq"}"#, "tags"),
        (#"{"request": {"model": "m"}, "response": "x", "ttl_seconds": -5}"#, "ttl_seconds"),
        (#"{"request": {"model": "m"}, "response": "x""#, "$"),
    ])
    func aBadLineNamesItsLineAndField(line: String, field: String) {
        let file = #"{"request": {"model": "m"}, "response": "ok"}"# + "\n" + line + "\n"
        do {
            _ = try WarmRecord.parseFile(Data(file.utf8))
            Issue.record("accepted \(line)")
        } catch let error as CacheError {
            #expect(error.field == field, "\(error)")
            #expect(error.message.hasPrefix("line 2:"), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
