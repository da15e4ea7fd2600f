import Foundation
/// An axis-aligned box in pixels: (x, y) top-left corner, width, height.
public struct PixelBox: Sendable, Equatable {
    public var x: Double, y: Double, w: Double, h: Double
    public init(x: Double, y: Double, w: Double, h: Double) { self.x = x; self.y = y; self.w = w; self.h = h }

    /// Intersection over union (0 when disjoint or degenerate, 1 when identical).
    public func iou(_ o: PixelBox) -> Double {
        let ix = max(0, min(x + w, o.x + o.w) - max(x, o.x))
        let iy = max(0, min(y + h, o.y + o.h) - max(y, o.y))
        let inter = ix * iy
        let union = max(0, w) * max(0, h) + max(0, o.w) * max(0, o.h) - inter
        return union > 0 ? inter / union : 0
    }
}

/// Counts how many ground-truth faces a detector found. A face counts as found when some
/// detection has IoU ≥ `threshold` (0.5) with its box; each detection can match one face
/// (greedy, faces in the given order, best IoU first). Also kept: the same count over faces
/// less than 30 % occluded, and detections that matched no face.
public struct DetectionTally: Sendable, Equatable {
    public var threshold = 0.5
    public private(set) var faces = 0, found = 0
    public private(set) var visibleFaces = 0, visibleFound = 0
    public private(set) var detections = 0, unmatchedDetections = 0

    public init() {}

    /// Adds one frame: its ground-truth faces (box in pixels, occluded fraction) and the
    /// detector's boxes.
    public mutating func add(faces gt: [(box: PixelBox, occluded: Double)], detections det: [PixelBox]) {
        detections += det.count
        var free = Array(det.indices)
        for face in gt {
            let best = free.max { det[$0].iou(face.box) < det[$1].iou(face.box) }
            let hit = best.map { det[$0].iou(face.box) >= threshold } ?? false
            if hit, let best { free.removeAll { $0 == best } }
            faces += 1
            if hit { found += 1 }
            if face.occluded < 0.3 {
                visibleFaces += 1
                if hit { visibleFound += 1 }
            }
        }
        unmatchedDetections += free.count
    }

    /// Found / faces, nil before any face.
    public var rate: Double? { faces == 0 ? nil : Double(found) / Double(faces) }

    public var summary: String {
        func pct(_ a: Int, _ b: Int) -> String {
            b == 0 ? "n/a" : String(format: "%.2f %%", 100 * Double(a) / Double(b))
        }
        return "detection rate (Haar, IoU ≥ 0.5, synthetic faces): \(pct(found, faces)) of \(faces) face-frames; "
            + "\(pct(visibleFound, visibleFaces)) of \(visibleFaces) face-frames less than 30 % occluded; "
            + "\(unmatchedDetections) detections matched no face"
    }
}
