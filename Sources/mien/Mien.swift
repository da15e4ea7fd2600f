import ArgumentParser
import Foundation
import MienNN

/// The `mien` command line: one binary for every role and tool.
@main
struct Mien: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mien",
        abstract: "Facial-expression recognition over video archives, as a ZeroMQ worker cluster.",
        version: MienVersion.string,
        subcommands: [Run.self, CoordinatorCommand.self, AggregatorCommand.self, FeatureWorkerCommand.self, SequenceWorkerCommand.self, StatusCommand.self, Keys.self,
                      Extract.self, Train.self, Tune.self, TuneWorker.self, Evaluate.self, SelfTest.self, Synth.self, Bench.self, BenchRouting.self, Classify.self, Probe.self, Detect.self]
    )

    /// Stops OpenBLAS's start-up busy-waiting (`BLASThreads.stopIdlePool`), runs the command (as
    /// ArgumentParser's `main` does), and on success ends the process without running the loaded
    /// libraries' C and C++ static destructors: ~170 libraries (~270, with GDAL and GStreamer,
    /// when OpenCV's image and video I/O are opened) whose exit code is often no longer in memory
    /// at the end of a job — `perf` of `mien run` showed up to 0.3 s of paging it back in. By then
    /// everything Mien writes is written (sinks and journal synced, sockets closed); stdio is
    /// flushed here. Errors exit through ArgumentParser as before.
    static func main() async {
        BLASThreads.stopIdlePool()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
        fflush(nil)
        _exit(0)
    }
}

/// Mien's version, carried in WorkerHello.software_version.
enum MienVersion {
    static let string = "0.1.0"
}
