import CoreMetrics
import Prometheus

/// One process's metrics: a Prometheus registry, the swift-metrics factory the roles'
/// instruments are made with, and the text exposition (format 0.0.4) `GET /metrics` serves.
public final class MetricsExposition: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    /// Latency buckets for every `_seconds` histogram: 1 ms to 2 min (a feature batch of 32
    /// frames takes from tens of milliseconds with a fast detector to tens of seconds on a
    /// loaded core; a video's hand-off to results can take longer).
    public static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120),
    ]

    public init() {
        registry = PrometheusCollectorRegistry()
        var f = PrometheusMetricsFactory(registry: registry)
        f.defaultDurationHistogramBuckets = MetricsExposition.durationBuckets
        factory = f
    }

    /// The exposition text.
    public func text() -> String { registry.emitToString() }

    /// The `/metrics` answer.
    public func response() -> HTTPResponse {
        HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
    }
}
