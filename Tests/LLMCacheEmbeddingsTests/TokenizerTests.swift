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

    /// The ids of `text` tokenised whole, in one piece, as the tokenizer did
    /// before it read texts in chunks: what chunked reading must reproduce.
    static func wholeText(_ text: String, _ tokenizer: WordPieceTokenizer) -> [Int32] {
        var ids: [Int32] = [tokenizer.classifierID]
        for segment in tokenizer.segments(of: text) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let text):
                for word in tokenizer.words(of: text) { tokenizer.appendPieces(of: word, to: &ids) }
            }
        }
        ids.removeLast(max(0, ids.count - (tokenizer.maximumLength - 1)))
        return ids + [tokenizer.separatorID]
    }

    static let chunkedTexts = [
        "Hello, world! [CLS]x[SEP] y[MASK]z and [UNK] or [mask]",
        "[[CLS]][SEP][[PAD]]] [ CLS ] a[b]c",
        "e\u{0301}e\u{0301} cafe\u{0301}, x\u{0301}.y\u{0308}!",
        "机器学习很有趣。我喜欢机器学习,and 中文 mixed",
        "a\u{0007}b c\u{200D}d e\u{00A0}f\tg\nh\ri",
        "https://example.com/a?b=c&d=e#f {\"json\":[1,2,3],\"k\":\"v\"}",
        String(repeating: "abc", count: 40) + " tokenization " + String(repeating: "x", count: 120),
        "«quoted» — dashes – and… ellipses; ÅNGSTRÖM Ωmega ǅ ﬁ",
    ]

    @Test(arguments: chunkedTexts, [1, 2, 3, 5, 8, 1024])
    func readingInChunksGivesTheIdsOfTheWholeText(_ text: String, chunkLength: Int) throws {
        let tokenizer = try Fixtures.embedder().tokenizer
        let chunked = tokenizer.encode(text, pieceLimit: tokenizer.maximumLength - 2, chunkLength: chunkLength)
        #expect(chunked.ids == Self.wholeText(text, tokenizer))
        #expect(!chunked.truncated)
    }

    @Test func aMultiMegabyteTextIsReadOnlyAsFarAsTheWindow() throws {
        let embedder = try Fixtures.embedder()
        let tokenizer = embedder.tokenizer
        let sentence = "Caching saves time, and an answer served twice costs nothing the second time. "
        let huge = String(repeating: sentence, count: 3 << 20 / sentence.utf8.count)
        #expect(huge.utf8.count > 3_000_000)
        let (ids, truncated) = tokenizer.encode(huge, pieceLimit: tokenizer.maximumLength - 2)
        #expect(ids.count == 256 && truncated)
        #expect(ids.first == 101 && ids.last == 102)
        // What the model reads is the text's beginning: the first 20 sentences
        // already fill the window.
        let head = String(repeating: sentence, count: 20)
        #expect(ids == Self.wholeText(head, tokenizer))
        #expect(embedder.tokenIDs(huge) == ids)
        #expect(!embedder.embedsWhole(huge))
    }

    @Test func aTextIsWholeUpTo254PiecesAndNotAtOneMore() throws {
        let embedder = try Fixtures.embedder()
        let tokenizer = embedder.tokenizer
        // "a" is one piece; 254 of them fill the window with [CLS] and [SEP].
        let full = Array(repeating: "a", count: 254).joined(separator: " ")
        #expect(embedder.tokenIDs(full).count == 256)
        #expect(embedder.embedsWhole(full))
        #expect(!tokenizer.encode(full, pieceLimit: 254).truncated)
        #expect(!embedder.embedsWhole(full + " a"))
        #expect(embedder.tokenIDs(full + " a") == embedder.tokenIDs(full))
        // A word of several pieces that crosses the limit makes the text too long too.
        #expect(!embedder.embedsWhole(String(full.dropLast(2)) + " tokenization"))
        #expect(embedder.embedsWhole("What is Python?"))
        #expect(embedder.embedsWhole(""))
    }
}
