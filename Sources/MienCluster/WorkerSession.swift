import Foundation
import Logging
import MienProto
import MienTransport
import MienWire

/// A worker's session with its server (the coordinator, or `mien tune`): zguide's Paranoid
/// Pirate worker, shared by `Worker` and `TrialWorker`. Each connection is a fresh DEALER with
/// a new routing id (`ID#N`) that says hello; the session heartbeats the server whenever it has
/// sent nothing for `heartbeatMs` (never waiting, so the expiry still runs when nothing can be
/// sent), and reconnects — after a capped exponential back-off, `ProtocolConstants` — when the
/// server has been silent for `expiryMs`, when a socket call fails, or at once when the server
/// answers that it does not know this connection (it restarted). Heartbeats from the server and
/// malformed messages are the session's; everything else goes to the role (`Role.message`).
/// The session owns the socket, on the thread that calls `run`.
package struct WorkerSession {
    /// What the role does at each point of the session.
    package struct Role {
        /// The server as log lines name it ("coordinator", "tune").
        package var server: String
        /// The hello of each connection.
        package var hello: () -> Envelope.Payload
        /// Right after the hello (e.g. the first credit).
        package var connected: (Channel) throws -> Void = { _ in }
        /// Each turn of the loop, before the server's messages are read: what the role has to
        /// send (results, each with fresh credit).
        package var turn: (Channel) throws -> Void = { _ in }
        /// A message from the server; `.stop` ends the session.
        package var message: (Envelope, Channel) throws -> Verdict
        /// The heartbeat to send.
        package var heartbeat: () -> Mien_V1_Heartbeat = { .with { $0.sentUnixMs = Clock.unixMs() } }
        /// A connection is dropped (silence, unknown to the server, a failed socket call): the
        /// session reconnects (counters, state).
        package var reconnecting: () -> Void = {}
        /// A socket call failed (before `reconnecting`).
        package var failed: () -> Void = {}
        /// A connection could not be made (it is tried again after the back-off).
        package var connectFailed: () -> Void = {}
        /// A message from the server that does not decode (it is dropped).
        package var malformed: () -> Void = {}
        /// The session stops on request (not told by the server): the last word, e.g. a goodbye.
        package var stopping: (Channel) -> Void = { _ in }

        package init(server: String, hello: @escaping () -> Envelope.Payload, connected: @escaping (Channel) throws -> Void = { _ in },
                     turn: @escaping (Channel) throws -> Void = { _ in }, message: @escaping (Envelope, Channel) throws -> Verdict,
                     heartbeat: @escaping () -> Mien_V1_Heartbeat = { .with { $0.sentUnixMs = Clock.unixMs() } },
                     reconnecting: @escaping () -> Void = {}, failed: @escaping () -> Void = {}, connectFailed: @escaping () -> Void = {},
                     malformed: @escaping () -> Void = {}, stopping: @escaping (Channel) -> Void = { _ in }) {
            self.server = server; self.hello = hello; self.connected = connected; self.turn = turn; self.message = message
            self.heartbeat = heartbeat; self.reconnecting = reconnecting; self.failed = failed; self.connectFailed = connectFailed
            self.malformed = malformed; self.stopping = stopping
        }
    }

    package enum Verdict { case goOn, stop }

    /// The current connection's socket as the role sends on it: envelopes stamped with the
    /// worker's id and one sequence across connections; sending counts as being heard from.
    package final class Channel {
        fileprivate let socket: ZMQSocket
        private let stamp: (Envelope.Payload) -> Envelope
        fileprivate(set) var lastSentMs = Clock.nowMs()

        fileprivate init(socket: ZMQSocket, stamp: @escaping (Envelope.Payload) -> Envelope) {
            self.socket = socket
            self.stamp = stamp
        }

        /// Sends `body` (`timeoutMs` as `ZMQSocket.send`); false when it could not be queued in time.
        @discardableResult
        package func send(_ body: Envelope.Payload, timeoutMs: Int32 = -1) throws -> Bool {
            let sent = try socket.send(try Framing.direct(stamp(body)), timeoutMs: timeoutMs)
            if sent { lastSentMs = Clock.nowMs() }
            return sent
        }

        package func setLinger(_ ms: Int32) throws { try socket.setLinger(ms) }
    }

    let workerID: String
    let context: ZMQContext
    let endpoint: String
    let security: CurveClient?
    let liveness: Liveness
    let logger: Logger
    /// Wakes the loop when the role has something to send (its compute threads).
    let wake: WakePipe
    var configure: (ZMQSocket) throws -> Void = { _ in }

    package init(workerID: String, context: ZMQContext, endpoint: String, security: CurveClient?, liveness: Liveness, logger: Logger,
                 wake: WakePipe, configure: @escaping (ZMQSocket) throws -> Void = { _ in }) {
        self.workerID = workerID; self.context = context; self.endpoint = endpoint; self.security = security
        self.liveness = liveness; self.logger = logger; self.wake = wake; self.configure = configure
    }

    /// Runs the session until `shouldStop` or the role says `.stop`.
    package func run(_ role: Role, shouldStop: () -> Bool) {
        var attempt = 0, connection = 0
        var sequence: UInt64 = 0
        let stamp: (Envelope.Payload) -> Envelope = { body in
            sequence += 1
            return Envelope(body, senderID: workerID, sequence: sequence, sentUnixMs: Clock.unixMs())
        }
        func backOff() {
            Thread.sleep(forTimeInterval: Double(ProtocolConstants.reconnectDelayMs(attempt: attempt)) / 1000)
            attempt += 1
        }
        var handshakes = HandshakeReport(server: "the \(role.server)")
        while !shouldStop() {
            connection += 1
            var socket: ZMQSocket?
            var monitor: HandshakeMonitor?
            defer { monitor?.close() }
            let channel: Channel
            do {
                let (s, m) = try connectWorkerSocket(context: context, endpoint: endpoint, routingID: "\(workerID)#\(connection)",
                                                     security: security, configure: configure)
                (socket, monitor) = (s, m)
                channel = Channel(socket: s, stamp: stamp)
                try channel.send(role.hello(), timeoutMs: 1_000)
                try role.connected(channel)
            } catch let e as ZMQError where e.isTerminated {
                return
            } catch {
                socket?.close()
                role.connectFailed()
                logger.warning("cannot connect to \(endpoint): \(error)")
                backOff()
                continue
            }
            switch serve(channel, monitor: monitor, role: role, handshakes: &handshakes, attempt: &attempt, shouldStop: shouldStop) {
            case .stop:
                channel.socket.close()
                return
            case .told:
                // The role's last messages (an error naming why it stops) get a moment to leave.
                try? channel.socket.setLinger(500)
                channel.socket.close()
                return
            case .reconnectNow:
                channel.socket.close()
            case .reconnectLater:
                channel.socket.close()
                backOff()
            }
        }
    }

    /// How a connection ended: stopped on request or by the context; the role said `.stop`;
    /// or reconnect, at once or after the back-off.
    private enum End { case stop, told, reconnectNow, reconnectLater }

    /// One connection: polls, hands messages to the role, heartbeats, and watches the expiry.
    private func serve(_ channel: Channel, monitor: HandshakeMonitor?, role: Role, handshakes: inout HandshakeReport,
                       attempt: inout Int, shouldStop: () -> Bool) -> End {
        var lastHeard = Clock.nowMs()
        var poller = ZMQPoller()
        poller.add(channel.socket)
        poller.add(fileDescriptor: wake.readFD)
        if let monitor { poller.add(monitor.socket) }
        do {
            while !shouldStop() {
                let events = try poller.poll(timeoutMs: Int(liveness.heartbeatMs))
                if events[1].contains(.readable) { wake.drain() }
                if let monitor, events.count > 2, events[2].contains(.readable) {
                    try handshakes.read(monitor, key: security?.keyPair.publicKey.z85 ?? "", logger: logger)
                }
                try role.turn(channel)
                while events[0].contains(.readable), let frames = try channel.socket.receive(timeoutMs: 0) {
                    lastHeard = Clock.nowMs()
                    attempt = 0
                    let message: Envelope
                    do { message = try Framing.decodeDirect(frames) } catch {
                        role.malformed()
                        logger.warning("ignored a malformed message from the \(role.server): \(error)")
                        continue
                    }
                    switch message.payload {
                    case .heartbeat:
                        continue
                    case .error(let e) where e.code == .unknownPeer:
                        // The server restarted and does not know this connection: say hello again.
                        role.reconnecting()
                        logger.notice("the \(role.server) does not know this worker (restarted?); reconnecting")
                        return .reconnectNow
                    default:
                        if try role.message(message, channel) == .stop { return .told }
                    }
                }
                let now = Clock.nowMs()
                if now - channel.lastSentMs >= liveness.heartbeatMs {
                    // Not waiting: with no connection (e.g. refused by the server's CURVE
                    // allow-list) a heartbeat has nowhere to go, and the expiry below must still run.
                    try channel.send(.heartbeat(role.heartbeat()), timeoutMs: 0)
                    channel.lastSentMs = now
                }
                if now - lastHeard > liveness.expiryMs {
                    role.reconnecting()
                    logger.warning("\(role.server) silent for \(now - lastHeard) ms (not up yet, or gone); reconnecting")
                    return .reconnectLater
                }
            }
            role.stopping(channel)
            return .stop
        } catch let e as ZMQError where e.isTerminated {
            return .stop
        } catch {
            role.failed()
            role.reconnecting()
            logger.warning("\(error); reconnecting")
            return .reconnectLater
        }
    }
}
