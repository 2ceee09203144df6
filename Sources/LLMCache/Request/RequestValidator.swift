/// Checks a parsed request body against ``RequestSchema``, and that every
/// number in it is finite. Messages name the field and what it should be.
enum RequestValidator {
    typealias Kind = RequestSchema.Kind

    /// - Throws: ``CacheError`` with code ``CacheError/Code/invalidRequest``
    ///   and ``CacheError/field`` naming the offending field (`$` for the body).
    static func validate(_ body: JSONValue, as root: Kind = .request) throws {
        do {
            try check(body, as: root, subject: root.subject)
        } catch {
            throw CacheError(.invalidRequest, error.message, field: error.field)
        }
        // Finding the path costs string building at every node, so only look
        // for it once a non-finite number is known to be there.
        if containsNonFiniteNumber(body) {
            try requireFiniteNumbers(body, path: "")
        }
    }

    /// One step of the way from the body to a value.
    enum Step {
        case member(String)
        case element(Int)
    }

    /// What is wrong with a value, and the way to it. The way is added one
    /// step at a time as the fault travels up, so a valid body costs no path
    /// building at all.
    struct Fault: Error {
        var message: String
        /// From the value up to the body: innermost first.
        var steps: [Step] = []

        /// The path as errors name it: `messages[0].content`, or `$` for the body.
        var field: String {
            var text = ""
            for step in steps.reversed() {
                switch step {
                case .member(let name): text += text.isEmpty ? name : ".\(name)"
                case .element(let index): text += "[\(index)]"
                }
            }
            return text.isEmpty ? "$" : text
        }
    }

    /// Checks `value`, which sits where the schema expects `kind`; `subject`
    /// is how messages name it.
    private static func check(_ value: JSONValue, as kind: Kind, subject: String) throws(Fault) {
        guard kind.allowed.contains(types(of: value)) else {
            throw Fault(message: "\(subject) must be \(kind.mustBe), got \(value.typeName)")
        }
        switch value {
        case .number(let number):
            switch kind.numbers {
            case .any:
                break
            case .finite:
                guard number.doubleValue.isFinite else {
                    throw Fault(message: "\(subject) must be \(kind.numbers.mustBe), got \(number.text)")
                }
            case .integer:
                guard number.intValue != nil else {
                    throw Fault(message: "\(subject) must be \(kind.numbers.mustBe), got \(number.text)")
                }
            }
        case .string(let string):
            if kind.isNonEmptyString, string.isEmpty {
                throw Fault(message: "\(subject) must be \(kind.mustBe), got an empty string")
            }
        case .array(let elements):
            let element = kind.element
            guard element != .any else { break }
            for (i, item) in elements.enumerated() {
                try check(item, as: element, subject: element.subject, at: .element(i))
            }
        case .object(let members):
            try checkMembers(members, of: kind, subject: subject)
        case .null, .bool:
            break
        }
    }

    /// Checks `value`, one step below the value being checked.
    private static func check(_ value: JSONValue, as kind: Kind, subject: String, at step: Step) throws(Fault) {
        do {
            try check(value, as: kind, subject: subject)
        } catch {
            var fault = error
            fault.steps.append(step)
            throw fault
        }
    }

    /// Checks the members of an object of `kind`: first the fields it must
    /// have, in the table's order (so a missing model is named before
    /// anything else), then each member the table knows.
    private static func checkMembers(_ members: [String: JSONValue], of kind: Kind, subject: String) throws(Fault) {
        let fields = fieldsByKind[Int(kind.rawValue)]
        for (name, field) in fields.required {
            switch (field.presence, members[name]) {
            case (.defining, let member):
                // The object's own description says what this member must be,
                // and the fault is the object's.
                guard let member, (try? check(member, as: field.kind, subject: name)) != nil else {
                    throw Fault(message: "\(subject) must be \(kind.mustBe)")
                }
            case (.required(let missing), nil):
                throw Fault(message: missing.description, steps: [.member(name)])
            case (_, let member?):
                try check(member, as: field.kind, subject: name, at: .member(name))
            case (.optional, nil):
                break
            }
        }
        let memberValue = kind.memberValue
        guard !fields.byName.isEmpty || memberValue != .any else { return }
        // Looking each member up costs one hash per member, fewer than
        // looking up every field the table names.
        for (name, member) in members {
            if let field = fields.byName[name] {
                guard !field.isRequired else { continue }
                try check(member, as: field.kind, subject: name, at: .member(name))
            } else if memberValue != .any {
                try check(member, as: memberValue, subject: memberValue.subject, at: .member(name))
            }
        }
    }

    /// One kind's fields, with their names as strings.
    struct NamedFields {
        var required: [(name: String, field: RequestSchema.Field)] = []
        var byName: [String: RequestSchema.Field] = [:]
    }

    /// Each kind's fields, by the kind's raw value: made once from the table,
    /// so that checking a parsed object makes no strings.
    static let fieldsByKind: [NamedFields] = Kind.allCases.map { kind in
        var named = NamedFields()
        for field in kind.fields {
            let name = field.name.description
            if field.isRequired { named.required.append((name, field)) }
            named.byName[name] = field
        }
        return named
    }

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
