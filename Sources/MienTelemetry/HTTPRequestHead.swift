/// The head of an HTTP/1.x request (request line + header fields), as the endpoint server
/// needs it. Parsing is a pure function of the bytes received so far, tested byte by byte.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// The request target as sent (origin form: `/metrics?x=1`).
    public var target: String
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// Header fields in order, names lower-cased.
    public var headers: [(name: String, value: String)]

    /// The target's path, without the query.
    public var path: String { String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }

    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.name == n }?.value
    }

    public static func == (a: HTTPRequestHead, b: HTTPRequestHead) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
    }
}

/// Result of parsing the bytes of a connection so far.
public enum HTTPParse: Sendable, Equatable {
    /// The head is not complete yet: read more.
    case incomplete
    /// A complete, well-formed head.
    case request(HTTPRequestHead)
    /// Not a request this server can answer: the status to send (400, 431, 505) and why.
    case reject(status: Int, reason: String)
}

public enum HTTPRequestParser {
    /// Heads longer than this are refused with 431.
    public static let maxHeadBytes = 8 * 1024

    /// Parses the request head at the start of `bytes` (RFC 9112 §2–§5, the parts a GET-only
    /// server needs): request line `METHOD SP origin-target SP HTTP/1.x CRLF`, header fields
    /// `name: value CRLF` (no whitespace before the colon), an empty line; HTTP/1.1 requires a
    /// Host field. A bare LF ends lines too (RFC 9112 §2.2 allows accepting it).
    public static func parse(_ bytes: [UInt8]) -> HTTPParse {
        // Find the end of the head: an empty line.
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        var complete = false
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\n") {
                var end = i
                if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = bytes[start..<end]
                start = i + 1
                if line.isEmpty {
                    if lines.isEmpty { i += 1; continue }  // RFC 9112 §2.2: ignore empty lines before the request line
                    complete = true
                    break
                }
                lines.append(line)
            }
            i += 1
        }
        if !complete {
            return bytes.count > maxHeadBytes ? .reject(status: 431, reason: "request head longer than \(maxHeadBytes) bytes") : .incomplete
        }
        if start > maxHeadBytes { return .reject(status: 431, reason: "request head longer than \(maxHeadBytes) bytes") }

        // Request line.
        let requestLine = lines.removeFirst()
        let fields = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard fields.count == 3 else { return .reject(status: 400, reason: "malformed request line (expected METHOD TARGET HTTP/1.1)") }
        let method = String(decoding: fields[0], as: UTF8.self)
        let target = String(decoding: fields[1], as: UTF8.self)
        let version = String(decoding: fields[2], as: UTF8.self)
        guard !method.isEmpty, method.utf8.allSatisfy(isTokenByte) else { return .reject(status: 400, reason: "malformed method") }
        guard target.hasPrefix("/"), target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .reject(status: 400, reason: "request target must be a path starting with /")
        }
        let v = Array(version.utf8)
        guard v.count == 8, version.hasPrefix("HTTP/"), isDigit(v[5]), v[6] == UInt8(ascii: "."), isDigit(v[7]) else {
            return .reject(status: 400, reason: "malformed HTTP version")
        }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .reject(status: 505, reason: "only HTTP/1.0 and HTTP/1.1 are served") }

        // Header fields.
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .reject(status: 400, reason: "header line without a colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return .reject(status: 400, reason: "malformed header name") }
            let rawValue = line[(colon + 1)...]
            guard rawValue.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return .reject(status: 400, reason: "control character in a header value") }
            let value = String(decoding: rawValue, as: UTF8.self).trimmingSpaces()
            headers.append((String(decoding: name, as: UTF8.self).lowercased(), value))
        }
        if version == "HTTP/1.1" {
            let hosts = headers.filter { $0.name == "host" }
            guard hosts.count == 1 else { return .reject(status: 400, reason: "HTTP/1.1 requests need exactly one Host header") }
        }
        return .request(HTTPRequestHead(method: method, target: target, version: version, headers: headers))
    }

    /// RFC 9110 §5.6.2 token characters.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
