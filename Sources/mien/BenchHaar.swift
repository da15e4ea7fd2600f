import ArgumentParser
import Foundation
@_spi(Reference) import MienVision

/// `mien bench haar`: Mien's Haar-cascade evaluator against OpenCV's cv::CascadeClassifier on the
/// frames of a video (see `Bench`'s discussion).
extension Bench {
    func runHaar() throws {
        VisionThreads.count = 1
        let source = try VideoFileSource(path: video)
        var frames: [GrayImage] = []
        var index = 0
        while frames.count < batch, let frame = try source.nextFrame(format: .gray) {
            if index % 5 == 0 { frames.append(frame.grayImage) }
            index += 1
        }
        guard !frames.isEmpty else { throw ValidationError("\(video) has no frames") }
        // mien run's full scans: a copy ≤ 320 px, scale factor 1.2, 3 neighbours; FaceFollower's
        // searches: around each face found, sizes 0.75–1.33× it, the smallest downscaled to 24 px,
        // scale factor 1.1, 1 neighbour.
        let detector = try FaceDetector(options: .init(cascadePath: cascade, scaleFactor: 1.2, minNeighbors: 3, minSize: 30, maxSide: 320))
        detector.usesOpenCVReference = true
        let faces = try frames.map { try detector.detect($0) }
        let searches: [(image: GrayImage, region: FaceBox, sizes: ClosedRange<Int>)] = zip(frames, faces).flatMap { image, boxes in
            boxes.map { box -> (image: GrayImage, region: FaceBox, sizes: ClosedRange<Int>) in
                let side = max(box.width, box.height), m = side * 0.3
                let region = FaceBox(x: box.x - m, y: box.y - m, width: box.width + 2 * m, height: box.height + 2 * m)
                return (image, region, max(1, Int(side * 0.75))...max(1, Int((side * 1.33).rounded(.up))))
            }
        }
        /// Seconds for all full scans / all searches with one evaluator, and the boxes found.
        func fullScans(reference: Bool) throws -> (Double, [[FaceBox]]) {
            detector.usesOpenCVReference = reference
            let start = DispatchTime.now().uptimeNanoseconds
            let boxes = try frames.map { try detector.detect($0) }
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, boxes)
        }
        func followerSearches(reference: Bool) throws -> (Double, [[FaceBox]]) {
            detector.usesOpenCVReference = reference
            let start = DispatchTime.now().uptimeNanoseconds
            let boxes = try searches.map { try detector.detect($0.image, in: $0.region, sizes: $0.sizes, workingFaceSide: 24, minNeighbors: 1, scaleFactor: 1.1) }
            return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, boxes)
        }
        // Warm-up and the comparison of results.
        let differingFull = zip(try fullScans(reference: false).1, try fullScans(reference: true).1).filter { $0 != $1 }.count
        let differingSearch = zip(try followerSearches(reference: false).1, try followerSearches(reference: true).1).filter { $0 != $1 }.count
        // Rounds alternate which evaluator goes first; each round's figures are kept for medians.
        var mienFull: [Double] = [], cvFull: [Double] = [], mienSearch: [Double] = [], cvSearch: [Double] = []
        var total = 0.0
        while true {
            let order = mienFull.count % 2 == 0 ? [false, true] : [true, false]
            for reference in order {
                let full = try fullScans(reference: reference).0, search = try followerSearches(reference: reference).0
                if reference { cvFull.append(full); cvSearch.append(search) } else { mienFull.append(full); mienSearch.append(search) }
                total += full + search
            }
            if let iterations { if mienFull.count >= iterations { break } } else if total >= minSeconds { break }
        }
        func medianMs(_ seconds: [Double], _ count: Int) -> Double {
            let s = seconds.sorted()
            let median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
            return median / Double(max(count, 1)) * 1000
        }
        let mf = medianMs(mienFull, frames.count), cf = medianMs(cvFull, frames.count)
        let ms = medianMs(mienSearch, searches.count), cs = medianMs(cvSearch, searches.count)
        let evaluator = detector.haarEvaluator.description
        if json {
            let obj: [String: Any] = ["video": video, "frames": frames.count, "searches": searches.count, "rounds": mienFull.count,
                                      "evaluator": evaluator,
                                      "full_mien_ms": (mf * 1000).rounded() / 1000, "full_opencv_ms": (cf * 1000).rounded() / 1000,
                                      "search_mien_ms": (ms * 1000).rounded() / 1000, "search_opencv_ms": (cs * 1000).rounded() / 1000,
                                      "differing_full": differingFull, "differing_searches": differingSearch]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "haar, %d frames of %@, %d searches, %d rounds, one thread, %@:", frames.count, video, searches.count, mienFull.count, evaluator))
            print(String(format: "  full scans (≤ 320 px, 1.2, 3 neighbours): Mien %.3f ms, OpenCV %.3f ms, OpenCV/Mien %.2f×; %d frames with different boxes",
                         mf, cf, cf / mf, differingFull))
            print(String(format: "  follower searches (24 px, 1.1, 1 neighbour): Mien %.3f ms, OpenCV %.3f ms, OpenCV/Mien %.2f×; %d searches with different boxes",
                         ms, cs, cs / ms, differingSearch))
        }
    }
}
