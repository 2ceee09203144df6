import Foundation
import LLMCache

/// BERT's WordPiece tokenizer, configured as all-MiniLM-L6-v2's tokenizer is:
/// text cleaning (control characters dropped, whitespace unified), CJK
/// characters split apart, accents stripped (NFD, non-spacing marks removed),
/// lower-casing, splitting on whitespace and punctuation, then greedy
/// longest-match-first word pieces with `##` continuations; a word with no
/// piece decomposition or over 100 characters is `[UNK]`. The special tokens
/// written literally in a text (`[CLS]`, `[SEP]`, `[MASK]`, `[PAD]`, `[UNK]`)
/// are kept as themselves, as the reference tokenizer does.
///
/// Immutable and thread-safe.
public struct WordPieceTokenizer: Sendable {
    /// The most tokens in one encoding, `[CLS]` and `[SEP]` included. Default 256.
    public let maximumLength: Int
    let vocabulary: [String: Int32]
    let unknown: Int32
    let classify: Int32
    let separator: Int32
    let specials: [(text: [Unicode.Scalar], id: Int32)]
    static let maximumWordLength = 100

    /// Loads `vocab.txt` (one token per line; the line number is the id).
    public init(vocabularyFile path: String, maximumLength: Int = 256) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CacheError(.invalidConfiguration, "cannot read the vocabulary \(path); install the model with scripts/install-model.sh")
        }
        var vocabulary: [String: Int32] = [:]
        var id: Int32 = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if !token.isEmpty, vocabulary[token] == nil { vocabulary[token] = id }
            id += 1
        }
        try self.init(vocabulary: vocabulary, maximumLength: maximumLength)
    }

    init(vocabulary: [String: Int32], maximumLength: Int) throws {
        func require(_ token: String) throws -> Int32 {
            guard let id = vocabulary[token] else {
                throw CacheError(.corruptData, "the vocabulary has no \(token) token; is it a BERT vocabulary?")
            }
            return id
        }
        guard maximumLength >= 2 else { throw CacheError(.invalidConfiguration, "the maximum length must leave room for [CLS] and [SEP]") }
        self.vocabulary = vocabulary
        self.maximumLength = maximumLength
        unknown = try require("[UNK]")
        classify = try require("[CLS]")
        separator = try require("[SEP]")
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary[token].map { (Array(token.unicodeScalars), $0) }
        }
    }

    /// The token ids of `text`: `[CLS]`, at most `maximumLength - 2` pieces, `[SEP]`.
    public func encode(_ text: String) -> [Int32] {
        var ids: [Int32] = [classify]
        let budget = maximumLength - 1
        for segment in splitSpecials(Array(text.unicodeScalars)) {
            if ids.count >= budget { break }
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let scalars):
                for word in preTokenize(normalize(scalars)) {
                    appendPieces(of: word, to: &ids)
                    if ids.count >= budget { break }
                }
            }
        }
        if ids.count > budget { ids.removeLast(ids.count - budget) }
        ids.append(separator)
        return ids
    }

    enum Segment {
        case text([Unicode.Scalar])
        case special(Int32)
    }

    /// Splits out literal special tokens, which are matched before normalisation.
    func splitSpecials(_ scalars: [Unicode.Scalar]) -> [Segment] {
        var segments: [Segment] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            if scalars[i] == "[", let match = specials.first(where: { special in
                i + special.text.count <= scalars.count && Array(scalars[i..<i + special.text.count]) == special.text
            }) {
                if start < i { segments.append(.text(Array(scalars[start..<i]))) }
                segments.append(.special(match.id))
                i += match.text.count
                start = i
            } else {
                i += 1
            }
        }
        if start < scalars.count { segments.append(.text(Array(scalars[start...]))) }
        return segments
    }

    /// Cleaning, CJK spacing, accent stripping and lower-casing, in that order.
    func normalize(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var cleaned = String.UnicodeScalarView()
        for scalar in scalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                cleaned.append(" ")
            } else if Self.isCJK(scalar) {
                cleaned.append(" ")
                cleaned.append(scalar)
                cleaned.append(" ")
            } else {
                cleaned.append(scalar)
            }
        }
        let decomposed = String(cleaned).decomposedStringWithCanonicalMapping
        var stripped = String.UnicodeScalarView()
        for scalar in decomposed.unicodeScalars where scalar.properties.generalCategory != .nonspacingMark {
            stripped.append(scalar)
        }
        return Array(String(stripped).lowercased().unicodeScalars)
    }

    /// Words: runs between whitespace, with every punctuation character its own word.
    func preTokenize(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in scalars {
            if Self.isWhitespace(scalar) {
                if !current.isEmpty { words.append(current); current = [] }
            } else if Self.isPunctuation(scalar) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    func appendPieces(of word: [Unicode.Scalar], to ids: inout [Int32]) {
        guard word.count <= Self.maximumWordLength else { ids.append(unknown); return }
        var pieces: [Int32] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int32? = nil
            while start < end {
                var candidate = start > 0 ? "##" : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[candidate] { found = id; break }
                end -= 1
            }
            guard let id = found else { ids.append(unknown); return }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == " " || s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F,
             0x2B740...0x2B81F, 0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
