import ArgumentParser
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

    /// Stops OpenBLAS's start-up busy-waiting (`BLASThreads.stopIdlePool`), then runs the command.
    static func main() async {
        BLASThreads.stopIdlePool()
        await main(nil)
    }
}

/// Mien's version, carried in WorkerHello.software_version.
enum MienVersion {
    static let string = "0.1.0"
}
