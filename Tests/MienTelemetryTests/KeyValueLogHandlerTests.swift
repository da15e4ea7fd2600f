import Foundation
import Logging
import XCTest
@testable import MienTelemetry

final class KeyValueLogHandlerTests: XCTestCase {
    func testLineFormat() {
        let t = Date(timeIntervalSince1970: 1_795_000_000.123)
        let line = KeyValueLogHandler.format(time: t, level: .warning, label: "mien.coordinator", message: "video failed: cannot open x.mp4",
                                             metadata: ["video": "clips/a b.mp4", "job": "job-1", "batch": "42", "quote": "say \"hi\"\n"])
        XCTAssertEqual(line, #"ts=2026-11-18T11:06:40.123Z level=warning label=mien.coordinator msg="video failed: cannot open x.mp4" batch=42 job=job-1 quote="say \"hi\"\n" video="clips/a b.mp4""#)
    }

    func testQuoting() {
        XCTAssertEqual(KeyValueLogHandler.quote("plain"), "plain")
        XCTAssertEqual(KeyValueLogHandler.quote(""), "\"\"")
        XCTAssertEqual(KeyValueLogHandler.quote("a=b"), "\"a=b\"")
        XCTAssertEqual(KeyValueLogHandler.quote("tab\there"), "\"tab\\there\"")
        XCTAssertEqual(KeyValueLogHandler.quote("back\\slash"), "\"back\\\\slash\"")
        XCTAssertEqual(KeyValueLogHandler.quote("bell\u{7}"), "\"bell\\u0007\"")
        XCTAssertEqual(KeyValueLogHandler.quote("émotion"), "émotion")
    }

    func testLevelFiltersAndMetadataMerges() {
        let sink = TextSink.memory()
        var logger = Logger(label: "mien.test", factory: { KeyValueLogHandler(label: $0, level: .info, sink: sink) })
        logger[metadataKey: "role"] = "coordinator"
        logger.debug("hidden")
        logger.info("shown", metadata: ["worker": "fw-1#2"])
        logger.error("also shown", metadata: ["role": "override"])
        let lines = sink.lines
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasSuffix("level=info label=mien.test msg=shown role=coordinator worker=fw-1#2"), lines[0])
        XCTAssertTrue(lines[1].hasSuffix("level=error label=mien.test msg=\"also shown\" role=override"), lines[1])
    }
}
