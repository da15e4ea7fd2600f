import Foundation
import MienSynth
import XCTest
@testable import MienVision

/// Where the committed fixtures live (found from this file's path, so no bundle is needed).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A fresh, empty temporary directory, removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase, _ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-vision-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
    return dir
}

/// One hand-annotated reference face (see Fixtures/reference_faces.json).
struct ReferenceFace: Decodable {
    let x, y, w, h: Float
    let left_eye: [Float]
    let right_eye: [Float]
    var box: FaceBox { FaceBox(x: x, y: y, width: w, height: h) }
}

struct ReferenceImage: Decodable {
    let name: String
    let path: String
    let source: String
    let faces: [ReferenceFace]

    /// Absolute path: fixtures are relative to the test directory, Debian examples absolute.
    var resolvedPath: String {
        path.hasPrefix("/") ? path : fixturesDirectory.deletingLastPathComponent().appendingPathComponent(path).path
    }
}

struct ReferenceSet: Decodable {
    let images: [ReferenceImage]
}

/// The reference photographs; fails with the fix if a Debian example is not installed.
func referenceImages() throws -> [ReferenceImage] {
    let data = try Data(contentsOf: fixturesDirectory.appendingPathComponent("reference_faces.json"))
    let set = try JSONDecoder().decode(ReferenceSet.self, from: data)
    for image in set.images where !FileManager.default.fileExists(atPath: image.resolvedPath) {
        XCTFail("\(image.resolvedPath) is missing: install Debian packages facedetect and opencv-doc (ops/setup.sh)")
    }
    return set.images
}

/// Element-wise equality of two arrays of doubles within `accuracy`, reporting the largest difference.
func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "lengths differ", file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, accuracy, "largest difference \(worst)", file: file, line: line)
}

/// A frame of a seeded synthetic 320×240 grayscale clip (MienSynth) and its faces' true boxes.
struct SyntheticFrame {
    let clip, index: Int
    let image: GrayImage
    let faces: [(track: Int, box: FaceBox)]
}

/// Frames `indices` of clips 0..<clips of the synthetic dataset with this seed (up to 2 faces each).
func syntheticFrames(seed: UInt64, clips: Int, indices: [Int]) -> [SyntheticFrame] {
    let config = SynthConfig(width: 320, height: 240, minSeconds: 2, maxSeconds: 2, grayscale: true, maxFaces: 2)
    let dataset = SynthDataset(seed: seed, count: clips, config: config)
    var frames: [SyntheticFrame] = []
    for clip in 0..<clips {
        let renderer = ClipRenderer(plan: dataset.plan(ofClip: clip))
        for index in indices {
            let frame = renderer.frame(index)
            let faces = frame.faces.compactMap { face -> (track: Int, box: FaceBox)? in
                let b = face.box(frameWidth: config.width, frameHeight: config.height)
                guard b.w > 0, b.h > 0 else { return nil }
                return (face.track, FaceBox(x: Float(b.x), y: Float(b.y), width: Float(b.w), height: Float(b.h)))
            }
            frames.append(SyntheticFrame(clip: clip, index: index, image: GrayImage(width: config.width, height: config.height, pixels: frame.pixels), faces: faces))
        }
    }
    return frames
}

/// `image` moved right by `dx` pixels (uncovered columns take the edge value).
func shifted(_ image: GrayImage, dx: Int) -> GrayImage {
    var px = [UInt8](repeating: 0, count: image.width * image.height)
    for y in 0..<image.height {
        for x in 0..<image.width { px[y * image.width + x] = image.pixels[y * image.width + min(image.width - 1, max(0, x - dx))] }
    }
    return GrayImage(width: image.width, height: image.height, pixels: px)
}

/// A follower's region search around the face `detector` finds in `image` finds that face again
/// (IoU > `minIoU` with the full-frame box), in frame coordinates; a region beside the face and
/// sizes far from its own find nothing. Shared by the Haar and RetinaFace follower tests.
func assertRegionSearchFindsTheFace(_ detector: FaceDetector, in image: GrayImage, minIoU: Float, workingFaceSide: Int = 48,
                                    minNeighbors: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws {
    let full = try XCTUnwrap(try detector.detect(image).first, file: file, line: line)
    let m = full.width * 0.3
    let region = FaceBox(x: full.x - m, y: full.y - m, width: full.width + 2 * m, height: full.height + 2 * m)
    let side = Int(full.width)
    let found = try detector.detect(image, in: region, sizes: (side * 3 / 4)...(side * 4 / 3), workingFaceSide: workingFaceSide,
                                    minNeighbors: minNeighbors)
    XCTAssertEqual(found.count, 1, "\(found)", file: file, line: line)
    XCTAssertGreaterThan(found.first?.iou(full) ?? 0, minIoU, "region search box \(found) vs full-frame \(full)", file: file, line: line)
    let beside = FaceBox(x: full.x + full.width * 1.6, y: full.y, width: full.width, height: full.height)
    XCTAssertEqual(try detector.detect(image, in: beside, sizes: (side * 3 / 4)...(side * 4 / 3)), [], file: file, line: line)
    XCTAssertEqual(try detector.detect(image, in: region, sizes: (side * 2)...(side * 3)), [], file: file, line: line)
}

/// `image` panned 6 px a frame for 12 frames is followed between keyframes (every 5th) with the
/// boxes of detecting every frame, never lost. Shared by the Haar and RetinaFace follower tests.
func assertPanningFaceIsFollowed(_ pipeline: FacePipeline, _ image: GrayImage, file: StaticString = #filePath, line: UInt = #line) throws {
    let follower = try FaceFollower(pipeline: pipeline, schedule: DetectionSchedule(keyframeInterval: 5))
    for i in 0..<12 {
        let frame = shifted(image, dx: 6 * i)
        let followed = try follower.process(frame, frameIndex: i)
        let detected = try pipeline.process(frame, frameIndex: i)
        XCTAssertEqual(followed.faces.count, 1, "frame \(i)", file: file, line: line)
        XCTAssertEqual(detected.faces.count, 1, "frame \(i)", file: file, line: line)
        guard let a = followed.faces.first, let b = detected.faces.first else { continue }
        XCTAssertGreaterThan(a.box.iou(b.box), 0.7, "frame \(i)", file: file, line: line)
        XCTAssertEqual(a.crop.width, 64, file: file, line: line)
    }
    XCTAssertEqual(follower.keyframes, 3, "frames 0, 5 and 10 are keyframes", file: file, line: line)
    XCTAssertEqual(follower.followedFrames, 9, file: file, line: line)
    XCTAssertEqual(follower.losses, 0, file: file, line: line)
}
