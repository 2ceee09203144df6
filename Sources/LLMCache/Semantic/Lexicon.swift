/// Small English word lists behind the text verifiers.
enum Lexicon {
    static let numberWords: [String: Double] = [
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
        "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
        "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
        "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "half": 0.5,
    ]

    static let numberScales: [String: Double] = ["hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000]

    static let ordinals: [String: Double] = [
        "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
        "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20, "hundredth": 100,
    ]

    static let negations: Set<String> = [
        "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "cannot",
    ]

    /// Capitalised words that are not names (titles of address, pronouns).
    static let capitalisedCommonWords: Set<String> = ["i", "mr", "mrs", "ms", "dr", "ok"]

    /// Pairs of opposites, by stem (see `TextFeatures.stem`).
    static let antonymPairs: [(String, String)] = [
        ("good", "bad"), ("better", "worse"), ("best", "worst"), ("open", "close"), ("open", "closed"),
        ("start", "stop"), ("start", "end"), ("begin", "end"), ("first", "last"), ("ascending", "descending"),
        ("ascend", "descend"), ("increase", "decrease"), ("increasing", "decreasing"), ("raise", "lower"),
        ("high", "low"), ("higher", "lower"), ("highest", "lowest"), ("hot", "cold"), ("warm", "cool"),
        ("fast", "slow"), ("faster", "slower"), ("fastest", "slowest"), ("quick", "slow"), ("big", "small"),
        ("bigger", "smaller"), ("biggest", "smallest"), ("large", "small"), ("larger", "smaller"),
        ("largest", "smallest"), ("long", "short"), ("longer", "shorter"), ("longest", "shortest"),
        ("heavy", "light"), ("strong", "weak"), ("hard", "soft"), ("hard", "easy"), ("easy", "difficult"),
        ("cheap", "expensive"), ("cheapest", "expensive"), ("rich", "poor"), ("old", "new"), ("old", "young"),
        ("oldest", "newest"), ("oldest", "youngest"), ("early", "late"), ("earlier", "later"), ("before", "after"),
        ("above", "below"), ("over", "under"), ("more", "less"), ("more", "fewer"), ("most", "least"),
        ("max", "min"), ("maximum", "minimum"), ("add", "remove"), ("install", "uninstall"), ("enable", "disable"),
        ("import", "export"), ("buy", "sell"), ("win", "lose"), ("won", "lost"), ("accept", "reject"),
        ("allow", "deny"), ("allow", "block"), ("include", "exclude"), ("true", "false"), ("positive", "negative"),
        ("plus", "minus"), ("left", "right"), ("north", "south"), ("east", "west"), ("up", "down"),
        ("inside", "outside"), ("love", "hate"), ("like", "dislike"), ("happy", "sad"), ("safe", "dangerous"),
        ("safe", "unsafe"), ("legal", "illegal"), ("possible", "impossible"), ("healthy", "unhealthy"),
        ("advantage", "disadvantage"), ("pro", "con"), ("push", "pull"), ("encrypt", "decrypt"), ("encode", "decode"),
        ("compress", "decompress"), ("upload", "download"), ("login", "logout"), ("connect", "disconnect"),
        ("lock", "unlock"), ("mount", "unmount"), ("subscribe", "unsubscribe"), ("follow", "unfollow"),
        ("input", "output"), ("send", "receive"), ("borrow", "lend"), ("arrive", "depart"),
        ("arrival", "departure"), ("male", "female"), ("man", "woman"), ("men", "women"), ("boy", "girl"),
        ("husband", "wife"), ("mother", "father"), ("day", "night"), ("summer", "winter"), ("spring", "autumn"),
        ("morning", "evening"), ("sunrise", "sunset"), ("wet", "dry"), ("full", "empty"), ("thick", "thin"),
        ("wide", "narrow"), ("deep", "shallow"), ("loud", "quiet"), ("dark", "light"), ("black", "white"),
        ("child", "adult"), ("children", "adult"), ("kid", "adult"), ("beginner", "advanced"), ("beginner", "expert"),
        ("success", "failure"), ("pass", "fail"), ("online", "offline"), ("public", "private"),
        ("internal", "external"), ("local", "remote"), ("client", "server"), ("frontend", "backend"),
        ("static", "dynamic"), ("synchronous", "asynchronous"), ("sync", "async"), ("read", "write"),
        ("gain", "lose"), ("profit", "loss"), ("credit", "debit"), ("income", "expense"), ("import", "export"),
        ("min", "max"), ("underweight", "overweight"), ("overestimate", "underestimate"), ("inbound", "outbound"),
        ("upstairs", "downstairs"), ("uphill", "downhill"), ("upgrade", "downgrade"), ("attack", "defend"),
        ("friend", "enemy"), ("agree", "disagree"), ("like", "unlike"), ("visible", "invisible"),
        ("valid", "invalid"), ("legal", "unlawful"), ("benefit", "risk"), ("benefit", "drawback"),
        ("cause", "prevent"), ("alive", "dead"), ("asleep", "awake"), ("clean", "dirty"), ("sweet", "sour"),
        ("smooth", "rough"), ("tight", "loose"), ("hire", "fire"), ("entrance", "exit"), ("enter", "exit"),
    ]

    static let antonyms: [String: Set<String>] = {
        var map: [String: Set<String>] = [:]
        for (a, b) in antonymPairs {
            map[a, default: []].insert(b)
            map[b, default: []].insert(a)
        }
        return map
    }()
}
