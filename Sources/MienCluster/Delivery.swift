/// What became of a message sent without waiting to one peer of a ROUTER.
package enum Delivery: Sendable, Equatable {
    case sent
    /// The peer's queue is at its high-water mark: nothing was sent; the caller keeps the message.
    case full
    /// The peer is gone (EHOSTUNREACH under ROUTER_MANDATORY) or the send failed otherwise.
    case failed
}
