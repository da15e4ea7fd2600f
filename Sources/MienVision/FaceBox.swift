import CMienVision

/// A detected face: an axis-aligned box in pixels of the image it was found in (x, y = top-left
/// corner) and the detector's score (see `FaceDetector.Backend` for what the score means).
public struct FaceBox: Sendable, Equatable, Codable {
    public var x: Float
    public var y: Float
    public var width: Float
    public var height: Float
    public var score: Float

    public init(x: Float, y: Float, width: Float, height: Float, score: Float = 0) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.score = score
    }

    public var area: Float { max(0, width) * max(0, height) }
    public var centerX: Float { x + width / 2 }
    public var centerY: Float { y + height / 2 }

    /// Intersection over union with another box (0 when disjoint, 1 when identical).
    public func iou(_ other: FaceBox) -> Float {
        let inter = intersectionArea(other)
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }

    /// The fraction of this box's area that lies inside `other` (0 when disjoint, 1 when inside).
    public func fractionInside(_ other: FaceBox) -> Float {
        area > 0 ? intersectionArea(other) / area : 0
    }

    private func intersectionArea(_ other: FaceBox) -> Float {
        let ix = max(0, min(x + width, other.x + other.width) - max(x, other.x))
        let iy = max(0, min(y + height, other.y + other.height) - max(y, other.y))
        return ix * iy
    }

    init(_ b: mien_face_box) {
        self.init(x: b.x, y: b.y, width: b.w, height: b.h, score: b.score)
    }
}
