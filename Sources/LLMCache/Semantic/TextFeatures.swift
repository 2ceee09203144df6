/// What the text verifiers compare: words, numbers, negation and names, read
/// once per text.
struct TextFeatures {
    struct Token {
        var text: String
        var lower: String
        var sentenceStart: Bool
    }

    let tokens: [Token]

    init(_ text: String) {
        tokens = Self.tokenize(text)
    }

    // MARK: Tokens

    /// Words are runs of letters and digits, with apostrophes inside words
    /// ("don't", "driver's") and points or commas inside numbers ("3.5",
    /// "1,000"). Hyphens and other punctuation separate words.
    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var current = ""
        var sentenceStart = true
        var startOfCurrent = true
        let characters = Array(text)
        func flush() {
            guard !current.isEmpty else { return }
            tokens.append(Token(text: current, lower: current.lowercased(), sentenceStart: startOfCurrent))
            current = ""
            sentenceStart = false
        }
        for (i, c) in characters.enumerated() {
            let next = i + 1 < characters.count ? characters[i + 1] : nil
            if c.isLetter || c.isNumber {
                if current.isEmpty { startOfCurrent = sentenceStart }
                current.append(c)
            } else if (c == "'" || c == "’"), !current.isEmpty, next?.isLetter == true {
                current.append("'")
            } else if (c == "." || c == ","), current.last?.isNumber == true, next?.isNumber == true {
                current.append(c)
            } else {
                flush()
                if c == "." || c == "?" || c == "!" || c == ":" || c == ";" || c == "\n" { sentenceStart = true }
            }
        }
        flush()
        return tokens
    }

    // MARK: Numbers

    /// Every quantity the text states, as values.
    var numbers: Set<Double> {
        var values = Set<Double>()
        var pending: Double? = nil
        var group: Double = 0
        func flushWords() {
            if let p = pending { values.insert(group + p) }
            pending = nil
            group = 0
        }
        for (i, token) in tokens.enumerated() {
            if let value = Self.numericValue(token.lower) {
                flushWords()
                values.insert(value)
                continue
            }
            if let unit = Lexicon.numberWords[token.lower] {
                if let p = pending, p >= 20, p.truncatingRemainder(dividingBy: 10) == 0, unit < 10 {
                    pending = p + unit
                } else {
                    flushWords()
                    pending = unit
                }
                continue
            }
            if let scale = Lexicon.numberScales[token.lower], let p = pending {
                if scale == 100 {
                    pending = p * 100
                } else {
                    group += p * scale
                    pending = 0
                }
                continue
            }
            flushWords()
            if let ordinal = Lexicon.ordinals[token.lower] {
                // "second" is also a unit of time: count it only as a capitalised
                // ordinal ("the Second World War").
                if token.lower != "second" || token.text.first?.isUppercase == true { values.insert(ordinal) }
                continue
            }
            if let roman = romanValue(at: i) { values.insert(roman) }
        }
        flushWords()
        return values
    }

    /// "15", "3.5", "1,000", "2nd", "15th".
    static func numericValue(_ word: String) -> Double? {
        if let value = Double(word.replacingOccurrences(of: ",", with: "")) { return value }
        for suffix in ["st", "nd", "rd", "th"] where word.hasSuffix(suffix) {
            if let value = Double(word.dropLast(2)), value >= 0 { return value }
        }
        return nil
    }

    /// A Roman numeral after a capitalised name ("World War II", "Henry VIII").
    /// "I" counts only after a capitalised word that does not start a sentence,
    /// since it is mostly the pronoun.
    func romanValue(at index: Int) -> Double? {
        let token = tokens[index]
        guard index > 0, token.text.allSatisfy({ "IVXLC".contains($0) }) else { return nil }
        let previous = tokens[index - 1]
        guard previous.text.first?.isUppercase == true, !previous.sentenceStart || token.text.count > 1 else { return nil }
        if token.text == "I", previous.sentenceStart { return nil }
        let values: [Character: Int] = ["I": 1, "V": 5, "X": 10, "L": 50, "C": 100]
        var total = 0
        let digits = token.text.map { values[$0]! }
        for (i, v) in digits.enumerated() {
            total += (i + 1 < digits.count && digits[i + 1] > v) ? -v : v
        }
        return Double(total)
    }

    // MARK: Negation

    /// Whether the text contains a negation ("not", "never", "without", "don't", ...).
    var isNegated: Bool {
        tokens.contains { Lexicon.negations.contains($0.lower) || $0.lower.hasSuffix("n't") || Self.isNegatedAdjective($0.lower) }
    }

    /// "uninsured", "unable", "unlawful": un- before a participle or an -able,
    /// -ible or -ful adjective. The length floor keeps out short words that merely
    /// begin with "un" ("united", "unfed" aside, such words are rare).
    static func isNegatedAdjective(_ word: String) -> Bool {
        guard word.hasPrefix("un") else { return false }
        let rest = word.dropFirst(2)
        guard rest.count >= 5 else { return false }
        return rest.hasSuffix("ed") || rest.hasSuffix("able") || rest.hasSuffix("ible") || rest.hasSuffix("ful")
    }

    // MARK: Words

    /// Lower-cased words reduced to a rough stem (plural and possessive endings
    /// removed), for comparing vocabulary.
    var stems: Set<String> { Set(tokens.map { Self.stem($0.lower) }) }

    static func stem(_ word: String) -> String {
        var w = word
        if w.hasSuffix("'s") { w.removeLast(2) }
        if w.count > 4, w.hasSuffix("ies") { return String(w.dropLast(3)) + "y" }
        if w.count > 4, w.hasSuffix("ches") || w.hasSuffix("shes") || w.hasSuffix("sses") || w.hasSuffix("xes") { return String(w.dropLast(2)) }
        if w.count > 3, w.hasSuffix("s"), !w.hasSuffix("ss"), !w.hasSuffix("us"), !w.hasSuffix("is") { return String(w.dropLast()) }
        return w
    }

    // MARK: Names

    /// Lower-cased forms this text marks as names: capitalised words that do
    /// not start a sentence, and all-capital words of two letters or more.
    var namedForms: Set<String> {
        var forms = Set<String>()
        for (index, token) in tokens.enumerated() where token.text.first?.isLetter == true {
            // Ordinals and Roman numerals are quantities, compared by NumberVerifier.
            if Lexicon.ordinals[token.lower] != nil || romanValue(at: index) != nil { continue }
            let allCaps = token.text.count >= 2 && token.text.allSatisfy { !$0.isLetter || $0.isUppercase }
            let capitalised = token.text.first!.isUppercase && !token.sentenceStart && token.text != "I"
            if allCaps || capitalised, !Lexicon.capitalisedCommonWords.contains(token.lower) {
                forms.insert(Self.stem(token.lower))
            }
        }
        return forms
    }

    /// The names of this text in order, recognising any of `known` (forms
    /// either text marks as names) wherever they stand.
    func names(among known: Set<String>) -> [String] {
        tokens.enumerated().compactMap { index, token in
            let form = Self.stem(token.lower)
            guard known.contains(form), Lexicon.ordinals[token.lower] == nil, romanValue(at: index) == nil else { return nil }
            return form
        }
    }
}
