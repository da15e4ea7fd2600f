import Foundation
import XCTest
import MienProto
import MienWire
@testable import MienCluster

/// A synthetic "video" for the coordination tests: `frames` frames, one face per frame moving
/// slowly (a second face on frames 10..<30 of odd-numbered videos). No pixels: the test
/// double below turns frame indices into boxes and embeddings deterministically, so these
/// tests exercise batching, credit, ordering, tracking, windowing, merging and faults
/// without vision or NN cost.
struct FakeArchive {
    static func probe(_ input: VideoInput) throws -> VideoProbe {
        if input.path.hasSuffix(".corrupt") { throw ClusterError.input("cannot open \(input.path): corrupt file (test)") }
        let frames = Int(input.path.split(separator: "-").last!)!
        return VideoProbe(fps: 25, frameCount: frames, width: 640, height: 480)
    }

    static func inputs(_ counts: [Int]) -> [VideoInput] {
        counts.enumerated().map { i, n in VideoInput(id: "video\(i)", path: "fake/v\(i)-\(n)", groundTruth: ["happy", "sad", "neutral"][i % 3]) }
    }
}

/// The frames of a fake range: `[start, end)` clamped to the frame count in the path.
func fakeFrames(_ r: Mien_V1_FrameRange) -> Range<Int> {
    let total = Int(r.uri.split(separator: "-").last!)!
    let start = Int(r.startFrame)
    return start..<max(start, min(Int(min(r.endFrame, UInt64(Int.max))), total))
}

/// Counts shared by a fake decoder and fake workers (inline-mode tests).
final class InlineTally: @unchecked Sendable {
    private let lock = NSLock()
    private var decoded = 0, processed = 0, inlineBatches = 0, referenceBatches = 0
    /// Most batches decoded and not yet answered by a worker, seen when a batch was decoded.
    private(set) var maxHeld = 0

    func decodedOne() { lock.withLock { decoded += 1; maxHeld = max(maxHeld, decoded - processed) } }
    func processedOne(inline: Bool) { lock.withLock { processed += 1; if inline { inlineBatches += 1 } else { referenceBatches += 1 } } }
    var counts: (inline: Int, reference: Int) { lock.withLock { (inlineBatches, referenceBatches) } }
    var peakHeld: Int { lock.withLock { maxHeld } }
}

/// Inline-mode decoder test double: one 2×1 GRAY8 frame per index of the fake range, the
/// pixels naming the frame; a path containing "undecodable" fails to decode.
final class FakeInlineDecoder: InlineFrameDecoding {
    let tally: InlineTally?
    init(tally: InlineTally? = nil) { self.tally = tally }

    func inlineFrames(_ range: Mien_V1_FrameRange) throws -> Mien_V1_InlineFrames {
        if range.uri.contains("undecodable") { throw WorkError(.decodeFailed, "\(range.uri): invalid data found when processing input (test)") }
        tally?.decodedOne()
        return .with {
            $0.frames = fakeFrames(range).map { f in
                .with {
                    $0.index = UInt64(f)
                    $0.timeS = Double(f) / 25
                    $0.width = 2
                    $0.height = 1
                    $0.format = .gray8
                    $0.stride = 2
                    $0.pixels = Data([UInt8(f & 0xFF), UInt8(f >> 8)])
                }
            }
        }
    }
}

/// Which batches each fake feature worker ran, in the order it ran them (affinity tests).
final class BatchLog: @unchecked Sendable {
    private let lock = NSLock()
    private var workers = 0
    private var ran: [Int: [(video: String, start: Int)]] = [:]

    private var sequenceAfter: [Int] = []
    private var windowBatches: [[String]] = []

    func newWorker() -> Int { lock.withLock { workers += 1; return workers } }
    func record(worker: Int, video: String, start: Int) { lock.withLock { ran[worker, default: []].append((video, start)) } }
    /// A sequence worker ran a window batch (its windows as "video/track/index"): remembers them
    /// and how many feature batches had run by then.
    func recordSequenceBatch(_ windows: [String]) {
        lock.withLock {
            sequenceAfter.append(ran.values.reduce(0) { $0 + $1.count })
            windowBatches.append(windows)
        }
    }
    /// The window batches the sequence workers ran, in the order they ran.
    var windowBatchContents: [[String]] { lock.withLock { windowBatches } }
    /// For each window batch, in the order they ran, the feature batches that had run before it.
    var featureBatchesBeforeEachSequenceBatch: [Int] { lock.withLock { sequenceAfter } }
    /// Worker → the batches it ran, in order.
    var batches: [Int: [(video: String, start: Int)]] { lock.withLock { ran } }
}

/// Feature compute test double: boxes and embeddings as functions of (video, frame).
final class FakeFeatureCompute: WorkerCompute {
    let role: Mien_V1_Role = .featureWorker
    let modelHash: String
    let capabilities: [String] = ["fake"]
    let delay: TimeInterval
    /// A worker without the videos' storage: by-reference batches fail as they would there.
    let noStorage: Bool
    let tally: InlineTally?
    let log: BatchLog?
    let logID: Int
    init(modelHash: String = "cnn-fake", delay: TimeInterval = 0, noStorage: Bool = false, tally: InlineTally? = nil, log: BatchLog? = nil) {
        self.modelHash = modelHash
        self.delay = delay
        self.noStorage = noStorage
        self.tally = tally
        self.log = log
        logID = log?.newWorker() ?? 0
    }

    func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        guard case .frameBatch(let b) = work else { throw WorkError(.badMessage, "not a frame batch") }
        if delay > 0 { Thread.sleep(forTimeInterval: delay) }
        // Frame indices and times: from the inline frames (checking their pixels name them) or the range.
        let frames: [(index: Int, time: Double)]
        let inline: Bool
        switch b.frames {
        case .inline(let carried):
            for f in carried.frames where f.pixels != Data([UInt8(f.index & 0xFF), UInt8(f.index >> 8)]) {
                throw WorkError(.badMessage, "frame \(f.index) carries another frame's pixels")
            }
            frames = carried.frames.map { (Int($0.index), $0.timeS) }
            inline = true
        case .reference(let r):
            if noStorage { throw WorkError(.inputNotFound, "\(r.uri): no such file or folder (no shared storage)") }
            if r.uri.contains("undecodable") { throw WorkError(.decodeFailed, "\(r.uri): invalid data found when processing input (test)") }
            frames = fakeFrames(r).map { ($0, Double($0) / 25) }
            inline = false
        case nil:
            throw WorkError(.badMessage, "no frames")
        }
        tally?.processedOne(inline: inline)
        log?.record(worker: logID, video: b.videoID, start: frames.first?.index ?? -1)
        let video = Int(b.videoID.dropFirst(5))!
        return .embeddingBatch(.with { out in
            out.videoID = b.videoID
            out.batchID = b.batchID
            out.modelHash = modelHash
            out.frames = frames.map { fr in
                .with { ff in
                    let f = fr.index
                    ff.index = UInt64(f)
                    ff.timeS = fr.time
                    var faces: [Mien_V1_Face] = [face(x: 100 + Float(f), f: f, video: video, which: 0)]
                    if video % 2 == 1 && (10..<30).contains(f) { faces.append(face(x: 400, f: f, video: video, which: 1)) }
                    ff.faces = faces
                }
            }
        })
    }

    func face(x: Float, f: Int, video: Int, which: Int) -> Mien_V1_Face {
        .with {
            $0.box = .with { $0.x = x; $0.y = 100; $0.width = 80; $0.height = 80 }
            $0.score = 1
            $0.embedding = (0..<4).map { Float(($0 + f + video + which) % 4) }
            var p = [Float](repeating: 0.1 / 6, count: 7)
            p[(video + which) % 7] = 0.9
            $0.cnnProbs = .with { $0.probs = p }
        }
    }
}

/// Sequence compute test double: probabilities from the window's first frame, so merged
/// labels are deterministic functions of the windows.
final class FakeSequenceCompute: WorkerCompute {
    let role: Mien_V1_Role = .sequenceWorker
    let modelHash = "bilstm-fake"
    let capabilities: [String] = ["fake"]
    let log: BatchLog?
    init(log: BatchLog? = nil) { self.log = log }

    func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        guard case .windowBatch(let b) = work else { throw WorkError(.badMessage, "not a window batch") }
        log?.recordSequenceBatch(b.windows.map { "\($0.videoID)/\($0.trackID)/\($0.windowIndex)" })
        return .windowPredictionBatch(.with { out in
            out.batchID = b.batchID
            out.predictions = b.windows.map { w in
                .with {
                    $0.videoID = w.videoID
                    $0.trackID = w.trackID
                    $0.windowIndex = w.windowIndex
                    $0.startFrame = w.steps.first!.frame
                    $0.endFrame = w.steps.last!.frame
                    var p = [Float](repeating: 0.05, count: 7)
                    p[Int(w.steps.first!.frame / 20) % 7] = 0.7
                    $0.probs = .with { $0.probs = p }
                    $0.modelHash = modelHash
                }
            }
        })
    }
}

extension XCTestCase {
    /// A fresh folder under the temporary directory, removed when the test ends.
    func temporaryDirectory(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "mien-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}

func readLines(_ dir: String, _ file: String) -> [[String: Any]] {
    Sinks.lines((dir as NSString).appendingPathComponent(file)).map {
        try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
    }
}
