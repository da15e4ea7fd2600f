import Foundation
import Logging
import MienProto
import MienTransport
import MienWire

/// The compute a worker performs on one work item.
public protocol WorkerCompute: AnyObject {
    /// Which role this compute serves (feature or sequence worker).
    var role: Mien_V1_Role { get }
    /// Hex SHA-256 of the model weights; sent in the hello and checked against work items.
    var modelHash: String { get }
    var capabilities: [String] { get }
    /// Turns one work item into its result (e.g. `frameBatch` → `embeddingBatch`).
    /// Throwing reports an `Error` for this item to the coordinator; the worker goes on.
    func process(_ work: Envelope.Payload) throws -> Envelope.Payload
    /// Figures for the worker's last log line (e.g. frames decoded); may be read from another
    /// thread while `process` runs. None by default.
    var summary: Logger.Metadata { get }
}

extension WorkerCompute {
    public var summary: Logger.Metadata { [:] }
}

/// A stateless worker: connects a DEALER to the coordinator, says hello, grants credit,
/// heartbeats, and runs work items on a compute thread of its own while its socket thread
/// keeps talking (heartbeats do not stall behind a long batch). When the coordinator goes
/// silent it reconnects with capped exponential back-off, under a new routing id.
public final class Worker: @unchecked Sendable {
    public enum State: Sendable, Equatable {
        case starting, connected, reconnecting, stopped
    }

    public let workerID: String
    private let context: ZMQContext
    private let endpoint: String
    private let compute: WorkerCompute
    private let prefetch: Int
    private let liveness: Liveness
    private let configureSocket: @Sendable (ZMQSocket) throws -> Void
    private let logger: Logger
    private let metrics: WorkerMetrics
    private let security: CurveClient?

    private let inbox: WorkQueue<(sequence: UInt64, body: Envelope.Payload)>
    private let outbox: WorkQueue<Envelope.Payload>
    private let wake: WakePipe
    private let lock = NSLock()
    private var _state: State = .starting
    private var itemsDone: UInt64 = 0
    private let stopping = StopLatch()

    public var state: State { lock.withLock { _state } }

    /// - Parameters:
    ///   - prefetch: work items the worker holds at once (its credit); 2 keeps the compute
    ///     thread busy while the next item travels.
    ///   - security: CURVE client keys (the coordinator's public key and this worker's pair),
    ///     applied on each connect; nil = plaintext.
    ///   - configureSocket: extra socket options applied on each connect.
    ///   - metrics: instruments (no-op unless given); `logger` gets the worker's id as metadata.
    public init(context: ZMQContext, endpoint: String, compute: WorkerCompute, workerID: String? = nil,
                prefetch: Int = 2, liveness: Liveness = Liveness(), security: CurveClient? = nil,
                configureSocket: @escaping @Sendable (ZMQSocket) throws -> Void = { _ in },
                metrics: WorkerMetrics? = nil,
                logger: Logger = .quiet("mien.worker")) throws {
        precondition(prefetch >= 1)
        self.context = context
        self.endpoint = endpoint
        self.compute = compute
        self.prefetch = prefetch
        self.liveness = liveness
        self.configureSocket = configureSocket
        self.security = security
        self.workerID = workerID ?? Worker.defaultID(role: compute.role)
        self.metrics = metrics ?? WorkerMetrics(feature: compute.role == .featureWorker)
        var logger = logger
        logger[metadataKey: "role"] = .string(self.metrics.role)
        logger[metadataKey: "worker"] = .string(self.workerID)
        self.logger = logger
        inbox = WorkQueue(capacity: prefetch)
        outbox = WorkQueue(capacity: prefetch + 1)
        wake = try WakePipe()
    }

    static func defaultID(role: Mien_V1_Role) -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(role == .featureWorker ? "fw" : "sw")-\(host)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Starts the socket and compute threads.
    public func start() {
        let computeThread = Thread { [self] in computeLoop() }
        computeThread.name = "mien.worker.compute"
        computeThread.start()
        let socketThread = Thread { [self] in socketLoop() }
        socketThread.name = "mien.worker.socket"
        socketThread.start()
    }

    /// Asks the worker to stop; returns once its socket thread has ended.
    public func stop() {
        stopping.requestStop()
        wake.wake()
        stopping.waitUntilEnded()
    }

    /// Blocks until the worker stopped (after `stop()` or a `Shutdown` from the coordinator).
    public func wait() {
        stopping.waitUntilEnded()
    }

    private var shouldStop: Bool { stopping.isStopRequested }

    private func setState(_ s: State) { lock.withLock { _state = s } }

    // MARK: compute thread

    private func computeLoop() {
        while true {
            guard let item = inbox.take(timeout: 0.5) else {
                if shouldStop { return }
                continue
            }
            let result: Envelope.Payload
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                result = try compute.process(item.body)
                metrics.computeSeconds.recordSince(started)
                metrics.batchesProcessed.increment()
                switch result {
                case .embeddingBatch(let b): metrics.unitsProcessed.increment(by: b.frames.count)
                case .windowPredictionBatch(let b): metrics.unitsProcessed.increment(by: b.predictions.count)
                default: break
                }
            } catch {
                metrics.errors.count("work_failed")
                logger.warning("work item failed: \(error)", metadata: ["batch": "\(item.body.batchID ?? 0)", "video": .string(item.body.videoID ?? "")])
                result = .error(.with {
                    $0.code = (error as? WorkError)?.code ?? .internal
                    $0.message = "\(workerID): \(error)"
                    $0.videoID = item.body.videoID ?? ""
                    $0.batchID = item.body.batchID ?? 0
                    $0.sequence = item.sequence
                })
            }
            outbox.put(result)
            wake.wake()
        }
    }

    // MARK: socket thread

    /// The session with the coordinator (`WorkerSession`): hello with this worker's model and
    /// credit for `prefetch` items (less those still computing from a previous connection);
    /// each turn, finished results go out first, each followed by fresh credit; work beyond the
    /// credit granted, or for another model, is refused with an error naming it.
    private func socketLoop() {
        var held = 0  // items received and not yet answered (in the inbox or computing)
        var owed: UInt32 = 0  // credit earned by sent results whose `ready` could not leave yet
        // Every send here waits at most one heartbeat period. With the coordinator gone or not
        // reading, a send without a timeout never returns, and `stop()` waited for this thread
        // forever (a `mien run` hung at the end of a job in the container test).
        let sendTimeoutMs = Int32(clamping: liveness.heartbeatMs)
        let session = WorkerSession(workerID: workerID, context: context, endpoint: endpoint, security: security,
                                    liveness: liveness, logger: logger, wake: wake, configure: configureSocket)
        let role = WorkerSession.Role(
            server: "coordinator",
            hello: { [self] in
                .hello(.with {
                    $0.role = compute.role
                    $0.workerID = workerID
                    $0.hostname = ProcessInfo.processInfo.hostName
                    $0.threads = 1
                    $0.capabilities = compute.capabilities
                    $0.modelHash = compute.modelHash
                    $0.softwareVersion = ProtocolConstants.softwareVersion
                })
            },
            connected: { [self] channel in
                // Items still computing from a previous connection keep their credit slots.
                owed = 0  // a new connection starts from the credit below
                if held < prefetch { try channel.send(.ready(.with { $0.credit = UInt32(prefetch - held) }), timeoutMs: 1_000) }
                setState(.connected)
            },
            turn: { [self] channel in
                var pending = outbox.drain()
                while let result = pending.first {
                    guard try channel.send(result, timeoutMs: sendTimeoutMs) else {
                        // Not queued in time: the results wait in the outbox for the next turn
                        // (or connection); the coordinator's deadline covers a worker that never sends them.
                        outbox.putBack(pending)
                        metrics.errors.count("send_timeout")
                        return
                    }
                    pending.removeFirst()
                    lock.withLock { itemsDone += 1 }
                    held -= 1
                    metrics.itemsHeld.decrement()
                    owed += 1
                    if try channel.send(.ready(.with { $0.credit = owed }), timeoutMs: sendTimeoutMs) { owed = 0 }
                }
            },
            message: { [self] message, channel in
                switch message.payload {
                case .shutdown(let s):
                    logger.info("shutdown requested (\(s.reason))")
                    return .stop
                case .error(let e) where e.code == .modelMismatch || e.code == .versionMismatch:
                    metrics.errors.count("refused")
                    logger.error("refused by the coordinator: \(e.message)")
                    return .stop
                case .heartbeat, .ack, .error, .none:
                    return .goOn
                case let body?:
                    if let refusal = refusal(of: body, held: held) {
                        if try channel.send(.error(.with {
                            $0.code = refusal.code
                            $0.message = refusal.message
                            $0.videoID = body.videoID ?? ""
                            $0.batchID = body.batchID ?? 0
                            $0.sequence = message.sequence
                        }), timeoutMs: sendTimeoutMs) == false {
                            logger.warning("could not send in time the refusal of batch \(body.batchID ?? 0) (\(refusal.message)); the coordinator's deadline re-queues it")
                        }
                        // A model mismatch answers the item: its credit comes back.
                        if refusal.code == .modelMismatch {
                            owed += 1
                            if try channel.send(.ready(.with { $0.credit = owed }), timeoutMs: sendTimeoutMs) { owed = 0 }
                        }
                    } else {
                        held += 1
                        metrics.itemsHeld.increment()
                        inbox.put((message.sequence, body))
                    }
                    return .goOn
                }
            },
            heartbeat: { [self] in
                let done = lock.withLock { itemsDone }
                return .with { $0.sentUnixMs = Clock.unixMs(); $0.itemsDone = done }
            },
            reconnecting: { [self] in
                metrics.reconnects.increment()
                setState(.reconnecting)
            },
            failed: { [self] in metrics.errors.count("socket") },
            connectFailed: { [self] in metrics.errors.count("connect_failed") },
            malformed: { [self] in metrics.errors.count("malformed_message") })
        session.run(role, shouldStop: { [self] in shouldStop })
        stopping.requestStop()  // before the queues close: the compute loop reads it on wake-up
        inbox.close()
        outbox.close()
        setState(.stopped)
        let done = lock.withLock { itemsDone }
        logger.debug("worker stopped", metadata: compute.summary.merging(["items": "\(done)"]) { mine, _ in mine })
        stopping.markEnded()
    }

    /// Why a work item is refused, if it is: it asks for another model, or it is beyond the
    /// credit granted (`held` items are in the inbox or computing).
    private func refusal(of body: Envelope.Payload, held: Int) -> (code: Mien_V1_ErrorCode, message: String)? {
        if let expected = body.modelHash, !expected.isEmpty, expected != compute.modelHash {
            metrics.errors.count("model_mismatch")
            return (.modelMismatch, "\(workerID) has model \(compute.modelHash.prefix(12)) but the work asks for \(expected.prefix(12)): start the worker with the job's model")
        }
        if held >= prefetch {
            metrics.errors.count("over_credit")
            logger.warning("the coordinator sent more work than the credit granted; refused")
            return (.badMessage, "\(workerID) holds \(held) items, its credit is \(prefetch): work beyond credit refused")
        }
        return nil
    }
}

/// An error of one work item with the protocol code to report.
public struct WorkError: Error, CustomStringConvertible {
    public let code: Mien_V1_ErrorCode
    public let message: String
    public init(_ code: Mien_V1_ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

extension Envelope.Payload {
    /// The video a work item or result concerns, if any.
    var videoID: String? {
        switch self {
        case .frameBatch(let b): b.videoID
        case .embeddingBatch(let b): b.videoID
        case .error(let e): e.videoID
        default: nil
        }
    }

    /// The batch id of a work item or result, if any.
    var batchID: UInt64? {
        switch self {
        case .frameBatch(let b): b.batchID
        case .embeddingBatch(let b): b.batchID
        case .windowBatch(let b): b.batchID
        case .windowPredictionBatch(let b): b.batchID
        case .error(let e): e.batchID
        default: nil
        }
    }

    /// The model a work item asks for (empty = any).
    var modelHash: String? {
        switch self {
        case .frameBatch(let b): b.modelHash
        case .windowBatch(let b): b.windows.first?.modelHash
        default: nil
        }
    }
}
