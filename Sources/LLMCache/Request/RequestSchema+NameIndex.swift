extension RequestSchema {
    /// The table's fields arranged for finding a member by its name's bytes,
    /// as the canonicalizer does for every member it writes: each kind's
    /// fields grouped by name length, so a name is compared with the one or
    /// two fields of its length rather than with every field. Made once,
    /// from the table; it holds nothing the table does not say.
    final class NameIndex: Sendable {
        static let shared = NameIndex()

        /// What the canonicalizer needs to know of one object kind.
        struct Summary {
            /// How many fields the kind has: where there are any, member
            /// names have meaning and must be ASCII.
            var fieldCount: Int
            var requiredCount: Int
        }

        /// Every kind's fields, ordered by kind and then by name length.
        private let fields: [Field]
        /// `starts[slot] ..< starts[slot + 1]` are the indices in `fields` of
        /// the fields in `slot(kind, length)`.
        private let starts: [Int]
        private let summaries: [Summary]
        /// One more than the longest name: longer names are no field's.
        private let lengths: Int

        private init() {
            let kinds = Kind.allCases
            lengths = kinds.flatMap(\.fields).map(\.name.utf8CodeUnitCount).max().map { $0 + 1 } ?? 1
            var fields: [Field] = []
            var starts: [Int] = []
            for kind in kinds {
                for length in 0..<lengths {
                    starts.append(fields.count)
                    fields += kind.fields.filter { $0.name.utf8CodeUnitCount == length }
                }
            }
            starts.append(fields.count)
            self.fields = fields
            self.starts = starts
            summaries = kinds.map { kind in
                Summary(fieldCount: kind.fields.count, requiredCount: kind.fields.count(where: \.isRequired))
            }
        }

        @inline(__always)
        func summary(of kind: Kind) -> Summary {
            summaries[Int(kind.rawValue)]
        }

        /// The field of `kind` whose name is the `count` bytes at `name`.
        @inline(__always)
        func field(of kind: Kind, named name: UnsafePointer<UInt8>, count: Int) -> Field? {
            guard count < lengths else { return nil }
            let slot = Int(kind.rawValue) * lengths + count
            for i in starts[slot]..<starts[slot + 1] {
                let field = fields[i]
                let literal = field.name.utf8Start
                var offset = 0
                while offset < count, name[offset] == literal[offset] { offset += 1 }
                if offset == count { return field }
            }
            return nil
        }
    }
}
