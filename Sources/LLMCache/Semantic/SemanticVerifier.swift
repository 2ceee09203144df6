/// A verifier's decision on a candidate match.
public struct SemanticVerdict: Hashable, Sendable {
    /// Whether the candidate may be served for the query.
    public var accepted: Bool
    /// Why it was rejected, for logs and evaluation.
    public var reason: String?

    public static let accept = SemanticVerdict(accepted: true, reason: nil)
    public static func reject(_ reason: String) -> SemanticVerdict { SemanticVerdict(accepted: false, reason: reason) }
}

/// A check run on a semantic candidate after it passed the similarity threshold:
/// the guard against texts that look alike but differ in meaning ("5 miles" vs
/// "50 miles", "with" vs "without", "Paris" vs "Rome").
///
/// Verifiers run in order and the first rejection wins. They must be
/// thread-safe; an LLM-judge verifier may be slow and async, the built-in ones
/// are pure text checks that take microseconds.
public protocol SemanticVerifier: Sendable {
    /// A short name for logs and evaluation tables.
    var name: String { get }
    /// Decides whether `candidate` (a cached text) answers `query`.
    func verify(query: String, candidate: String, similarity: Float) async throws -> SemanticVerdict
}

/// Built-in verifiers that compare what the two texts say rather than how they
/// say it.
public enum TextVerifiers {
    /// The verifiers used by default: numbers, negation, antonyms, named entities.
    public static let standard: [any SemanticVerifier] = [NumberVerifier(), NegationVerifier(), AntonymVerifier(), EntityVerifier()]
}

/// Rejects candidates that state different quantities: "5 miles" vs "50 miles",
/// "2024" vs "2025", "World War II" vs "World War I". Digits, number words
/// ("fifteen"), ordinals ("second") and Roman numerals after a name ("War II")
/// are compared as values, so "15%" matches "fifteen percent".
///
/// A text that states no number at all is not compared ("TCP handshake" vs
/// "three-way handshake"): dropping a number is common in paraphrases, changing
/// one almost never is.
public struct NumberVerifier: SemanticVerifier {
    public let name = "numbers"
    public init() {}

    public func verify(query: String, candidate: String, similarity: Float) async throws -> SemanticVerdict {
        let a = TextFeatures(query).numbers, b = TextFeatures(candidate).numbers
        guard !a.isEmpty, !b.isEmpty, a != b else { return .accept }
        return .reject("numbers differ: \(a.sorted()) vs \(b.sorted())")
    }
}

/// Rejects candidates where exactly one text is negated: "How do I cancel" vs
/// "How do I not cancel", "with insurance" vs "without insurance".
public struct NegationVerifier: SemanticVerifier {
    public let name = "negation"
    public init() {}

    public func verify(query: String, candidate: String, similarity: Float) async throws -> SemanticVerdict {
        let a = TextFeatures(query).isNegated, b = TextFeatures(candidate).isNegated
        return a == b ? .accept : .reject("one text is negated and the other is not")
    }
}

/// Rejects candidates that use a word's opposite: "ascending" vs "descending",
/// "open" vs "close", "fastest" vs "slowest", "good" vs "bad".
public struct AntonymVerifier: SemanticVerifier {
    public let name = "antonyms"
    public init() {}

    public func verify(query: String, candidate: String, similarity: Float) async throws -> SemanticVerdict {
        let a = TextFeatures(query).stems, b = TextFeatures(candidate).stems
        for word in a where !b.contains(word) {
            guard let opposites = Lexicon.antonyms[word] else { continue }
            for opposite in opposites where b.contains(opposite) && !a.contains(opposite) {
                return .reject("'\(word)' vs its opposite '\(opposite)'")
            }
        }
        return .accept
    }
}

/// Rejects candidates that swap one name for another: "Canada" vs "Australia",
/// "Python" vs "Java", "TCP" vs "UDP", or that name the same places in another
/// order ("London to New York" vs "New York to London").
///
/// Names are capitalised words not at the start of a sentence, all-caps words,
/// and sentence-initial words that the other text capitalises mid-sentence.
/// A name present in only one text is allowed ("FIFA World Cup" vs "World
/// Cup"): only a substitution — each text naming something the other does not —
/// rejects.
public struct EntityVerifier: SemanticVerifier {
    public let name = "entities"
    public init() {}

    public func verify(query: String, candidate: String, similarity: Float) async throws -> SemanticVerdict {
        let fa = TextFeatures(query), fb = TextFeatures(candidate)
        let known = fa.namedForms.union(fb.namedForms)
        let a = fa.names(among: known), b = fb.names(among: known)
        let onlyA = Set(a).subtracting(b), onlyB = Set(b).subtracting(a)
        if !onlyA.isEmpty && !onlyB.isEmpty {
            return .reject("names differ: \(onlyA.sorted()) vs \(onlyB.sorted())")
        }
        let shared = Set(a).intersection(b)
        let orderA = a.filter(shared.contains), orderB = b.filter(shared.contains)
        if shared.count >= 2, Self.firstOccurrences(orderA) != Self.firstOccurrences(orderB) {
            return .reject("the same names in another order: \(Self.firstOccurrences(orderA)) vs \(Self.firstOccurrences(orderB))")
        }
        return .accept
    }

    static func firstOccurrences(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }
}
