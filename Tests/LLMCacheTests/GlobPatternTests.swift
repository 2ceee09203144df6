import Testing
@testable import LLMCache

@Suite struct GlobPatternTests {
    @Test(arguments: [
        ("gpt-4*", "gpt-4o", true),
        ("gpt-4*", "my-gpt-4", false),
        ("gpt-?", "gpt-4", true),
        ("gpt-?", "gpt-45", false),
        ("claude-[0-9]*", "claude-3-opus", true),
        ("claude-[!0-9]*", "claude-3-opus", false),
        ("*", "", true),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXbYY", false),
        ("\\*", "*", true),
        ("\\*", "x", false),
        ("tenant-a", "tenant-a", true),
        ("tenant-a", "tenant-ab", false),
    ])
    func matching(pattern: String, text: String, expected: Bool) throws {
        #expect(try GlobPattern(pattern).matches(text) == expected)
    }

    @Test(arguments: ["[abc", "abc\\", "[z-a]"])
    func malformedPatternsAreRejectedWithAReason(pattern: String) {
        #expect(throws: CacheError.self) { try GlobPattern(pattern) }
    }

    @Test func starRunsDoNotBacktrackExponentially() throws {
        let pattern = try GlobPattern(String(repeating: "a*", count: 30) + "b")
        #expect(!pattern.matches(String(repeating: "a", count: 200)))
    }
}
