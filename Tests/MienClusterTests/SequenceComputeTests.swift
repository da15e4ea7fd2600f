import Foundation
import XCTest
import MienCluster
import MienNN
import MienProto
import MienWire

/// The sequence worker's compute with a BiLSTM that refines the CNN (`cnn_prior`): it reads the
/// CNN probabilities the coordinator puts in every window step, and refuses windows without them.
final class SequenceComputeTests: XCTestCase {
    func testCNNPriorBundleUsesTheStepsCNNProbabilitiesAndRefusesWindowsWithout() throws {
        let clf = try BiLSTMClassifier(config: .init(window: 3, inputSize: 2, units: 4, classes: 3, cnnPrior: true), seed: 1)
        var bundle = try BiLSTMBundle(classifier: clf, labels: ["a", "b", "c"])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mien-seq-prior-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try bundle.save(to: dir)
        let compute = try SequenceCompute(modelDirectory: dir)
        let cnn: [[Float]] = [[0.2, 0.5, 0.3], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]
        func batch(withProbs: Bool) -> Envelope.Payload {
            .windowBatch(.with {
                $0.batchID = 7
                $0.windows = [.with {
                    $0.videoID = "v"; $0.trackID = 1
                    $0.steps = (0..<3).map { t in .with { $0.frame = UInt64(t); $0.embedding = [Float(t), 1]; if withProbs { $0.cnnProbs = cnn[t] } } }
                }]
            })
        }
        guard case .windowPredictionBatch(let out) = try compute.process(batch(withProbs: true)) else { return XCTFail("no predictions") }
        // Untrained (zero dense layer): exactly the mean of the steps' CNN probabilities.
        for (c, p) in out.predictions[0].probs.probs.enumerated() {
            XCTAssertEqual(Double(p), cnn.map { Double($0[c]) }.reduce(0, +) / 3, accuracy: 1e-6)
        }
        XCTAssertThrowsError(try compute.process(batch(withProbs: false))) {
            XCTAssertTrue("\($0)".contains("lacks the CNN probabilities"), "\($0)")
        }
    }
}
