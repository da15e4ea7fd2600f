import Foundation
import XCTest
@testable import MienReport

final class TrainingHistoryTests: XCTestCase {
    func testReadsWhatMienTrainBiLSTMWrites() throws {
        // The committed default bundle's report, written by `mien train bilstm`.
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../models/fer2013/bilstm/training.json").standardized.path
        let h = try XCTUnwrap(try TrainingHistory.load(path, model: "BiLSTM"))
        let raw = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let history = try XCTUnwrap(raw["history"] as? [[String: Any]])
        XCTAssertEqual(h.epochs.count, history.count)
        XCTAssertGreaterThan(h.epochs.count, 0)
        XCTAssertEqual(h.epochs.first, 1)
        XCTAssertEqual(h.validationLoss.first ?? nil, history[0]["validation_loss"] as? Double)
        XCTAssertEqual(h.trainAccuracy.last ?? nil, history.last?["train_accuracy"] as? Double)
        XCTAssertTrue(h.settings.contains { $0.key == "window" })
        XCTAssertFalse(h.settings.contains { $0.key == "history" || $0.key == "split" })
        // Float settings read as they were set (dropout 0.2 is stored as 0.20000000298023224).
        XCTAssertEqual(h.settings.first { $0.key == "dropout" }?.value, "0.2")
        let loss = XMLCheck.parse(h.lossChart(id: "training-bilstm-loss").xml)
        XCTAssertTrue(loss.wellFormed)
        XCTAssertEqual(loss.count("polyline"), 2)
        XCTAssertEqual(loss.count("circle"), 2 * history.count)
    }

    func testKerasNamesAndMissingFigures() throws {
        let json = #"{"history":[{"loss":1.5,"acc":0.4,"val_loss":1.7},{"loss":1.1,"accuracy":0.6}],"lr":0.001,"name":"cnn"}"#
        let h = try TrainingHistory.parse(Data(json.utf8), model: "CNN", source: "x.json")
        XCTAssertEqual(h.epochs, [1, 2])
        XCTAssertEqual(h.trainLoss, [1.5, 1.1])
        XCTAssertEqual(h.trainAccuracy, [0.4, 0.6])
        XCTAssertEqual(h.validationLoss, [1.7, nil])
        XCTAssertEqual(h.validationAccuracy, [nil, nil])
        XCTAssertEqual(h.settings.map(\.key), ["lr", "name"])
        // No validation accuracy at all: the chart has the training line only.
        XCTAssertEqual(XMLCheck.parse(h.accuracyChart(id: "a").xml).count("polyline"), 1)
    }

    func testBadReportsAreClearErrors() {
        XCTAssertThrowsError(try TrainingHistory.parse(Data("[1,2]".utf8), model: "CNN", source: "/m/training.json")) { e in
            XCTAssertTrue("\(e)".contains("/m/training.json"), "\(e)")
        }
        XCTAssertThrowsError(try TrainingHistory.parse(Data(#"{"epochs":3}"#.utf8), model: "CNN", source: "/m/t.json")) { e in
            XCTAssertTrue("\(e)".contains("history"), "\(e)")
        }
        XCTAssertNil(try TrainingHistory.load("/nonexistent/training.json", model: "CNN"))
    }
}
