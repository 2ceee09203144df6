import Foundation
import LLMCache
import LLMCacheFakeUpstream
import LLMCacheOpenAI
import Testing

/// OpenAIClient against FakeUpstream over real loopback HTTP.
@Suite struct OpenAIClientTests {
    static let question = ChatCompletionRequest(model: "gpt-4o-mini", messages: [.system("Be brief."), .user("What is Swift?")])
    /// What FakeUpstream answers to ``question``.
    static let answer = "You said: What is Swift?. This answer comes from the stand-in upstream, word by word."

    @Test func aChatCompletionIsSentWithTheCredentialsAndAnswered() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(apiKey: "sk-test", organization: "org-abc123", headers: ["OpenAI-Project": "proj_1"]) { client in
                var request = Self.question
                // Left over from a streamed call: the non-streamed call must not send it.
                request.stream = true
                let completion = try await client.chatCompletion(request)
                #expect(completion.object == "chat.completion")
                #expect(completion.model == "gpt-4o-mini")
                #expect(completion.choices.first?.message.role == "assistant")
                #expect(completion.choices.first?.message.text == Self.answer)
                #expect(completion.choices.first?.finishReason == "stop")
                #expect(completion.usage != nil)

                let sent = try #require(upstream.fake.recordedRequests.first)
                #expect(sent.method == "POST")
                #expect(sent.path == "/v1/chat/completions")
                #expect(sent.headers["authorization"] == "Bearer sk-test")
                #expect(sent.headers["openai-organization"] == "org-abc123")
                #expect(sent.headers["openai-project"] == "proj_1")
                #expect(sent.headers["content-type"] == "application/json")
                #expect(sent.json == (try encoded(Self.question)))
                #expect(sent.json?["stream"] == nil)
            }
        }
    }

    @Test func withoutAKeyNoAuthorizationIsSent() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(apiKey: nil) { client in
                _ = try await client.chatCompletion(Self.question)
                #expect(upstream.fake.recordedRequests.first?.headers["authorization"] == nil)
            }
        }
    }

    @Test func aTrailingSlashOnTheBaseURLIsIgnored() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(baseURL: upstream.baseURL + "//") { client in
                _ = try await client.chatCompletion(Self.question)
                #expect(upstream.fake.recordedRequests.map(\.path) == ["/v1/chat/completions"])
            }
        }
    }

    @Test func aRequestWithToolsIsAnsweredWithACall() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                let parameters = try OpenAIJSON(parsing: #"{"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["query"]}"#)
                let request = ChatCompletionRequest(
                    model: "gpt-4o-mini",
                    messages: [.user("Find the Swift docs")],
                    tools: [Tool(function: .init(name: "search_docs", description: "Search the docs", parameters: parameters))]
                )
                let choice = try #require(try await client.chatCompletion(request).choices.first)
                #expect(choice.finishReason == "tool_calls")
                #expect(choice.message.content == nil)
                let call = try #require(choice.message.toolCalls?.first)
                #expect(call.function.name == "search_docs")
                #expect(call.type == "function")
                let arguments = try JSONValue(parsing: call.function.arguments)
                #expect(arguments["query"] == .string("Find the Swift docs"))
                #expect(upstream.fake.recordedRequests.first?.json?["tools"]?[0]?["function"]?["parameters"] == parameters.value)
            }
        }
    }

    @Test func aCapturedAnswerIsDecodedWhole() async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.json(Captured.chatCompletion), for: "/v1/chat/completions")
            upstream.fake.enqueue(.json(Captured.toolCallCompletion), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let text = try await client.chatCompletion(Self.question)
                let call = try await client.chatCompletion(Self.question)
                #expect(try text == decoded(ChatCompletion.self, Captured.chatCompletion))
                #expect(try call == decoded(ChatCompletion.self, Captured.toolCallCompletion))
            }
        }
    }

    @Test func aRawPostReturnsTheBodyByteForByte() async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.json(Captured.chatCompletion), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let body = Array(#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}"#.utf8)
                let answer = try await client.post("chat/completions", body: body)
                #expect(answer == Array(Captured.chatCompletion.utf8))
                #expect(upstream.fake.recordedRequests.first?.body == body)
            }
        }
    }

    @Test func aLegacyCompletionIsAnswered() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                let completion = try await client.completion(CompletionRequest(model: "gpt-3.5-turbo-instruct", prompt: "Say this is a test", maxTokens: 7, stream: true))
                #expect(completion.object == "text_completion")
                #expect(completion.choices == [.init(text: " completed: Say this is a test", index: 0, finishReason: "stop")])
                let sent = try #require(upstream.fake.recordedRequests.first)
                #expect(sent.path == "/v1/completions")
                #expect(sent.json?["max_tokens"] == .number(JSONNumber(7)))
                #expect(sent.json?["stream"] == nil)
            }
        }
    }

    @Test func embeddingsComeBackOnePerInputInOrder() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                let inputs = ["What is Swift?", "Explain Swift", "What is Swift?"]
                let response = try await client.embeddings(EmbeddingRequest(model: "text-embedding-3-small", input: OpenAIJSON(.array(inputs.map(JSONValue.string)))))
                #expect(response.model == "text-embedding-3-small")
                #expect(response.data.map(\.index) == [0, 1, 2])
                #expect(response.data.allSatisfy { $0.embedding.count == 8 })
                // The same text gets the same vector, another text another.
                #expect(response.data[0].embedding == response.data[2].embedding)
                #expect(response.data[0].embedding != response.data[1].embedding)
                #expect(upstream.fake.recordedRequests.first?.path == "/v1/embeddings")
            }
        }
    }

    @Test func theModelListIsFetchedWithAGet() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                #expect(try await client.models().data.map(\.id) == ["fake-model"])
                let sent = try #require(upstream.fake.recordedRequests.first)
                #expect(sent.method == "GET")
                #expect(sent.path == "/v1/models")
                #expect(sent.body.isEmpty)
            }
        }
    }
}

@Suite struct OpenAIClientStreamingTests {
    @Test func streamedChunksAddUpToTheNonStreamedAnswer() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                var request = OpenAIClientTests.question
                request.streamOptions = ["include_usage": OpenAIJSON(.bool(true))]
                let (chunks, error) = await collect(client.chatCompletionStream(request))
                #expect(error == nil)
                #expect(chunks.first?.choices.first?.delta.role == "assistant")
                #expect(chunks.compactMap { $0.choices.first?.delta.content }.joined() == OpenAIClientTests.answer)
                #expect(chunks.dropLast().last?.choices.first?.finishReason == "stop")
                // The usage chunk comes last, with no choices.
                #expect(chunks.last?.choices.isEmpty == true)
                #expect(chunks.last?.usage != nil)
                #expect(Set(chunks.map(\.id)).count == 1)

                let sent = try #require(upstream.fake.recordedRequests.first)
                #expect(sent.json?["stream"] == .bool(true))
                #expect(sent.json?["stream_options"]?["include_usage"] == .bool(true))
                #expect(upstream.fake.snapshot.completedStreams == 1)
            }
        }
    }

    @Test(arguments: [Captured.textStream, Captured.toolCallStream, Captured.refusalStream, Captured.twoChoiceStream])
    func capturedStreamsArriveEventByEvent(payloads: [String]) async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.events(payloads), for: "/v1/chat/completions")
            upstream.fake.enqueue(.events(payloads), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let (chunks, error) = await collect(client.chatCompletionStream(OpenAIClientTests.question))
                #expect(error == nil)
                #expect(chunks == (try payloads.map { try decoded(ChatCompletionChunk.self, $0) }))

                // The raw events are the payloads unchanged, and assemble into a complete answer.
                let body = Array(try JSONEncoder().encode(OpenAIClientTests.question))
                let (events, rawError) = await collect(client.stream("chat/completions", body: body))
                #expect(rawError == nil)
                #expect(events == payloads.map { Array($0.utf8) })
                var assembler = StreamAssembler()
                for event in events { assembler.consume(event: event) }
                assembler.consume(event: SSEParser.doneMarker)
                #expect(assembler.isComplete)
            }
        }
    }

    @Test func anErrorEventEndsTheStreamAfterTheChunksBeforeIt() async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.events(Array(Captured.textStream.prefix(3)) + [Captured.streamError]), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let (chunks, error) = await collect(client.chatCompletionStream(OpenAIClientTests.question))
                #expect(chunks.count == 3)
                let failure = try #require(error as? OpenAIError)
                #expect(failure.code == .incompleteStream)
                #expect(failure.message.contains("The server had an error while processing your request"))
            }
        }
    }

    @Test func aStreamEndingWithoutDoneIsIncomplete() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(headers: ["X-Fake-No-Done": "1"]) { client in
                let (chunks, error) = await collect(client.chatCompletionStream(OpenAIClientTests.question))
                #expect(chunks.compactMap { $0.choices.first?.delta.content }.joined() == OpenAIClientTests.answer)
                #expect((error as? OpenAIError)?.code == .incompleteStream)
            }
        }
    }

    @Test func aStreamCutOffMidwayIsIncomplete() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(headers: ["X-Fake-Fail-After": "3"]) { client in
                let (chunks, error) = await collect(client.chatCompletionStream(OpenAIClientTests.question))
                // Events written just before the connection broke may not all
                // arrive, as on a real network: what did arrive is the answer's start.
                #expect(chunks.count <= 3)
                let received = chunks.compactMap { $0.choices.first?.delta.content }.joined()
                #expect(OpenAIClientTests.answer.hasPrefix(received) && received != OpenAIClientTests.answer)
                #expect((error as? OpenAIError)?.code == .incompleteStream)
            }
        }
    }

    @Test func aRefusedStreamThrowsTheStatusAndYieldsNothing() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient(headers: ["X-Fake-Status": "429"]) { client in
                let (chunks, error) = await collect(client.chatCompletionStream(OpenAIClientTests.question))
                #expect(chunks.isEmpty)
                let failure = try #require(error as? OpenAIError)
                #expect(failure.code == .status)
                #expect(failure.status == 429)
                #expect(failure.message.contains("forced failure 429"))
                #expect(failure.message.contains("rate limiting"))
            }
        }
    }

    @Test func aStreamThatDoesNotStartInTimeTimesOut() async throws {
        try await Upstream.run { upstream in
            var held = FakeUpstream.CannedResponse.events(Captured.textStream)
            held.holdUntilReleased = Upstream.hold
            upstream.fake.enqueue(held, for: "/v1/chat/completions")
            try await upstream.withClient(timeouts: .init(request: .milliseconds(300))) { client in
                let (chunks, error) = await collect(client.chatCompletionStream(OpenAIClientTests.question))
                #expect(chunks.isEmpty)
                #expect((error as? OpenAIError)?.code == .timeout)
            }
        }
    }
}

@Suite struct OpenAIClientErrorTests {
    /// What each status's message tells the user to do.
    static let hints = [400: "fix the request", 401: "check the API key", 404: "check the model name", 429: "rate limiting", 500: "retry later", 503: "retry later"]

    @Test(arguments: Captured.errors.map { $0.status })
    func anErrorStatusCarriesTheProvidersMessageAndBody(status: Int) async throws {
        let captured = try #require(Captured.errors.first { $0.status == status })
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.json(captured.body, status: status), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let error = await #expect(throws: OpenAIError.self) { try await client.chatCompletion(OpenAIClientTests.question) }
                #expect(error?.code == .status)
                #expect(error?.status == status)
                #expect(error?.body == Array(captured.body.utf8))
                #expect(error?.message.contains(captured.message) == true)
                #expect(error?.message.contains(Self.hints[status]!) == true)
                #expect(error?.description.hasPrefix("status \(status): ") == true)
            }
        }
    }

    @Test func everyCallMapsErrorStatuses() async throws {
        try await Upstream.run { upstream in
            let unauthorized = Captured.errors[1]
            for path in ["/v1/models", "/v1/embeddings", "/v1/completions"] {
                upstream.fake.enqueue(.json(unauthorized.body, status: unauthorized.status), for: path)
            }
            try await upstream.withClient { client in
                let listing = await #expect(throws: OpenAIError.self) { try await client.models() }
                let embedding = await #expect(throws: OpenAIError.self) { try await client.embeddings(EmbeddingRequest(model: "text-embedding-3-small", input: "x")) }
                let completion = await #expect(throws: OpenAIError.self) { try await client.completion(CompletionRequest(model: "gpt-3.5-turbo-instruct", prompt: "x")) }
                for error in [listing, embedding, completion] {
                    #expect(error?.status == 401)
                    #expect(error?.message.contains(unauthorized.message) == true)
                }
            }
        }
    }

    @Test func anErrorBodyThatIsNotJSONIsQuoted() async throws {
        try await Upstream.run { upstream in
            let page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
            upstream.fake.enqueue(.init(status: 502, contentType: "text/html", body: Array(page.utf8)), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let error = await #expect(throws: OpenAIError.self) { try await client.chatCompletion(OpenAIClientTests.question) }
                #expect(error?.status == 502)
                #expect(error?.message.contains("<title>502 Bad Gateway</title>") == true)
                #expect(error?.message.contains("retry later") == true)
            }
        }
    }

    @Test(arguments: ["not json", #"{"id": "chatcmpl-1", "object": "chat.completion"}"#, "[]"])
    func aSuccessThatIsNotTheExpectedAnswerIsADecodingError(body: String) async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.json(body), for: "/v1/chat/completions")
            try await upstream.withClient { client in
                let error = await #expect(throws: OpenAIError.self) { try await client.chatCompletion(OpenAIClientTests.question) }
                #expect(error?.code == .decoding)
                #expect(error?.message.contains("ChatCompletion") == true)
                #expect(error?.message.contains(String(body.prefix(8))) == true)
            }
        }
    }

    @Test func anAnswerThatDoesNotComeInTimeIsATimeout() async throws {
        try await Upstream.run { upstream in
            upstream.fake.enqueue(.init(body: Array(Captured.chatCompletion.utf8), holdUntilReleased: Upstream.hold), for: "/v1/chat/completions")
            try await upstream.withClient(timeouts: .init(request: .milliseconds(300))) { client in
                let error = await #expect(throws: OpenAIError.self) { try await client.chatCompletion(OpenAIClientTests.question) }
                #expect(error?.code == .timeout)
            }
        }
    }

    @Test func anUnreachableServerIsATransportError() async throws {
        let stopped = try await Upstream.stoppedBaseURL()
        // A short connect time-out: the client retries a refused connection until it runs out.
        let client = OpenAIClient(configuration: .init(baseURL: stopped, timeouts: .init(connect: .milliseconds(500))))
        let error = await #expect(throws: OpenAIError.self) { try await client.chatCompletion(OpenAIClientTests.question) }
        try await client.shutdown()
        #expect(error?.code == .transport)
        #expect(error?.message.contains("check the base URL") == true)
    }

    @Test func aRequestThatCannotBeEncodedIsNeverSent() async throws {
        try await Upstream.run { upstream in
            try await upstream.withClient { client in
                var request = OpenAIClientTests.question
                request.temperature = .nan
                let error = await #expect(throws: OpenAIError.self) { try await client.chatCompletion(request) }
                #expect(error?.code == .invalidRequest)
                let (chunks, streamError) = await collect(client.chatCompletionStream(request))
                #expect(chunks.isEmpty)
                #expect((streamError as? OpenAIError)?.code == .invalidRequest)
                #expect(upstream.fake.recordedRequests.isEmpty)
            }
        }
    }
}
