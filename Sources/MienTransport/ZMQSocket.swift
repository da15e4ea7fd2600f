import CZeroMQ

/// The ZeroMQ socket types Mien's roles use.
public enum SocketKind: Sendable, CustomStringConvertible {
    case router, dealer, push, pull, pub, sub, xpub, xsub, pair, rep

    var raw: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .xpub: ZMQ_XPUB
        case .xsub: ZMQ_XSUB
        case .pair: ZMQ_PAIR
        case .rep: ZMQ_REP
        }
    }

    public var description: String {
        switch self {
        case .router: "ROUTER"
        case .dealer: "DEALER"
        case .push: "PUSH"
        case .pull: "PULL"
        case .pub: "PUB"
        case .sub: "SUB"
        case .xpub: "XPUB"
        case .xsub: "XSUB"
        case .pair: "PAIR"
        case .rep: "REP"
        }
    }
}

/// One ZeroMQ socket. **Not thread-safe**: exactly one thread owns a socket for its whole
/// life (zguide): each role's loop owns its sockets on a thread of its own. `send` and
/// `receive` take a timeout whose default, -1, waits until the message goes or arrives — or
/// until the context is terminated, which ends every wait with an error; the role loops poll
/// with a timeout and call them with 0 (never block).
public final class ZMQSocket {
    /// The libzmq handle; nil once closed.
    private(set) var handle: UnsafeMutableRawPointer?
    public let kind: SocketKind

    /// Creates a socket with linger 0, so closing never waits for unsent messages.
    public init(_ context: ZMQContext, _ kind: SocketKind) throws {
        guard let h = zmq_socket(context.handle, kind.raw) else { throw ZMQError.last("create \(kind) socket") }
        handle = h
        self.kind = kind
        try setOption(ZMQ_LINGER, Int32(0), "linger")
    }

    deinit { close() }

    /// Closes the socket (idempotent).
    public func close() {
        if let h = handle { zmq_close(h) }
        handle = nil
    }

    private func live(_ operation: String) throws -> UnsafeMutableRawPointer {
        guard let h = handle else { throw ZMQError(code: ENOTSOCK, operation: "\(operation) on a closed \(kind) socket") }
        return h
    }

    // MARK: endpoints

    public func bind(_ endpoint: String) throws {
        if zmq_bind(try live("bind"), endpoint) != 0 { throw ZMQError.last("\(kind) bind \(endpoint)") }
    }

    public func connect(_ endpoint: String) throws {
        if zmq_connect(try live("connect"), endpoint) != 0 { throw ZMQError.last("\(kind) connect \(endpoint)") }
    }

    public func unbind(_ endpoint: String) throws {
        if zmq_unbind(try live("unbind"), endpoint) != 0 { throw ZMQError.last("\(kind) unbind \(endpoint)") }
    }

    public func disconnect(_ endpoint: String) throws {
        if zmq_disconnect(try live("disconnect"), endpoint) != 0 { throw ZMQError.last("\(kind) disconnect \(endpoint)") }
    }

    /// The endpoint last bound, with the port resolved (e.g. after binding `tcp://127.0.0.1:*`).
    public func lastEndpoint() throws -> String {
        var buf = [CChar](repeating: 0, count: 256)
        var len = buf.count
        if zmq_getsockopt(try live("get last endpoint"), ZMQ_LAST_ENDPOINT, &buf, &len) != 0 {
            throw ZMQError.last("\(kind) get last endpoint")
        }
        return String(cString: buf)
    }

    // MARK: send / receive

    /// Sends a multipart message atomically (all frames or none).
    /// - Parameter timeoutMs: how long to wait when the high-water mark is reached: 0 = not at
    ///   all, -1 = until it can be sent or the context is shut down.
    /// - Returns: false when the message could not be queued within the timeout (EAGAIN);
    ///   the caller keeps it (nothing is silently dropped by this layer).
    @discardableResult
    public func send(_ frames: [[UInt8]], timeoutMs: Int32 = -1) throws -> Bool {
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        let h = try live("send")
        if timeoutMs != 0 { try setOption(ZMQ_SNDTIMEO, timeoutMs, "send timeout") }
        let dontWait: Int32 = timeoutMs == 0 ? ZMQ_DONTWAIT : 0
        for (i, frame) in frames.enumerated() {
            let more: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            let rc = frame.withUnsafeBytes { raw in zmq_send(h, raw.baseAddress, raw.count, dontWait | more) }
            if rc < 0 {
                let err = ZMQError.last("\(kind) send")
                // The first frame decides: libzmq queues multipart messages atomically, so a
                // later frame cannot fail with EAGAIN once the first was accepted.
                if err.isTimeout && i == 0 { return false }
                throw err
            }
        }
        return true
    }

    /// Receives one multipart message.
    /// - Parameter timeoutMs: 0 = only if one is waiting, -1 = wait until one arrives or the
    ///   context is shut down.
    /// - Returns: the frames, or nil when none arrived within the timeout.
    public func receive(timeoutMs: Int32 = -1) throws -> [[UInt8]]? {
        try receiveMessage(timeoutMs: timeoutMs, readPeer: false)?.frames
    }

    /// Receives one multipart message and who sent it: the peer's address (`Peer-Address`) and,
    /// on a CURVE server, the user id its ZAP handler gave the connection (Mien's handler gives
    /// the client's Z85 public key). Same timeouts as `receive`.
    public func receiveWithPeer(timeoutMs: Int32 = -1) throws -> (frames: [[UInt8]], peer: PeerInfo)? {
        try receiveMessage(timeoutMs: timeoutMs, readPeer: true)
    }

    /// One multipart message; with `readPeer` also the sender's metadata (see `receiveWithPeer`).
    private func receiveMessage(timeoutMs: Int32, readPeer: Bool) throws -> (frames: [[UInt8]], peer: PeerInfo)? {
        let h = try live("receive")
        if timeoutMs != 0 { try setOption(ZMQ_RCVTIMEO, timeoutMs, "receive timeout") }
        let flags: Int32 = timeoutMs == 0 ? ZMQ_DONTWAIT : 0
        var frames: [[UInt8]] = []
        var peer = PeerInfo(address: nil, userID: nil)
        var msg = zmq_msg_t()
        zmq_msg_init(&msg)
        defer { zmq_msg_close(&msg) }
        while true {
            if zmq_msg_recv(&msg, h, frames.isEmpty ? flags : 0) < 0 {
                let err = ZMQError.last("\(kind) receive")
                if err.isTimeout && frames.isEmpty { return nil }
                throw err
            }
            // A ROUTER makes the identity frame itself (no metadata): read it from the peer's frames.
            if readPeer, peer.address == nil, let p = zmq_msg_gets(&msg, "Peer-Address") { peer.address = String(cString: p) }
            if readPeer, peer.userID == nil, let u = zmq_msg_gets(&msg, "User-Id") { peer.userID = String(cString: u) }
            let size = zmq_msg_size(&msg)
            let data = zmq_msg_data(&msg)
            frames.append(size == 0 ? [] : Array(UnsafeRawBufferPointer(start: data, count: size)))
            if zmq_msg_more(&msg) == 0 { return (frames, peer) }
        }
    }

    /// The socket's pending events (`ZMQ_POLLIN` / `ZMQ_POLLOUT` bits), without blocking.
    public func events() throws -> Int32 {
        try intOption(ZMQ_EVENTS, "events")
    }

    // MARK: options

    /// Outgoing queue limit, messages (per peer for ROUTER/DEALER/PUSH; PUB drops beyond it).
    public func setSendHighWaterMark(_ n: Int32) throws { try setOption(ZMQ_SNDHWM, n, "send high-water mark") }
    /// Incoming queue limit, messages.
    public func setReceiveHighWaterMark(_ n: Int32) throws { try setOption(ZMQ_RCVHWM, n, "receive high-water mark") }
    /// Largest inbound message accepted, bytes; a peer that sends more is disconnected.
    public func setMaxMessageSize(_ bytes: Int64) throws { try setOption(ZMQ_MAXMSGSIZE, bytes, "max message size") }
    /// How long close waits for unsent messages, ms (Mien's default 0).
    public func setLinger(_ ms: Int32) throws { try setOption(ZMQ_LINGER, ms, "linger") }
    /// The identity a DEALER presents to a ROUTER.
    public func setRoutingID(_ id: [UInt8]) throws { try setBytes(ZMQ_ROUTING_ID, id, "routing id") }
    /// ROUTER: fail with EHOSTUNREACH instead of silently dropping a message to an unknown peer.
    public func setRouterMandatory(_ on: Bool) throws { try setOption(ZMQ_ROUTER_MANDATORY, Int32(on ? 1 : 0), "router mandatory") }
    /// Queue messages only to completed connections.
    public func setImmediate(_ on: Bool) throws { try setOption(ZMQ_IMMEDIATE, Int32(on ? 1 : 0), "immediate") }
    /// Reconnect back-off: first interval and cap, ms (libzmq doubles up to the cap).
    public func setReconnect(initialMs: Int32, maxMs: Int32) throws {
        try setOption(ZMQ_RECONNECT_IVL, initialMs, "reconnect interval")
        try setOption(ZMQ_RECONNECT_IVL_MAX, maxMs, "reconnect interval max")
    }
    /// ZMTP-level heartbeats: ping every `intervalMs`, drop the connection after `timeoutMs` silent.
    public func setTransportHeartbeat(intervalMs: Int32, timeoutMs: Int32) throws {
        try setOption(ZMQ_HEARTBEAT_IVL, intervalMs, "heartbeat interval")
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, timeoutMs, "heartbeat timeout")
    }
    /// SUB: receive messages whose first frame starts with `prefix` (empty = everything).
    public func subscribe(_ prefix: [UInt8] = []) throws { try setBytes(ZMQ_SUBSCRIBE, prefix, "subscribe") }
    public func unsubscribe(_ prefix: [UInt8]) throws { try setBytes(ZMQ_UNSUBSCRIBE, prefix, "unsubscribe") }
    /// XPUB: pass every subscription message up, including duplicates.
    public func setXPubVerbose(_ on: Bool) throws { try setOption(ZMQ_XPUB_VERBOSE, Int32(on ? 1 : 0), "xpub verbose") }

    // MARK: CURVE (see CurveKeyPair)

    /// Makes this socket a CURVE server with the given secret key (clients must know its public key).
    public func setCurveServer(secretKey: CurveKey) throws {
        try setOption(ZMQ_CURVE_SERVER, Int32(1), "curve server")
        try setBytes(ZMQ_CURVE_SECRETKEY, secretKey.bytes, "curve secret key")
    }

    /// Makes this socket a CURVE client of the server with `serverKey`, using its own key pair.
    public func setCurveClient(serverKey: CurveKey, keyPair: CurveKeyPair) throws {
        try setBytes(ZMQ_CURVE_SERVERKEY, serverKey.bytes, "curve server key")
        try setBytes(ZMQ_CURVE_PUBLICKEY, keyPair.publicKey.bytes, "curve public key")
        try setBytes(ZMQ_CURVE_SECRETKEY, keyPair.secretKey.bytes, "curve secret key")
    }

    /// The ZAP domain a server socket authenticates in (a ZAP handler must serve it).
    public func setZapDomain(_ domain: String) throws { try setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8), "zap domain") }

    /// Refuse every handshake when no ZAP handler answers (instead of libzmq's legacy default of
    /// letting every client in). Checked by reading the option back: a libzmq that ignores it
    /// is an error, never a silent fail-open.
    public func setZapEnforceDomain() throws {
        try setOption(ZMQ_ZAP_ENFORCE_DOMAIN, Int32(1), "zap enforce domain")
        guard try intOption(ZMQ_ZAP_ENFORCE_DOMAIN, "zap enforce domain") == 1 else {
            throw ZMQError(code: ENOTSUP, operation: "\(kind) set zap enforce domain (this libzmq ignores ZMQ_ZAP_ENFORCE_DOMAIN; Mien will not serve CURVE without it)")
        }
    }

    // MARK: raw option access

    func setOption(_ option: Int32, _ value: Int32, _ name: String) throws {
        var v = value
        if zmq_setsockopt(try live("set \(name)"), option, &v, MemoryLayout<Int32>.size) != 0 {
            throw ZMQError.last("\(kind) set \(name) = \(value)")
        }
    }

    func setOption(_ option: Int32, _ value: Int64, _ name: String) throws {
        var v = value
        if zmq_setsockopt(try live("set \(name)"), option, &v, MemoryLayout<Int64>.size) != 0 {
            throw ZMQError.last("\(kind) set \(name) = \(value)")
        }
    }

    func setBytes(_ option: Int32, _ value: [UInt8], _ name: String) throws {
        let h = try live("set \(name)")
        let rc = value.withUnsafeBytes { zmq_setsockopt(h, option, $0.baseAddress, $0.count) }
        if rc != 0 { throw ZMQError.last("\(kind) set \(name)") }
    }

    func intOption(_ option: Int32, _ name: String) throws -> Int32 {
        var v: Int32 = 0
        var len = MemoryLayout<Int32>.size
        if zmq_getsockopt(try live("get \(name)"), option, &v, &len) != 0 { throw ZMQError.last("\(kind) get \(name)") }
        return v
    }
}

/// Who sent a message, from libzmq's message metadata.
public struct PeerInfo: Sendable, Hashable, CustomStringConvertible {
    /// The peer's IP address (tcp), when libzmq knows it.
    public var address: String?
    /// The user id the ZAP handler gave the connection (Mien's: the client's Z85 public key).
    public var userID: String?

    public var description: String {
        var parts: [String] = []
        if let address, !address.isEmpty { parts.append("address \(address)") }
        if let userID, !userID.isEmpty { parts.append("key \(userID)") }
        return parts.isEmpty ? "unknown address" : parts.joined(separator: ", ")
    }
}
