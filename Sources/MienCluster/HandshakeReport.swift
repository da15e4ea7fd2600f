import Logging
import MienTransport
import MienWire

/// Says why a CURVE client's handshakes fail (a refused key, a wrong server key), once until a
/// handshake succeeds: a refused worker retries for ever, and each retry would log again.
/// Shared by the cluster's workers and the tune workers.
struct HandshakeReport {
    /// The server as log lines name it ("the coordinator", "tune").
    let server: String
    private var reported = false

    init(server: String) { self.server = server }

    /// Reads the monitor's pending events and logs the first failure since the last success.
    mutating func read(_ monitor: HandshakeMonitor, key: String, logger: Logger) throws {
        while let event = try monitor.next() {
            switch event {
            case .succeeded:
                reported = false
            case .refused(let status) where !reported:
                reported = true
                logger.error("\(server) refused this worker's CURVE key \(key) (ZAP status \(status)): put its .pub on \(server)'s --curve-allow; retrying")
            case .protocolError(let code) where !reported:
                reported = true
                logger.error("CURVE handshake with \(server) failed (protocol error \(code)): check that --curve-server-key is \(server)'s .pub and that \(server) uses CURVE; retrying")
            case .failed(let e) where !reported:
                reported = true
                logger.error("CURVE handshake with \(server) failed (errno \(e)); retrying")
            default:
                break
            }
        }
    }
}

/// A worker's DEALER toward its server (coordinator or tune), connected: a routing id per
/// connection, the protocol's message size cap, CURVE when configured, and with CURVE a
/// handshake monitor (for `HandshakeReport`).
func connectWorkerSocket(context: ZMQContext, endpoint: String, routingID: String, security: CurveClient?,
                         configure: (ZMQSocket) throws -> Void = { _ in }) throws -> (socket: ZMQSocket, monitor: HandshakeMonitor?) {
    let socket = try ZMQSocket(context, .dealer)
    try socket.setRoutingID(Array(routingID.utf8))
    try socket.setMaxMessageSize(Int64(ProtocolConstants.maxMessageBytes))
    try security?.apply(to: socket)
    try configure(socket)
    // With CURVE, say why nothing arrives when the server refuses this key.
    let monitor = security != nil ? try HandshakeMonitor(context: context, watching: socket) : nil
    do { try socket.connect(endpoint) } catch { monitor?.close(); throw error }
    return (socket, monitor)
}
