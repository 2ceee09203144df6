/// The tokens of one answer, in the same terms whichever API gave it.
struct Usage: Sendable, Equatable {
    /// Every input token the call was billed for, provider-cached ones included.
    var prompt = 0
    /// Of ``prompt``, the tokens the provider read from its own prompt cache
    /// (OpenAI's `cached_tokens`, Anthropic's `cache_read_input_tokens`),
    /// billed at its cached-input price.
    var cachedPrompt = 0
    /// Of ``prompt``, the tokens written to Anthropic's prompt cache
    /// (`cache_creation_input_tokens`), billed at its cache-write price.
    var cacheWritePrompt = 0
    /// Output tokens, reasoning included.
    var completion = 0
}

/// Reads an answer's usage out of its body without parsing it: on a hit the
/// body is served as stored, and parsing a whole response only to count
/// tokens would cost more than the rest of the hit. Looks for the last
/// occurrence of each field, which is the top-level `usage` in every format
/// (it comes after the choices, output or content; a field name inside a
/// string is escaped, so it never matches).
///
/// The formats count differently, and this is the one place that knows:
/// - chat and completions: `prompt_tokens` (cached ones included),
///   `prompt_tokens_details.cached_tokens`, `completion_tokens`;
/// - Responses API: `input_tokens` (cached included),
///   `input_tokens_details.cached_tokens`, `output_tokens`;
/// - Anthropic: `input_tokens` counts only the uncached input, beside
///   `cache_read_input_tokens` and `cache_creation_input_tokens`; all three
///   are input, and `output_tokens`.
enum UsageScanner {
    static func usage(in body: some Collection<UInt8>, route: ProxyMetrics.Route) -> Usage? {
        body.withContiguousStorageIfAvailable { buffer -> Usage? in
            switch route {
            case .chat, .completions, .embeddings:
                guard let prompt = lastInteger(after: promptField, in: buffer) else { return nil }
                return Usage(
                    prompt: prompt, cachedPrompt: lastInteger(after: cachedField, in: buffer) ?? 0,
                    completion: lastInteger(after: completionField, in: buffer) ?? 0
                )
            case .responses:
                guard let input = lastInteger(after: inputField, in: buffer) else { return nil }
                return Usage(
                    prompt: input, cachedPrompt: lastInteger(after: cachedField, in: buffer) ?? 0,
                    completion: lastInteger(after: outputField, in: buffer) ?? 0
                )
            case .messages:
                guard let input = lastInteger(after: inputField, in: buffer) else { return nil }
                let read = lastInteger(after: cacheReadField, in: buffer) ?? 0
                let write = lastInteger(after: cacheWriteField, in: buffer) ?? 0
                return Usage(
                    prompt: input + read + write, cachedPrompt: read, cacheWritePrompt: write,
                    completion: lastInteger(after: outputField, in: buffer) ?? 0
                )
            }
        } ?? nil
    }

    static let promptField = Array("\"prompt_tokens\"".utf8)
    static let completionField = Array("\"completion_tokens\"".utf8)
    static let cachedField = Array("\"cached_tokens\"".utf8)
    static let inputField = Array("\"input_tokens\"".utf8)
    static let outputField = Array("\"output_tokens\"".utf8)
    static let cacheReadField = Array("\"cache_read_input_tokens\"".utf8)
    static let cacheWriteField = Array("\"cache_creation_input_tokens\"".utf8)

    static func lastInteger(after field: [UInt8], in buffer: UnsafeBufferPointer<UInt8>) -> Int? {
        guard buffer.count >= field.count else { return nil }
        var start = buffer.count - field.count
        while start >= 0 {
            if buffer[start] == field[0], buffer[start..<start + field.count].elementsEqual(field) {
                var index = start + field.count
                while index < buffer.count, buffer[index] == 0x20 || buffer[index] == UInt8(ascii: ":") { index += 1 }
                var value = 0
                var digits = 0
                while index < buffer.count, buffer[index] >= 0x30, buffer[index] <= 0x39, digits < 12 {
                    value = value * 10 + Int(buffer[index] - 0x30)
                    index += 1
                    digits += 1
                }
                return digits > 0 ? value : nil
            }
            start -= 1
        }
        return nil
    }
}
