import Testing
@testable import LLMCache

/// `RequestSchema` is read by both the one-pass canonicalizer and the
/// validator. For every place the schema names, both must accept what it
/// allows (with the same bytes) and refuse what it does not, the validator
/// naming that place, or a request would be keyed or judged by a rule only
/// one of them knows.
@Suite struct RequestSchemaTests {
    typealias Kind = RequestSchema.Kind

    /// A place in a request where the schema expects a kind.
    struct Place: Sendable, CustomStringConvertible {
        /// The body's kind: which API's request this is.
        var root: Kind
        var kind: Kind
        /// The path of a value here, `""` for the body.
        var path: String
        /// What an error about a value here names: its path, or its object's
        /// when it is the field that defines the object.
        var field: String
        /// A whole request with the JSON text of a value at this place.
        var embed: @Sendable (String) -> String

        var description: String { "\(root): \(path.isEmpty ? "$" : path) (\(kind))" }
        var endpoint: LLMRequest.Endpoint { RequestSchemaTests.endpoint(of: root) }
    }

    /// Every body kind, each an API's request.
    static let roots: [Kind] = Kind.allCases.filter(\.isRoot)

    static func endpoint(of root: Kind) -> LLMRequest.Endpoint {
        switch root {
        case .responsesRequest: return .responses
        case .messagesRequest: return .anthropicMessages
        default: return .chatCompletions
        }
    }

    /// Every place the schema describes, found by walking it from each body kind.
    static let places: [Place] = roots.flatMap(places(from:))

    static func places(from root: Kind) -> [Place] {
        var result: [Place] = []
        var expanded: Set<Kind> = []
        func visit(_ place: Place) {
            result.append(place)
            // A kind's inner places are the same wherever it sits; walking
            // them once also ends the walk should the schema ever nest a kind
            // in itself.
            guard expanded.insert(place.kind).inserted else { return }
            let kind = place.kind
            for field in kind.fields {
                let name = field.name.description
                let path = RequestSchemaTests.join(place.path, name)
                visit(Place(root: root, kind: field.kind, path: path, field: RequestSchemaTests.isDefining(field) ? place.field : path) { value in
                    place.embed(RequestSchemaTests.object(kind, setting: name, to: value))
                })
            }
            if kind.element != .any {
                let path = place.path + "[0]"
                visit(Place(root: root, kind: kind.element, path: path, field: path) { place.embed("[\($0)]") })
            }
            if kind.memberValue != .any {
                let path = RequestSchemaTests.join(place.path, "k")
                visit(Place(root: root, kind: kind.memberValue, path: path, field: path) { place.embed(#"{"k":\#($0)}"#) })
            }
        }
        visit(Place(root: root, kind: root, path: "", field: "$") { $0 })
        return result
    }

    static func isDefining(_ field: RequestSchema.Field) -> Bool {
        if case .defining = field.presence { return true }
        return false
    }

    static func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }

    /// An object of `kind` with its required fields, and `name` set to `value`
    /// (or left out when `value` is nil).
    static func object(_ kind: Kind, setting name: String, to value: String?) -> String {
        var members: [String] = []
        for field in kind.fields where field.isRequired && field.name.description != name {
            members.append(#""\#(field.name)":\#(validValues(field.kind)[0])"#)
        }
        if let value { members.append(#""\#(name)":\#(value)"#) }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// JSON texts the schema allows for `kind`: one of each type it allows.
    static func validValues(_ kind: Kind) -> [String] {
        var values: [String] = []
        let allowed = kind.allowed
        if allowed.contains(.object) {
            var object = Self.object(kind, setting: "", to: nil)
            if kind.memberValue != .any {
                object = String(object.dropLast()) + (object.count > 2 ? "," : "") + #""k":\#(validValues(kind.memberValue)[0])}"#
            } else if kind.fields.isEmpty {
                object = #"{"a":[1,"b"],"z":{"y":0.70}}"#
            }
            values.append(object)
        }
        if allowed.contains(.string) { values.append(#""x\u00e9""#) }
        if allowed.contains(.number) { values.append(kind.numbers == .integer ? "512" : "0.70") }
        if allowed.contains(.array) {
            values.append(kind.element == .any ? #"[1,"b"]"# : "[" + validValues(kind.element).joined(separator: ",") + "]")
        }
        if allowed.contains(.bool) { values.append("true") }
        if allowed.contains(.null) { values.append("null") }
        return values
    }

    /// JSON texts the schema refuses for `kind`: one of each type it does not
    /// allow, and numbers or strings its own rules refuse.
    static func invalidValues(_ kind: Kind) -> [String] {
        let samples: [(RequestSchema.Types, String)] = [(.null, "null"), (.bool, "false"), (.number, "3"), (.string, #""s""#), (.array, "[]"), (.object, "{}")]
        var values = samples.filter { !kind.allowed.contains($0.0) }.map(\.1)
        switch kind.numbers {
        case .any: break
        case .finite: values.append("1e999")
        case .integer: values += ["1.5", "1e999"]
        }
        if kind.isNonEmptyString { values.append(#""""#) }
        return values
    }

    static func onePass(_ json: String, root: Kind = .request) -> RequestCanonicalizer.Result? {
        Array(json.utf8).withUnsafeBufferPointer { RequestCanonicalizer.canonicalize($0, root: root) }
    }

    /// The error the tree-based path gives; both entry points must give it.
    static func treeError(_ json: String, root: Kind = .request) -> CacheError? {
        let endpoint = endpoint(of: root)
        let fromTree = Result { try LLMRequest(try JSONValue(parsing: json), endpoint: endpoint) }
        let fromBytes = Result { try LLMRequest(json: Array(json.utf8), endpoint: endpoint) }
        guard case .failure(let a as CacheError) = fromTree, case .failure(let b as CacheError) = fromBytes else { return nil }
        #expect(a.field == b.field && a.message == b.message)
        return a
    }

    @Test func theWalkReachesEveryField() {
        let paths = Set(Self.places(from: .request).map(\.path))
        for field in RequestSchema.requestFields { #expect(paths.contains(field.name.description)) }
        for field in RequestSchema.messageFields { #expect(paths.contains("messages[0].\(field.name)")) }
        for field in RequestSchema.contentPartFields { #expect(paths.contains("messages[0].content[0].\(field.name)")) }
        for field in RequestSchema.toolFields { #expect(paths.contains("tools[0].\(field.name)")) }
        #expect(paths.contains("logit_bias.k") && paths.contains("stop[0]") && paths.contains("tools[0]") && paths.contains("messages[0].tool_calls[0]"))
        let responses = Set(Self.places(from: .responsesRequest).map(\.path))
        for field in RequestSchema.responsesFields { #expect(responses.contains(field.name.description)) }
        for field in RequestSchema.inputItemFields { #expect(responses.contains("input[0].\(field.name)")) }
        #expect(responses.contains("input[0].content[0].type") && responses.contains("include[0]"))
        let messages = Set(Self.places(from: .messagesRequest).map(\.path))
        for field in RequestSchema.messagesFields { #expect(messages.contains(field.name.description)) }
        // A kind's inner places are walked once: system blocks are content parts.
        #expect(messages.contains("system[0]") && messages.contains("messages[0].content[0].cache_control"))
    }

    @Test(arguments: RequestSchemaTests.places)
    func allowedValuesEncodeAlikeOnBothPaths(place: Place) throws {
        for value in Self.validValues(place.kind) {
            let json = place.embed(value)
            let bytes = Array(json.utf8)
            #expect(Self.onePass(json, root: place.root) != nil, "the one-pass path refused \(json)")
            #expect(
                try CanonicalEncodingTests.onePassEncoding(bytes, endpoint: place.endpoint)
                    == CanonicalEncodingTests.treeEncoding(bytes, endpoint: place.endpoint), "\(json)"
            )
        }
    }

    /// Places of kind `any` refuse nothing but non-finite numbers, which
    /// `requireFiniteNumbers`' own tests cover.
    @Test(arguments: RequestSchemaTests.places.filter { $0.kind != .any })
    func refusedValuesAreRefusedByBothPathsNamingTheField(place: Place) {
        let values = Self.invalidValues(place.kind)
        #expect(!values.isEmpty)
        for value in values {
            let json = place.embed(value)
            #expect(Self.onePass(json, root: place.root) == nil, "the one-pass path accepted \(json)")
            guard let error = Self.treeError(json, root: place.root) else {
                Issue.record("the tree path accepted \(json)")
                continue
            }
            #expect(error.code == .invalidRequest)
            #expect(error.field == place.field, "\(json): \(error)")
        }
    }

    @Test(arguments: RequestSchemaTests.places.filter { $0.kind.fields.contains(where: \.isRequired) })
    func missingRequiredFieldsAreRefusedByBothPaths(place: Place) {
        for field in place.kind.fields where field.isRequired {
            let name = field.name.description
            let json = place.embed(Self.object(place.kind, setting: name, to: nil))
            #expect(Self.onePass(json, root: place.root) == nil, "the one-pass path accepted \(json)")
            guard let error = Self.treeError(json, root: place.root) else {
                Issue.record("the tree path accepted \(json)")
                continue
            }
            let expected = Self.isDefining(field) ? place.field : Self.join(place.path, name)
            #expect(error.field == expected, "\(json): \(error)")
        }
    }

    /// The one-pass path compares names as bytes, and stops at the first
    /// field a name matches.
    @Test func fieldNamesAreASCIIAndDistinct() {
        for kind in Self.places.map(\.kind) {
            let names = kind.fields.map(\.name.description)
            #expect(Set(names).count == names.count, "\(kind)")
            for name in names { #expect(name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }, "\(name)") }
        }
    }

    @Test(arguments: [
        ("[1]", "$", "the request must be a JSON object, got array"),
        (#"{"messages":[]}"#, "model", #"the request has no model; add "model": "<name>""#),
        (#"{"model":""}"#, "model", "model must be a non-empty string, got an empty string"),
        (#"{"model":"m","temperature":"hot"}"#, "temperature", "temperature must be a number, got string"),
        (#"{"model":"m","temperature":1e999}"#, "temperature", "temperature must be a finite number, got 1e999"),
        (#"{"model":"m","seed":1.5}"#, "seed", "seed must be an integer, got 1.5"),
        (#"{"model":"m","max_tokens":"10"}"#, "max_tokens", "max_tokens must be an integer, got string"),
        (#"{"model":"m","stop":7}"#, "stop", "stop must be a string or an array of strings, got number"),
        (#"{"model":"m","stop":["a",1]}"#, "stop[1]", "stop sequences must be strings, got number"),
        (#"{"model":"m","messages":"hi"}"#, "messages", "messages must be an array of message objects, got string"),
        (#"{"model":"m","messages":[1]}"#, "messages[0]", "each message must be an object with a role, got number"),
        (#"{"model":"m","messages":[{}]}"#, "messages[0].role", #"the message has no role; add "role": "user" (or system, assistant, tool)"#),
        (#"{"model":"m","messages":[{"role":null}]}"#, "messages[0].role", "role must be a string, got null"),
        (#"{"model":"m","messages":[{"role":"user","content":5}]}"#, "messages[0].content", "content must be a string, an array of content parts, or null, got number"),
        (#"{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}"#, "messages[0].content[0]", #"each content part must be an object with a string type ("text", "image_url", ...)"#),
        (#"{"model":"m","messages":[{"role":"user","content":["x"]}]}"#, "messages[0].content[0]", #"each content part must be an object with a string type ("text", "image_url", ...), got string"#),
        (#"{"model":"m","messages":[{"role":"user","name":1}]}"#, "messages[0].name", "name must be a string, got number"),
        (#"{"model":"m","messages":[{"role":"tool","tool_call_id":[]}]}"#, "messages[0].tool_call_id", "tool_call_id must be a string, got array"),
        (#"{"model":"m","messages":[{"role":"assistant","tool_calls":{}}]}"#, "messages[0].tool_calls", "tool_calls must be an array, got object"),
        (#"{"model":"m","messages":[{"role":"assistant","tool_calls":[1]}]}"#, "messages[0].tool_calls[0]", "each tool call must be an object, got number"),
        (#"{"model":"m","tools":{}}"#, "tools", "tools must be an array of tool objects, got object"),
        (#"{"model":"m","tools":["f"]}"#, "tools[0]", "each tool must be an object, got string"),
        (#"{"model":"m","logit_bias":[]}"#, "logit_bias", "logit_bias must be an object of token ids to numbers, got array"),
        (#"{"model":"m","logit_bias":{"1":"x"}}"#, "logit_bias.1", "logit_bias values must be numbers, got string"),
        (#"{"model":"m","response_format":"json"}"#, "response_format", #"response_format must be an object such as {"type": "json_object"}, got string"#),
        (#"{"model":"m","metadata":{"x":[1,2e400]}}"#, "metadata.x[1]", "the number 2e400 is out of range (not finite)"),
    ])
    func errorsSayWhatTheFieldShouldBe(json: String, field: String, message: String) {
        guard let error = Self.treeError(json) else {
            Issue.record("\(json) was accepted")
            return
        }
        #expect(error.field == field)
        #expect(error.message == message)
    }
}
