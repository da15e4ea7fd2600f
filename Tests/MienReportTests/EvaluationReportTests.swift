import Foundation
import XCTest
@testable import MienReport
import MienCore

final class EvaluationReportTests: XCTestCase {
    let labels = ExpressionClass.labels

    /// A small but complete evaluation: two videos (one with two tracks), one failed video.
    func makeReport(training: [TrainingHistory] = []) throws -> EvaluationReport {
        func probs(_ c: Int) -> [Double] { (0..<7).map { $0 == c ? 0.7 : 0.05 } }
        var frames: [EvaluatedFrame] = []
        for f in UInt64(0)..<40 {
            let truth = f < 10 ? 6 : 3
            frames.append(EvaluatedFrame(video: "a<&>.mp4", track: 0, frame: f, truth: truth, bilstm: f < 12 ? 6 : 3, cnnProbs: probs(f % 5 == 0 ? 0 : truth)))
            frames.append(EvaluatedFrame(video: "a<&>.mp4", track: 1, frame: f, truth: f < 30 ? 2 : nil, bilstm: 2, cnnProbs: probs(5)))
        }
        for f in UInt64(0)..<20 {
            frames.append(EvaluatedFrame(video: "b.mp4", track: 0, frame: f * 2, truth: 4, bilstm: 4, cnnProbs: probs(4)))
        }
        var windows: [EvaluatedWindow] = []
        for track: UInt32 in [0, 1] {
            for (i, s) in stride(from: UInt64(0), through: 24, by: 8).enumerated() {
                windows.append(EvaluatedWindow(video: "a<&>.mp4", track: track, index: UInt32(i), startFrame: s, endFrame: s + 15, probs: probs(track == 0 ? 3 : 2)))
            }
        }
        windows.append(EvaluatedWindow(video: "b.mp4", track: 0, index: 0, startFrame: 0, endFrame: 38, probs: probs(4)))
        let videos = [EvaluatedVideo(video: "a<&>.mp4", truth: 3, bilstm: 3, cnn: 0),
                      EvaluatedVideo(video: "b.mp4", truth: 4, bilstm: 4, cnn: 4),
                      EvaluatedVideo(video: "bad.mp4", truth: 1, bilstm: nil, cnn: nil, error: "cannot decode <bad.mp4>: corrupt")]
        let e = try Evaluation(labels: labels, frames: frames, windows: windows, videos: videos)
        let timelines = [
            EvaluationReport.Video(video: "a<&>.mp4", frameCount: 40, fps: 25, truth: 3, bilstm: 3, cnn: 0, frames: frames.filter { $0.video == "a<&>.mp4" }),
            EvaluationReport.Video(video: "b.mp4", frameCount: 40, fps: 25, truth: 4, bilstm: 4, cnn: 4, frames: frames.filter { $0.video == "b.mp4" }),
        ]
        return EvaluationReport(evaluation: e,
                                model: .init(name: "synthetic", directory: "models/synthetic", trainedOn: "synthetic clips", cnnDirectory: "models/fer2013", bilstmDirectory: "models/synthetic/bilstm"),
                                data: "synthetic: unit-test records", command: "mien evaluate x --labels \"l.csv\"",
                                training: training, trainingNotes: ["No training report for the CNN"], videos: timelines)
    }

    func history(_ model: String) -> TrainingHistory {
        TrainingHistory(model: model, source: "/m/\(model)/training.json", epochs: [1, 2, 3], trainLoss: [1, 0.6, 0.4], validationLoss: [1.1, 0.8, 0.9],
                        trainAccuracy: [0.5, 0.7, 0.8], validationAccuracy: [0.45, 0.6, 0.58], settings: [("window", "16")])
    }

    func testHTMLIsSelfContainedWellFormedAndHasEveryPlot() throws {
        let report = try makeReport(training: [history("BiLSTM"), history("CNN")])
        let html = report.html()
        // Self-contained: no script, no external stylesheet, image, font or frame.
        for banned in ["<script", "<link", "<img", "<iframe", "@import", "url(", "src="] {
            XCTAssertFalse(html.contains(banned), banned)
        }
        let refs = html.components(separatedBy: "http").count - 1
        let namespaces = html.components(separatedBy: "\"http://www.w3.org/").count - 1
        XCTAssertEqual(refs, namespaces, "the only URLs are XML namespaces")

        let parsed = XMLCheck.parse(html)
        XCTAssertTrue(parsed.wellFormed, "\(String(describing: parsed.error))")
        let ids = parsed.ids(of: "svg")
        XCTAssertEqual(ids, [
            "training-bilstm-loss", "training-bilstm-accuracy", "training-cnn-loss", "training-cnn-accuracy",
            "confusion-frame-cnn", "confusion-frame-cnn-bilstm", "confusion-window-cnn", "confusion-window-cnn-bilstm",
            "confusion-video-cnn", "confusion-video-cnn-bilstm",
            "per-class-precision", "per-class-recall", "per-class-f1",
            "timeline-0", "timeline-1",
        ])
        XCTAssertEqual(parsed.count("svg"), ids.count, "every plot has an id")
        XCTAssertEqual(Set(parsed.ids(of: "section")), ["summary", "table1", "levels", "training", "confusion", "per-class", "timelines", "failed"])
        // Text with markup characters is shown as text.
        XCTAssertTrue(parsed.text.contains("a<&>.mp4"))
        XCTAssertTrue(parsed.text.contains("cannot decode <bad.mp4>: corrupt"))
        XCTAssertTrue(parsed.text.contains("synthetic: unit-test records"))
        XCTAssertEqual(report.plots().map(\.section), ["training", "confusion", "per-class", "timelines"])
    }

    func testWithoutTrainingReportsTheSectionSaysWhy() throws {
        let html = try makeReport().html()
        let parsed = XMLCheck.parse(html)
        XCTAssertTrue(parsed.wellFormed)
        XCTAssertFalse(parsed.ids(of: "svg").contains { $0.hasPrefix("training-") })
        XCTAssertTrue(parsed.text.contains("No training report for the CNN"))
    }

    func testTable1AndMetricsJSONAgreeWithTheEvaluation() throws {
        let report = try makeReport()
        let e = report.evaluation
        let t = report.table1()
        XCTAssertEqual(t.rows[0], ["CNN (per frame)", String(format: "%.2f %%", e.frame.cnn.accuracy * 100), String(format: "%.2f %%", (1 - e.frame.cnn.accuracy) * 100)])
        XCTAssertEqual(t.rows[1][1], String(format: "%.2f %%", e.frame.bilstm.accuracy * 100))

        let json = report.metricsJSON()
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(obj["data"] as? String, "synthetic: unit-test records")
        XCTAssertEqual(obj["labels"] as? [String], labels)
        let table1 = try XCTUnwrap(obj["table1"] as? [String: Any])
        let cnn = try XCTUnwrap(table1["cnn"] as? [String: Double])
        XCTAssertEqual(try XCTUnwrap(cnn["accuracy"]), e.frame.cnn.accuracy, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(table1["accuracy_margin"] as? Double), e.frame.bilstm.accuracy - e.frame.cnn.accuracy, accuracy: 1e-15)
        for (key, level) in [("frame", e.frame), ("window", e.window), ("video", e.video)] {
            let l = try XCTUnwrap(obj[key] as? [String: Any], key)
            XCTAssertEqual(l["without_truth"] as? Int, level.withoutTruth, key)
            let b = try XCTUnwrap(l["cnn_bilstm"] as? [String: Any], key)
            // Foundation's JSON reader on Linux can be 1 ulp off the shortest round-trip text
            // Mien writes, so the parsed values are compared within 1e-15 and the text exactly.
            XCTAssertEqual(try XCTUnwrap(b["accuracy"] as? Double), level.bilstm.accuracy, accuracy: 1e-15, key)
            XCTAssertEqual(try XCTUnwrap(b["weighted_f1"] as? Double), level.bilstm.weightedF1, accuracy: 1e-15, key)
            XCTAssertTrue(json.contains("\"weighted_f1\":\(level.bilstm.weightedF1),"), key)
            XCTAssertEqual(b["confusion"] as? [[Int]], level.bilstm.confusion, key)
        }
        let videos = try XCTUnwrap(obj["videos"] as? [String: Any])
        XCTAssertEqual((videos["failed"] as? [[String: String]])?.first?["video"], "bad.mp4")
        // The figures are what they should be for these records.
        XCTAssertEqual(e.frame.withoutTruth, 10)
        XCTAssertEqual(e.frame.bilstm.count, 40 + 30 + 20)
        XCTAssertEqual(e.frame.bilstm.accuracy, Double(88) / 90, accuracy: 1e-12)  // frames 10 and 11 of track 0 wrong
        XCTAssertEqual(e.video.cnn.accuracy, 0.5)
    }

    func testMarkdownHasEveryTableAndStatesTheData() throws {
        let md = try makeReport(training: [history("BiLSTM")]).markdown()
        XCTAssertTrue(md.contains("- Data: synthetic: unit-test records"))
        XCTAssertTrue(md.contains("## Table 1: accuracy and classification error (per frame)"))
        XCTAssertTrue(md.contains("| Model | Accuracy | Classification error |"))
        for level in ["per frame", "per window", "per video"] {
            XCTAssertTrue(md.contains("## CNN, \(level): per-class scores"), level)
            XCTAssertTrue(md.contains("## CNN+BiLSTM, \(level): per-class scores"), level)
            XCTAssertTrue(md.contains("### CNN+BiLSTM, \(level): confusion matrix"), level)
        }
        XCTAssertEqual(md.components(separatedBy: "| weighted avg |").count - 1, 6)
        XCTAssertTrue(md.contains("| bad.mp4 | cannot decode <bad.mp4>: corrupt |"))
        XCTAssertTrue(md.contains("best validation loss 0.8000 at epoch 2"))
    }
}
