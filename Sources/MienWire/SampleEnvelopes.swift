import Foundation
import MienProto

/// One fully populated message of every kind, deterministic: envelopes of the cluster's
/// peers and messages of the result stream.
///
/// The transport self-test (`mien selftest`) sends these; the interop checks publish the
/// result-stream ones, which the C and Python example consumers must decode field for field.
/// Every field of every message is set to a non-default value, so a field a consumer drops
/// shows up.
public enum SampleEnvelopes {
    static let labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    static let probs: Mien_V1_ClassProbs = .with { $0.probs = [0.05, 0.01, 0.04, 0.6, 0.1, 0.15, 0.05] }
    static let box: Mien_V1_Box = .with { $0.x = 120.5; $0.y = 64.25; $0.width = 96; $0.height = 97.75 }

    /// An envelope of every kind, in `Envelope.Payload` declaration order (bar tuning).
    public static func all(jobID: String = "job-🙂-1", senderID: String = "selftest") -> [Envelope] {
        payloads.enumerated().map { i, payload in
            Envelope(payload, jobID: jobID, senderID: senderID, sequence: UInt64(i + 1),
                     sentUnixMs: 1_790_000_000_000 + UInt64(i))
        }
    }

    /// A result-stream message of every kind, in `Published.OneOf_Body` declaration order.
    public static func published(jobID: String = "job-🙂-1", senderID: String = "aggregator") -> [Published] {
        results.enumerated().map { i, body in
            Published(body, jobID: jobID, senderID: senderID, sequence: UInt64(i + 1),
                      sentUnixMs: 1_790_000_000_100 + UInt64(i))
        }
    }

    static var payloads: [Envelope.Payload] {
        [
            .hello(.with {
                $0.role = .featureWorker
                $0.workerID = "host-a:4242:9f3c"
                $0.hostname = "host-a"
                $0.threads = 2
                $0.capabilities = ["decode:by-reference", "detect:haar"]
                $0.modelHash = String(repeating: "ab", count: 32)
                $0.softwareVersion = "0.1.0"
            }),
            .ready(.with { $0.credit = 3 }),
            .heartbeat(.with { $0.sentUnixMs = 1_790_000_000_123; $0.inFlight = 2; $0.itemsDone = 9_000_000_001 }),
            .ack(.with { $0.sequence = 77; $0.videoID = "clips/a.mp4"; $0.detail = "video finalised" }),
            .error(.with {
                $0.code = .decodeFailed
                $0.message = "cannot decode frame 12 of clips/b.mp4: corrupt packet; re-encode the file"
                $0.videoID = "clips/b.mp4"
                $0.batchID = 5
                $0.sequence = 41
            }),
            .shutdown(.with { $0.reason = "SIGTERM"; $0.graceMs = 5_000 }),
            .frameBatch(.with {
                $0.videoID = "clips/a.mp4"
                $0.batchID = 1
                $0.fps = 29.97
                $0.inline = .with {
                    $0.frames = (0..<2).map { k in
                        .with {
                            $0.index = UInt64(16 + k)
                            $0.timeS = Double(16 + k) / 29.97
                            $0.width = 4
                            $0.height = 3
                            $0.format = .bgr24
                            $0.stride = 12
                            $0.pixels = Data((0..<36).map { UInt8(($0 * 7 + k) & 0xFF) })
                        }
                    }
                }
                $0.modelHash = String(repeating: "ab", count: 32)
            }),
            .embeddingBatch(.with {
                $0.videoID = "clips/a.mp4"
                $0.batchID = 1
                $0.frames = [.with {
                    $0.index = 16
                    $0.timeS = 0.533867
                    $0.faces = [.with {
                        $0.box = box
                        $0.score = 0.93
                        $0.landmarks = [.with { $0.x = 140; $0.y = 90 }, .with { $0.x = 180.5; $0.y = 91 }]
                        $0.embedding = (0..<8).map { Float($0) * 0.125 - 0.5 }
                        $0.cnnProbs = probs
                    }]
                }]
                $0.modelHash = String(repeating: "ab", count: 32)
                $0.frameWidth = 640
                $0.frameHeight = 480
                $0.computeS = 0.0125
            }),
            .windowBatch(.with { $0.batchID = 12; $0.windows = [window(index: 0), window(index: 1)] }),
            .windowPredictionBatch(.with {
                $0.batchID = 12
                $0.predictions = [prediction(index: 0), prediction(index: 1)]
                $0.computeS = 0.003
            }),
            .manifest(.with {
                $0.videoID = "clips/a.mp4"
                $0.uri = "file:///archive/clips/a.mp4"
                $0.fps = 25
                $0.frameCount = 250
                $0.width = 640
                $0.height = 480
                $0.windowsPerTrack = [1: 30, 2: 4]
                $0.groundTruthLabel = "happy"
                $0.error = "none"
                $0.framesPerTrack = [1: 240, 2: 31]
                $0.windowLength = 16
            }),
            .trackFrames(.with {
                $0.videoID = "clips/a.mp4"
                $0.trackID = 2
                $0.frames = (0..<2).map { k in
                    .with { $0.frame = UInt64(40 + k); $0.timeS = Double(40 + k) / 25; $0.box = box; $0.cnnProbs = probs; $0.embedding = [0.5, -0.25, Float(k)] }
                }
            }),
        ]
    }

    static var results: [Published.OneOf_Body] {
        [
            .frameResult(.with {
                $0.videoID = "clips/a.mp4"
                $0.frame = 16
                $0.timeS = 0.64
                $0.trackID = 1
                $0.box = box
                $0.label = "happy"
                $0.probs = probs
                $0.cnnLabel = "surprise"
                $0.cnnProbs = .with { $0.probs = [0.1, 0, 0.1, 0.3, 0.1, 0.35, 0.05] }
                $0.source = "bilstm"
            }),
            .segmentResult(.with {
                $0.videoID = "clips/a.mp4"
                $0.trackID = 1
                $0.startFrame = 10
                $0.endFrame = 99
                $0.startS = 0.4
                $0.endS = 3.96
                $0.label = "happy"
            }),
            .videoResult(.with {
                $0.videoID = "clips/a.mp4"
                $0.uri = "file:///archive/clips/a.mp4"
                $0.status = .ok
                $0.error = "—"
                $0.label = "happy"
                $0.probs = probs
                $0.frames = 250
                $0.faces = 262
                $0.model = .with { $0.name = "mien-synthetic"; $0.contentHash = String(repeating: "cd", count: 32); $0.labels = labels }
            }),
            .jobMetrics(.with {
                $0.jobID = "job-🙂-1"
                $0.videosDone = 10
                $0.videosFailed = 1
                $0.framesDone = 2_500
                $0.elapsedS = 12.5
                $0.labels = labels
                $0.bilstm = metrics(accuracy: 0.9)
                $0.cnn = metrics(accuracy: 0.8)
            }),
        ]
    }

    static func window(index: UInt32) -> Mien_V1_Window {
        .with {
            $0.videoID = "clips/a.mp4"
            $0.trackID = 1
            $0.windowIndex = index
            $0.steps = (0..<3).map { t in
                .with { $0.frame = UInt64(8 * index) + UInt64(t); $0.embedding = [Float(t), -1.5, 2.25e-3] }
            }
            $0.paddedFrom = 3
            $0.modelHash = String(repeating: "ef", count: 32)
        }
    }

    static func prediction(index: UInt32) -> Mien_V1_WindowPrediction {
        .with {
            $0.videoID = "clips/a.mp4"
            $0.trackID = 1
            $0.windowIndex = index
            $0.startFrame = UInt64(8 * index)
            $0.endFrame = UInt64(8 * index + 15)
            $0.probs = probs
            $0.modelHash = String(repeating: "ef", count: 32)
        }
    }

    static func metrics(accuracy: Double) -> Mien_V1_ClassifierMetrics {
        .with {
            $0.accuracy = accuracy
            $0.macroF1 = accuracy - 0.05
            $0.weightedF1 = accuracy - 0.01
            $0.perClass = labels.enumerated().map { i, l in
                .with { $0.label = l; $0.precision = 0.5 + 0.05 * Double(i); $0.recall = 0.9 - 0.05 * Double(i); $0.f1 = 0.6; $0.support = UInt64(i * 3 + 1) }
            }
            $0.confusion = (0..<49).map { UInt64($0 % 8) }
        }
    }
}
