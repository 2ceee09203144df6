import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

@Suite struct MiniLMReferenceTests {
    @Test(arguments: referenceCases)
    func tokenIDsMatchSentenceTransformers(_ reference: ReferenceCase) throws {
        #expect(try embedder().tokenizer.encode(reference.text) == reference.inputIDs)
    }

    @Test(arguments: referenceCases)
    func embeddingsMatchSentenceTransformers(_ reference: ReferenceCase) async throws {
        let vector = try await embedder().embed(reference.text)
        #expect(vector.count == 384)
        let similarity = cosine(vector, reference.embedding)
        #expect(similarity >= 0.9999, "cosine \(similarity)")
    }

    @Test func aBatchGivesTheSameVectorsAsOneAtATime() async throws {
        let model = try embedder()
        let texts = referenceCases.map(\.text)
        let batch = try await model.embed(texts)
        #expect(batch.count == texts.count)
        for (i, text) in texts.enumerated().prefix(8) {
            let single = try await model.embed(text)
            #expect(cosine(single, batch[i]) > 0.99999)
        }
    }

    @Test func concurrentCallersGetIdenticalResults() async throws {
        let model = try embedder()
        let texts = referenceCases.prefix(6).map(\.text)
        let expected = try await model.embed(texts)
        try await withThrowingTaskGroup(of: EmbeddingBatch.self) { group in
            for _ in 0..<8 { group.addTask { try await model.embed(texts) } }
            for try await result in group { #expect(result == expected) }
        }
    }
}
