/// Which landmarks level a face's crop (`CropMode.aligned`, `.eyes`): the eye centres that set
/// the crop's roll (and, for `.eyes`, its scale and position).
public enum LandmarkSource: String, Sendable, CaseIterable, Codable {
    /// dlib's shape predictor (`Landmarker`: the bundled 5-point model, or 68 points) fitted
    /// inside the face's box: two corners of each eye, averaged into eye centres.
    case dlib
    /// The five points RetinaFace gives with each face (`RetinaFaceDetection`: eye centres, nose
    /// tip, mouth corners), no landmark model: needs the `.retinaface` detector. A face whose box
    /// the Haar cascade drew (a follower's search) gets them from the network run on the region
    /// around its box (`FaceDetector.retinaLandmarks`).
    case retinaface

    /// The eye centres, image-left first, of landmarks from this source: dlib's 68- or 5-point
    /// layout, or RetinaFace's five (the first two are the eyes); nil for any other count.
    public func eyeCentres(_ points: [Point]) -> (left: Point, right: Point)? {
        switch self {
        case .dlib:
            return Landmarker.eyeCentres(points)
        case .retinaface:
            guard points.count == 5 else { return nil }
            return points[0].x <= points[1].x ? (points[0], points[1]) : (points[1], points[0])
        }
    }
}
