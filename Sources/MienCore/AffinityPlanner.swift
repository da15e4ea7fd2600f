/// Which batch of which video a worker gets next when workers read the videos themselves
/// (by-reference batches): a batch that directly follows the worker's previous one continues
/// decoding where that one ended, while any other costs a seek (or decoding frames only to skip
/// them). So each worker should work through a contiguous run of a video's batches.
///
/// Each video's batches are cut into chunks of `chunkBatches` consecutive batches. A worker works
/// through the run it holds (its *span*, at first a chunk) in order. When its span is used up it
/// takes an unstarted chunk — the one directly following its last batch if there is one, else the
/// earliest (videos in the order added). When no chunk is unstarted it takes the far half of the
/// largest span another worker still has ahead, so no worker idles while there is work and both
/// spans stay contiguous. A worker that leaves gives its span's rest back, for anyone to take.
///
/// Bounded look-ahead: batch `i` of a video is handed out only while `i < frontier + maxAhead`,
/// `frontier` being the first batch of the video whose result the caller has not consumed yet.
/// So at most `maxAhead − 1` results of a video ever wait for an earlier one. A span that reaches
/// the bound is given back and its worker helps nearer the frontier (or waits, if it cannot).
///
/// A pure state machine: each batch is planned once. Re-sending a batch whose worker died is the
/// dispatcher's business (`WorkDispatcher`), not the planner's.
public struct AffinityPlanner<Video: Hashable & Sendable>: Sendable {
    public struct Batch: Equatable, Sendable {
        public var video: Video
        public var index: Int

        public init(video: Video, index: Int) {
            self.video = video
            self.index = index
        }
    }

    /// Batches `[start, end)` of a video, none handed out yet.
    private struct Span: Sendable {
        var video: Video
        var start: Int
        var end: Int
        var count: Int { end - start }
    }

    private struct Plan: Sendable {
        var video: Video
        var batchCount: Int
        /// Batches from here on are not cut into chunks yet (nor handed out).
        var uncut: Int
    }

    public let chunkBatches: Int
    public let maxAhead: Int
    private var plans: [Plan] = []  // in the order added
    private var givenBack: [Span] = []
    private var spans: [String: Span] = [:]  // worker → the span it works through
    private var last: [String: Batch] = [:]  // worker → the last batch it was given

    public init(chunkBatches: Int, maxAhead: Int) {
        precondition(chunkBatches >= 1 && maxAhead >= 1)
        self.chunkBatches = chunkBatches
        self.maxAhead = maxAhead
    }

    /// Adds a video of `batchCount` batches, all to be planned; videos added earlier go first.
    /// (A video added again starts over.)
    public mutating func add(video: Video, batchCount: Int) {
        remove(video: video)
        plans.append(Plan(video: video, batchCount: batchCount, uncut: 0))
    }

    /// Forgets a video (finished or failed): its batches not handed out are dropped.
    public mutating func remove(video: Video) {
        plans.removeAll { $0.video == video }
        givenBack.removeAll { $0.video == video }
        spans = spans.filter { $0.value.video != video }
    }

    /// A worker left (or was dropped): the rest of its span goes back, for anyone to take.
    public mutating func release(worker: String) {
        if let s = spans.removeValue(forKey: worker), s.count > 0 { givenBack.append(s) }
        last.removeValue(forKey: worker)
    }

    /// Batches of known videos not handed out yet.
    public var unplannedCount: Int {
        plans.reduce(0) { $0 + $1.batchCount - $1.uncut } + givenBack.reduce(0) { $0 + $1.count }
            + spans.values.reduce(0) { $0 + $1.count }
    }

    /// The next batch for `worker`, or nil when there is none it may have now: every batch handed
    /// out, or all that are left beyond the look-ahead bound. `frontier(video)` is the first batch
    /// of the video whose result is not consumed yet.
    public mutating func next(for worker: String, frontier: (Video) -> Int) -> Batch? {
        func allowed(_ video: Video, _ index: Int) -> Bool { index < frontier(video) + maxAhead }
        // 1. Continue the worker's own span.
        if let s = spans.removeValue(forKey: worker), s.count > 0 {
            if allowed(s.video, s.start) { return take(s, for: worker) }
            givenBack.append(s)  // beyond the bound: give it back, help nearer the frontier
        }
        // 2. An unstarted run: the one that follows the worker's last batch, else the earliest.
        var runs: [(span: Span, plan: Int?)] = givenBack.map { ($0, nil) }
        for (k, p) in plans.enumerated() where p.uncut < p.batchCount {
            runs.append((Span(video: p.video, start: p.uncut, end: min(p.uncut + chunkBatches, p.batchCount)), k))
        }
        runs = runs.filter { allowed($0.span.video, $0.span.start) }
        let after = last[worker].map { Batch(video: $0.video, index: $0.index + 1) }
        if let pick = runs.first(where: { Batch(video: $0.span.video, index: $0.span.start) == after })
            ?? runs.min(by: { order($0.span) < order($1.span) }) {
            if let k = pick.plan {
                plans[k].uncut = pick.span.end
            } else {
                givenBack.removeAll { $0.video == pick.span.video && $0.start == pick.span.start }
            }
            return take(pick.span, for: worker)
        }
        // 3. Nothing unstarted: the far half of the largest span another worker has ahead.
        let victims = spans.filter { $0.value.count > 0 && allowed($0.value.video, $0.value.start + $0.value.count / 2) }
        guard let (victim, s) = victims.min(by: { a, b in  // largest, then earliest, then by name
            if a.value.count != b.value.count { return a.value.count > b.value.count }
            if order(a.value) != order(b.value) { return order(a.value) < order(b.value) }
            return a.key < b.key
        }) else { return nil }
        let split = s.start + s.count / 2
        spans[victim]!.end = split
        if spans[victim]!.count == 0 { spans.removeValue(forKey: victim) }
        return take(Span(video: s.video, start: split, end: s.end), for: worker)
    }

    /// Hands out the span's first batch; the worker keeps the rest as its span.
    private mutating func take(_ s: Span, for worker: String) -> Batch {
        let batch = Batch(video: s.video, index: s.start)
        if s.count > 1 { spans[worker] = Span(video: s.video, start: s.start + 1, end: s.end) }
        last[worker] = batch
        return batch
    }

    /// Earlier videos first, then earlier batches.
    private func order(_ s: Span) -> (Int, Int) {
        (plans.firstIndex { $0.video == s.video } ?? Int.max, s.start)
    }
}
