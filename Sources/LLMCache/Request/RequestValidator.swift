/// Checks a parsed request body against ``RequestSchema``, and that every
/// number in it is finite. Messages name the field and what it should be.
enum RequestValidator {
    typealias Kind = RequestSchema.Kind

    /// - Throws: ``CacheError`` with code ``CacheError/Code/invalidRequest``
    ///   and ``CacheError/field`` naming the offending field (`$` for the body).
    static func validate(_ body: JSONValue) throws {
        var path: [PathPart] = []
        try check(body, as: .request, subject: Kind.request.subject, at: &path)
        // Finding the path costs string building at every node, so only look
        // for it once a non-finite number is known to be there.
        if containsNonFiniteNumber(body) {
            try requireFiniteNumbers(body, path: "")
        }
    }

    /// Checks `value`, found at `path` where the schema expects `kind`;
    /// `subject` is how messages name it.
    private static func check(_ value: JSONValue, as kind: Kind, subject: String, at path: inout [PathPart]) throws {
        guard kind.allowed.contains(types(of: value)) else {
            throw CacheError(.invalidRequest, "\(subject) must be \(kind.mustBe), got \(value.typeName)", field: field(path))
        }
        switch value {
        case .number(let number):
            switch kind.numbers {
            case .any:
                break
            case .finite:
                guard number.doubleValue.isFinite else {
                    throw CacheError(.invalidRequest, "\(subject) must be \(kind.numbers.mustBe), got \(number.text)", field: field(path))
                }
            case .integer:
                guard number.intValue != nil else {
                    throw CacheError(.invalidRequest, "\(subject) must be \(kind.numbers.mustBe), got \(number.text)", field: field(path))
                }
            }
        case .string(let string):
            if kind.isNonEmptyString, string.isEmpty {
                throw CacheError(.invalidRequest, "\(subject) must be \(kind.mustBe), got an empty string", field: field(path))
            }
        case .array(let elements):
            let element = kind.element
            guard element != .any else { break }
            for (i, item) in elements.enumerated() {
                path.append(.element(i))
                try check(item, as: element, subject: element.subject, at: &path)
                path.removeLast()
            }
        case .object(let members):
            try checkFields(members, of: kind, subject: subject, at: &path)
            let memberValue = kind.memberValue
            guard memberValue != .any else { break }
            let named = namedFields[Int(kind.rawValue)]
            for (name, member) in members where !named.contains(where: { $0.name == name }) {
                path.append(.member(name))
                try check(member, as: memberValue, subject: memberValue.subject, at: &path)
                path.removeLast()
            }
        case .null, .bool:
            break
        }
    }

    /// Checks the members of an object of `kind` that the schema names, in
    /// the schema's order.
    private static func checkFields(_ members: [String: JSONValue], of kind: Kind, subject: String, at path: inout [PathPart]) throws {
        for (name, field) in namedFields[Int(kind.rawValue)] {
            switch (field.presence, members[name]) {
            case (.optional, nil):
                continue
            case (.required(let missing), nil):
                path.append(.member(name))
                throw CacheError(.invalidRequest, missing.description, field: self.field(path))
            case (.defining, let member):
                // The object's own description says what this member must be.
                var ignored: [PathPart] = []
                guard let member, (try? check(member, as: field.kind, subject: name, at: &ignored)) != nil else {
                    throw CacheError(.invalidRequest, "\(subject) must be \(kind.mustBe)", field: self.field(path))
                }
            case (.optional, let member?), (.required, let member?):
                path.append(.member(name))
                try check(member, as: field.kind, subject: name, at: &path)
                path.removeLast()
            }
        }
    }

    /// Each kind's fields (by raw value) with their names as strings, made
    /// once so that looking them up in a parsed object makes none.
    private static let namedFields: [[(name: String, field: RequestSchema.Field)]] = {
        var table = Array(repeating: [(name: String, field: RequestSchema.Field)](), count: Kind.allCases.count)
        for kind in Kind.allCases {
            table[Int(kind.rawValue)] = kind.fields.map { (name: $0.name.description, field: $0) }
        }
        return table
    }()

    private static func types(of value: JSONValue) -> RequestSchema.Types {
        switch value {
        case .null: return .null
        case .bool: return .bool
        case .number: return .number
        case .string: return .string
        case .array: return .array
        case .object: return .object
        }
    }

    /// One step of the way to a value. The way is kept as steps and written
    /// out only for an error: writing it at every value would cost more than
    /// the checks.
    enum PathPart {
        case member(String)
        case element(Int)
    }

    /// The path as errors name it: `messages[0].content`, or `$` for the body.
    private static func field(_ path: [PathPart]) -> String {
        var text = ""
        for part in path {
            switch part {
            case .member(let name): text += text.isEmpty ? name : ".\(name)"
            case .element(let index): text += "[\(index)]"
            }
        }
        return text.isEmpty ? "$" : text
    }

    static func containsNonFiniteNumber(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let number): return !number.doubleValue.isFinite
        case .array(let elements): return elements.contains(where: containsNonFiniteNumber)
        case .object(let members): return members.values.contains(where: containsNonFiniteNumber)
        default: return false
        }
    }

    /// A literal such as 1e999 parses but is infinite as a double; no provider
    /// accepts it, and two such literals must not share a key by accident.
    static func requireFiniteNumbers(_ value: JSONValue, path: String) throws {
        switch value {
        case .number(let number):
            if !number.doubleValue.isFinite {
                throw CacheError(.invalidRequest, "the number \(number.text) is out of range (not finite)", field: path.isEmpty ? "$" : path)
            }
        case .array(let elements):
            for (i, element) in elements.enumerated() { try requireFiniteNumbers(element, path: "\(path)[\(i)]") }
        case .object(let members):
            for (name, member) in members { try requireFiniteNumbers(member, path: path.isEmpty ? name : "\(path).\(name)") }
        default:
            break
        }
    }
}
