/// Links faces across frames into tracks by box overlap over time.
///
/// Frames must be given in ascending order. Each face of a frame joins the live track whose
/// last box overlaps it most (intersection over union ≥ `minIoU`, matched greedily, best
/// pairs first, one face per track), or starts a new track. A track that has not been seen
/// for more than `maxGapFrames` frames ends. Track ids are 1, 2, 3… in order of appearance.
public struct FaceTracker: Sendable {
    public struct Config: Sendable, Hashable {
        /// Least overlap for a face to continue a track.
        public var minIoU: Double
        /// Frames a track may go unseen (missed detections, brief occlusion) and still continue.
        public var maxGapFrames: UInt64

        public init(minIoU: Double = 0.3, maxGapFrames: UInt64 = 12) {
            precondition(minIoU > 0 && minIoU <= 1, "minIoU must be in (0, 1]")
            self.minIoU = minIoU
            self.maxGapFrames = maxGapFrames
        }
    }

    /// What one frame did to the tracks.
    public struct Update: Sendable, Equatable {
        /// The track id of each face, in the order the faces were given.
        public var trackIDs: [UInt32]
        /// Tracks that ended before this frame (unseen for more than `maxGapFrames`), ascending.
        public var ended: [UInt32]
    }

    private struct Live: Sendable {
        var id: UInt32
        var box: Box
        var lastFrame: UInt64
    }

    public let config: Config
    private var live: [Live] = []
    private var nextID: UInt32 = 1
    private var lastFrame: UInt64?

    public init(config: Config = Config()) {
        self.config = config
    }

    /// Assigns the faces of `frame` to tracks.
    public mutating func update(frame: UInt64, boxes: [Box]) -> Update {
        if let last = lastFrame { precondition(frame > last, "frames must be given in ascending order (\(frame) after \(last))") }
        lastFrame = frame
        // End tracks unseen for too long.
        var ended: [UInt32] = []
        live.removeAll { track in
            let gone = frame - track.lastFrame > config.maxGapFrames + 1
            if gone { ended.append(track.id) }
            return gone
        }
        // Greedy matching, best overlaps first; ties broken by track id then face order (deterministic).
        var pairs: [(iou: Double, track: Int, face: Int)] = []
        for (t, track) in live.enumerated() {
            for (f, box) in boxes.enumerated() {
                let o = track.box.iou(box)
                if o >= config.minIoU { pairs.append((o, t, f)) }
            }
        }
        pairs.sort { a, b in
            if a.iou != b.iou { return a.iou > b.iou }
            if live[a.track].id != live[b.track].id { return live[a.track].id < live[b.track].id }
            return a.face < b.face
        }
        var ids = [UInt32?](repeating: nil, count: boxes.count)
        var trackTaken = [Bool](repeating: false, count: live.count)
        for p in pairs where ids[p.face] == nil && !trackTaken[p.track] {
            ids[p.face] = live[p.track].id
            trackTaken[p.track] = true
            live[p.track].box = boxes[p.face]
            live[p.track].lastFrame = frame
        }
        for f in boxes.indices where ids[f] == nil {
            ids[f] = nextID
            live.append(Live(id: nextID, box: boxes[f], lastFrame: frame))
            nextID += 1
        }
        return Update(trackIDs: ids.map { $0! }, ended: ended.sorted())
    }

    /// Ends every live track (end of video); returns their ids, ascending.
    public mutating func finish() -> [UInt32] {
        defer { live.removeAll() }
        return live.map(\.id).sorted()
    }
}
