import ArgumentParser
import Foundation
import MienSynth
import MienVision

/// `mien bench landmarks`: Mien's flat evaluator of dlib's shape-predictor model against dlib's
/// own, on the same faces and boxes (see `Bench`'s discussion).
extension Bench {
    /// Synthetic faces: frames of seeded 640×480 grayscale clips and their true boxes, one frame
    /// in 25 of each clip, clips in turn until there are `count` faces.
    static func landmarkFaces(count: Int) -> [(image: GrayImage, box: FaceBox)] {
        let config = SynthConfig(width: 640, height: 480, minSeconds: 4, maxSeconds: 4, grayscale: true, maxFaces: 2)
        let dataset = SynthDataset(seed: 7, count: count, config: config)
        var faces: [(image: GrayImage, box: FaceBox)] = []
        var clip = 0
        while faces.count < count {
            let renderer = ClipRenderer(plan: dataset.plan(ofClip: clip))
            for index in stride(from: 0, to: renderer.plan.frameCount, by: 25) where faces.count < count {
                let frame = renderer.frame(index)
                let image = GrayImage(width: config.width, height: config.height, pixels: frame.pixels)
                for face in frame.faces where faces.count < count {
                    let b = face.box(frameWidth: config.width, frameHeight: config.height)
                    if b.w > 0, b.h > 0 { faces.append((image, FaceBox(x: Float(b.x), y: Float(b.y), width: Float(b.w), height: Float(b.h)))) }
                }
            }
            clip += 1
        }
        return faces
    }

    func runLandmarks() throws {
        let path = landmarkModel ?? Landmarker.defaultModelPath
        let landmarker: Landmarker
        do { landmarker = try Landmarker(modelPath: path) } catch let e as VisionError {
            throw ValidationError("\(e.description) (pass --landmark-model PATH or run from the repository root)")
        }
        let load = try loadTimes(path)
        let faces = Self.landmarkFaces(count: batch)
        // Written before every fit with --cold: larger than the caches, so each fit starts from memory.
        var evictor = [UInt8](repeating: 0, count: cold ? 64 << 20 : 0)
        func evict() {
            evictor.withUnsafeMutableBufferPointer { buffer in
                for i in stride(from: 0, to: buffer.count, by: 64) { buffer[i] &+= 1 }
            }
        }
        /// Seconds spent fitting every face with `fit` (eviction not included), and its results.
        func batchSeconds(_ fit: (GrayImage, FaceBox) throws -> [Point]) throws -> (Double, [[Point]]) {
            var seconds = 0.0
            var results: [[Point]] = []
            for face in faces {
                if cold { evict() }
                let start = DispatchTime.now().uptimeNanoseconds
                results.append(try fit(face.image, face.box))
                seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            return (seconds, results)
        }
        let flat = landmarker.landmarks, dlib = landmarker.referenceLandmarks
        // Warm-up (loads dlib's copy of the model) and the comparison of results.
        let flatPoints = try batchSeconds(flat).1, dlibPoints = try batchSeconds(dlib).1
        let differing = zip(flatPoints, dlibPoints).filter { $0 != $1 }.count
        var flatSeconds = 0.0, dlibSeconds = 0.0, rounds = 0
        while true {
            if rounds % 2 == 0 {
                flatSeconds += try batchSeconds(flat).0
                dlibSeconds += try batchSeconds(dlib).0
            } else {
                dlibSeconds += try batchSeconds(dlib).0
                flatSeconds += try batchSeconds(flat).0
            }
            rounds += 1
            if let iterations { if rounds >= iterations { break } } else if flatSeconds + dlibSeconds >= minSeconds { break }
        }
        let fits = Double(rounds * faces.count)
        let flatMs = flatSeconds / fits * 1000, dlibMs = dlibSeconds / fits * 1000
        if json {
            let obj: [String: Any] = ["model": model.rawValue, "points": landmarker.pointCount, "batch": faces.count, "iterations": rounds,
                                      "cold": cold, "flat_ms": (flatMs * 1000).rounded() / 1000, "dlib_ms": (dlibMs * 1000).rounded() / 1000,
                                      "ratio": (dlibMs / flatMs * 100).rounded() / 100, "differing_faces": differing,
                                      "loads": loads, "load_ms": load.mien.mean, "dlib_load_ms": load.dlib.mean,
                                      "load_min_ms": load.mien.min, "dlib_load_min_ms": load.dlib.min]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "landmarks, %d points, %d faces × %d batches%@: flat %.3f ms per fit, dlib %.3f ms per fit, dlib/flat %.2f×; %d faces with different landmarks",
                         landmarker.pointCount, faces.count, rounds, cold ? " (cold caches)" : "", flatMs, dlibMs, dlibMs / flatMs, differing))
            if loads > 0 {
                print(String(format: "model load, %d × each: Mien's reader %.1f ms (fastest %.1f), dlib's decoding %.1f ms (fastest %.1f), %.1f× faster",
                             loads, load.mien.mean, load.mien.min, load.dlib.mean, load.dlib.min, load.dlib.mean / load.mien.mean))
            }
        }
    }

    /// Milliseconds per load of the model at `path` (mean and fastest of --loads), by Mien's
    /// reader and by dlib's stream decoding, alternating (which goes first alternates too).
    private func loadTimes(_ path: String) throws -> (mien: (mean: Double, min: Double), dlib: (mean: Double, min: Double)) {
        var mien: [Double] = [], dlib: [Double] = []
        func time(_ decoding: Landmarker.Decoding) throws -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            let landmarker = try Landmarker(modelPath: path, decoding: decoding)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            withExtendedLifetime(landmarker) {}  // freed after the timing
            return ms
        }
        for round in 0..<loads {
            if round % 2 == 0 {
                mien.append(try time(.mien))
                dlib.append(try time(.dlib))
            } else {
                dlib.append(try time(.dlib))
                mien.append(try time(.mien))
            }
        }
        func summary(_ ms: [Double]) -> (mean: Double, min: Double) {
            ms.isEmpty ? (0, 0) : ((ms.reduce(0, +) / Double(ms.count) * 100).rounded() / 100, ((ms.min() ?? 0) * 100).rounded() / 100)
        }
        return (summary(mien), summary(dlib))
    }
}
