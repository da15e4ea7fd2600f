import Foundation
import MienCore
import MienVision

/// Labelled face crops cut from a labelled video set (the layout `mien synth` writes: clips,
/// `labels.csv`, `frames.csv` with a box per face per frame): every sampled frame goes through
/// the `FacePipeline` (detect → landmarks → aligned crop, exactly what inference sees), and
/// each detected face takes the label of the true face its box overlaps (`FaceTruth`, IoU ≥
/// 0.3). The group of a crop is its clip, so splits never put one clip in two sets.
public enum LabelledVideoCrops {
    /// What happened to the frames and detections (nothing is dropped silently).
    public struct Tally: Sendable, Equatable, CustomStringConvertible {
        public var videos = 0
        public var framesRead = 0
        /// Sampled frames without any ground truth row (skipped).
        public var framesWithoutTruth = 0
        public var detections = 0
        /// Detections that matched a labelled face (kept as crops).
        public var labelled = 0
        /// Detections that overlap no true face (false detections; left out).
        public var unmatched = 0
        /// Detections whose label is not one of the classes (left out).
        public var unknownLabel = 0

        public var description: String {
            "\(videos) videos, \(framesRead) frames read (\(framesWithoutTruth) without ground truth), \(detections) detections: \(labelled) labelled crops, \(unmatched) matched no true face, \(unknownLabel) had an unknown label"
        }
    }

    /// Reads the crops of `videos` (id, path). `frameTruth[id][frame]` are the true faces of a
    /// frame; every `frameStep`-th frame is used.
    public static func read(videos: [(id: String, path: String)], frameTruth: [String: [UInt64: [FaceTruth]]],
                            labels: [String] = ExpressionClass.labels, pipeline: FacePipeline, frameStep: Int = 1,
                            progress: (String) -> Void = { _ in }) throws -> (FaceImageSet, Tally) {
        precondition(frameStep >= 1, "frame step must be ≥ 1")
        let side = pipeline.options.cropSize
        var set = FaceImageSet(side: side)
        var tally = Tally()
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        for (k, video) in videos.enumerated() {
            guard let truth = frameTruth[video.id] ?? frameTruth[(video.id as NSString).lastPathComponent] else {
                throw TrainingError("\(video.path) has no rows in frames.csv: add its per-frame labels or remove the video")
            }
            let source = try MediaSource.open(video.path)
            tally.videos += 1
            try source.forEachFrame(in: 0..<Int.max, format: .gray, sampling: .every(frameStep)) { frame in
                tally.framesRead += 1
                guard let faces = truth[UInt64(frame.index)] else { tally.framesWithoutTruth += 1; return }
                let found = try pipeline.process(frame)
                for face in found.faces {
                    tally.detections += 1
                    let box = Box(x: Double(face.box.x), y: Double(face.box.y), width: Double(face.box.width), height: Double(face.box.height))
                    guard let name = FaceTruth.label(for: box, among: faces) else { tally.unmatched += 1; continue }
                    guard let label = index[name] else { tally.unknownLabel += 1; continue }
                    set.append(pixels: face.crop.pixels, label: label, group: video.id, source: "\(video.id) frame \(frame.index)")
                    tally.labelled += 1
                }
            }
            progress("crops: video \(k + 1)/\(videos.count) \(video.id): \(set.count) crops so far")
        }
        return (set, tally)
    }
}
