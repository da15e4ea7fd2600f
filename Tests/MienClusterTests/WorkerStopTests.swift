import Foundation
import XCTest
import MienProto
import MienTransport
import MienWire
@testable import MienCluster

/// A worker whose coordinator stops reading (gone, stuck, or its queue full) must still stop
/// when asked: its sends are bounded, and results that could not leave wait in its outbox.
final class WorkerStopTests: XCTestCase {
    func window(_ batch: UInt64) -> Envelope.Payload {
        .windowBatch(.with {
            $0.batchID = batch
            $0.windows = [.with {
                $0.videoID = "v"; $0.trackID = 1; $0.windowIndex = UInt32(batch)
                $0.steps = [.with { $0.frame = 0; $0.embedding = [0, 1] }]
            }]
        })
    }

    func testStopReturnsWhenTheCoordinatorStopsReading() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let endpoint = "inproc://worker-stop-\(UUID().uuidString)"
        let coordinator = try ZMQSocket(context, .router)
        try coordinator.setReceiveHighWaterMark(1)
        defer { coordinator.close() }
        try coordinator.bind(endpoint)
        let worker = try Worker(context: context, endpoint: endpoint, compute: FakeSequenceCompute(), prefetch: 4,
                                liveness: Liveness(heartbeatMs: 100, expiryMs: 600_000),
                                configureSocket: { try $0.setSendHighWaterMark(1) })
        worker.start()
        let hello = try XCTUnwrap(try coordinator.receive(timeoutMs: 5_000), "the worker says hello")
        let (id, _) = try Framing.decodeRouted(hello)
        // Four items of work, then the coordinator never reads again: the worker's results and
        // credits fill the two one-message queues between them and its next send cannot leave.
        for b in 1...4 { try coordinator.send(try Framing.routed(to: id, Envelope(window(UInt64(b))))) }
        Thread.sleep(forTimeInterval: 1)
        let stopped = expectation(description: "stop() returned")
        DispatchQueue.global().async { worker.stop(); stopped.fulfill() }
        wait(for: [stopped], timeout: 10)
        XCTAssertEqual(worker.state, .stopped)
    }
}
