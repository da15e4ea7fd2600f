import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot HTTP/1.1 GET for `mien status` (and tests): connect, send, read until the
/// server closes, with a deadline. Hand-written like the server, for the same reasons, and
/// so that the `mien` binary does not link FoundationNetworking (and libcurl) for one request.
public enum HTTPGet {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }
    }

    /// Splits `http://HOST:PORT/PATH` (PATH defaults to `/`).
    public static func split(url: String) throws -> (host: String, port: UInt16, path: String) {
        guard url.hasPrefix("http://") else {
            throw HTTPServerError("\(url) is not an http:// URL (the metrics endpoint speaks plain HTTP: http://HOST:PORT)")
        }
        let rest = url.dropFirst(7)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let path = slash == rest.endIndex ? "/" : String(rest[slash...])
        let hostPort: (String, UInt16)
        if authority.contains(":") {
            hostPort = try HTTPEndpointServer.split(authority)
        } else {
            hostPort = (authority, 80)
        }
        guard !hostPort.0.isEmpty else { throw HTTPServerError("\(url) names no host (http://HOST:PORT)") }
        return (hostPort.0, hostPort.1, path)
    }

    public static func get(_ url: String, timeout: TimeInterval = 5) throws -> Response {
        let (host, port, path) = try split(url: url)
        let deadline = Date().addingTimeInterval(timeout)
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPServerError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let nothing = "nothing answers at http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else {
                throw HTTPServerError("\(nothing) (\(String(cString: strerror(errno)))): is the coordinator running with --metrics \(host):\(port)?")
            }
            guard wait(fd, POLLOUT, until: deadline) else { throw HTTPServerError("\(nothing) within \(timeout) s (connection timed out)") }
            var err: Int32 = 0
            var len = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
            if err != 0 {
                throw HTTPServerError("\(nothing) (\(String(cString: strerror(err)))): is the coordinator running with --metrics \(host):\(port)?")
            }
        }
        let hostHeader = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request = Array("GET \(path) HTTP/1.1\r\nHost: \(hostHeader)\r\nAccept: */*\r\nConnection: close\r\n\r\n".utf8)[...]
        while !request.isEmpty {
            let n = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { request = request.dropFirst(n); continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR), wait(fd, POLLOUT, until: deadline) { continue }
            throw HTTPServerError("could not send the request to \(url): \(String(cString: strerror(errno)))")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { received.append(contentsOf: buffer[0..<n]); continue }
            if n == 0 { break }
            if errno == EAGAIN || errno == EINTR {
                guard wait(fd, POLLIN, until: deadline) else { throw HTTPServerError("\(url) did not answer within \(timeout) s") }
                continue
            }
            throw HTTPServerError("reading the answer of \(url) failed: \(String(cString: strerror(errno)))")
        }
        return try parse(received, url: url)
    }

    /// Parses a whole response (the server closed the connection after it).
    static func parse(_ bytes: [UInt8], url: String) throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            throw HTTPServerError("\(url) sent no HTTP answer (\(bytes.count) bytes): is this the metrics endpoint?")
        }
        let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw HTTPServerError("\(url) sent a malformed status line: \(head[0])")
        }
        let headers = head.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(bytes[(end + 4)...])
        if let length = headers.first(where: { $0.name == "content-length" }).flatMap({ Int($0.value) }), length <= body.count {
            body = Array(body[0..<length])
        }
        return Response(status: status, headers: headers, body: body)
    }

    private static func wait(_ fd: Int32, _ events: Int32, until deadline: Date) -> Bool {
        let ms = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
        guard deadline.timeIntervalSinceNow > 0 else { return false }
        var p = pollfd(fd: fd, events: Int16(events), revents: 0)
        return poll(&p, 1, ms) > 0 && p.revents & Int16(events | POLLERR | POLLHUP) != 0
    }
}
