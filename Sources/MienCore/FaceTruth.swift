/// The ground truth of one face in one frame.
public struct FaceTruth: Sendable, Hashable {
    public var label: String
    public var box: Box?

    public init(label: String, box: Box?) {
        self.label = label
        self.box = box
    }

    /// The label of the face among `faces` that a detection at `box` shows: the face whose
    /// box overlaps it most (IoU ≥ 0.3); a single face without a box matches any detection.
    /// Nil when the detection matches no true face (a false detection has no truth).
    public static func label(for box: Box, among faces: [FaceTruth]) -> String? {
        if faces.count == 1, faces[0].box == nil { return faces[0].label }
        let scored = faces.compactMap { f in f.box.map { (f.label, $0.iou(box)) } }
        guard let best = scored.max(by: { $0.1 < $1.1 }), best.1 >= 0.3 else { return nil }
        return best.0
    }
}
