import CMienVision

/// Finds all faces in a grayscale image.
///
/// Backends:
/// - `.haar`: OpenCV's Viola–Jones Haar cascade (`haarcascade_frontalface_default.xml` from
///   Debian's `opencv-data`), the detector the `fer` package uses. Score = number of merged
///   neighbouring raw detections (an integer ≥ `minNeighbors`; higher is more certain).
///   Stump-based cascades like that one are evaluated by Mien's own evaluator (haar_cascade.cpp:
///   exactly OpenCV's detections, ~4× faster); others by OpenCV (see `haarEvaluator`).
/// - `.hog`: dlib's HOG + linear-SVM frontal face detector (built into Debian's `libdlib-dev`,
///   no model file). Score = SVM margin (> 0 at dlib's default operating point). Its 80×80 window
///   finds faces from ~80 px, or ~40 px with `upsample` 1.
/// - `.retinaface`: RetinaFace-MobileNet0.25, a CNN run by OpenCV's `cv::dnn` (`RetinaFace`;
///   the bundled model in `models/retinaface/`). Frontal faces and profiles from ~16 px at its
///   input scale; the frame is scaled so that a face of `minSize` is ~20 px (never enlarged).
///   Score = face probability (kept above `minFaceProbability`). Each face is framed as the Haar
///   cascade frames it — the cascade's box where its search around the face finds one, else
///   `RetinaFace.haarFramed` — so crops and tracking see the boxes they were made for; faces
///   too small for the scan's scale are proposed by the cascade and confirmed by the network
///   (`confirmedProposals`); the follower's searches try the cascade first and the network only
///   when it finds nothing.
///
/// Large frames are detected on a copy downscaled (pixel-area averaging) so that the longer
/// side is `maxSide`; boxes are always returned in the coordinates of the image passed in.
///
/// A detector holds native state and is not thread-safe: use one per thread or task.
public final class FaceDetector {
    /// Which detection algorithm runs.
    public enum Backend: String, Sendable, CaseIterable, Codable {
        case haar
        case hog
        case retinaface
    }

    /// Detection parameters.
    public struct Options: Sendable, Equatable {
        /// Which detector.
        public var backend: Backend
        /// Cascade XML for `.haar`.
        public var cascadePath: String
        /// Haar image-pyramid step, > 1 (smaller = slower, finds more sizes).
        public var scaleFactor: Double
        /// Haar: minimum merged neighbours for a box to count (higher = fewer false positives).
        public var minNeighbors: Int
        /// Smallest face side, in pixels of the image passed in.
        public var minSize: Int
        /// Longer side of the working copy detection runs on; frames larger than this are
        /// downscaled first. 0 disables downscaling.
        public var maxSide: Int
        /// Histogram-equalise the working copy before detection.
        public var equalize: Bool
        /// `.hog` only: double the working copy before detection (0 or 1), to find faces of
        /// 40–80 px.
        public var upsample: Int
        /// `.hog` only: SVM score threshold (0 = dlib's default; lower finds more).
        public var threshold: Double
        /// Largest face side, in pixels of the image passed in (0 = no limit). Haar stops its
        /// image pyramid there, which makes a search for a face of known size cheap.
        public var maxSize: Int
        /// `.retinaface` only: the ONNX model.
        public var modelPath: String
        /// `.retinaface` only: face probability a box needs (0–1).
        public var minFaceProbability: Float

        /// Defaults: Haar with scale factor 1.1, 5 neighbours (`fer`'s and OpenCV's tutorial
        /// values), faces of at least 30 px, detection on a copy at most 640 px on its longer side.
        public init(backend: Backend = .haar,
                    cascadePath: String = FaceDetector.defaultCascadePath,
                    scaleFactor: Double = 1.1, minNeighbors: Int = 5, minSize: Int = 30,
                    maxSide: Int = 640, equalize: Bool = false, upsample: Int = 0, threshold: Double = 0,
                    maxSize: Int = 0, modelPath: String = RetinaFace.defaultModelPath,
                    minFaceProbability: Float = RetinaFace.defaultThreshold) {
            self.backend = backend
            self.cascadePath = cascadePath
            self.scaleFactor = scaleFactor
            self.minNeighbors = minNeighbors
            self.minSize = minSize
            self.maxSide = maxSide
            self.equalize = equalize
            self.upsample = upsample
            self.threshold = threshold
            self.maxSize = maxSize
            self.modelPath = modelPath
            self.minFaceProbability = minFaceProbability
        }
    }

    /// Where Debian's `opencv-data` installs the frontal-face Haar cascade.
    public static let defaultCascadePath = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"

    public let options: Options
    /// `.haar` only: evaluate the cascade with OpenCV's `cv::CascadeClassifier` instead of Mien's
    /// own evaluator (which gives exactly its detections, faster): the reference that one is
    /// tested and timed against. SPI (`@_spi(Reference) import MienVision`): for `mien bench-haar`,
    /// `mien detect --haar-opencv` and the tests, not the API.
    @_spi(Reference) public var usesOpenCVReference = false
    /// The Haar handle (`.haar`); internal so that tests reach its hooks (CMienVision.Testing).
    let haar: OpaquePointer?
    private let hog: OpaquePointer?
    /// `.retinaface`: the network (FaceDetector-retinaface.swift).
    let retina: RetinaFace?

    /// Loads the detector's model.
    /// - Throws: `VisionError` naming the model file if it is missing or invalid, or
    ///   `.invalidArgument` if an option is out of range.
    public init(options: Options = Options()) throws {
        guard options.scaleFactor > 1, options.scaleFactor <= 4 else {
            throw VisionError(.invalidArgument, path: nil, message: "scaleFactor must be in (1, 4], got \(options.scaleFactor)")
        }
        guard options.minNeighbors >= 0, options.minSize >= 0 else {
            throw VisionError(.invalidArgument, path: nil, message: "minNeighbors and minSize must be ≥ 0")
        }
        guard options.maxSize == 0 || options.maxSize >= options.minSize else {
            throw VisionError(.invalidArgument, path: nil, message: "maxSize must be 0 (no limit) or ≥ minSize (\(options.minSize)), got \(options.maxSize)")
        }
        guard options.maxSide == 0 || options.maxSide >= 32 else {
            throw VisionError(.invalidArgument, path: nil, message: "maxSide must be 0 (off) or ≥ 32, got \(options.maxSide)")
        }
        guard options.upsample == 0 || options.upsample == 1 else {
            throw VisionError(.invalidArgument, path: nil, message: "upsample must be 0 or 1, got \(options.upsample)")
        }
        guard options.minFaceProbability > 0, options.minFaceProbability < 1 else {
            throw VisionError(.invalidArgument, path: nil, message: "minFaceProbability must be in (0, 1), got \(options.minFaceProbability)")
        }
        self.options = options
        var handle: OpaquePointer?
        switch options.backend {
        case .haar:
            try checked(path: options.cascadePath) { err, len in
                mien_haar_create(options.cascadePath, &handle, err, len)
            }
            haar = handle
            hog = nil
            retina = nil
        case .hog:
            try checked(path: nil) { err, len in mien_hog_create(&handle, err, len) }
            hog = handle
            haar = nil
            retina = nil
        case .retinaface:
            retina = try RetinaFace(modelPath: options.modelPath)
            try checked(path: options.cascadePath) { err, len in
                mien_haar_create(options.cascadePath, &handle, err, len)
            }
            haar = handle  // frames RetinaFace's faces as the cascade does (FaceDetector-retinaface.swift)
            hog = nil
        }
    }

    /// `.haar` only: whether Mien's own evaluator runs the cascade (stump-based HAAR cascades), and
    /// which path ("mien (AVX2)", "mien (scalar)") or why not (OpenCV evaluates the others).
    public var haarEvaluator: (isMien: Bool, description: String) {
        guard let haar else { return (false, "not a Haar detector") }
        var buffer = [CChar](repeating: 0, count: 256)
        let native = mien_haar_evaluator(haar, &buffer, buffer.count)
        return (native == 1, cMessage(buffer))
    }

    deinit {
        if let haar { mien_haar_destroy(haar) }
        if let hog { mien_hog_destroy(hog) }
    }

    var params: mien_detect_params {
        mien_detect_params(scale_factor: options.scaleFactor, min_neighbors: Int32(options.minNeighbors),
                           min_size: Int32(options.minSize), max_side: Int32(options.maxSide),
                           equalize: options.equalize ? 1 : 0, threshold: options.threshold,
                           upsample: Int32(options.upsample), max_size: Int32(options.maxSize))
    }

    /// Faces of side `sizes` (pixels of `image`) inside `region` of `image` only — the search a
    /// face follower makes around a face's last box. The region is clipped to the image; the
    /// search runs on the region downscaled so that the smallest accepted face is about
    /// `workingFaceSide` pixels (never upscaled, never below the detector's window).
    /// Boxes are in `image`'s coordinates.
    public func detect(_ image: GrayImage, in region: FaceBox, sizes: ClosedRange<Int>, workingFaceSide: Int = 48,
                       minNeighbors: Int? = nil, scaleFactor: Double? = nil) throws -> [FaceBox] {
        if let retina {
            return try retinaSearch(retina, image, in: region, sizes: sizes, workingFaceSide: workingFaceSide,
                                    minNeighbors: minNeighbors, scaleFactor: scaleFactor)
        }
        return try cascadeSearch(image, in: region, sizes: sizes, workingFaceSide: workingFaceSide,
                                 minNeighbors: minNeighbors, scaleFactor: scaleFactor)
    }

    /// `detect(_:in:sizes:…)` by the Haar cascade or HOG (`.retinaface`: its Haar cascade).
    func cascadeSearch(_ image: GrayImage, in region: FaceBox, sizes: ClosedRange<Int>, workingFaceSide: Int,
                       minNeighbors: Int?, scaleFactor: Double?) throws -> [FaceBox] {
        let x0 = max(0, Int(region.x.rounded(.down))), y0 = max(0, Int(region.y.rounded(.down)))
        let x1 = min(image.width, Int((region.x + region.width).rounded(.up)))
        let y1 = min(image.height, Int((region.y + region.height).rounded(.up)))
        guard x1 - x0 >= max(1, sizes.lowerBound), y1 - y0 >= max(1, sizes.lowerBound) else { return [] }
        var p = params
        p.min_size = Int32(sizes.lowerBound)
        p.max_size = Int32(sizes.upperBound)
        if let minNeighbors { p.min_neighbors = Int32(max(0, minNeighbors)) }
        if let scaleFactor { p.scale_factor = scaleFactor }
        // Downscale so that the smallest face sought is ~workingFaceSide px, never below what the
        // detector can see: Haar's window is 24 px, dlib's HOG window 80 px (40 after upsampling).
        let floor = options.backend != .hog ? 24 : (options.upsample == 1 ? 40 : 80)
        let longer = max(x1 - x0, y1 - y0)
        let shrink = Double(max(sizes.lowerBound, 1)) / Double(max(workingFaceSide, floor))
        p.max_side = shrink > 1 ? Int32(max(32, Int((Double(longer) / shrink).rounded(.up)))) : 0
        let boxes = try image.pixels.withUnsafeBufferPointer { buf in
            try detect(gray: buf.baseAddress! + y0 * image.width + x0, width: x1 - x0, height: y1 - y0,
                       rowBytes: image.width, params: p)
        }
        return boxes.map { FaceBox(x: $0.x + Float(x0), y: $0.y + Float(y0), width: $0.width, height: $0.height, score: $0.score) }
    }

    /// A face a full detection found: its box and, with `.retinaface`, the network's five
    /// landmarks (`RetinaFaceDetection`; empty for the other backends).
    public struct Found: Sendable, Equatable {
        public var box: FaceBox
        public var landmarks: [Point]
    }

    /// All faces in `image`, highest score first, in the image's pixel coordinates.
    /// `fullResolution` (stills): no downscaling (`maxSide` ignored); `.retinaface` also finds
    /// faces below `minSize`, every face the network can see at the image's own size.
    public func detect(_ image: GrayImage, fullResolution: Bool = false) throws -> [FaceBox] {
        try detectFaces(image, fullResolution: fullResolution).map(\.box)
    }

    /// `detect(_:fullResolution:)` with RetinaFace's landmarks of each face (`.retinaface`).
    public func detectFaces(_ image: GrayImage, fullResolution: Bool = false) throws -> [Found] {
        if let retina { return try retinaDetect(retina, image, fullResolution: fullResolution) }
        var p = params
        if fullResolution { p.max_side = 0 }
        return try image.pixels.withUnsafeBufferPointer { buf in
            try detect(gray: buf.baseAddress!, width: image.width, height: image.height, rowBytes: image.width, params: p)
        }.map { Found(box: $0, landmarks: []) }
    }

    /// For tests: all faces in `image` with these parameters instead of the options'.
    func detect(_ image: GrayImage, scaleFactor: Double, minNeighbors: Int, minSize: Int, maxSize: Int = 0) throws -> [FaceBox] {
        var p = params
        p.scale_factor = scaleFactor
        p.min_neighbors = Int32(minNeighbors)
        p.min_size = Int32(minSize)
        p.max_size = Int32(maxSize)
        return try image.pixels.withUnsafeBufferPointer { buf in
            try detect(gray: buf.baseAddress!, width: image.width, height: image.height, rowBytes: image.width, params: p)
        }
    }

    /// All faces in a raw gray buffer (`height` rows of `rowBytes` bytes, first `width` used).
    public func detect(gray: UnsafePointer<UInt8>, width: Int, height: Int, rowBytes: Int) throws -> [FaceBox] {
        if retina != nil {
            var pixels = [UInt8](); pixels.reserveCapacity(width * height)
            for y in 0..<height { pixels += UnsafeBufferPointer(start: gray + y * rowBytes, count: width) }
            return try detect(GrayImage(width: width, height: height, pixels: pixels))
        }
        return try detect(gray: gray, width: width, height: height, rowBytes: rowBytes, params: params)
    }

    func detect(gray: UnsafePointer<UInt8>, width: Int, height: Int, rowBytes: Int, params: mien_detect_params) throws -> [FaceBox] {
        var p = params
        var capacity = 16
        while true {
            var boxes = [mien_face_box](repeating: mien_face_box(), count: capacity)
            var count: Int32 = 0
            try boxes.withUnsafeMutableBufferPointer { out in
                try checked(path: nil) { err, len in
                    switch options.backend {
                    case .haar, .retinaface:
                        let detect = usesOpenCVReference ? mien_haar_detect_reference : mien_haar_detect
                        return detect(haar, gray, Int32(width), Int32(height), rowBytes, &p,
                                                out.baseAddress, Int32(capacity), &count, err, len)
                    case .hog:
                        return mien_hog_detect(hog, gray, Int32(width), Int32(height), rowBytes, &p,
                                               out.baseAddress, Int32(capacity), &count, err, len)
                    }
                }
            }
            if Int(count) <= capacity {
                return boxes.prefix(Int(count)).map(FaceBox.init)
            }
            capacity = Int(count)
        }
    }
}
