import Foundation
import Logging
import MienCore
import MienNN
import MienProto
import MienVision
import MienWire

/// Feature-worker compute: take the batch's frames (decoded by reference, or inline), detect faces, crop
/// them as the CNN expects, run the CNN on all faces of the batch at once, and return boxes,
/// embeddings and per-frame CNN probabilities.
public final class FeatureCompute: WorkerCompute {
    public let role: Mien_V1_Role = .featureWorker
    public let modelHash: String
    public var capabilities: [String] {
        ["decode:by-reference", "decode:inline", "detect:\(pipeline.options.detector.backend.rawValue)",
         "detect-every:\(follower.schedule.keyframeInterval)", "crop:\(pipeline.options.cropMode.rawValue)"]
    }
    private let cnn: FoldedCNN
    private let pipeline: FacePipeline
    /// Full detection on keyframes, faces followed in between; reset at every batch (batches are
    /// independent: any worker may get any batch).
    private let follower: FaceFollower
    private let inputSize: Int
    /// By-reference decoding; keeps the last video open so consecutive batches continue decoding.
    private let reader: FrameRangeReader
    /// The reader's figures after the last by-reference batch, for `summary` (another thread).
    private let figuresLock = NSLock()
    private var readerFigures = FrameRangeReader.Statistics()

    /// - Parameters:
    ///   - modelDirectory: a CNN bundle folder with `model.json` + safetensors.
    ///   - decoderThreads: FFmpeg decoder threads for by-reference videos (`SourceOptions`).
    public init(modelDirectory: String, pipeline options: FacePipeline.Options = .init(),
                schedule: DetectionSchedule = DetectionSchedule(),
                decoderThreads: Int = SourceOptions.defaultDecoderThreads) throws {
        reader = FrameRangeReader(keepOpen: 1, sourceOptions: SourceOptions(decoderThreads: decoderThreads))
        let json = (modelDirectory as NSString).appendingPathComponent("model.json")
        let graph = try CNNGraph.load(modelJSON: json)
        cnn = FoldedCNN(graph)
        let description = try CNNDescription.read(path: json)
        modelHash = try sha256Hex(file: (modelDirectory as NSString).appendingPathComponent(description.weightsFile))
        inputSize = description.inputHeight
        var o = options
        o.cropSize = inputSize
        pipeline = try FacePipeline(options: o)
        follower = try FaceFollower(pipeline: pipeline, schedule: schedule)
    }

    /// By-reference decoding so far: ranges, videos opened, frames handed out and decoded (the
    /// excess was decoded only to be skipped or to check a seek), ranges reached by decoding
    /// forward (`stepped`) or by a seek.
    public var summary: Logger.Metadata {
        let s = figuresLock.withLock { readerFigures }
        guard s.ranges > 0 else { return [:] }
        return ["ranges": "\(s.ranges)", "opened": "\(s.opened)", "frames": "\(s.frames)", "decoded": "\(s.decoded)",
                "stepped": "\(s.stepped)", "seeks": "\(s.seeks)"]
    }

    public func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        guard case .frameBatch(let batch) = work else {
            throw WorkError(.badMessage, "a feature worker takes frame batches, not \(work.kind)")
        }
        let started = DispatchTime.now()
        var frames: [FrameFaces] = []
        follower.reset()
        switch batch.frames {
        case .reference(let r):
            defer { let figures = reader.statistics; figuresLock.withLock { readerFigures = figures } }
            try reader.forEachFrame(r) { frames.append(try follower.process($0, still: reader.kind != .video)) }
        case .inline(let inline):
            for f in inline.frames {
                guard f.format == .gray8 || f.format == .bgr24 else { throw WorkError(.badMessage, "frame \(f.index) of \(batch.videoID) has no pixel format") }
                let channels = f.format == .gray8 ? 1 : 3
                let rowBytes = Int(f.width) * channels
                guard f.stride >= rowBytes, f.pixels.count >= Int(f.stride) * Int(f.height) else {
                    throw WorkError(.badMessage, "frame \(f.index) of \(batch.videoID): \(f.pixels.count) bytes do not hold \(f.width)×\(f.height)")
                }
                var packed = [UInt8](); packed.reserveCapacity(rowBytes * Int(f.height))
                f.pixels.withUnsafeBytes { raw in
                    for y in 0..<Int(f.height) { packed += raw[(y * Int(f.stride))..<(y * Int(f.stride) + rowBytes)] }
                }
                let frame = Frame(index: Int(f.index), timestamp: f.timeS, width: Int(f.width), height: Int(f.height),
                                  format: channels == 1 ? .gray : .bgr, pixels: packed)
                frames.append(try follower.process(frame))
            }
        case nil:
            throw WorkError(.badMessage, "frame batch \(batch.batchID) of \(batch.videoID) carries no frames")
        }
        // One CNN call for every face of the batch.
        let crops = frames.flatMap { $0.faces.map(\.crop) }
        var probs: [[Float]] = [], embeddings: [[Float]] = []
        if !crops.isEmpty {
            let x = Tensor(shape: [crops.count, inputSize, inputSize, 1], data: normalizedTensor(crops))
            let (p, e) = try cnn.predict(x)
            let k = p.shape[1], d = e.shape[1]
            probs = (0..<crops.count).map { Array(p.data[($0 * k)..<(($0 + 1) * k)]) }
            embeddings = (0..<crops.count).map { Array(e.data[($0 * d)..<(($0 + 1) * d)]) }
        }
        var next = 0
        let result = Mien_V1_EmbeddingBatch.with { out in
            out.videoID = batch.videoID
            out.batchID = batch.batchID
            out.modelHash = modelHash
            out.frameWidth = UInt32(frames.first?.frameWidth ?? 0)
            out.frameHeight = UInt32(frames.first?.frameHeight ?? 0)
            out.frames = frames.map { ff in
                .with { f in
                    f.index = UInt64(ff.frameIndex)
                    f.timeS = ff.timestamp
                    f.faces = ff.faces.map { face in
                        defer { next += 1 }
                        return .with {
                            $0.box = .with { $0.x = face.box.x; $0.y = face.box.y; $0.width = face.box.width; $0.height = face.box.height }
                            $0.score = face.box.score
                            $0.landmarks = face.landmarks.map { p in .with { $0.x = Float(p.x); $0.y = Float(p.y) } }
                            $0.embedding = embeddings[next]
                            $0.cnnProbs = .with { $0.probs = probs[next] }
                        }
                    }
                }
            }
            out.computeS = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        }
        return .embeddingBatch(result)
    }
}

/// Sequence-worker compute: the BiLSTM over ordered windows of embeddings. Windows of equal
/// length run as one batch; a short window (track shorter than T) runs at its own length.
public final class SequenceCompute: WorkerCompute {
    public let role: Mien_V1_Role = .sequenceWorker
    public let modelHash: String
    public let capabilities: [String] = ["bilstm"]
    private let bundle: BiLSTMBundle

    public init(modelDirectory: String) throws {
        bundle = try BiLSTMBundle.load(directory: modelDirectory)
        modelHash = bundle.contentHash
    }

    public var labels: [String] { bundle.labels }
    public var windowLength: Int { bundle.classifier.config.window }

    public func process(_ work: Envelope.Payload) throws -> Envelope.Payload {
        guard case .windowBatch(let batch) = work else {
            throw WorkError(.badMessage, "a sequence worker takes window batches, not \(work.kind)")
        }
        let started = DispatchTime.now()
        let d = bundle.classifier.config.inputSize, classes = bundle.classifier.config.classes
        let usesPrior = bundle.classifier.config.cnnPrior
        var probs = [[Float]](repeating: [], count: batch.windows.count)
        let byLength = Dictionary(grouping: batch.windows.indices, by: { batch.windows[$0].steps.count })
        for (t, indices) in byLength {
            guard t >= 1 else { throw WorkError(.badMessage, "window of \(batch.windows[indices[0]].videoID) has no steps") }
            var x = [Float](); x.reserveCapacity(indices.count * t * d)
            var prior = [Float]()
            for i in indices {
                for step in batch.windows[i].steps {
                    guard step.embedding.count == d else {
                        throw WorkError(.badMessage, "embedding of \(step.embedding.count) values, the BiLSTM takes \(d): CNN and BiLSTM bundles do not match")
                    }
                    x += step.embedding
                }
                if usesPrior {
                    let steps = batch.windows[i].steps
                    guard steps.allSatisfy({ $0.cnnProbs.count == classes }) else {
                        throw WorkError(.badMessage, "a window of \(batch.windows[i].videoID) lacks the CNN probabilities this BiLSTM refines (\(classes) per step): the coordinator is older than the bundle; update it")
                    }
                    prior += BiLSTMClassifier.prior(ofSteps: steps.map(\.cnnProbs), classes: classes)
                }
            }
            let p = try bundle.classifier.predict(Tensor(shape: [indices.count, t, d], data: x),
                                                  prior: usesPrior ? Tensor(shape: [indices.count, classes], data: prior) : nil)
            let k = p.shape[1]
            for (row, i) in indices.enumerated() { probs[i] = Array(p.data[(row * k)..<((row + 1) * k)]) }
        }
        return .windowPredictionBatch(.with { out in
            out.batchID = batch.batchID
            out.predictions = batch.windows.enumerated().map { i, w in
                .with {
                    $0.videoID = w.videoID
                    $0.trackID = w.trackID
                    $0.windowIndex = w.windowIndex
                    $0.startFrame = w.steps.first?.frame ?? 0
                    $0.endFrame = w.steps.last?.frame ?? 0
                    $0.probs = .with { $0.probs = probs[i] }
                    $0.modelHash = modelHash
                }
            }
            out.computeS = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        })
    }
}
