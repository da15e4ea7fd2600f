import MienCore
import MienProto
import MienTransport

/// Feature scheduling: batches from the `FeatureBatchSource`, handed to feature workers by
/// credit, their answers into each video's `VideoTracking`.
extension CoordinatorCore {
    /// Whether sequence work is so far behind that feature work waits.
    var sequenceWorkBehind: Bool { sequences.outstanding >= config.maxOutstandingWindowBatches }

    /// Feature batches that may still be made: the bound less those queued, in flight or being readied.
    private var featureRoom: Int { config.maxOutstandingBatches - features.outstanding - source.readying }

    /// Readies batches ahead of any worker (inline: to the decoder), then hands batches to the
    /// workers with credit — queued ones first, then made for the worker whose turn it is.
    mutating func dispatchFeatureWork(now: Instant, into out: inout [Command]) {
        while featureRoom > 0, !sequenceWorkBehind, let b = source.nextToReady() {
            let item = makeBatch(b)
            source.readying(item)
            out.append(.decode(item.batch))
        }
        // The closure may not touch `self` (the dispatcher is being modified): what it needs, copied.
        var budget = featureRoom
        let (behind, active, config, model, firstID) = (sequenceWorkBehind, self.active, config, features.modelHash, nextBatchID)
        var source = self.source
        var made = 0
        let assigned = features.work.assign(nowMs: now.ms) { worker in
            guard budget > 0, !behind,
                  let b = source.next(for: worker, frontier: { Int(active[$0]?.reorder.next ?? 0) }) else { return nil }
            budget -= 1
            let item = Self.batch(b, of: active[b.video]!, id: firstID + UInt64(made), config: config, modelHash: model)
            made += 1
            return (item.batch.batchID, item)
        }
        self.source = source
        nextBatchID += UInt64(made)
        for a in assigned {
            guard let id = features.ids[a.worker] else { features.work.withdraw(itemID: a.itemID, restoreCredit: false); continue }
            out.append(.toWorker(.feature, id: id, .frameBatch(a.item.batch), item: a.itemID))
            if features.firstHandout(to: a.worker) {
                logger.debug("feature worker handed its first batch", metadata: ["worker": .string(a.worker), "batch": "\(a.itemID)"])
            }
        }
    }

    /// Batch `b` under a new batch id.
    private mutating func makeBatch(_ b: BatchRef) -> FeatureItem {
        defer { nextBatchID += 1 }
        return Self.batch(b, of: active[b.video]!, id: nextBatchID, config: config, modelHash: features.modelHash)
    }

    /// Feature batch `b` of `v` by reference (frames `[start, end)`, sampled), as batch `id`.
    static func batch(_ b: BatchRef, of v: VideoTracking, id: UInt64, config: Coordinator.Config, modelHash: String) -> FeatureItem {
        let start = b.index * config.batchFrames
        // The last batch runs to the end of the file: container frame counts can be low.
        let end = b.index == v.batchCount - 1 ? Int.max : start + config.batchFrames
        let batch = Mien_V1_FrameBatch.with {
            $0.videoID = v.input.id
            $0.batchID = id
            $0.fps = v.info.fps
            $0.reference = .with {
                $0.uri = v.input.path
                $0.startFrame = UInt64(start)
                $0.endFrame = UInt64(end)
                $0.sampleEvery = UInt32(config.sampleEvery)
            }
            $0.modelHash = modelHash
        }
        return FeatureItem(videoID: v.input.id, index: b.index, batch: batch)
    }

    /// Inline mode: a batch back from the decoder is queued for the workers; a decode error fails its video.
    mutating func decoded(_ decoded: InlineDecoder.Decoded, now: Instant, into out: inout [Command]) {
        guard var item = source.ready(batchID: decoded.batch.batchID), active[item.videoID] != nil else { return }  // failed meanwhile
        if let error = decoded.error {
            metrics.errors.count("decode_failed")
            failVideo(item.videoID, error, now: now, into: &out)
        } else {
            item.batch = decoded.batch
            features.work.enqueue(id: decoded.batch.batchID, item: item)
        }
    }

    /// A worker's embedding batch: checked against the batch it answers, then tracked in frame
    /// order; a video whose batches are all in is closed with its manifest.
    mutating func embeddings(_ b: Mien_V1_EmbeddingBatch, from name: String, id: [UInt8], peer: PeerInfo?, now: Instant, into out: inout [Command]) {
        guard let expected = features.work.item(b.batchID), Coordinator.answers(b, expected.batch) else {
            metrics.errors.count("stale_answer")
            peerLog.record("stale|\(id)", "ignored an embedding batch \(b.batchID) from \(describePeer(id, peer)) that answers no batch in flight (stale or malformed)", nowMs: now.ms)
            return
        }
        guard case .completed(let item) = features.work.complete(itemID: b.batchID, from: name, nowMs: now.ms) else { return }
        metrics.completed[.feature]!.increment()
        if let t = handedOut.removeValue(forKey: b.batchID) { metrics.roundTrip[.feature]!.recordNanoseconds(Self.elapsed(since: t, now)) }
        guard active[item.videoID] != nil else { return }
        let taken = active[item.videoID]!.take(b, index: item.index, sequenceModel: sequences.modelHash)
        carry(taken, into: &out)
        let v = active[item.videoID]!
        progress.peakResultsAwaitingOrder = max(progress.peakResultsAwaitingOrder, v.reorder.waitingCount)
        guard v.isComplete else { return }
        var done = active.removeValue(forKey: item.videoID)!
        carry(done.finish(sequenceModel: sequences.modelHash), into: &out)
        source.remove(video: item.videoID)
        sendManifest(&done, error: done.framesPerTrack.isEmpty ? "no faces found in \(done.framesDone) frames of \(done.input.path)" : nil,
                     now: now, into: &out)
    }

    /// Ended tracks go to the aggregator; window batches are queued for the sequence workers.
    private mutating func carry(_ o: VideoTracking.Output, into out: inout [Command]) {
        for t in o.trackFrames { out.append(.toAggregator(.trackFrames(t))) }
        for windows in o.windowBatches {
            let batch = Mien_V1_WindowBatch.with { $0.batchID = nextBatchID; $0.windows = windows }
            sequences.work.enqueue(id: nextBatchID, item: SequenceItem(batch: batch))
            nextBatchID += 1
        }
        metrics.windowsCut.increment(by: o.windowsCut)
        progress.framesDone += o.frames
        metrics.framesProcessed.increment(by: o.frames)
        metrics.facesTracked.increment(by: o.faces)
    }
}
