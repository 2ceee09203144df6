import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

@Suite struct MiniLMEmbedderTests {
    static let texts = [
        "What is Python?",
        "",
        "How do I reverse a linked list in place?",
        String(repeating: "long input keeps going ", count: 80),
        "我喜欢机器学习",
        "a",
        "Explain the difference between a process and a thread.",
    ]

    @Test func batchResultsEqualSingleResults() async throws {
        let embedder = try Fixtures.embedder()
        let batch = try await embedder.embed(Self.texts)
        #expect(batch.count == Self.texts.count)
        for (index, text) in Self.texts.enumerated() {
            let single = try await embedder.embed(text)
            let difference = zip(single, batch[index]).map { abs($0 - $1) }.max()!
            #expect(difference < 1e-5, "text \(index): max difference \(difference)")
        }
    }

    @Test func vectorsAreUnitLength() async throws {
        let batch = try await Fixtures.embedder().embed(Self.texts)
        for vector in batch.vectors {
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    @Test func oneThreadAndManyThreadsAgree() async throws {
        let directory = try ModelLocator().locate()
        let one = try MiniLMEmbedder(directory: directory, configuration: .init(threads: 1))
        let four = try MiniLMEmbedder(directory: directory, configuration: .init(threads: 4, maximumTokensPerPass: 300))
        let a = try await one.embed(Self.texts + Self.texts)
        let b = try await four.embed(Self.texts + Self.texts)
        for index in 0..<a.count {
            #expect(cosine(a[index], b[index]) > 0.99999)
        }
    }

    @Test func concurrentCallsFromManyTasksGiveIdenticalResults() async throws {
        let embedder = try Fixtures.embedder()
        let expected = try await embedder.embed(Self.texts)
        let results = try await withThrowingTaskGroup(of: EmbeddingBatch.self) { group in
            for _ in 0..<16 {
                group.addTask { try await embedder.embed(Self.texts) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 16)
        for result in results {
            #expect(result == expected)
        }
    }

    @Test func emptyBatchGivesNoVectors() async throws {
        let batch = try await Fixtures.embedder().embed([])
        #expect(batch.count == 0)
        #expect(batch.dimension == 384)
    }

    @Test func similarQuestionsAreCloserThanUnrelatedOnes() async throws {
        let batch = try await Fixtures.embedder().embed([
            "What's the capital of France?", "Tell me the capital city of France.", "How do I reverse a linked list?",
        ])
        #expect(cosine(batch[0], batch[1]) > cosine(batch[0], batch[2]) + 0.3)
    }

    @Test(arguments: [
        [1, 2, 3, 300, 45, 7, 7, 7, 64],
        [256],
        Array(repeating: 12, count: 100),
    ])
    func planCoversEverySequenceOnceWithinThePassLimit(lengths: [Int]) {
        let groups = MiniLMEmbedder.plan(lengths: lengths, groups: 3, maximumTokensPerPass: 300)
        #expect(groups.count <= 3)
        let all = groups.flatMap { $0.flatMap { $0 } }.sorted()
        #expect(all == Array(lengths.indices))
        for pass in groups.flatMap({ $0 }) where pass.count > 1 {
            #expect(pass.map { lengths[$0] }.reduce(0, +) <= 300)
        }
    }

    /// Runs every lane of `pass` at once, each on a thread of its own (the
    /// lanes wait for each other, so they must not share a thread).
    static func runLanes(_ pass: BertModel.Pass, model: BertModel, into output: Rows) {
        let done = DispatchGroup()
        for lane in 0..<pass.lanes {
            done.enter()
            Thread {
                model.encode(pass, lane: lane, into: output.base)
                done.leave()
            }.start()
        }
        done.wait()
    }

    @Test(arguments: [2, 3, 4])
    func aPassSharedByThreadsGivesTheVectorsOfOneThread(lanes: Int) throws {
        let embedder = try Fixtures.embedder()
        let model = embedder.model
        let sequences = [Self.texts[3], Self.texts[2], Self.texts[6]].map(embedder.tokenIDs)
        let hidden = model.configuration.hiddenSize
        let alone = Rows(count: sequences.count * hidden)
        model.encode(sequences, into: alone.base)
        let shared = Rows(count: sequences.count * hidden)
        let pass = BertModel.Pass(sequences, lanes: lanes, model: model)
        #expect(pass.lanes == lanes)
        Self.runLanes(pass, model: model, into: shared)
        for row in 0..<sequences.count {
            let a = UnsafeBufferPointer(start: alone.base + row * hidden, count: hidden)
            let b = UnsafeBufferPointer(start: shared.base + row * hidden, count: hidden)
            #expect(cosine(a, b) > 0.99999, "sequence \(row)")
            #expect(zip(a, b).map { abs($0 - $1) }.max()! < 1e-5)
        }
    }

    @Test func aLongTextAloneIsEmbeddedAsInABatch() async throws {
        let directory = try ModelLocator().locate()
        let two = try MiniLMEmbedder(directory: directory, configuration: .init(threads: 2))
        let long = Self.texts[3]
        // Alone, the text's pass is shared by the idle threads; in the batch it is one thread's.
        let alone = try await two.embed(long)
        let batch = try await two.embed(Self.texts)
        #expect(cosine(alone, batch[3]) > 0.99999)
    }

    @Test func sharingStopsWhenTheLanesSpentMostOfThePassWaiting() throws {
        let monitor = SharingMonitor()
        #expect(monitor.pays)
        // Lanes that were busy the whole pass (their CPU time is set far above
        // any wall time the pass can have taken): sharing pays.
        let busy = SharingMonitor.Work()
        Thread.sleep(forTimeInterval: 0.001)
        busy.add(60_000_000_000)
        monitor.finish(busy, lanes: 2)
        #expect(monitor.pays)
        // Lanes that did no work while the pass's time went by: it does not.
        let waiting = SharingMonitor.Work()
        Thread.sleep(forTimeInterval: 0.001)
        monitor.finish(waiting, lanes: 2)
        #expect(!monitor.pays)
    }

    @Test func aCancelledCallEndsWithoutItsVectors() async throws {
        let embedder = try Fixtures.embedder()
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await embedder.embed(Self.texts)
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        // The threads are free for the next call.
        #expect(try await embedder.embed(["What is Python?"]).count == 1)
    }

    @Test func invalidConfigurationsAreRejected() throws {
        let directory = try ModelLocator().locate()
        #expect(throws: CacheError.self) { try MiniLMEmbedder(directory: directory, configuration: .init(threads: 0)) }
        #expect(throws: CacheError.self) { try MiniLMEmbedder(directory: directory, configuration: .init(maximumTokensPerPass: 100)) }
    }
}

@Suite struct ModelLocatorTests {
    @Test func aMissingModelNamesTheInstallScript() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-model-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let error = #expect(throws: CacheError.self) { try MiniLMEmbedder(directory: empty) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("scripts/install-model.sh") == true)
        #expect(error?.message.contains(empty) == true)
        #expect(error?.message.contains("model.safetensors") == true)
    }

    @Test func theDefaultLocationNamesThePlainInstallCommand() {
        let locator = ModelLocator(environment: ["HOME": "/nonexistent-home"])
        let error = #expect(throws: CacheError.self) { try locator.locate() }
        #expect(error?.message.contains("Install it with `scripts/install-model.sh`") == true)
    }

    @Test func explicitFolderWinsOverEnvironmentWhichWinsOverTheDefault() {
        let locator = ModelLocator(environment: ["LLMCACHE_MODEL_DIR": "/env/model", "HOME": "/home/u"])
        #expect(locator.candidate(explicit: "/explicit") == "/explicit")
        #expect(locator.candidate() == "/env/model")
        #expect(ModelLocator(environment: ["HOME": "/home/u"]).candidate() == "/home/u/.cache/llm-cache/models/all-MiniLM-L6-v2")
        #expect(ModelLocator(environment: ["HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"]).candidate() == "/xdg/llm-cache/models/all-MiniLM-L6-v2")
    }
}
