import ArgumentParser
import Foundation
import MienCluster
import MienTelemetry

/// `mien status --url http://HOST:PORT`: a running coordinator's (or `mien run`'s) progress,
/// read from the `GET /status` of its `--metrics` endpoint.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status",
        abstract: "Print the progress of a running coordinator (or mien run) started with --metrics HOST:PORT.")

    @Option(help: ArgumentHelp("The coordinator's metrics endpoint (its --metrics address).", valueName: "http://host:port"))
    var url: String

    @Flag(help: "Print the raw JSON of GET /status.")
    var json = false

    @Option(help: "Seconds to wait for an answer.")
    var timeout: Double = 5

    func validate() throws {
        do { _ = try HTTPGet.split(url: url) } catch { throw ValidationError("--url: \(error)") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let target = base.hasSuffix("/status") ? base : base + "/status"
        let response: HTTPGet.Response
        do { response = try HTTPGet.get(target, timeout: timeout) } catch {
            throw StatusError("\(error)")
        }
        switch response.status {
        case 200: break
        case 404: throw StatusError("\(target) has no job status (404): point --url at a coordinator's or mien run's --metrics address, not a worker's or the aggregator's")
        default: throw StatusError("\(target) answered \(response.status): \(String(decoding: response.body.prefix(200), as: UTF8.self))")
        }
        let status: JobStatus
        do { status = try JobStatus.decode(Data(response.body)) } catch {
            throw StatusError("\(target) answered something that is not Mien job status JSON: \(error)")
        }
        if json {
            FileHandle.standardOutput.write(Data(response.body))
        } else {
            print(status.statusLine)
        }
    }
}

/// A one-line error for the user, exit status 1.
struct StatusError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
