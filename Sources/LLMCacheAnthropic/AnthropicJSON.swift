import LLMCache

/// Any JSON value inside a Messages API wire type: a tool's `input_schema`, a
/// tool call's `input`, a block type this module does not model, and the
/// fields Anthropic adds.
///
/// A Codable box around the core's ``JSONValue``, so the wire types carry
/// free-form JSON without losing it. Numbers decode through `Int` or `Double`
/// (as `JSONDecoder` offers them). A value type; safe to share across tasks.
public struct AnthropicJSON: Hashable, Sendable, Codable, ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByArrayLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral
{
    /// The JSON value.
    public var value: JSONValue

    /// Wraps `value`.
    public init(_ value: JSONValue) {
        self.value = value
    }

    /// Parses JSON text, e.g. a tool's input schema written as a string.
    public init(parsing text: String) throws {
        self.value = try JSONValue(parsing: text)
    }

    public init(stringLiteral text: String) {
        self.value = .string(text)
    }

    public init(dictionaryLiteral elements: (String, AnthropicJSON)...) {
        self.value = .object(Dictionary(elements.map { ($0.0, $0.1.value) }, uniquingKeysWith: { _, last in last }))
    }

    public init(arrayLiteral elements: AnthropicJSON...) {
        self.value = .array(elements.map(\.value))
    }

    public init(integerLiteral number: Int) {
        self.value = .number(JSONNumber(number))
    }

    public init(booleanLiteral flag: Bool) {
        self.value = .bool(flag)
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
                members[key.stringValue] = try object.decode(AnthropicJSON.self, forKey: key).value
            }
            value = .object(members)
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(AnthropicJSON.self).value) }
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
            for element in elements { try array.encode(AnthropicJSON(element)) }
        case .object(let members):
            var object = encoder.container(keyedBy: MemberKey.self)
            for (name, member) in members { try object.encode(AnthropicJSON(member), forKey: MemberKey(stringValue: name)) }
        }
    }
}

extension AnthropicJSON {
    /// The members of the object `decoder` holds whose names are not keys of
    /// `Known`: what a wire type does not model, so it can keep them.
    static func members<Known: CodingKey & CaseIterable>(of decoder: any Decoder, except _: Known.Type) throws -> [String: AnthropicJSON] {
        let known = Set(Known.allCases.map(\.stringValue))
        let object = try decoder.container(keyedBy: MemberKey.self)
        var members: [String: AnthropicJSON] = [:]
        for key in object.allKeys where !known.contains(key.stringValue) {
            members[key.stringValue] = try object.decode(AnthropicJSON.self, forKey: key)
        }
        return members
    }

    /// Adds `members` to the object `encoder` is writing, except those named
    /// like keys of `Known`: the modelled property is the one that counts.
    static func encode<Known: CodingKey & CaseIterable>(_ members: [String: AnthropicJSON], to encoder: any Encoder, except _: Known.Type) throws {
        guard !members.isEmpty else { return }
        let known = Set(Known.allCases.map(\.stringValue))
        var object = encoder.container(keyedBy: MemberKey.self)
        for (name, member) in members where !known.contains(name) {
            try object.encode(member, forKey: MemberKey(stringValue: name))
        }
    }
}
