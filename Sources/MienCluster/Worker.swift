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
    func process(_ work: Envelope.OneOf_Body) throws -> Envelope.OneOf_Body
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

    private let inbox: WorkQueue<(sequence: UInt64, body: Envelope.OneOf_Body)>
    private let outbox: WorkQueue<Envelope.OneOf_Body>
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
            let result: Envelope.OneOf_Body
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

    private func socketLoop() {
        var attempt = 0
        var connection = 0
        var sequence: UInt64 = 0
        var held = 0  // items received and not yet answered (in the inbox or computing)
        func envelope(_ body: Envelope.OneOf_Body) -> Envelope {
            sequence += 1
            return Envelope(body, senderID: workerID, sequence: sequence, sentUnixMs: Clock.unixMs())
        }
        var handshakes = HandshakeReport(server: "the coordinator")
        outer: while !shouldStop {
            connection += 1
            let socket: ZMQSocket
            var monitor: HandshakeMonitor?
            defer { monitor?.close() }
            do {
                (socket, monitor) = try connectWorkerSocket(context: context, endpoint: endpoint, routingID: "\(workerID)#\(connection)",
                                                            security: security, configure: configureSocket)
                try socket.send(try Framing.direct(envelope(.hello(.with {
                    $0.role = compute.role
                    $0.workerID = workerID
                    $0.hostname = ProcessInfo.processInfo.hostName
                    $0.threads = 1
                    $0.capabilities = compute.capabilities
                    $0.modelHash = compute.modelHash
                    $0.softwareVersion = ProtocolConstants.softwareVersion
                }))), timeoutMs: 1_000)
                // Items still computing from a previous connection keep their credit slots.
                if held < prefetch {
                    try socket.send(try Framing.direct(envelope(.ready(.with { $0.credit = UInt32(prefetch - held) }))), timeoutMs: 1_000)
                }
            } catch let e as ZMQError where e.isTerminated {
                break outer
            } catch {
                metrics.errors.count("connect_failed")
                logger.warning("cannot connect to \(endpoint): \(error)")
                Thread.sleep(forTimeInterval: Double(ProtocolConstants.reconnectDelayMs(attempt: attempt)) / 1000)
                attempt += 1
                continue
            }
            setState(.connected)
            var lastHeard = Clock.nowMs()
            var lastSent = Clock.nowMs()
            var poller = ZMQPoller()
            poller.add(socket)
            poller.add(fileDescriptor: wake.readFD)
            if let monitor { poller.add(monitor.socket) }
            do {
                while !shouldStop {
                    let events = try poller.poll(timeoutMs: Int(liveness.heartbeatMs))
                    if events[1].contains(.readable) { wake.drain() }
                    if let monitor, events.count > 2, events[2].contains(.readable) {
                        try handshakes.read(monitor, key: security?.keyPair.publicKey.z85 ?? "", logger: logger)
                    }
                    // Results from the compute thread go out first, each followed by fresh credit.
                    for result in outbox.drain() {
                        try socket.send(try Framing.direct(envelope(result)))
                        try socket.send(try Framing.direct(envelope(.ready(.with { $0.credit = 1 }))))
                        lock.withLock { itemsDone += 1 }
                        held -= 1
                        metrics.itemsHeld.decrement()
                        lastSent = Clock.nowMs()
                    }
                    if events[0].contains(.readable) {
                        while let frames = try socket.receive(timeoutMs: 0) {
                            lastHeard = Clock.nowMs()
                            attempt = 0
                            let message: Envelope
                            do { message = try Framing.decodeDirect(frames) } catch {
                                metrics.errors.count("malformed_message")
                                logger.warning("ignored a message from the coordinator: \(error)")
                                continue
                            }
                            switch message.body {
                            case .shutdown(let s):
                                logger.info("shutdown requested (\(s.reason))")
                                break outer
                            case .error(let e) where e.code == .modelMismatch || e.code == .versionMismatch:
                                metrics.errors.count("refused")
                                logger.error("refused by the coordinator: \(e.message)")
                                break outer
                            case .error(let e) where e.code == .unknownPeer:
                                // The coordinator restarted and does not know this connection: say hello again.
                                metrics.reconnects.increment()
                                logger.notice("the coordinator does not know this worker (restarted?); reconnecting")
                                setState(.reconnecting)
                                socket.close()
                                continue outer
                            case .heartbeat, .ack, .error, .none:
                                break
                            case let body?:
                                if let expected = body.modelHash, !expected.isEmpty, expected != compute.modelHash {
                                    try socket.send(try Framing.direct(envelope(.error(.with {
                                        $0.code = .modelMismatch
                                        $0.message = "\(workerID) has model \(compute.modelHash.prefix(12)) but the work asks for \(expected.prefix(12)): start the worker with the job's model"
                                        $0.videoID = body.videoID ?? ""
                                        $0.batchID = body.batchID ?? 0
                                        $0.sequence = message.sequence
                                    }))))
                                    try socket.send(try Framing.direct(envelope(.ready(.with { $0.credit = 1 }))))
                                    metrics.errors.count("model_mismatch")
                                } else if held >= prefetch {
                                    metrics.errors.count("over_credit")
                                    logger.warning("the coordinator sent more work than the credit granted; refused")
                                    try socket.send(try Framing.direct(envelope(.error(.with {
                                        $0.code = .badMessage
                                        $0.message = "\(workerID) holds \(held) items, its credit is \(prefetch): work beyond credit refused"
                                        $0.videoID = body.videoID ?? ""
                                        $0.batchID = body.batchID ?? 0
                                        $0.sequence = message.sequence
                                    }))))
                                } else {
                                    held += 1
                                    metrics.itemsHeld.increment()
                                    inbox.put((message.sequence, body))
                                }
                            }
                        }
                    }
                    let now = Clock.nowMs()
                    if now - lastSent >= liveness.heartbeatMs {
                        let done = lock.withLock { itemsDone }
                        // Not waiting: with no connection (e.g. refused by the coordinator's
                        // CURVE allow-list) a heartbeat has nowhere to go, and the expiry below
                        // must still run.
                        try socket.send(try Framing.direct(envelope(.heartbeat(.with {
                            $0.sentUnixMs = Clock.unixMs()
                            $0.itemsDone = done
                        }))), timeoutMs: 0)
                        lastSent = now
                    }
                    if now - lastHeard > liveness.expiryMs {
                        metrics.reconnects.increment()
                        logger.warning("coordinator silent for \(now - lastHeard) ms, reconnecting")
                        setState(.reconnecting)
                        socket.close()
                        Thread.sleep(forTimeInterval: Double(ProtocolConstants.reconnectDelayMs(attempt: attempt)) / 1000)
                        attempt += 1
                        continue outer
                    }
                }
            } catch let e as ZMQError where e.isTerminated {
                break outer
            } catch {
                metrics.reconnects.increment()
                metrics.errors.count("socket")
                logger.warning("\(error); reconnecting")
                socket.close()
                Thread.sleep(forTimeInterval: Double(ProtocolConstants.reconnectDelayMs(attempt: attempt)) / 1000)
                attempt += 1
                continue outer
            }
            socket.close()
        }
        stopping.requestStop()  // before the queues close: the compute loop reads it on wake-up
        inbox.close()
        outbox.close()
        setState(.stopped)
        let done = lock.withLock { itemsDone }
        logger.debug("worker stopped", metadata: compute.summary.merging(["items": "\(done)"]) { mine, _ in mine })
        stopping.markEnded()
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

extension Envelope.OneOf_Body {
    /// The video a work item or result concerns, if any.
    var videoID: String? {
        switch self {
        case .frameBatch(let b): b.videoID
        case .embeddingBatch(let b): b.videoID
        case .window(let w): w.videoID
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
