import Foundation
import MienTransport

/// CURVE settings of one role: `server` for the sockets it binds (made by a running
/// `ZAPHandler`, which enforces the allow-list), `client` for the sockets it connects.
/// Either may be nil: that side is plaintext (loopback or a trusted network).
public struct ClusterSecurity: Sendable {
    public var server: CurveServer?
    public var client: CurveClient?

    public init(server: CurveServer? = nil, client: CurveClient? = nil) {
        self.server = server
        self.client = client
    }

    /// No CURVE on either side.
    public static let none = ClusterSecurity()
}

/// How a peer appears in log lines: its routing id (text when printable, hex otherwise) and,
/// when libzmq knows them, its address and CURVE key.
package func describePeer(_ id: [UInt8], _ peer: PeerInfo?) -> String {
    let printable = !id.isEmpty && id.count <= 128 && id.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    let name = printable ? String(decoding: id, as: UTF8.self) : "0x" + id.prefix(32).map { String(format: "%02x", $0) }.joined()
    guard let peer else { return name }
    return "\(name) (\(peer))"
}
