import Foundation
import XCTest
import MienCore
@testable import MienCluster

/// The output records are one schema: what the aggregator's writers put in a line is what the
/// readers (resume, mien evaluate) decode, key for key, in the documented key order.
final class OutputRecordTests: XCTestCase {
    let labels = ["anger", "happy"]

    func testFrameLineDecodesToTheRecordWritten() throws {
        let line = FrameRecord.line(video: "a/b.mp4", frame: 12, timeS: 0.48, track: 3, box: [10, 20.5, 30, 40],
                                    label: "happy", probs: [0.25, 0.75], source: "bilstm", cnnLabel: "anger", cnnProbs: [0.6, 0.4], labels: labels)
        XCTAssertEqual(line, #"{"video":"a/b.mp4","frame":12,"time_s":0.48,"track":3,"box":[10,20.5,30,40],"label":"happy","probs":{"anger":0.25,"happy":0.75},"source":"bilstm","cnn_label":"anger","cnn_probs":{"anger":0.6,"happy":0.4}}"#)
        let r = try JSONDecoder().decode(FrameRecord.self, from: Data(line.utf8))
        XCTAssertEqual(r, FrameRecord(video: "a/b.mp4", frame: 12, timeS: 0.48, track: 3, box: [10, 20.5, 30, 40], label: "happy",
                                      probs: ["anger": 0.25, "happy": 0.75], source: "bilstm", cnnLabel: "anger", cnnProbs: ["anger": 0.6, "happy": 0.4]))
        XCTAssertEqual(OutputRecords.probabilities(r.probs, labels: labels), [0.25, 0.75])
        XCTAssertNil(OutputRecords.probabilities(r.probs, labels: labels + ["sad"]), "a label without a probability")
    }

    func testVideoLinesOfEachKindRoundTrip() throws {
        let failed = VideoRecord(video: "v", status: "error", error: "no faces", frames: 9, faces: 0, groundTruth: "happy")
        XCTAssertEqual(failed.jsonLine(labels: labels), #"{"video":"v","status":"error","error":"no faces","frames":9,"faces":0,"ground_truth":"happy"}"#)
        let ok = VideoRecord(video: "v", status: "ok", label: "happy", cnnLabel: "anger", frames: 9, faces: 7, tracks: 2)
        let line = ok.jsonLine(probs: [0.5, 0.5], labels: labels)
        XCTAssertEqual(line, #"{"video":"v","status":"ok","label":"happy","probs":{"anger":0.5,"happy":0.5},"cnn_label":"anger","frames":9,"faces":7,"tracks":2}"#)
        var expected = ok
        expected.probs = ["anger": 0.5, "happy": 0.5]
        XCTAssertEqual(try JSONDecoder().decode(VideoRecord.self, from: Data(line.utf8)), expected)
        XCTAssertEqual(try JSONDecoder().decode(VideoRecord.self, from: Data(failed.jsonLine(labels: labels).utf8)), failed)
    }

    func testSegmentAndWindowLinesRoundTrip() throws {
        let s = SegmentRecord(video: "v", track: 1, startFrame: 3, endFrame: 9, startS: 0.12, endS: 0.36, label: "anger")
        XCTAssertEqual(s.jsonLine, #"{"video":"v","track":1,"start_frame":3,"end_frame":9,"start_s":0.12,"end_s":0.36,"label":"anger"}"#)
        XCTAssertEqual(try JSONDecoder().decode(SegmentRecord.self, from: Data(s.jsonLine.utf8)), s)
        let w = WindowRecord.line(video: "v", track: 1, window: 2, startFrame: 16, endFrame: 31, frames: 16, label: "happy", probs: [0.1, 0.9], labels: labels)
        XCTAssertEqual(w, #"{"video":"v","track":1,"window":2,"start_frame":16,"end_frame":31,"frames":16,"label":"happy","probs":{"anger":0.1,"happy":0.9}}"#)
        let r = try JSONDecoder().decode(WindowRecord.self, from: Data(w.utf8))
        XCTAssertEqual(r.window, 2)
        XCTAssertEqual(r.probs, ["anger": 0.1, "happy": 0.9])
    }
}
