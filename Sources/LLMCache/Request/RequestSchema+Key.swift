extension RequestSchema {
    /// `value`, which sits where the schema expects `kind`, without the
    /// fields the schema leaves out of keys (``KeyRole``): what the
    /// tree-based path encodes, and what a semantic scope hashes, so both
    /// agree with the one-pass canonicalizer, which drops them as it writes.
    static func keyed(_ value: JSONValue, as kind: Kind) -> JSONValue {
        switch value {
        case .object(let members):
            let fields = RequestValidator.fieldsByKind[Int(kind.rawValue)].byName
            let memberValue = kind.memberValue
            guard !fields.isEmpty || memberValue != .any else { return value }
            var kept: [String: JSONValue] = [:]
            kept.reserveCapacity(members.count)
            for (name, member) in members {
                if let field = fields[name] {
                    switch field.key {
                    case .omitted: continue
                    case .omittedWhenTrue where member == .bool(true): continue
                    case .kept, .omittedWhenTrue: kept[name] = keyed(member, as: field.kind)
                    }
                } else {
                    kept[name] = memberValue == .any ? member : keyed(member, as: memberValue)
                }
            }
            return .object(kept)
        case .array(let elements):
            let element = kind.element
            guard element != .any else { return value }
            return .array(elements.map { keyed($0, as: element) })
        case .null, .bool, .number, .string:
            return value
        }
    }
}
