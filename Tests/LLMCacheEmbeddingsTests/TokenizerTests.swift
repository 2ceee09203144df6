import Foundation
import LLMCache
import Testing
@testable import LLMCacheEmbeddings

/// Tokenizer behaviour beyond the reference cases: each pair must tokenise alike.
@Suite struct TokenizerTests {
    static let equivalent: [(String, String)] = [
        ("a\u{0000}b", "ab"),                      // NUL dropped
        ("foo\u{200D}bar", "foobar"),              // format character (ZWJ) dropped
        ("x\u{0007}y", "xy"),                      // control character dropped
        ("a\u{FFFD}b", "ab"),                      // replacement character dropped
        ("hello\u{00A0}world", "hello world"),     // no-break space is whitespace
        ("tab\tnew\nline\r", "tab new line"),
        ("Café", "cafe"),                          // accents stripped after NFD
        ("Cafe\u{0301}", "cafe"),                  // already decomposed
        ("ÅNGSTRÖM", "angstrom"),
        ("机器", "机 器"),                          // CJK ideographs split
        ("hello,world", "hello , world"),          // ASCII punctuation split
        ("a$b^c`d|e~f", "a $ b ^ c ` d | e ~ f"),  // ASCII symbols split as BERT does
        ("«hi»", "« hi »"),                        // Unicode punctuation split
        ("x—y", "x — y"),
        ("HELLO", "hello"),
    ]

    @Test(arguments: equivalent)
    func equivalentTexts(_ text: String, _ same: String) throws {
        let embedder = try Fixtures.embedder()
        #expect(embedder.tokenIDs(text) == embedder.tokenIDs(same))
    }

    @Test func emptyAndWhitespaceOnlyGiveOnlyTheMarkers() throws {
        let embedder = try Fixtures.embedder()
        #expect(embedder.tokenIDs("") == [101, 102])
        #expect(embedder.tokenIDs(" \t\n\u{3000} ") == [101, 102])
    }

    @Test func wordsOverOneHundredCharactersAreUnknown() throws {
        let embedder = try Fixtures.embedder()
        #expect(embedder.tokenIDs(String(repeating: "a", count: 101)) == [101, 100, 102])
        #expect(!embedder.tokenIDs(String(repeating: "a", count: 100)).contains(100))
    }

    @Test func unmatchableWordsAreUnknownWhole() throws {
        let embedder = try Fixtures.embedder()
        // An emoji has no vocabulary entry: the whole word becomes one [UNK].
        #expect(embedder.tokenIDs("abc🚀def") == [101, 100, 102])
    }

    @Test func continuationPiecesUseTheHashPrefix() throws {
        let embedder = try Fixtures.embedder()
        let tokenizer = embedder.tokenizer
        let ids = embedder.tokenIDs("tokenization")
        #expect(ids == [101, tokenizer.vocabulary["token"]!, tokenizer.vocabulary["##ization"]!, 102])
    }

    @Test func literalSpecialTokensAreKeptCaseSensitively() throws {
        let embedder = try Fixtures.embedder()
        #expect(embedder.tokenIDs("a[MASK]b") == [101, 1037, 103, 1038, 102])
        #expect(!embedder.tokenIDs("[mask]").contains(103))
    }

    @Test func longTextsAreTruncatedTo256WithTheSeparatorKept() throws {
        let embedder = try Fixtures.embedder()
        let ids = embedder.tokenIDs(String(repeating: "caching saves time. ", count: 200))
        #expect(ids.count == 256)
        #expect(ids.first == 101)
        #expect(ids.last == 102)
        #expect(ids.dropLast().last != 102)
    }
}
