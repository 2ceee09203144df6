/// Reads `prompt_tokens` and `completion_tokens` out of a response body
/// without parsing it: on a hit the body is served as stored, and parsing a
/// whole response only to count tokens would cost more than the rest of the
/// hit. Looks for the last occurrence of each field, which is the top-level
/// `usage` in OpenAI's responses (it comes after the choices).
enum UsageScanner {
    static func tokens(in body: some Collection<UInt8>) -> (prompt: Int, completion: Int)? {
        body.withContiguousStorageIfAvailable { buffer -> (Int, Int)? in
            guard let prompt = lastInteger(after: promptField, in: buffer) else { return nil }
            return (prompt, lastInteger(after: completionField, in: buffer) ?? 0)
        } ?? nil
    }

    static let promptField = Array("\"prompt_tokens\"".utf8)
    static let completionField = Array("\"completion_tokens\"".utf8)

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
