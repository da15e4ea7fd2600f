import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A response of the endpoint server.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var extraHeaders: [(String, String)] = []

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, text: String) {
        self.init(status: status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8))
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The bytes on the wire; HEAD answers carry the headers only.
    func serialized(head: Bool) -> [UInt8] {
        var h = "HTTP/1.1 \(status) \(HTTPResponse.reason(status))\r\n"
        h += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (name, value) in extraHeaders { h += "\(name): \(value)\r\n" }
        h += "\r\n"
        return Array(h.utf8) + (head ? [] : body)
    }
}

/// An error starting the endpoint server, naming the address and what to do.
public struct HTTPServerError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}

/// A minimal HTTP/1.1 server for a few read-only GET endpoints (`/metrics`, `/status`), on
/// one OS thread of its own: a role's loop never waits for it, and a slow or hostile client
/// only delays other scrapes (each connection gets `clientTimeout` to send its head and
/// take its answer, then it is closed; one request per connection, `Connection: close`).
///
/// Hand-written on purpose, in about 200 lines over POSIX sockets: of the HTTP libraries we
/// may use, FlyingFox 0.27.1 closes a malformed request without any answer (its
/// HTTPServer.swift leaves that answer unwritten) and runs its connections on Swift's cooperative
/// pool, and SwiftNIO/Hummingbird would add minutes of compilation to every CI build for two
/// GET routes. The request parser is a pure function (`HTTPRequestParser`) tested byte by byte.
public final class HTTPEndpointServer: @unchecked Sendable {
    public typealias Handler = @Sendable (HTTPRequestHead) -> HTTPResponse

    public let host: String
    private let requestedPort: UInt16
    private let routes: [String: Handler]
    private let clientTimeout: TimeInterval
    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var wakeFDs: [Int32] = [-1, -1]
    private var _port: UInt16 = 0
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private var running = false

    /// - Parameter address: `HOST:PORT` (`127.0.0.1:9100`, `0.0.0.0:9100`, `[::1]:9100`, `localhost:9100`; port 0 picks a free one).
    public init(address: String, routes: [String: Handler], clientTimeout: TimeInterval = 2) throws {
        let (host, port) = try HTTPEndpointServer.split(address)
        self.host = host
        self.requestedPort = port
        self.routes = routes
        self.clientTimeout = clientTimeout
    }

    /// The port listened on (after `start`).
    public var port: UInt16 { lock.withLock { _port } }

    /// Splits `HOST:PORT`; the error names the flag value and the expected form.
    public static func split(_ address: String) throws -> (host: String, port: UInt16) {
        var host: Substring, portText: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]"), address[address.index(after: close)...].hasPrefix(":") else {
                throw HTTPServerError("metrics address \(address) is not HOST:PORT (IPv6: [::1]:9100)")
            }
            host = address[address.index(after: address.startIndex)..<close]
            portText = address[address.index(close, offsetBy: 2)...]
        } else {
            guard let colon = address.lastIndex(of: ":"), !address[..<colon].contains(":") else {
                throw HTTPServerError("metrics address \(address) is not HOST:PORT (e.g. 127.0.0.1:9100)")
            }
            host = address[..<colon]
            portText = address[address.index(after: colon)...]
        }
        guard !host.isEmpty, let port = UInt16(portText) else {
            throw HTTPServerError("metrics address \(address) is not HOST:PORT with a port 0–65535 (e.g. 127.0.0.1:9100)")
        }
        return (String(host), port)
    }

    /// Binds and listens (errors thrown here, on the caller's thread), then serves on a thread of its own.
    public func start() throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(requestedPort), &hints, &list)
        guard rc == 0, let first = list else {
            throw HTTPServerError("cannot resolve metrics host \(host): \(String(cString: gai_strerror(rc))); give an IP address such as 127.0.0.1")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError("cannot create a socket for \(host):\(requestedPort): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw HTTPServerError("cannot listen for metrics on \(host):\(requestedPort): \(e); choose another --metrics port")
        }
        // Non-blocking, so an accept for a connection that vanished meanwhile cannot hang the thread.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        guard listen(fd, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw HTTPServerError("cannot listen for metrics on \(host):\(requestedPort): \(e)")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let bound: UInt16 = withUnsafeMutablePointer(to: &storage) { p in
            _ = p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            if Int32(p.pointee.ss_family) == AF_INET6 {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            throw HTTPServerError("cannot create the metrics server's wake pipe: \(String(cString: strerror(errno)))")
        }
        lock.withLock { listenFD = fd; _port = bound; wakeFDs = pipeFDs; running = true }
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.name = "mien.http"
        thread.start()
    }

    /// Stops serving and closes the socket; returns once the thread has ended.
    public func stop() {
        let (wasRunning, wake) = lock.withLock { () -> (Bool, Int32) in
            let r = running && !stopping
            stopping = true
            return (r, wakeFDs[1])
        }
        guard wasRunning else { return }
        var b: UInt8 = 1
        _ = write(wake, &b, 1)
        finished.wait()
        finished.signal()
        lock.withLock {
            close(listenFD); close(wakeFDs[0]); close(wakeFDs[1])
            running = false
        }
    }

    private func serve() {
        let (fd, wake) = lock.withLock { (listenFD, wakeFDs[0]) }
        while !lock.withLock({ stopping }) {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, 500)
            if n < 0 && errno != EINTR { return }
            if fds[1].revents != 0 { return }
            if fds[0].revents & Int16(POLLERR | POLLNVAL) != 0 { return }  // the listening socket broke: stop serving
            guard n > 0, fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            handle(client)
            close(client)
        }
    }

    /// Reads one request head (within the deadline), answers it, and returns.
    private func handle(_ client: Int32) {
        let deadline = Date().addingTimeInterval(clientTimeout)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var response: HTTPResponse
        var head = false
        reading: while true {
            switch HTTPRequestParser.parse(received) {
            case .request(let request):
                head = request.method == "HEAD"
                response = answer(request)
                break reading
            case .reject(let status, let reason):
                response = HTTPResponse(status: status, text: "\(HTTPResponse.reason(status)): \(reason)")
                break reading
            case .incomplete:
                let left = deadline.timeIntervalSinceNow
                guard left > 0, waitFor(client, POLLIN, ms: Int32(left * 1000)) else {
                    response = HTTPResponse(status: 408, text: "Request Timeout: no complete request within \(clientTimeout) s")
                    break reading
                }
                let n = read(client, &buffer, buffer.count)
                if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                if n <= 0 {
                    // The peer closed before a complete head: nothing sensible to answer.
                    if received.isEmpty { return }
                    response = HTTPResponse(status: 400, text: "Bad Request: the connection closed before the request head ended")
                    break reading
                }
                received.append(contentsOf: buffer[0..<n])
            }
        }
        var out = response.serialized(head: head)[...]
        while !out.isEmpty {
            let n = out.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { out = out.dropFirst(n); continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                let left = deadline.timeIntervalSinceNow + clientTimeout
                if left > 0 && waitFor(client, POLLOUT, ms: Int32(left * 1000)) { continue }
            }
            return  // the client went away or stopped reading
        }
        shutdown(client, Int32(SHUT_WR))
    }

    private func answer(_ request: HTTPRequestHead) -> HTTPResponse {
        guard let handler = routes[request.path] else {
            return HTTPResponse(status: 404, text: "Not Found: \(request.path); this server has \(routes.keys.sorted().joined(separator: ", "))")
        }
        guard request.method == "GET" || request.method == "HEAD" else {
            var r = HTTPResponse(status: 405, text: "Method Not Allowed: \(request.method); use GET")
            r.extraHeaders = [("Allow", "GET, HEAD")]
            return r
        }
        return handler(request)
    }

    private func waitFor(_ fd: Int32, _ events: Int32, ms: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(events), revents: 0)
        return poll(&p, 1, max(ms, 1)) > 0 && p.revents & Int16(events) != 0
    }
}
