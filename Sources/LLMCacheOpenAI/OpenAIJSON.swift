import LLMCache

/// Any JSON value inside an OpenAI wire type: tool parameter schemas,
/// `tool_choice`, `response_format` schemas, and fields a provider adds.
///
/// A Codable box around the core's ``JSONValue``, so the wire types can carry
/// free-form JSON without losing it. Numbers decode through `Double` or `Int`
/// (as `JSONDecoder` offers them). A value type; safe to share across tasks.
public struct OpenAIJSON: Hashable, Sendable, Codable, ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral {
    /// The JSON value.
    public var value: JSONValue

    /// Wraps `value`.
    public init(_ value: JSONValue) {
        self.value = value
    }

    /// Parses JSON text, e.g. a tool's parameter schema written as a string.
    public init(parsing text: String) throws {
        self.value = try JSONValue(parsing: text)
    }

    public init(stringLiteral text: String) {
        self.value = .string(text)
    }

    public init(dictionaryLiteral elements: (String, OpenAIJSON)...) {
        self.value = .object(Dictionary(elements.map { ($0.0, $0.1.value) }, uniquingKeysWith: { _, last in last }))
    }

    fileprivate struct MemberKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: MemberKey.self) {
            var members: [String: JSONValue] = [:]
            for key in object.allKeys {
                members[key.stringValue] = try object.decode(OpenAIJSON.self, forKey: key).value
            }
            value = .object(members)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(OpenAIJSON.self).value) }
            value = .array(elements)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            value = .null
        } else if let bool = try? single.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? single.decode(Int.self) {
            value = .number(JSONNumber(int))
        } else if let double = try? single.decode(Double.self), let number = JSONNumber(double) {
            value = .number(number)
        } else {
            value = .string(try single.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch value {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let bool):
            var single = encoder.singleValueContainer()
            try single.encode(bool)
        case .number(let number):
            var single = encoder.singleValueContainer()
            if let int = Int(number.text) { try single.encode(int) } else { try single.encode(number.doubleValue) }
        case .string(let string):
            var single = encoder.singleValueContainer()
            try single.encode(string)
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for element in elements { try array.encode(OpenAIJSON(element)) }
        case .object(let members):
            var object = encoder.container(keyedBy: MemberKey.self)
            for (name, member) in members { try object.encode(OpenAIJSON(member), forKey: MemberKey(stringValue: name)) }
        }
    }
}

extension OpenAIJSON {
    /// The members of the object `decoder` holds whose names are not keys of
    /// `Known`: what a wire type does not model, so it can keep them.
    static func members<Known: CodingKey & CaseIterable>(of decoder: any Decoder, except _: Known.Type) throws -> [String: OpenAIJSON] {
        let known = Set(Known.allCases.map(\.stringValue))
        let object = try decoder.container(keyedBy: MemberKey.self)
        var members: [String: OpenAIJSON] = [:]
        for key in object.allKeys where !known.contains(key.stringValue) {
            members[key.stringValue] = try object.decode(OpenAIJSON.self, forKey: key)
        }
        return members
    }

    /// Adds `members` to the object `encoder` is writing, except those named
    /// like keys of `Known`: the modeled property is the one that counts.
    static func encode<Known: CodingKey & CaseIterable>(_ members: [String: OpenAIJSON], to encoder: any Encoder, except _: Known.Type) throws {
        guard !members.isEmpty else { return }
        let known = Set(Known.allCases.map(\.stringValue))
        var object = encoder.container(keyedBy: MemberKey.self)
        for (name, member) in members where !known.contains(name) {
            try object.encode(member, forKey: MemberKey(stringValue: name))
        }
    }
}
