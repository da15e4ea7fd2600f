import Foundation

/// One face found in a frame: its box and score, landmarks (when a landmarker ran), the crop
/// for the CNN and how it was made.
public struct DetectedFace: Sendable, Equatable {
    public var box: FaceBox
    /// In frame pixels: dlib's 68 or 5 points, or RetinaFace's five (`FacePipeline.Options.landmarkSource`);
    /// empty if landmarks were not computed (or, from RetinaFace, not found: the crop is then upright).
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
        /// Whose landmarks level the crops: dlib's model or RetinaFace's own (`.retinaface` detector only).
        public var landmarkSource: LandmarkSource

        /// Defaults: Haar detector (fer's parameters except minSize 30), `.aligned` crops of 64 px
        /// (fer's framing with the head roll removed: it measured steadier than `.fer` under roll
        /// with the same classes on upright faces, docs/BENCHMARKS.md "Crop modes"), which need
        /// landmarks: the bundled 5-point model (`Landmarker.defaultModelPath`).
        public init(detector: FaceDetector.Options = .init(), cropMode: CropMode = .aligned, cropSize: Int = 64,
                    landmarks: Bool = false, landmarkModelPath: String = Landmarker.defaultModelPath,
                    landmarkSource: LandmarkSource = .dlib) {
            self.detector = detector
            self.cropMode = cropMode
            self.cropSize = cropSize
            self.landmarks = landmarks
            self.landmarkModelPath = landmarkModelPath
            self.landmarkSource = landmarkSource
        }
    }

    public let options: Options
    public let detector: FaceDetector
    public let landmarker: Landmarker?

    /// Loads the detector and, if needed, the dlib landmark model: `sharedLandmarker` if given,
    /// else the process-wide `Landmarker.shared(modelPath:)` (thread-safe, so every pipeline on
    /// every thread shares one model: 9 MB, or 71 MB for the 68-point one). With RetinaFace's
    /// landmarks no dlib model is loaded.
    /// - Throws: `VisionError` naming a missing or invalid model file; `.invalidArgument` for
    ///   RetinaFace's landmarks without the RetinaFace detector.
    public init(options: Options = Options(), sharedLandmarker: Landmarker? = nil) throws {
        guard options.cropSize >= 8, options.cropSize <= 1024 else {
            throw VisionError(.invalidArgument, path: nil, message: "crop size must be in 8…1024, got \(options.cropSize)")
        }
        guard options.landmarkSource == .dlib || options.detector.backend == .retinaface else {
            throw VisionError(.invalidArgument, path: nil,
                              message: "RetinaFace's landmarks need the retinaface detector, not \(options.detector.backend.rawValue): choose dlib's landmarks or the retinaface detector")
        }
        self.options = options
        detector = try FaceDetector(options: options.detector)
        if options.landmarkSource == .dlib, options.cropMode != .fer || options.landmarks {
            landmarker = try sharedLandmarker ?? Landmarker.shared(modelPath: options.landmarkModelPath)
        } else {
            landmarker = nil
        }
    }

    /// Finds, measures and crops every face in a gray frame (`fullResolution`: as
    /// `FaceDetector.detect(_:fullResolution:)`, for stills).
    public func process(_ image: GrayImage, frameIndex: Int = 0, timestamp: Double = 0, fullResolution: Bool = false) throws -> FrameFaces {
        let found = try detector.detectFaces(image, fullResolution: fullResolution)
        return try faces(in: image, boxes: found.map(\.box), knownLandmarks: detectorLandmarks(found),
                         frameIndex: frameIndex, timestamp: timestamp)
    }

    /// The landmarks a full detection gives its faces that this pipeline uses as they are:
    /// RetinaFace's with `.retinaface` landmarks, none (measure them) with dlib's.
    public func detectorLandmarks(_ found: [FaceDetector.Found]) -> [[Point]?] {
        options.landmarkSource == .retinaface ? found.map { $0.landmarks.isEmpty ? nil : $0.landmarks } : []
    }

    /// The landmarks of the face in `box` from `options.landmarkSource`: dlib's model fitted in the
    /// box, or RetinaFace run around it (`FaceDetector.retinaLandmarks`; empty when it finds no
    /// face there). Empty when no landmarks are needed.
    public func measureLandmarks(_ image: GrayImage, box: FaceBox) throws -> [Point] {
        switch options.landmarkSource {
        case .dlib: return try landmarker?.landmarks(in: image, box: box) ?? []
        case .retinaface:
            guard options.cropMode != .fer || options.landmarks else { return [] }
            return try detector.retinaLandmarks(image, box: box) ?? []
        }
    }

    /// Measures and crops the faces in `boxes` (found in `image` by any means). `knownLandmarks[i]`,
    /// when given and not nil, are used for `boxes[i]` instead of measuring them (`measureLandmarks`).
    /// A face without eye landmarks gets no `.eyes` crop, and an upright `.aligned` one.
    public func faces(in image: GrayImage, boxes: [FaceBox], knownLandmarks: [[Point]?] = [],
                      frameIndex: Int = 0, timestamp: Double = 0) throws -> FrameFaces {
        var faces: [DetectedFace] = []
        faces.reserveCapacity(boxes.count)
        for (i, box) in boxes.enumerated() {
            let known = i < knownLandmarks.count ? knownLandmarks[i] : nil
            let points = try known ?? measureLandmarks(image, box: box)
            switch options.cropMode {
            case .fer:
                guard let crop = try ferCrop(image, box: box, size: options.cropSize) else { continue }
                faces.append(DetectedFace(box: box, landmarks: points, crop: crop, cropMode: .fer, rollDegrees: 0))
            case .aligned, .eyes:
                let level = (left: Point(x: box.x, y: box.centerY), right: Point(x: box.x + box.width, y: box.centerY))
                guard let eyes = options.landmarkSource.eyeCentres(points) ?? (options.cropMode == .aligned ? level : nil) else { continue }
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
