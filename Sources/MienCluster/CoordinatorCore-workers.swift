import MienCore
import MienProto
import MienTransport
import MienWire

/// The workers, both pools: hello (role and model checked), credit, heartbeats, expiry, what
/// became of a send, results and errors (retries); and sequence scheduling — window batches
/// handed out by credit, their predictions relayed to the aggregator.
extension CoordinatorCore {
    mutating func fromWorker(_ kind: WorkKind, id: [UInt8], peer: PeerInfo?, _ message: Envelope, now: Instant, into out: inout [Command]) {
        let name = String(decoding: id, as: UTF8.self)
        let payload = message.payload
        if case .hello(let hello) = payload {
            self.hello(hello, kind, id: id, name: name, sequence: message.sequence, now: now, into: &out)
            return
        }
        let socketName = kind.rawValue
        guard kind == .feature ? features.isKnown(name) : sequences.isKnown(name) else {
            out.append(.toWorker(kind, id: id, .error(.with { $0.code = .unknownPeer; $0.message = "no hello from \(name): say hello first"; $0.sequence = message.sequence }), item: nil))
            metrics.errors.count("unknown_peer")
            peerLog.record("unknown|\(socketName)|\(id)", "ignored \(message.kind) from unknown peer \(describePeer(id, peer)) on the \(socketName) socket", nowMs: now.ms)
            return
        }
        switch (kind, payload) {
        case (.feature, .ready(let r)): features.work.grant(worker: name, credit: Int(r.credit), nowMs: now.ms)
        case (.sequence, .ready(let r)): sequences.work.grant(worker: name, credit: Int(r.credit), nowMs: now.ms)
        case (.feature, .heartbeat): features.work.heard(from: name, nowMs: now.ms)
        case (.sequence, .heartbeat): sequences.work.heard(from: name, nowMs: now.ms)
        case (.feature, .embeddingBatch(let b)):
            embeddings(b, from: name, id: id, peer: peer, now: now, into: &out)
        case (.sequence, .windowPredictionBatch(let b)):
            predictions(b, from: name, now: now, into: &out)
        case (_, .error(let e)):
            workError(e, kind, from: name, now: now, into: &out)
        default:
            metrics.errors.count("unexpected_message")
            peerLog.record("unexpected|\(socketName)|\(id)", "ignored unexpected \(message.kind) from \(describePeer(id, peer)) on the \(socketName) socket", nowMs: now.ms)
        }
    }

    private mutating func hello(_ hello: Mien_V1_WorkerHello, _ kind: WorkKind, id: [UInt8], name: String, sequence: UInt64,
                                now: Instant, into out: inout [Command]) {
        let expectedRole: Mien_V1_Role = kind == .feature ? .featureWorker : .sequenceWorker
        if hello.role != expectedRole {
            metrics.errors.count("wrong_role")
            logger.warning("refused a \(hello.role) hello on the \(expectedRole) endpoint", metadata: ["worker": .string(name)])
            out.append(.toWorker(kind, id: id, .error(.with { $0.code = .badMessage; $0.message = "this endpoint serves \(expectedRole) peers, not \(hello.role)" }), item: nil))
            return
        }
        let (refusal, adopted) = kind == .feature ? features.checkModel(hello) : sequences.checkModel(hello)
        if adopted {
            let model = kind == .feature ? features.modelKind : sequences.modelKind
            logger.info("\(model) model \(hello.modelHash.prefix(12)) (from the first \(model) worker)", metadata: ["worker": .string(hello.workerID)])
        }
        if let refusal {
            metrics.errors.count("model_mismatch")
            logger.warning("refused worker: \(refusal)", metadata: ["worker": .string(name)])
            out.append(.toWorker(kind, id: id, .error(.with { $0.code = .modelMismatch; $0.message = refusal }), item: nil))
            return
        }
        if kind == .feature { features.join(name, id: id, nowMs: now.ms) } else { sequences.join(name, id: id, nowMs: now.ms) }
        logger.debug("\(kind.rawValue) worker joined", metadata: ["worker": .string(name)])
        out.append(.toWorker(kind, id: id, .ack(.with { $0.sequence = sequence; $0.detail = "hello accepted" }), item: nil))
    }

    /// A work send that did not reach its worker: the item goes back to the front of the queue
    /// — with the worker's credit when its queue was full (sent again next turn), to the other
    /// workers when it is gone — never left to its deadline.
    mutating func delivered(_ kind: WorkKind, itemID: UInt64, _ outcome: Delivery, now: Instant) {
        guard outcome == .sent else {
            if kind == .feature { features.work.withdraw(itemID: itemID, restoreCredit: outcome == .full) } else {
                sequences.work.withdraw(itemID: itemID, restoreCredit: outcome == .full)
            }
            return
        }
        metrics.dispatched[kind]!.increment()
        handedOut[itemID] = now.monotonicNs
    }

    /// Drops the workers not heard from in time: their work is re-queued at the front.
    mutating func expireWorkers(now: Instant) {
        let requeuedBefore = (features.work.requeued, sequences.work.requeued)
        for dead in features.expire(nowMs: now.ms) {
            source.release(worker: dead)
            metrics.errors.count("worker_lost")
            logger.warning("feature worker stopped heartbeating; its batches are re-queued", metadata: ["worker": .string(dead)])
        }
        for dead in sequences.expire(nowMs: now.ms) {
            metrics.errors.count("worker_lost")
            logger.warning("sequence worker stopped heartbeating; its windows are re-queued", metadata: ["worker": .string(dead)])
        }
        metrics.requeued[.feature]!.increment(by: features.work.requeued - requeuedBefore.0)
        metrics.requeued[.sequence]!.increment(by: sequences.work.requeued - requeuedBefore.1)
    }

    /// A worker could not do an item: a decode or missing-input error fails the video at once,
    /// others are retried until `maxAttempts`.
    private mutating func workError(_ e: Mien_V1_Error, _ kind: WorkKind, from name: String, now: Instant, into out: inout [Command]) {
        metrics.errors.count("worker_error")
        logger.warning("worker reported: \(e.message)", metadata: ["worker": .string(name), "batch": "\(e.batchID)", "video": .string(e.videoID)])
        guard e.batchID != 0 else { return }
        handedOut.removeValue(forKey: e.batchID)
        if kind == .feature {
            guard case .completed(var item) = features.work.complete(itemID: e.batchID, from: name, nowMs: now.ms) else { return }
            item.attempts += 1
            let inputFault: Set<Mien_V1_ErrorCode> = [.decodeFailed, .inputNotFound]
            if inputFault.contains(e.code) || item.attempts >= config.maxAttempts {
                failVideo(item.videoID, e.message, now: now, into: &out)
            } else {
                metrics.retried[.feature]!.increment()
                features.work.enqueue(id: e.batchID, item: item)
            }
        } else {
            guard case .completed(var item) = sequences.work.complete(itemID: e.batchID, from: name, nowMs: now.ms) else { return }
            item.attempts += 1
            if item.attempts >= config.maxAttempts {
                for id in Set(item.batch.windows.map(\.videoID)).sorted() {
                    failVideo(id, "sequence work failed \(item.attempts) times: \(e.message)", now: now, into: &out)
                }
            } else {
                metrics.retried[.sequence]!.increment()
                sequences.work.enqueue(id: e.batchID, item: item)
            }
        }
    }

    // MARK: sequence scheduling

    /// Hands queued window batches to the sequence workers with credit.
    mutating func dispatchSequenceWork(now: Instant, into out: inout [Command]) {
        for a in sequences.work.assign(nowMs: now.ms) {
            guard let id = sequences.ids[a.worker] else { sequences.work.withdraw(itemID: a.itemID, restoreCredit: false); continue }
            out.append(.toWorker(.sequence, id: id, .windowBatch(a.item.batch), item: a.itemID))
            if sequences.firstHandout(to: a.worker) {
                logger.debug("sequence worker handed its first batch", metadata: ["worker": .string(a.worker), "batch": "\(a.itemID)"])
            }
        }
    }

    /// A sequence worker's predictions go on to the aggregator, once per window batch.
    private mutating func predictions(_ b: Mien_V1_WindowPredictionBatch, from name: String, now: Instant, into out: inout [Command]) {
        guard case .completed = sequences.work.complete(itemID: b.batchID, from: name, nowMs: now.ms) else {
            metrics.errors.count("stale_answer")
            logger.debug("ignored a repeated window prediction batch", metadata: ["worker": .string(name), "batch": "\(b.batchID)"])
            return
        }
        metrics.completed[.sequence]!.increment()
        if let t = handedOut.removeValue(forKey: b.batchID) { metrics.roundTrip[.sequence]!.recordNanoseconds(Self.elapsed(since: t, now)) }
        out.append(.toAggregator(.windowPredictionBatch(b)))
    }
}
