/// Constants of Mien's wire protocol, in one place (zguide's `mdp.h` habit).
public enum ProtocolConstants {
    /// The protocol version this build speaks; travels in every `Envelope.protocol_version`.
    public static let version: UInt32 = 2

    /// Mien's software version, sent in `WorkerHello.software_version`.
    public static let softwareVersion = "0.1.0"

    /// Largest serialized envelope Mien accepts, bytes. A 64-frame inline batch of 1920×1080
    /// BGR frames is ~400 MB, so inline batches of large video must be split smaller or sent
    /// by reference; 256 MiB bounds what one peer can make a receiver allocate.
    public static let maxMessageBytes = 256 * 1024 * 1024

    /// How often peers send heartbeats, milliseconds.
    public static let heartbeatIntervalMs = 1_000
    /// Heartbeats a peer may miss before it is considered dead (Paranoid Pirate's liveness).
    public static let heartbeatLiveness = 3
    /// First reconnect delay of a worker, milliseconds; doubled after each failure…
    public static let reconnectInitialMs = 250
    /// …up to this cap, milliseconds.
    public static let reconnectMaxMs = 8_000

    /// Capped exponential back-off: the delay before reconnect attempt `attempt` (0-based), ms.
    public static func reconnectDelayMs(attempt: Int) -> Int {
        let shift = min(max(attempt, 0), 16)
        return min(reconnectInitialMs << shift, reconnectMaxMs)
    }
}
