import Foundation
import MienCore
import MienProto
import MienWire

/// Workers that do no compute, to measure what the coordinator (with the aggregator) can route:
/// `mien bench-routing`. The feature side answers a by-reference batch with one face per frame
/// (a box drifting 1 px per frame, so the tracker links one track per video) carrying a
/// `dimension`-long embedding; the sequence side answers every window with fixed probabilities.
/// Message sizes and counts are those of a real job with one face per frame; only the compute
/// is missing.
public final class NullFeatureCompute: WorkerCompute {
    public let role: Mien_V1_Role = .featureWorker
    public let modelHash = "null-feature-compute"
    public let capabilities: [String] = ["null"]
    private let dimension: Int
    private let classes: Int
    /// Frames of each video (`VideoProbe.frameCount`), to end the last batch.
    private let frameCount: @Sendable (String) -> Int

    public init(dimension: Int = 128, classes: Int = 7, frameCount: @escaping @Sendable (String) -> Int) {
        self.dimension = dimension
        self.classes = classes
        self.frameCount = frameCount
    }

    public func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        guard case .frameBatch(let b) = work, case .reference(let r) = b.frames else {
            throw WorkError(.badMessage, "the null feature worker takes by-reference frame batches")
        }
        let end = min(Int(min(r.endFrame, UInt64(Int.max))), frameCount(r.uri))
        let step = max(1, Int(r.sampleEvery))
        let probs = [Float](repeating: 1 / Float(classes), count: classes)
        return .embeddingBatch(.with { out in
            out.videoID = b.videoID
            out.batchID = b.batchID
            out.modelHash = modelHash
            out.frameWidth = 640
            out.frameHeight = 480
            out.frames = stride(from: Int(r.startFrame), to: max(Int(r.startFrame), end), by: step).map { f in
                .with { frame in
                    frame.index = UInt64(f)
                    frame.timeS = Double(f) / 25
                    frame.faces = [.with {
                        $0.box = .with { $0.x = 100 + Float(f % 200); $0.y = 100; $0.width = 120; $0.height = 120 }
                        $0.score = 1
                        $0.embedding = [Float](repeating: Float(f % 7) / 7, count: dimension)
                        $0.cnnProbs = .with { $0.probs = probs }
                    }]
                }
            }
        })
    }
}

/// The sequence side of the null workers: every window gets uniform probabilities.
public final class NullSequenceCompute: WorkerCompute {
    public let role: Mien_V1_Role = .sequenceWorker
    public let modelHash = "null-sequence-compute"
    public let capabilities: [String] = ["null"]
    private let classes: Int

    public init(classes: Int = 7) { self.classes = classes }

    public func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        guard case .windowBatch(let batch) = work else { throw WorkError(.badMessage, "the null sequence worker takes window batches") }
        let probs = [Float](repeating: 1 / Float(classes), count: classes)
        return .windowPredictionBatch(.with { out in
            out.batchID = batch.batchID
            out.predictions = batch.windows.map { w in
                .with {
                    $0.videoID = w.videoID
                    $0.trackID = w.trackID
                    $0.windowIndex = w.windowIndex
                    $0.startFrame = w.steps.first?.frame ?? 0
                    $0.endFrame = w.steps.last?.frame ?? 0
                    $0.probs = .with { $0.probs = probs }
                    $0.modelHash = modelHash
                }
            }
        })
    }
}
