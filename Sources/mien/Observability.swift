import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import MienVision
import MienCluster
import MienTelemetry

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// `--metrics HOST:PORT` and `--log-level`, shared by the role commands and `mien run`.
struct ObservabilityOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve Prometheus metrics over HTTP: GET /metrics (and GET /status on the coordinator and mien run).",
                               valueName: "host:port"))
    var metrics: String?

    @Option(name: .customLong("metrics-linger"), help: ArgumentHelp("With --metrics: keep serving this long after the role's work ended, so a scraper reads the final values (SIGTERM ends it early).", valueName: "seconds"))
    var metricsLinger: Double = 0

    @Option(name: .customLong("log-level"), help: "Level of the role logs (key=value lines on stderr).")
    var logLevel: Logger.Level?

    func validate() throws {
        if let metrics {
            do { _ = try HTTPEndpointServer.split(metrics) } catch { throw ValidationError("--metrics: \(error)") }
        }
        guard metricsLinger >= 0, metricsLinger.isFinite else { throw ValidationError("--metrics-linger must be a number of seconds ≥ 0") }
    }
}

/// A process's logs and metrics: key=value log lines on stderr and, with `--metrics`, the
/// HTTP endpoint on a thread of its own (it reads thread-safe instruments and the job's
/// progress under its lock; it never waits on a role's loop).
final class Telemetry: @unchecked Sendable {
    let exposition = MetricsExposition()
    let level: Logger.Level
    private var server: HTTPEndpointServer?

    /// - Parameter defaultLevel: the level when `--log-level` is not given.
    convenience init(_ options: ObservabilityOptions, defaultLevel: Logger.Level = .info) {
        self.init(level: options.logLevel ?? defaultLevel)
    }

    /// Logs only (commands without `--metrics`). The vision libraries' messages (FFmpeg's) go to
    /// this log at debug level, not raw to stderr.
    init(level: Logger.Level) {
        self.level = level
        let verbose = level <= .debug
        var sink: (@Sendable (String) -> Void)?
        if verbose {
            let libraries = Logger(label: "mien.library", factory: { KeyValueLogHandler(label: $0, level: level) })
            sink = { (line: String) in libraries.debug(Logger.Message(stringLiteral: line)) }
        }
        LibraryLog.route(verbose: verbose, to: sink)
    }

    /// The factory the roles' instruments are made with.
    var metricsFactory: any MetricsFactory { exposition.factory }

    /// A logger writing key=value lines on stderr; `role` metadata from the label (`mien.coordinator` → `coordinator`).
    func logger(_ label: String) -> Logger {
        let level = self.level
        var logger = Logger(label: label, factory: { KeyValueLogHandler(label: $0, level: level) })
        logger[metadataKey: "role"] = .string(label.hasPrefix("mien.") ? String(label.dropFirst(5)) : label)
        return logger
    }

    /// Starts the endpoint when `--metrics` was given. `status` (coordinator, `mien run`) adds
    /// `/status`. Returns the endpoint's base URL.
    @discardableResult
    func serve(_ options: ObservabilityOptions, logger: Logger, status: (@Sendable () -> JobStatus)? = nil) throws -> String? {
        guard let address = options.metrics else { return nil }
        let exposition = self.exposition
        var routes: [String: HTTPEndpointServer.Handler] = ["/metrics": { _ in exposition.response() }]
        if let status {
            routes["/status"] = { _ in HTTPResponse(status: 200, contentType: "application/json", body: status().json()) }
        }
        let server = try HTTPEndpointServer(address: address, routes: routes)
        do { try server.start() } catch { throw ValidationError("--metrics: \(error)") }
        self.server = server
        let host = server.host.contains(":") ? "[\(server.host)]" : server.host
        logger.info("serving metrics", metadata: ["url": "http://\(host):\(server.port)/metrics"])
        return "http://\(host):\(server.port)"
    }

    private let lingerEnd = DispatchSemaphore(value: 0)

    /// With `--metrics` and `--metrics-linger S`: serves on for S seconds or until `endLinger()` (a signal).
    func linger(_ options: ObservabilityOptions, logger: Logger) {
        guard server != nil, options.metricsLinger > 0 else { return }
        logger.info("work ended; serving metrics for \(options.metricsLinger) s more (--metrics-linger)")
        _ = lingerEnd.wait(timeout: .now() + options.metricsLinger)
    }

    /// Ends a linger early (SIGINT / SIGTERM).
    func endLinger() { lingerEnd.signal() }

    func stop() { server?.stop() }
}
