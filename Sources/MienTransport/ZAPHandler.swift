import CZeroMQ
import Foundation

/// The CURVE server side of a socket: its key pair and the ZAP domain whose allow-list a
/// running `ZAPHandler` enforces. Made by `ZAPHandler.serve`, so a CURVE server socket never
/// exists without a handler that knows its domain.
public struct CurveServer: Sendable {
    public let keyPair: CurveKeyPair
    /// The ZAP domain (e.g. "mien.coordinator"); names the allow-list in the handler.
    public let domain: String

    /// Makes `socket` a CURVE server in this domain with ZAP enforced: if no handler answers,
    /// libzmq refuses the handshake (it never falls back to letting the client in).
    /// Apply before `bind`.
    public func apply(to socket: ZMQSocket) throws {
        try socket.setZapDomain(domain)
        try socket.setZapEnforceDomain()
        try socket.setCurveServer(secretKey: keyPair.secretKey)
    }
}

/// The CURVE client side of a socket: the server's public key and this process's key pair
/// (whose public key must be on the server's allow-list).
public struct CurveClient: Sendable {
    public let serverKey: CurveKey
    public let keyPair: CurveKeyPair

    public init(serverKey: CurveKey, keyPair: CurveKeyPair) {
        self.serverKey = serverKey
        self.keyPair = keyPair
    }

    /// Apply before `connect`.
    public func apply(to socket: ZMQSocket) throws {
        try socket.setCurveClient(serverKey: serverKey, keyPair: keyPair)
    }
}

/// A ZAP handler (ZeroMQ RFC 27) for one context: a REP socket bound to
/// `inproc://zeromq.zap.01` on a thread of its own, answering libzmq's authentication requests.
///
/// A CURVE client is let in only when its public key is on the allow-list of the request's
/// domain (`serve`). Everything else is refused: unknown keys, unknown domains, other mechanisms
/// (NULL, PLAIN) in a served domain, malformed requests. Server sockets made with `serve` set
/// `ZMQ_ZAP_ENFORCE_DOMAIN`, so when this handler is not running (never started, or stopped)
/// libzmq refuses every handshake — never fails open.
///
/// Every refusal is counted and logged with the peer's address and key: the first refusal of a
/// (domain, key, address) at once, repeats of it summarised once per `logIntervalMs` with their
/// count, so a client retrying every 100 ms cannot flood the log.
public final class ZAPHandler: @unchecked Sendable {
    /// The endpoint libzmq sends ZAP requests to (RFC 27).
    public static let endpoint = "inproc://zeromq.zap.01"

    private let lock = Lock()
    private var allowLists: [String: Set<CurveKey>] = [:]
    private var stopRequested = false
    private var _accepted = 0
    private var _refused = 0
    private var repeats: [String: (line: String, count: Int, sinceMs: UInt64)] = [:]
    private let log: @Sendable (String) -> Void
    private let logIntervalMs: UInt64
    private let finished = DispatchSemaphore(value: 0)

    /// Handshakes let in so far.
    public var accepted: Int { lock.withLock { _accepted } }
    /// Handshakes refused so far.
    public var refused: Int { lock.withLock { _refused } }

    /// Binds the handler's socket (throws when the context has a handler already) and starts its thread.
    /// - Parameters:
    ///   - log: receives one line per refusal (rate-limited per peer, see above) and lifecycle events.
    ///   - logIntervalMs: how often repeated refusals of one peer are summarised.
    public init(context: ZMQContext, logIntervalMs: UInt64 = 10_000, log: @escaping @Sendable (String) -> Void) throws {
        self.log = log
        self.logIntervalMs = logIntervalMs
        let started = DispatchSemaphore(value: 0)
        let box = StartError()
        let thread = Thread { [self] in
            let socket: ZMQSocket
            do {
                socket = try ZMQSocket(context, .rep)
                try socket.bind(Self.endpoint)
            } catch {
                box.error = error
                started.signal()
                finished.signal()
                return
            }
            started.signal()
            run(socket)
            try? socket.unbind(Self.endpoint)  // unregister the endpoint now, not when the socket is reaped
            socket.close()
            flushRepeats(force: true)
            finished.signal()
        }
        thread.name = "mien.zap"
        thread.start()
        started.wait()
        if let error = box.error {
            throw ZMQError(code: (error as? ZMQError)?.code ?? EINVAL, operation: "start the ZAP handler (\(error)); is another one running in this context?")
        }
    }

    /// Serves `domain`: CURVE clients whose public key is in `allow` are let in. Calling it again
    /// for a domain replaces its allow-list (for new handshakes).
    /// - Returns: what to apply to the server sockets of this domain.
    public func serve(domain: String, keyPair: CurveKeyPair, allow: Set<CurveKey>) -> CurveServer {
        precondition(!domain.isEmpty, "a ZAP domain is not empty (libzmq skips ZAP for the empty domain)")
        lock.withLock { allowLists[domain] = allow }
        return CurveServer(keyPair: keyPair, domain: domain)
    }

    /// Stops the handler: from now on every new handshake in its domains is refused by libzmq.
    /// Blocks until its thread has ended (bounded by one poll interval).
    public func stop() {
        lock.withLock { stopRequested = true }
        finished.wait()
        finished.signal()
    }

    deinit { stop() }

    // MARK: handler thread

    private func run(_ socket: ZMQSocket) {
        var poller = ZMQPoller()
        poller.add(socket)
        while !lock.withLock({ stopRequested }) {
            do {
                let events = try poller.poll(timeoutMs: 100)
                if events[0].contains(.readable), let request = try socket.receive(timeoutMs: 0) {
                    try socket.send(answer(request), timeoutMs: 1_000)
                }
                flushRepeats(force: false)
            } catch let e as ZMQError where e.isTerminated {
                return
            } catch {
                // A REP socket in a bad state cannot answer again: stop, and libzmq refuses everyone.
                log("ZAP handler: stopped on \(error); every new CURVE handshake is refused from now on")
                return
            }
        }
    }

    /// The reply to one ZAP request (RFC 27: version, request id, status code, status text, user id, metadata).
    func answer(_ request: [[UInt8]]) -> [[UInt8]] {
        func reply(_ requestID: [UInt8], _ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        let requestID = request.count > 1 ? request[1] : []
        guard request.count >= 6, String(decoding: request[0], as: UTF8.self) == "1.0" else {
            refuse(key: "malformed request", line: "ZAP handler: refused a malformed authentication request (\(request.count) frames)")
            return reply(requestID, "500", "malformed ZAP request")
        }
        let domain = String(decoding: request[2], as: UTF8.self)
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        let allow = lock.withLock { allowLists[domain] }
        guard let allow else {
            refuse(key: "\(domain)|\(address)", line: "ZAP handler: refused a \(mechanism) client from \(address): no allow-list for ZAP domain '\(domain)'")
            return reply(requestID, "400", "unknown domain")
        }
        guard mechanism == "CURVE", request.count >= 7, let key = try? CurveKey(raw: request[6]) else {
            refuse(key: "\(domain)|\(mechanism)|\(address)", line: "ZAP handler: refused a \(mechanism) client from \(address) in \(domain): CURVE with an allowed key is required")
            return reply(requestID, "400", "CURVE required")
        }
        guard allow.contains(key) else {
            refuse(key: "\(domain)|\(key.z85)|\(address)", line: "ZAP handler: refused CURVE client key \(key.z85) from \(address) in \(domain): the key is not on the allow-list")
            return reply(requestID, "400", "key not allowed")
        }
        lock.withLock { _accepted += 1 }
        return reply(requestID, "200", "OK", user: key.z85)
    }

    private func refuse(key: String, line: String) {
        let now = Self.nowMs()
        let first = lock.withLock { () -> Bool in
            _refused += 1
            if repeats[key] != nil {
                repeats[key]!.count += 1
                return false
            }
            repeats[key] = (line, 0, now)
            return true
        }
        if first { log(line) }
    }

    /// Logs the count of repeated refusals of each peer whose interval has passed; forgets peers
    /// that stayed quiet for a whole interval (the table stays as small as the set of active refusees).
    private func flushRepeats(force: Bool) {
        let now = Self.nowMs()
        let due = lock.withLock { () -> [(String, Int)] in
            var out: [(String, Int)] = []
            for (k, r) in repeats where force || now - r.sinceMs >= logIntervalMs {
                if r.count > 0 {
                    out.append((r.line, r.count))
                    repeats[k] = (r.line, 0, now)
                } else {
                    repeats.removeValue(forKey: k)
                }
            }
            return out
        }
        for (line, count) in due { log("\(line) (refused again \(count) time(s) since)") }
    }

    private static func nowMs() -> UInt64 { DispatchTime.now().uptimeNanoseconds / 1_000_000 }
}

private final class StartError: @unchecked Sendable {
    var error: Error?
}
