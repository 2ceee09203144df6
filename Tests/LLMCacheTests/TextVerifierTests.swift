import Testing
@testable import LLMCache

@Suite struct TextVerifierTests {
    func accepts(_ verifier: any SemanticVerifier, _ a: String, _ b: String) async throws -> Bool {
        try await verifier.verify(query: a, candidate: b, similarity: 0.9).accepted
    }

    @Test(arguments: [
        ("Convert 5 miles to kilometers", "How many kilometers is 5 miles?", true),
        ("Convert 5 miles to kilometers", "Convert 50 miles to kilometers", false),
        ("What is 15% of 200?", "Calculate fifteen percent of 200", true),
        ("What is 25% of 200?", "Calculate fifteen percent of 200", false),
        ("Who turned twenty five in 1,000 BC?", "Who turned 25 in 1000 BC?", true),
        ("What year did World War II end?", "When did the Second World War end?", true),
        ("What year did World War II end?", "What year did World War I end?", false),
        ("How do I reset it?", "I forgot it. How can I reset it?", true),
        ("How many seconds in a minute?", "A minute has how many seconds?", true),
        ("Explain how TCP handshakes work", "How does the TCP three-way handshake work?", true),
        ("Cheap flights under $500", "Flights below 500 dollars", true),
        ("Who won the 2nd round?", "Who won the 3rd round?", false),
        ("Is the iPhone 15 waterproof?", "Is the iPhone 12 waterproof?", false),
    ])
    func numbers(a: String, b: String, same: Bool) async throws {
        #expect(try await accepts(NumberVerifier(), a, b) == same)
    }

    @Test(arguments: [
        ("How do I cancel my subscription?", "How do I not cancel my subscription by accident?", false),
        ("Why is the sky blue?", "Why isn't the sky blue at night?", false),
        ("Is it legal to drive with insurance?", "Is it legal to drive without insurance?", false),
        ("Is it legal to drive without insurance?", "Can you legally drive uninsured?", true),
        ("Is the data unencrypted at rest?", "Is the data encrypted at rest?", false),
        ("Never gonna give you up lyrics", "Lyrics of never gonna give you up", true),
        ("Which countries are united in the EU?", "What countries make up the EU?", true),
    ])
    func negation(a: String, b: String, same: Bool) async throws {
        #expect(try await accepts(NegationVerifier(), a, b) == same)
    }

    @Test(arguments: [
        ("How do I sort a list in descending order?", "How do I sort a list in ascending order?", false),
        ("Does the museum open on Mondays?", "Does the museum close on Mondays?", false),
        ("Is coffee good for your heart?", "Is coffee bad for your heart?", false),
        ("How do I install Node.js?", "How do I uninstall Node.js?", false),
        ("What is the fastest land animal?", "Which land animal runs the fastest?", true),
        ("Is it better to rent or buy?", "Renting vs buying: which is better?", true),
        ("Is it unsafe to swim after eating?", "Is swimming after a meal safe?", false),
    ])
    func antonyms(a: String, b: String, same: Bool) async throws {
        #expect(try await accepts(AntonymVerifier(), a, b) == same)
    }

    @Test(arguments: [
        ("What is the population of Canada?", "What is the population of Australia?", false),
        ("Write a Python function to reverse a string", "Python code that reverses a string", true),
        ("Write a Python function to reverse a string", "Write a Java function to reverse a string", false),
        ("Who won the 2018 FIFA World Cup?", "Which country won the World Cup in 2018?", true),
        ("Flights from London to New York", "Cheap London to New York flights", true),
        ("Flights from London to New York", "Flights from New York to London", false),
        ("Can I use my US license in Germany?", "Is a US driving licence valid in Germany?", true),
        ("Can I use my US license in Germany?", "Can I use my German license in the US?", false),
        ("What year did World War II end?", "When did the Second World War end?", true),
        ("Explain how TCP works", "Explain how UDP works", false),
    ])
    func entities(a: String, b: String, same: Bool) async throws {
        #expect(try await accepts(EntityVerifier(), a, b) == same)
    }

    @Test func theStandardSetRunsEveryBuiltInCheck() {
        #expect(TextVerifiers.standard.map(\.name) == ["numbers", "negation", "antonyms", "entities"])
    }
}
