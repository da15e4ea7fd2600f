/// One face track labelled as its parts and window predictions come in: the streaming form of
/// `TrackMerger` + `TrackLabelling`, giving the same probabilities bit for bit, holding only the
/// frames whose windows are not all in (the window pipeline's lag, not the track's length).
///
/// A frame's probabilities are the mean of the windows that contain it, summed in window order.
/// Windows start in index order (`TrackWindower`), so once windows 0…k are merged, no later
/// window contains a frame before window k's start: those frames are final and leave. Frames
/// come in ascending order; a frame at or below the last one received is a repeat (a restarted
/// coordinator sending the track again) and counts once, as does a window index seen before.
///
/// A track that ends without windows (shorter than a window) is kept whole until `labelByCNN`.
public struct TrackLabelStream<Face: Sendable>: Sendable {
    /// One face of the track in one frame.
    public struct Frame: Sendable {
        public var frame: UInt64
        /// Seconds.
        public var timeS: Double
        /// The CNN's class probabilities, in label order.
        public var cnnProbs: [Double]
        public var face: Face

        public init(frame: UInt64, timeS: Double, cnnProbs: [Double], face: Face) {
            self.frame = frame
            self.timeS = timeS
            self.cnnProbs = cnnProbs
            self.face = face
        }
    }

    /// A frame whose label is final: its class probabilities (label order) and where they come from.
    public struct Labelled: Sendable {
        public var frame: Frame
        public var probs: [Double]
        public var source: LabelSource
    }

    /// One window's prediction over the track's frames in `startFrame...endFrame`.
    public struct Window: Sendable, Equatable {
        public var index: UInt32
        public var startFrame: UInt64
        public var endFrame: UInt64
        public var probs: [Float]
        /// Frames of the track the window covers (set when it is merged).
        public var frames = 0

        public init(index: UInt32, startFrame: UInt64, endFrame: UInt64, probs: [Float]) {
            self.index = index
            self.startFrame = startFrame
            self.endFrame = endFrame
            self.probs = probs
        }
    }

    private struct Pending: Sendable {
        var frame: Frame
        var sums: [Double]
        var windows = 0
    }

    public let classes: Int
    /// Frames received and not final, ascending.
    private var pending: [Pending] = []
    /// Windows received and not merged yet (a later window arrived before an earlier one).
    private var waiting: [UInt32: Window] = [:]
    public private(set) var framesReceived = 0
    public private(set) var lastFrame: UInt64?
    /// Windows 0..<windowsMerged are merged.
    public private(set) var windowsMerged: UInt32 = 0
    /// Frames below this are in no window not yet merged (the last merged window's start).
    private var finalBefore: UInt64 = 0
    /// The track's windows in all, once it ended.
    public private(set) var totalWindows: UInt32?

    public init(classes: Int) {
        precondition(classes >= 1)
        self.classes = classes
    }

    /// Windows received so far (merged or waiting).
    public var windowsReceived: Int { Int(windowsMerged) + waiting.count }
    public var ended: Bool { totalWindows != nil }
    /// Frames held now (received, not final): what this track costs in memory.
    public var framesHeld: Int { pending.count }
    /// Every frame of the ended track is final and taken (`take` or `labelByCNN`).
    public var isFinished: Bool { ended && pending.isEmpty && waiting.isEmpty && windowsMerged == totalWindows }

    /// Adds the next frames (ascending); those at or below the last frame received are repeats and
    /// are skipped. Returns how many were new.
    @discardableResult
    public mutating func add(_ frames: [Frame]) -> Int {
        var added = 0
        for f in frames where lastFrame.map({ f.frame > $0 }) ?? true {
            pending.append(Pending(frame: f, sums: [Double](repeating: 0, count: classes)))
            lastFrame = f.frame
            framesReceived += 1
            added += 1
        }
        return added
    }

    /// Adds a window's prediction. Returns false for a window index seen before (it counts once).
    @discardableResult
    public mutating func add(window: Window) -> Bool {
        guard window.index >= windowsMerged, waiting[window.index] == nil else { return false }
        waiting[window.index] = window
        return true
    }

    /// The track ended with `windows` windows in all (no frames follow).
    ///
    /// - Throws: `TrackLabellingError` when it ended before with another count.
    public mutating func end(windows: UInt32) throws {
        if let totalWindows, totalWindows != windows {
            throw TrackLabellingError(description: "the track ended with \(totalWindows) windows, then with \(windows)")
        }
        totalWindows = windows
    }

    /// The frames that became final, ascending, and the windows merged (index order, with the
    /// frames each covers). A track that ended without windows gives nothing here.
    ///
    /// - Throws: `TrackLabellingError` when a final frame is in no window, a window is out of
    ///   start order or beyond the track's windows, or has not `classes` probabilities.
    public mutating func take() throws -> (frames: [Labelled], windows: [Window]) {
        guard totalWindows != 0 else { return ([], []) }
        var merged: [Window] = []
        if let totalWindows, let beyond = waiting.keys.min(), beyond >= totalWindows {
            throw TrackLabellingError(description: "window \(beyond) is beyond the track's \(totalWindows) windows")
        }
        // A window is merged once the frames it spans are in (or the track ended).
        while var w = waiting[windowsMerged], ended || lastFrame.map({ $0 >= w.endFrame }) == true {
            guard w.probs.count == classes else {
                throw TrackLabellingError(description: "window \(w.index) has \(w.probs.count) probabilities for \(classes) classes")
            }
            guard w.startFrame >= finalBefore else {
                throw TrackLabellingError(description: "window \(w.index) starts at frame \(w.startFrame), before the window ahead of it: windows must come in start order")
            }
            waiting.removeValue(forKey: w.index)
            let span = Self.span(of: pending, from: w.startFrame, through: w.endFrame)
            for k in span {
                for c in 0..<classes { pending[k].sums[c] += Double(w.probs[c]) }
                pending[k].windows += 1
            }
            w.frames = span.count
            merged.append(w)
            finalBefore = w.startFrame
            windowsMerged += 1
        }
        let cut = isEndedAndMerged ? pending.count : Self.firstIndex(in: pending, notBelow: finalBefore)
        var out: [Labelled] = []
        out.reserveCapacity(cut)
        for p in pending[..<cut] {
            guard p.windows > 0 else {
                throw TrackLabellingError(description: "frame \(p.frame.frame) is in no window: the coordinator's windows do not cover the track")
            }
            out.append(Labelled(frame: p.frame, probs: p.sums.map { $0 / Double(p.windows) }, source: .bilstm))
        }
        pending.removeFirst(cut)
        return (out, merged)
    }

    private var isEndedAndMerged: Bool {
        guard let totalWindows else { return false }
        return windowsMerged == totalWindows && waiting.isEmpty
    }

    /// The first frame held (not final yet).
    public var firstHeldFrame: UInt64? { pending.first?.frame.frame }

    /// Labels a track that ended without windows (shorter than a window), all its frames at
    /// once, by the CNN: each frame gets the mean of the track's CNN probabilities
    /// (`TrackLabelling.cnnProbabilities`).
    ///
    /// - Throws: `TrackLabellingError` when a frame has not `classes` CNN probabilities.
    public mutating func labelByCNN() throws -> [Labelled] {
        precondition(totalWindows == 0, "only a track that ended without windows")
        let mean = try TrackLabelling.cnnProbabilities(pending.map(\.frame.cnnProbs), classes: classes)
        defer { pending.removeAll() }
        return pending.map { Labelled(frame: $0.frame, probs: mean, source: .cnn) }
    }

    /// The index range of the pending frames in `[lo, hi]` (they are ascending).
    private static func span(of frames: [Pending], from lo: UInt64, through hi: UInt64) -> Range<Int> {
        let start = firstIndex(in: frames, notBelow: lo)
        let end = hi == .max ? frames.count : firstIndex(in: frames, notBelow: hi + 1)
        return start..<max(start, end)
    }

    /// The first pending frame at or above `v` (binary search).
    private static func firstIndex(in frames: [Pending], notBelow v: UInt64) -> Int {
        var a = 0, b = frames.count
        while a < b {
            let m = (a + b) / 2
            if frames[m].frame.frame < v { a = m + 1 } else { b = m }
        }
        return a
    }
}
