import Foundation
import Logging
import MienCluster
import MienCore
import MienProto
import MienTraining
import MienTransport
import MienWire

/// A parallel search over a list of configurations. Trials go to whichever worker asks for
/// one: a local slot (an executor — in `mien tune`, a `mien tune-worker` child process — that
/// asks again each time it is idle) or a remote `mien tune-worker --coordinator` connected to
/// `Remote.endpoint` (it asks with `Ready` credit). One `WorkDispatcher` keeps the books, so a
/// remote worker that stops heartbeating, disconnects or says goodbye has its running trials
/// handed to another worker: a trial is deterministic, wherever it runs. A trial that fails
/// (an error, a trap in its worker process) is a `.failed` result, not re-run.
///
/// Results are handed to `onResult` as they finish, one at a time, on the search's thread.
/// After `stop()`, no trial starts; local running trials are interrupted (or finish, per
/// executor), remote ones are reported `.interrupted` at once, and the rest are `.notRun`.
///
/// The dispatcher, the socket and the results belong to one thread of the search's own;
/// each local slot runs on a plain `Thread` too: executors block (on a worker's pipe, or on
/// training), which must not happen on Swift's cooperative pool.
public final class TuningSearch: @unchecked Sendable {
    /// Remote tune workers: where they connect and what they are sent.
    public struct Remote: Sendable {
        public var context: ZMQContext
        /// The ROUTER's endpoint (`tcp://HOST:PORT`; `tcp://127.0.0.1:*` picks a port, see `boundEndpoint`).
        public var endpoint: String
        /// What every trial shares (cache name, checksum and size, split and training settings);
        /// `chunks` is filled in per worker.
        public var setup: Mien_V1_TrialSetup
        /// The embedding cache's bytes, sent in `chunkBytes` pieces to workers that lack them.
        public var cache: Data
        /// Where a remote trial's bundle files go: `TuningLayout.trialDirectory(out, trial)`.
        public var out: String
        public var security: CurveServer?
        public var liveness = Liveness()
        public var chunkBytes = 8 << 20
        public var maxMessageBytes = ProtocolConstants.maxMessageBytes

        public init(context: ZMQContext, endpoint: String, setup: Mien_V1_TrialSetup, cache: Data, out: String) {
            self.context = context; self.endpoint = endpoint; self.setup = setup; self.cache = cache; self.out = out
        }
    }

    private let trials: [TrialParams]
    private let executors: [TrialExecutor]
    private let remote: Remote?
    private let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var ended = false
    private var _boundEndpoint: String?
    private let wake: WakePipe

    /// Messages read from the socket per turn of the loop, at most (a flood cannot starve the rest).
    static let maxMessagesPerTurn = 256
    /// Trials have no deadline: a long one is not taken for lost while its worker heartbeats.
    static let noDeadlineMs: UInt64 = 365 * 24 * 3_600_000

    /// - Parameters:
    ///   - executors: the local slots (may be empty with `remote`).
    ///   - remote: accept remote tune workers on an endpoint; nil = local slots only.
    public init(trials: [TrialParams], executors: [TrialExecutor], remote: Remote? = nil, logger: Logger = .quiet("mien.tune")) throws {
        precondition(!executors.isEmpty || remote != nil, "a search needs at least one executor or remote workers")
        self.trials = trials
        self.executors = executors
        self.remote = remote
        var logger = logger
        logger[metadataKey: "role"] = "tune"
        self.logger = logger
        wake = try WakePipe()
    }

    /// Whether `stop()` was called.
    public var isStopped: Bool { lock.withLock { stopped } }

    /// The endpoint remote workers connect to, port resolved, once `run` has bound it.
    public var boundEndpoint: String? { lock.withLock { _boundEndpoint } }

    /// Starts no more trials and interrupts the running ones. Safe from any thread, repeatable.
    public func stop() {
        lock.withLock { stopped = true }
        wake.wake()
    }

    /// Runs every trial (until stopped); blocks until the search is over. Throws only when the
    /// remote endpoint cannot be bound (before any trial starts).
    /// - Returns: one result per configuration, in trial order (trial numbers are 1-based).
    public func run(onResult: @escaping @Sendable (TrialResult) -> Void = { _ in }) throws -> [TrialResult] {
        let socket = HandOff(try remote.map(bind))
        let box = ResultsBox()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            box.results = loop(socket.value, onResult: onResult)
            done.signal()
        }
        thread.name = "mien.tune.search"
        thread.start()
        done.wait()
        return box.results
    }

    private func bind(_ r: Remote) throws -> ZMQSocket {
        let s = try ZMQSocket(r.context, .router)
        try s.setRouterMandatory(true)
        try s.setMaxMessageSize(Int64(r.maxMessageBytes))
        try r.security?.apply(to: s)
        try s.bind(r.endpoint)
        let bound = try s.lastEndpoint()
        lock.withLock { _boundEndpoint = bound }
        return s
    }

    // MARK: the search's thread

    private func loop(_ socket: ZMQSocket?, onResult: @escaping @Sendable (TrialResult) -> Void) -> [TrialResult] {
        SearchLoop(self, socket: socket, onResult: onResult).run()
    }
}

extension TuningSearch {
    /// The search's thread: one `WorkDispatcher` for the local slots and the remote workers,
    /// the remote workers' socket, and the results.
    private final class SearchLoop {
        let search: TuningSearch
        let trials: [TrialParams]
        let remote: Remote?
        let logger: Logger
        let onResult: @Sendable (TrialResult) -> Void
        var live: ZMQSocket?
        let liveness: Liveness
        var work: WorkDispatcher<Int>
        var results: [TrialResult?]
        var recorded = 0
        /// Local slots: a thread each, fed one trial at a time; results come back through `finished`.
        let finished: WorkQueue<(slot: String, result: TrialResult)>
        var inboxes: [String: WorkQueue<Int>] = [:]
        var localBusy = 0
        var remotes: [String: [UInt8]] = [:]  // remote worker (routing id as text) → routing id
        var unreachable: Set<String> = []     // remote workers the ROUTER found disconnected
        var sequence: UInt64 = 0
        var peerLog: PeerEventLog
        var poller = ZMQPoller()
        var wakeItem = 0
        var lastHeartbeat: UInt64 = 0
        var stopHandled = false

        init(_ search: TuningSearch, socket: ZMQSocket?, onResult: @escaping @Sendable (TrialResult) -> Void) {
            self.search = search
            trials = search.trials
            remote = search.remote
            logger = search.logger
            self.onResult = onResult
            live = socket
            liveness = search.remote?.liveness ?? Liveness()
            work = WorkDispatcher<Int>(config: .init(workerExpiryMs: liveness.expiryMs, itemDeadlineMs: TuningSearch.noDeadlineMs))
            for i in trials.indices { work.enqueue(id: UInt64(i + 1), item: i) }
            results = [TrialResult?](repeating: nil, count: trials.count)
            finished = WorkQueue(capacity: max(1, search.executors.count))
            peerLog = PeerEventLog(intervalMs: 10_000, logger: logger)
            startSlots()
            if let socket { poller.add(socket) }
            wakeItem = poller.add(fileDescriptor: search.wake.readFD)
        }

        private func startSlots() {
            let start = Clock.nowMs()
            let (finished, trials, search) = (finished, trials, search)
            for (k, executor) in search.executors.enumerated() {
                let slot = "local-\(k + 1)", inbox = WorkQueue<Int>(capacity: 1)
                inboxes[slot] = inbox
                work.join(worker: slot, nowMs: start)
                work.grant(worker: slot, credit: 1, nowMs: start)
                let thread = Thread {
                    while true {
                        guard let i = inbox.take(timeout: 0.5) else {
                            if search.lock.withLock({ search.ended }) { return }
                            continue
                        }
                        finished.put((slot, executor.run(i + 1, trials[i])))
                        search.wake.wake()
                    }
                }
                thread.name = "mien.tune.slot"
                thread.start()
            }
        }

        func run() -> [TrialResult] {
            while true {
                let now = Clock.nowMs()
                if search.isStopped && !stopHandled { handleStop() }
                for name in unreachable where remotes[name] != nil { lost(name, "disconnected") }
                unreachable.removeAll()
                for (slot, r) in finished.drain() {
                    localBusy -= 1
                    if case .completed = work.complete(itemID: UInt64(r.trial), from: slot, nowMs: now) { record(r) }
                    work.grant(worker: slot, credit: 1, nowMs: now)
                }
                if recorded == trials.count || (stopHandled && localBusy == 0) { break }
                if !search.isStopped { assign(now: now) }  // not stopHandled: onResult above may just have stopped the search
                if now - lastHeartbeat >= liveness.heartbeatMs {
                    lastHeartbeat = now
                    heartbeat(now: now)
                }
                pollOnce()
            }
            for id in remotes.values { send(to: id, .shutdown(.with { $0.reason = "search complete" })) }
            // Let the Shutdowns reach the workers before the socket goes (linger is 0 by default).
            try? live?.setLinger(2_000)
            live?.close()
            search.lock.withLock { search.ended = true }
            for inbox in inboxes.values { inbox.close() }
            return results.enumerated().map { $0.element ?? TrialResult(trial: $0.offset + 1, params: trials[$0.offset], status: .notRun) }
        }

        func record(_ r: TrialResult) {
            results[r.trial - 1] = r
            recorded += 1
            onResult(r)
        }

        /// Stopped: local trials are interrupted, remote ones reported interrupted at once.
        private func handleStop() {
            stopHandled = true
            for e in search.executors { e.interrupt() }
            for i in trials.indices where results[i] == nil {
                if let holder = work.holder(of: UInt64(i + 1)), remotes[holder] != nil {
                    record(TrialResult(trial: i + 1, params: trials[i], status: .interrupted))
                }
            }
            for id in remotes.values { send(to: id, .shutdown(.with { $0.reason = "search interrupted" })) }
            remotes.removeAll()
        }

        private func assign(now: UInt64) {
            for a in work.assign(nowMs: now) {
                if let inbox = inboxes[a.worker] {
                    localBusy += 1
                    inbox.put(a.item)
                } else if let id = remotes[a.worker] {
                    let delivery = send(to: id, .trialRequest(.with { $0.trial = UInt32(a.itemID); $0.params = Mien_V1_TrialParams(trials[a.item]) }))
                    guard delivery == .sent else { work.withdraw(itemID: a.itemID, restoreCredit: delivery == .full); continue }
                    logger.debug("trial \(a.itemID) to tune worker \(a.worker)")
                }
            }
        }

        private func heartbeat(now: UInt64) {
            for slot in inboxes.keys { work.heard(from: slot, nowMs: now) }  // local slots are alive while the process is
            for id in remotes.values { send(to: id, .heartbeat(.with { $0.sentUnixMs = Clock.unixMs() })) }
            let before = work.requeued
            let dead = work.expire(nowMs: now)
            for name in dead { remotes.removeValue(forKey: name) }
            if !dead.isEmpty {
                let requeued = work.requeued - before
                logger.warning("tune worker(s) \(dead.joined(separator: ", ")) stopped heartbeating (gone, killed or cut off)\(requeued > 0 ? "; their \(requeued) running trial(s) go to other workers" : "")")
            }
            peerLog.flush(nowMs: now)
        }

        private func pollOnce() {
            do {
                let events = try poller.poll(timeoutMs: Int(liveness.heartbeatMs))
                if events[wakeItem].contains(.readable) { search.wake.drain() }
                if let socket = live, events[0].contains(.readable) {
                    for _ in 0..<TuningSearch.maxMessagesPerTurn {
                        guard let (frames, peer) = try socket.receiveWithPeer(timeoutMs: 0) else { break }
                        handle(frames, peer: peer)
                    }
                }
            } catch {
                // Only a closed context or a libzmq fault gets here: go on without remote workers
                // (their trials return to the queue when they expire), or stop if none are local.
                logger.error("tune's worker socket failed: \(error); remote workers are lost")
                live?.close()
                live = nil
                poller = ZMQPoller()
                wakeItem = poller.add(fileDescriptor: search.wake.readFD)
                if search.executors.isEmpty { search.stop() }
            }
        }

        /// Sends without waiting (or up to `timeoutMs`); a trial that did not go is taken back by
        /// the caller (`WorkDispatcher.withdraw`), not left to the worker's expiry.
        @discardableResult
        func send(to id: [UInt8], _ body: Envelope.Payload, timeoutMs: Int32 = 0) -> Delivery {
            guard let socket = live else { return .failed }
            sequence += 1
            let envelope = Envelope(body, senderID: "tune", sequence: sequence, sentUnixMs: Clock.unixMs())
            do {
                if try socket.send(try Framing.routed(to: id, envelope), timeoutMs: timeoutMs) { return .sent }
                peerLog.record("send|\(id)", "could not send \(body.kind) to \(describePeer(id, nil)): its queue is full")
                return .full
            } catch let error as ZMQError where error.code == EHOSTUNREACH {
                // Its connection is gone (kill -9, network): no need to wait for the heartbeat expiry.
                unreachable.insert(String(decoding: id, as: UTF8.self))
                return .failed
            } catch {
                peerLog.record("send|\(id)", "could not send \(body.kind) to \(describePeer(id, nil)): \(error)")
                return .failed
            }
        }

        private func sendSetup(to id: [UInt8], _ hello: Mien_V1_TrialWorkerHello) {
            guard let remote else { return }
            var setup = remote.setup
            let size = remote.cache.count, piece = max(1, remote.chunkBytes)
            let chunks = hello.cacheSha256 == setup.cacheSha256 ? 0 : (size + piece - 1) / piece
            setup.chunks = UInt32(chunks)
            send(to: id, .trialSetup(setup))
            for k in 0..<chunks {
                let range = (k * piece)..<min(size, (k + 1) * piece)
                send(to: id, .trialDataChunk(.with { $0.index = UInt32(k); $0.data = remote.cache.subdata(in: range) }), timeoutMs: 10_000)
            }
        }

        /// A remote worker is gone (goodbye, error, silence): its trials go back to the front of the queue.
        private func lost(_ name: String, _ why: String) {
            let before = work.requeued
            work.leave(worker: name)
            remotes.removeValue(forKey: name)
            let requeued = work.requeued - before
            logger.warning("tune worker \(name) \(why)\(requeued > 0 ? "; its \(requeued) running trial(s) go to other workers" : "")")
        }

        private func handleResult(_ m: Mien_V1_TrialResult, from name: String, id: [UInt8], peer: PeerInfo) {
            let trial = Int(m.trial)
            guard trials.indices.contains(trial - 1), results[trial - 1] == nil, work.holder(of: UInt64(trial)) == name else {
                peerLog.record("stray|\(name)", "ignored a result for trial \(trial) from \(describePeer(id, peer)): that trial was not given to it (or is done)")
                return
            }
            guard var r = TrialResult(m), r.params == trials[trial - 1], r.trial == trial else {
                lost(name, "sent a result that does not match trial \(trial) (status \"\(m.status)\")")
                return
            }
            if r.status == .ok, let remote {
                do { try writeTrialFiles(m.files, to: TuningLayout.trialDirectory(remote.out, trial)) } catch {
                    r.status = .failed
                    r.error = "the bundle from tune worker \(name) could not be saved: \(error)"
                }
            }
            if case .completed = work.complete(itemID: UInt64(trial), from: name, nowMs: Clock.nowMs()) { record(r) }
        }

        private func handle(_ frames: [[UInt8]], peer: PeerInfo) {
            let sender = frames.first ?? []
            let (id, message): ([UInt8], Envelope)
            do { (id, message) = try Framing.decodeRouted(frames, limit: remote?.maxMessageBytes ?? ProtocolConstants.maxMessageBytes) } catch {
                peerLog.record("malformed|\(sender)", "dropped an undecodable message from \(describePeer(sender, peer)): \(error)")
                return
            }
            let name = String(decoding: id, as: UTF8.self)
            let now = Clock.nowMs()
            if case .trialWorkerHello(let hello) = message.payload {
                if search.isStopped { send(to: id, .shutdown(.with { $0.reason = "search interrupted" })); return }
                remotes[name] = id
                work.join(worker: name, nowMs: now)
                logger.info("tune worker \(name) joined from \(hello.hostname.isEmpty ? describePeer(id, peer) : hello.hostname), \(hello.parallel) trial(s) at once")
                sendSetup(to: id, hello)
                return
            }
            guard remotes[name] != nil else {
                send(to: id, .error(.with { $0.code = .unknownPeer; $0.message = "no hello from \(name): say hello first"; $0.sequence = message.sequence }))
                peerLog.record("unknown|\(name)", "ignored \(message.kind) from unknown peer \(describePeer(id, peer))")
                return
            }
            work.heard(from: name, nowMs: now)
            switch message.payload {
            case .ready(let r): work.grant(worker: name, credit: Int(r.credit), nowMs: now)
            case .heartbeat: break
            case .trialResult(let m): handleResult(m, from: name, id: id, peer: peer)
            case .shutdown(let s): lost(name, "left (\(s.reason))")
            case .error(let e): lost(name, "reported an error and was dropped: \(e.message)")
            default: peerLog.record("unexpected|\(name)", "ignored unexpected \(message.kind) from \(describePeer(id, peer))")
            }
        }
    }
}

/// Carries the search thread's results to the caller of `run`.
private final class ResultsBox: @unchecked Sendable {
    var results: [TrialResult] = []
}

/// Writes a remote trial's bundle files into its folder (names checked: no paths).
func writeTrialFiles(_ files: [Mien_V1_TrialFile], to directory: String) throws {
    guard !files.isEmpty else { throw TrainingError("the result has no bundle files") }
    for f in files where !isPlainFileName(f.name) { throw TrainingError("refused file name \"\(f.name.prefix(80))\" (not a plain file name)") }
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for f in files {
        try f.data.write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(f.name)), options: .atomic)
    }
}
