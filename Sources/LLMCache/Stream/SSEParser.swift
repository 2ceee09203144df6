/// An incremental parser of server-sent events (the `text/event-stream`
/// format OpenAI streams in): feed it bytes as they arrive, get back the
/// `data` of each complete event.
///
/// Events end at a blank line (`\n\n`, `\r\n\r\n` or `\r\r`); several `data:`
/// lines of one event are joined with `\n`; comments (`:` lines) and other
/// fields (`event:`, `id:`, `retry:`) are skipped. An event split across
/// reads is returned once its end arrives. A value type: use one per stream.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false

    public init() {}

    /// Consumes `bytes` and returns the data of every event they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var events: [[UInt8]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n"), lastWasCR {
                // The \n of a \r\n: the line already ended at the \r.
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
        }
        return events
    }

    /// Whether bytes of an unfinished event are buffered: at the end of a
    /// stream, a sign that it was cut off.
    public var hasPartialEvent: Bool { !line.isEmpty || hasData }

    private mutating func endLine() -> [UInt8]? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { return nil }
            let event = data
            data.removeAll(keepingCapacity: true)
            hasData = false
            return event
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        if hasData { data.append(UInt8(ascii: "\n")) }
        data.append(contentsOf: line[valueStart...])
        hasData = true
        return nil
    }
}

extension SSEParser {
    /// The data of the event that ends an OpenAI stream.
    public static let doneMarker: [UInt8] = Array("[DONE]".utf8)

    /// One event encoded for the wire: `data: <payload>\n\n`.
    public static func event(_ payload: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8)
        out.append(contentsOf: "data: ".utf8)
        out.append(contentsOf: payload)
        out.append(contentsOf: "\n\n".utf8)
        return out
    }

    /// One named event encoded for the wire: `event: <name>\ndata: <payload>\n\n`,
    /// as the Responses API and Anthropic's Messages API frame theirs.
    public static func event(named name: String, _ payload: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(name.utf8.count + payload.count + 16)
        out.append(contentsOf: "event: ".utf8)
        out.append(contentsOf: name.utf8)
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: event(payload))
        return out
    }
}
