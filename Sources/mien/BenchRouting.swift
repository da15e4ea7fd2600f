import ArgumentParser
import Foundation
import MienCluster
import MienCore

/// `mien bench-routing`: the coordinator's routing capacity and memory, with workers that do no
/// compute (`NullFeatureCompute`, `NullSequenceCompute`), over inproc:// like `mien run`. Not a
/// test: the figures depend on the machine and on what else runs on it.
struct BenchRouting: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-routing",
        abstract: "Measure how many frames and batches/s the coordinator routes, with workers that do no compute.",
        discussion: """
            A synthetic archive of --videos videos of --frames frames each (no files: the probe is \
            answered in memory) runs through the coordinator, the aggregator (writing the usual \
            outputs to a temporary folder, deleted afterwards) and null workers that answer each batch \
            at once with one face per frame. Prints frames/s, feature batches/s and \
            the process's peak resident memory (VmHWM) and its anonymous resident memory at the end \
            (heap and stacks, without mapped code), e.g. to compare a 10× larger archive.
            """)

    @Option(help: "Videos in the synthetic archive.") var videos = 20
    @Option(help: "Frames per video.") var frames = 2_000
    @Option(name: .customLong("feature-workers"), help: "Null feature workers.") var featureWorkers = 4
    @Option(name: .customLong("sequence-workers"), help: "Null sequence workers.") var sequenceWorkers = 2
    @Option(name: .customLong("batch-frames"), help: "Frames per feature batch.") var batchFrames = 32
    @Option(help: "Embedding floats per face (sets message sizes; the bundled CNN's embedding has 128).") var dimension = 128
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard videos >= 1, frames >= 1, featureWorkers >= 1, sequenceWorkers >= 1, batchFrames >= 1, dimension >= 1 else {
            throw ValidationError("every count must be at least 1")
        }
    }

    func run() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mien-bench-routing-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let inputs = (0..<videos).map { VideoInput(id: "bench-\($0)", path: "bench://\($0)") }
        var config = EmbeddedJob.Config(inputs: inputs, outputDirectory: out)
        config.featureWorkers = featureWorkers
        config.sequenceWorkers = sequenceWorkers
        let (bf, n, d) = (batchFrames, frames, dimension)
        config.coordinator = { $0.batchFrames = bf }
        let job = EmbeddedJob(config: config,
                              featureCompute: { NullFeatureCompute(dimension: d, frameCount: { _ in n }) },
                              sequenceCompute: { NullSequenceCompute() },
                              probe: { _ in VideoProbe(fps: 25, frameCount: n, width: 640, height: 480) })
        let started = Date()
        let progress = try job.run(interval: 0.2)
        let seconds = Date().timeIntervalSince(started)
        guard progress.videosDone == videos, progress.videosFailed == 0 else {
            throw ValidationError("the benchmark job did not finish cleanly: \(progress)")
        }
        let featureBatches = videos * ((frames + batchFrames - 1) / batchFrames)
        let result: [String: Double] = [
            "videos": Double(videos), "frames": Double(progress.framesDone), "seconds": seconds,
            "frames_per_s": Double(progress.framesDone) / seconds,
            "feature_batches_per_s": Double(featureBatches) / seconds,
            "peak_rss_mib": Double(procStatusKiB("VmHWM")) / 1024,
            "anonymous_rss_mib_at_end": Double(procStatusKiB("RssAnon")) / 1024,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "%d videos × %d frames, %d null feature + %d null sequence workers, %d-frame batches: %.2f s",
                         videos, frames, featureWorkers, sequenceWorkers, batchFrames, seconds))
            print(String(format: "  %.0f frames/s, %.0f feature batches/s; peak RSS %.1f MiB, anonymous RSS at the end %.1f MiB",
                         result["frames_per_s"]!, result["feature_batches_per_s"]!, result["peak_rss_mib"]!, result["anonymous_rss_mib_at_end"]!))
        }
    }
}

/// A KiB figure of /proc/self/status (`VmHWM`: peak resident set; `RssAnon`: resident anonymous
/// memory, i.e. heap and stacks, without mapped code), or 0 if unreadable.
func procStatusKiB(_ field: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}
