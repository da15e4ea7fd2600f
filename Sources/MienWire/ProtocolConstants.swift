/// Constants of Mien's wire protocol, in one place (zguide's `mdp.h` habit).
public enum ProtocolConstants {
    /// The protocol version this build speaks; travels in every `Envelope.protocol_version`.
    public static let version: UInt32 = 1
}
