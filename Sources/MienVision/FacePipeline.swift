import Foundation

/// One face found in a frame: its box and score, landmarks (when a landmarker ran), the crop
/// for the CNN and how it was made.
public struct DetectedFace: Sendable, Equatable {
    public var box: FaceBox
    /// 68 or 5 points in frame pixels, or empty if landmarks were not computed.
    public var landmarks: [Point]
    /// Gray crop, `cropSize × cropSize`.
    public var crop: GrayImage
    public var cropMode: CropMode
    /// Degrees the face was rotated by to level its eyes (0 for `.fer` crops).
    public var rollDegrees: Float
}

/// Faces of one frame, ready for one batched CNN call.
public struct FrameFaces: Sendable, Equatable {
    public var frameIndex: Int
    /// Seconds from the start of the source.
    public var timestamp: Double
    public var frameWidth: Int
    public var frameHeight: Int
    public var faces: [DetectedFace]

    /// The crops as one contiguous Float32 tensor N×S×S×1 (NHWC), normalised as the CNN
    /// expects (`x/255`, then `(x − 0.5)·2`). N = faces.count.
    public var tensor: [Float] { normalizedTensor(faces.map(\.crop)) }
}

/// Detection → landmarks → crop, for one frame at a time. Holds native models: not
/// thread-safe, make one per thread or task.
public final class FacePipeline {
    public struct Options: Sendable, Equatable {
        public var detector: FaceDetector.Options
        public var cropMode: CropMode
        /// Side of the square crops in pixels (the CNN takes 64).
        public var cropSize: Int
        /// Compute landmarks even for `.fer` crops (`.aligned` and `.eyes` always do).
        public var landmarks: Bool
        /// dlib shape-predictor model (68- or 5-point).
        public var landmarkModelPath: String

        /// Defaults: Haar detector (fer's parameters except minSize 30), `.aligned` crops of 64 px
        /// (fer's framing with the head roll removed: it measured steadier than `.fer` under roll
        /// with the same classes on upright faces, docs/BENCHMARKS.md "Crop modes"), which need
        /// landmarks: the bundled 5-point model (`Landmarker.defaultModelPath`).
        public init(detector: FaceDetector.Options = .init(), cropMode: CropMode = .aligned, cropSize: Int = 64,
                    landmarks: Bool = false, landmarkModelPath: String = Landmarker.defaultModelPath) {
            self.detector = detector
            self.cropMode = cropMode
            self.cropSize = cropSize
            self.landmarks = landmarks
            self.landmarkModelPath = landmarkModelPath
        }
    }

    public let options: Options
    public let detector: FaceDetector
    public let landmarker: Landmarker?

    /// Loads the detector and, if needed, the landmark model: `sharedLandmarker` if given, else
    /// the process-wide `Landmarker.shared(modelPath:)` (thread-safe, so every pipeline on every
    /// thread shares one model: 9 MB, or 71 MB for the 68-point one).
    /// - Throws: `VisionError` naming a missing or invalid model file.
    public init(options: Options = Options(), sharedLandmarker: Landmarker? = nil) throws {
        guard options.cropSize >= 8, options.cropSize <= 1024 else {
            throw VisionError(.invalidArgument, path: nil, message: "crop size must be in 8…1024, got \(options.cropSize)")
        }
        self.options = options
        detector = try FaceDetector(options: options.detector)
        if options.cropMode != .fer || options.landmarks {
            landmarker = try sharedLandmarker ?? Landmarker.shared(modelPath: options.landmarkModelPath)
        } else {
            landmarker = nil
        }
    }

    /// Finds, measures and crops every face in a gray frame.
    public func process(_ image: GrayImage, frameIndex: Int = 0, timestamp: Double = 0) throws -> FrameFaces {
        try faces(in: image, boxes: try detector.detect(image), frameIndex: frameIndex, timestamp: timestamp)
    }

    /// Measures and crops the faces in `boxes` (found in `image` by any means). `knownLandmarks[i]`,
    /// when given and not nil, are used for `boxes[i]` instead of running the landmark model.
    public func faces(in image: GrayImage, boxes: [FaceBox], knownLandmarks: [[Point]?] = [],
                      frameIndex: Int = 0, timestamp: Double = 0) throws -> FrameFaces {
        var faces: [DetectedFace] = []
        faces.reserveCapacity(boxes.count)
        for (i, box) in boxes.enumerated() {
            let known = i < knownLandmarks.count ? knownLandmarks[i] : nil
            let points = try known ?? landmarker?.landmarks(in: image, box: box) ?? []
            switch options.cropMode {
            case .fer:
                guard let crop = try ferCrop(image, box: box, size: options.cropSize) else { continue }
                faces.append(DetectedFace(box: box, landmarks: points, crop: crop, cropMode: .fer, rollDegrees: 0))
            case .aligned, .eyes:
                guard let eyes = Landmarker.eyeCentres(points) else { continue }
                let m = options.cropMode == .aligned
                    ? ferAlignedTransform(box: box, left: eyes.left, right: eyes.right, size: options.cropSize)
                    : alignmentTransform(left: eyes.left, right: eyes.right, size: options.cropSize)
                let crop = try warpCrop(image, transform: m, size: options.cropSize)
                let roll = atan2(Double(eyes.right.y - eyes.left.y), Double(eyes.right.x - eyes.left.x)) * 180 / .pi
                faces.append(DetectedFace(box: box, landmarks: points, crop: crop, cropMode: options.cropMode, rollDegrees: Float(roll)))
            }
        }
        return FrameFaces(frameIndex: frameIndex, timestamp: timestamp, frameWidth: image.width, frameHeight: image.height, faces: faces)
    }

    /// Processes a decoded frame (converted to gray first if it is BGR).
    public func process(_ frame: Frame) throws -> FrameFaces {
        try process(frame.grayImage, frameIndex: frame.index, timestamp: frame.timestamp)
    }
}
