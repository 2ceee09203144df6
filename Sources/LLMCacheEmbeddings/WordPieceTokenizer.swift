import Foundation
import LLMCache

/// BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 is configured
/// (`BertTokenizer`, `do_lower_case`, `tokenize_chinese_chars`, accents stripped
/// because lower-casing is on), reproducing the Hugging Face `tokenizers`
/// implementation that sentence-transformers runs:
///
/// 1. clean: drop NUL, U+FFFD and control/format characters (category C*, but
///    not tab, newline, carriage return); every whitespace becomes a space;
/// 2. put spaces around CJK ideographs, so each is a word of its own;
/// 3. strip accents: NFD, then drop non-spacing marks (Mn);
/// 4. lower-case each character (full Unicode mapping, no context);
/// 5. split on whitespace, and split off every punctuation character (ASCII
///    symbols `!`…`/`, `:`…`@`, `[`…`` ` ``, `{`…`~`, and Unicode P*);
/// 6. WordPiece each word greedily, longest vocabulary match first, with `##`
///    on continuation pieces; a word longer than 100 characters or with an
///    unmatched remainder becomes `[UNK]` whole;
/// 7. `[CLS]` … `[SEP]`, keeping at most `maximumLength` ids in all.
///
/// A long text is read only as far as the kept ids reach (see
/// ``encode(_:pieceLimit:)``).
///
/// Before all that, special tokens written literally in the text (`[CLS]`,
/// `[SEP]`, `[MASK]`, `[PAD]`, `[UNK]`, case-sensitive, anywhere) are cut out
/// and become their own ids, because the Hugging Face tokenizer registers them
/// as added tokens that are matched on the raw text.
///
/// Immutable after loading; safe to use from many threads.
struct WordPieceTokenizer: Sendable {
    let vocabulary: [String: Int32]
    let unknownID: Int32
    let classifierID: Int32
    let separatorID: Int32
    let paddingID: Int32
    /// Ids in a sequence including `[CLS]` and `[SEP]`.
    let maximumLength: Int
    let maximumCharactersPerWord = 100
    /// Special tokens matched verbatim in the raw text, with their ids.
    let specialTokens: [(text: [Unicode.Scalar], id: Int32)]

    /// Reads `vocab.txt`: one token per line, the line number being its id.
    init(vocabularyFile path: String, maximumLength: Int = 256) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CacheError(.invalidConfiguration, "cannot read the vocabulary \(path): \(error.localizedDescription); reinstall the model with scripts/install-model.sh")
        }
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(32_000)
        var id: Int32 = 0
        // Split on "\n" only: tokens may themselves be odd characters, and a
        // trailing "\r" would be a Windows-edited file, which we tolerate.
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var token = String(line)
            if token.hasSuffix("\r") { token.removeLast() }
            if !token.isEmpty, vocabulary[token] == nil { vocabulary[token] = id }
            id += 1
        }
        try self.init(vocabulary: vocabulary, maximumLength: maximumLength, source: path)
    }

    init(vocabulary: [String: Int32], maximumLength: Int = 256, source: String = "the vocabulary") throws {
        func required(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw CacheError(.corruptData, "\(source) lacks the special token \(token); it is not a BERT vocabulary")
            }
            return id
        }
        guard maximumLength >= 2 else {
            throw CacheError(.invalidConfiguration, "a maximum sequence length of \(maximumLength) leaves no room for [CLS] and [SEP]; use at least 2")
        }
        self.vocabulary = vocabulary
        self.unknownID = try required("[UNK]")
        self.classifierID = try required("[CLS]")
        self.separatorID = try required("[SEP]")
        self.paddingID = try required("[PAD]")
        self.maximumLength = maximumLength
        self.specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary[token].map { (Array(token.unicodeScalars), $0) }
        }
    }

    /// The ids of `text`: `[CLS]`, at most `maximumLength - 2` word pieces, `[SEP]`.
    func encode(_ text: String) -> [Int32] {
        encode(text, pieceLimit: maximumLength - 2).ids
    }

    /// `[CLS]`, the first `pieceLimit` word pieces of `text` (all of them if
    /// there are fewer), `[SEP]`; and whether `text` has more pieces than that.
    ///
    /// The text is read in chunks of about ``chunkLength`` scalars and reading
    /// stops once one piece beyond the limit is found, so a text of megabytes
    /// costs what its first few hundred words cost. Each chunk ends just
    /// before a ``isChunkBoundary(_:)`` scalar, where no step of the pipeline
    /// looks across, so the ids are those of the text tokenised whole.
    func encode(_ text: String, pieceLimit: Int, chunkLength: Int = Self.chunkLength) -> (ids: [Int32], truncated: Bool) {
        var ids: [Int32] = [classifierID]
        // [CLS], the pieces kept, and one more to tell a text that fills the
        // window exactly from one that overflows it.
        let budget = pieceLimit + 2
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        while start < scalars.endIndex, ids.count < budget {
            let end = Self.chunkEnd(scalars, from: start, length: chunkLength)
            let chunk = String(scalars[start..<end])
            start = end
            for segment in segments(of: chunk) {
                if ids.count >= budget { break }
                switch segment {
                case .special(let id):
                    ids.append(id)
                case .text(let text):
                    for word in words(of: text) {
                        if ids.count >= budget { break }
                        appendPieces(of: word, to: &ids)
                    }
                }
            }
        }
        let truncated = ids.count > pieceLimit + 1
        if truncated { ids.removeLast(ids.count - (pieceLimit + 1)) }
        ids.append(separatorID)
        return (ids, truncated)
    }

    /// Scalars per chunk read by ``encode(_:pieceLimit:)`` before it looks
    /// for a boundary: a few hundred words of English, so a text that fits
    /// the window is one or two chunks.
    static let chunkLength = 1024

    /// The end of the chunk that starts at `start`: the first boundary at or
    /// after `length` scalars, or the end of the text.
    static func chunkEnd(_ scalars: String.UnicodeScalarView, from start: String.UnicodeScalarView.Index, length: Int) -> String.UnicodeScalarView.Index {
        var index = scalars.index(start, offsetBy: length, limitedBy: scalars.endIndex) ?? scalars.endIndex
        while index < scalars.endIndex, !isChunkBoundary(scalars[index]) {
            index = scalars.index(after: index)
        }
        return index
    }

    /// Whether a text may be cut just before `scalar` and each side tokenised
    /// alone with the same result: ASCII whitespace, ASCII punctuation but
    /// `]`, and CJK ideographs. Each separates words whatever surrounds it,
    /// none is changed by cleaning, NFD or lower-casing, and each is a
    /// starter, so no combining mark is reordered across it; and no special
    /// token (`[` letters `]`) can be cut before one of them but at its start.
    static func isChunkBoundary(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        switch value {
        case 0x20, 0x09, 0x0A, 0x0D: return true
        case 0x5D: return false
        case 33...47, 58...64, 91...96, 123...126: return true
        default: return value >= 0x3400 && isCJK(value)
        }
    }

    enum Segment: Equatable {
        case text(String)
        case special(Int32)
    }

    /// `text` cut around literal special tokens.
    func segments(of text: String) -> [Segment] {
        // Every special token starts with "["; most texts have none.
        guard text.utf8.contains(UInt8(ascii: "[")) else { return [.text(text)] }
        let scalars = Array(text.unicodeScalars)
        var segments: [Segment] = []
        var plainStart = 0
        var index = 0
        while index < scalars.count {
            if scalars[index] == "[",
               let match = specialTokens.first(where: { token in
                   index + token.text.count <= scalars.count && scalars[index..<(index + token.text.count)].elementsEqual(token.text)
               }) {
                if plainStart < index {
                    segments.append(.text(String(String.UnicodeScalarView(scalars[plainStart..<index]))))
                }
                segments.append(.special(match.id))
                index += match.text.count
                plainStart = index
            } else {
                index += 1
            }
        }
        if plainStart < scalars.count {
            segments.append(.text(String(String.UnicodeScalarView(scalars[plainStart...]))))
        }
        return segments
    }

    /// Steps 1–5: the normalised words and punctuation marks of `text`.
    func words(of text: String) -> [[Unicode.Scalar]] {
        // Steps 1 and 2.
        var cleaned = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value == 0 || value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if Self.isCJK(value) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        // Steps 3 and 4. NFD only matters for non-ASCII text; skip it otherwise.
        let isASCII = cleaned.allSatisfy { $0.isASCII }
        let decomposed = isASCII ? String(cleaned) : String(cleaned).decomposedStringWithCanonicalMapping
        var normalized: [Unicode.Scalar] = []
        normalized.reserveCapacity(decomposed.unicodeScalars.count)
        for scalar in decomposed.unicodeScalars {
            if scalar.isASCII {
                let value = scalar.value
                normalized.append(value >= 0x41 && value <= 0x5A ? Unicode.Scalar(value + 0x20)! : scalar)
                continue
            }
            if scalar.properties.generalCategory == .nonspacingMark { continue }
            if scalar.properties.changesWhenLowercased {
                normalized.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                normalized.append(scalar)
            }
        }
        // Step 5.
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in normalized {
            if Self.isWhitespace(scalar) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if Self.isPunctuation(scalar) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Step 6 for one word.
    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        if word.count > maximumCharactersPerWord {
            ids.append(unknownID)
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var match: Int32?
            while start < end {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] {
                    match = id
                    break
                }
                end -= 1
            }
            guard let match else {
                ids.append(unknownID)
                return
            }
            pieces.append(match)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\r": true
        default: scalar.properties.isWhitespace
        }
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": return false
        default:
            switch scalar.properties.generalCategory {
            case .control, .format, .unassigned, .privateUse, .surrogate: return true
            default: return false
            }
        }
    }

    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) {
            return true
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks, as BERT defines "Chinese character"
    /// (Hiragana, Katakana and Hangul are not in it).
    static func isCJK(_ value: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value)
            || (0x20000...0x2A6DF).contains(value) || (0x2A700...0x2B73F).contains(value)
            || (0x2B740...0x2B81F).contains(value) || (0x2B820...0x2CEAF).contains(value)
            || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
    }
}
