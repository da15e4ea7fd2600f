import Foundation
import XCTest
import MienCluster
import MienCore
import MienNN
import MienTraining
@testable import MienTuning

final class TuningTests: XCTestCase {
    let labels = ExpressionClass.labels

    // MARK: search spaces

    func space(stride: [Int]? = nil, lr: SearchSpace.LearningRates = .values([1e-3, 3e-3])) -> SearchSpace {
        SearchSpace(units: [32, 64, 128], layers: [1], learningRates: lr, dropout: [0, 0.2, 0.4], window: [8, 16], stride: stride)
    }

    func testGridEnumeratesEveryCombinationOnceInAFixedOrder() throws {
        let g = try space().grid()
        XCTAssertEqual(g.count, 3 * 2 * 3 * 2)
        XCTAssertEqual(Set(g).count, g.count, "no configuration twice")
        XCTAssertEqual(space().gridSize, g.count)
        XCTAssertEqual(g.first, TrialParams(units: 32, layers: 1, learningRate: 1e-3, dropout: 0, window: 8, stride: 4))
        XCTAssertEqual(g[1].dropout, 0.2, "dropout varies fastest")
        XCTAssertEqual(g.last, TrialParams(units: 128, layers: 1, learningRate: 3e-3, dropout: 0.4, window: 16, stride: 8))
        XCTAssertTrue(g.allSatisfy { $0.stride == $0.window / 2 }, "without --stride, stride = window / 2 (what mien run uses)")
        for u in [32, 64, 128] { for lr in [1e-3, 3e-3] { for d in [0, 0.2, 0.4] { for w in [8, 16] {
            XCTAssertEqual(g.filter { $0.units == u && $0.learningRate == lr && $0.dropout == d && $0.window == w }.count, 1)
        } } } }

        let withStride = try space(stride: [4, 8, 4]).grid()
        XCTAssertEqual(withStride.count, 36 * 2, "a repeated value counts once")
        XCTAssertEqual(space(stride: [4, 8, 4]).gridSize, withStride.count)
        XCTAssertThrowsError(try space(lr: .logUniform(low: 1e-4, high: 1e-2)).grid(), "grid search needs values")
        XCTAssertThrowsError(try SearchSpace(units: [], layers: [1], learningRates: .values([1e-3]), dropout: [0], window: [8]).grid())
        XCTAssertThrowsError(try SearchSpace(units: [8], layers: [1], learningRates: .values([1e-3]), dropout: [1], window: [8]).grid())
    }

    func testRandomSamplingIsSeededDistinctAndDrawsFromTheValueSets() throws {
        let s = space(stride: [2, 4, 8])
        let a = try s.random(trials: 20, seed: 7)
        XCTAssertEqual(a.count, 20)
        XCTAssertEqual(Set(a).count, 20, "distinct configurations")
        XCTAssertEqual(try s.random(trials: 20, seed: 7), a, "same seed, same draws")
        XCTAssertNotEqual(try s.random(trials: 20, seed: 8), a, "another seed, other draws")
        for p in a {
            XCTAssertTrue([32, 64, 128].contains(p.units) && [1e-3, 3e-3].contains(p.learningRate) && [0, 0.2, 0.4].contains(p.dropout))
            XCTAssertTrue([8, 16].contains(p.window) && [2, 4, 8].contains(p.stride) && p.layers == 1)
        }
        // Every value turns up over enough draws (108 configurations, 60 drawn).
        let many = try s.random(trials: 60, seed: 1)
        XCTAssertEqual(Set(many.map(\.units)), [32, 64, 128])
        XCTAssertEqual(Set(many.map(\.stride)), [2, 4, 8])
        // The whole space can be drawn, not more.
        XCTAssertEqual(Set(try space().random(trials: 36, seed: 3)), Set(try space().grid()))
        XCTAssertThrowsError(try space().random(trials: 37, seed: 3)) { XCTAssertTrue("\($0)".contains("36 distinct")) }
        XCTAssertThrowsError(try space().random(trials: 0, seed: 3))
    }

    func testLogUniformLearningRatesStayInRangeWithThreeSignificantDigits() throws {
        let draws = try SearchSpace(units: [8], layers: [1], learningRates: .logUniform(low: 1e-4, high: 1e-2), dropout: [0], window: [8])
            .random(trials: 400, seed: 11).map(\.learningRate)
        XCTAssertTrue(draws.allSatisfy { $0 >= 1e-4 && $0 <= 1e-2 })
        XCTAssertTrue(draws.allSatisfy { Double(String(format: "%.3g", $0)) == $0 }, "rounded to 3 significant digits")
        // Log-uniform: each decade holds about half the draws (a uniform draw would put ~9 % below 1e-3).
        let below = Double(draws.filter { $0 < 1e-3 }.count) / Double(draws.count)
        XCTAssertEqual(below, 0.5, accuracy: 0.08, "fraction below the geometric midpoint: \(below)")
    }

    func testValueListsParseAndBadItemsAreNamed() throws {
        XCTAssertEqual(try SearchValues.ints("32, 64,128", option: "--units"), [32, 64, 128])
        XCTAssertEqual(try SearchValues.doubles("0,0.2", option: "--dropout"), [0, 0.2])
        XCTAssertEqual(try SearchValues.learningRates("1e-3,3e-3"), .values([1e-3, 3e-3]))
        XCTAssertEqual(try SearchValues.learningRates("1e-4:1e-2"), .logUniform(low: 1e-4, high: 1e-2))
        XCTAssertThrowsError(try SearchValues.ints("32,x", option: "--units")) { XCTAssertTrue("\($0)".contains("--units") && "\($0)".contains("\"x\"")) }
        XCTAssertThrowsError(try SearchValues.ints("32,,64", option: "--window")) { XCTAssertTrue("\($0)".contains("empty item")) }
        XCTAssertThrowsError(try SearchValues.learningRates("1e-4:fast"))
    }

    // MARK: ranking and tables

    func result(_ trial: Int, acc: Double?, f1: Double? = 0.5, loss: Double? = 1, status: TrialResult.Status = .ok, error: String? = nil) -> TrialResult {
        var r = TrialResult(trial: trial, params: TrialParams(units: 8 * trial, layers: 1, learningRate: 0.001, dropout: 0.2, window: 16, stride: 8),
                            status: status, error: error, seconds: Double(trial))
        if status == .ok {
            r.validationAccuracy = acc; r.validationMacroF1 = f1; r.validationLoss = loss
            r.bestEpoch = 3; r.epochsRun = 8; r.trainWindows = 100; r.validationWindows = 20
        }
        return r
    }

    func testRankingByAccuracyThenMacroF1ThenLossWithUnfinishedTrialsLast() {
        let t = TuningTable([
            result(1, acc: 0.7),
            result(2, acc: 0.9, f1: 0.6),
            result(3, acc: 0.9, f1: 0.8),
            result(4, acc: nil, status: .failed, error: "stride 16 does not fit window 8"),
            result(5, acc: 0.9, f1: 0.8, loss: 0.5),
            result(6, acc: .nan, f1: .nan, loss: .nan),
            result(7, acc: 0.7),
            result(8, acc: nil, status: .notRun),
        ])
        XCTAssertEqual(t.rows.map(\.result.trial), [5, 3, 2, 1, 7, 6, 4, 8])
        XCTAssertEqual(t.rows.map(\.rank), [1, 2, 3, 4, 5, 6, nil, nil])
        XCTAssertEqual(t.best?.trial, 5)
        XCTAssertNil(TuningTable([result(1, acc: nil, status: .failed, error: "x")]).best, "no best without a finished trial")
    }

    func testCSVQuotesFieldsWithCommasQuotesAndNewlines() {
        let t = TuningTable([result(1, acc: 0.75, f1: 0.5, loss: 0.25),
                             result(2, acc: nil, status: .failed, error: "bad \"thing\", line one\nline two")])
        let lines = t.csv().split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(String(lines[0]), TuningTable.columns.joined(separator: ","))
        XCTAssertEqual(String(lines[1]), "1,1,ok,8,1,0.001,0.2,16,8,0.7500,0.5000,0.2500,3,8,100,20,1.0,")
        XCTAssertEqual(lines[2...].joined(separator: "\n"), ",2,failed,16,1,0.001,0.2,16,8,,,,,,,,2.0,\"bad \"\"thing\"\", line one\nline two\"\n")
        XCTAssertFalse(t.csv(seconds: false).contains("1.0,"), "timing blanked for comparisons")
    }

    func testMarkdownEscapesPipesAndFlattensLineBreaks() {
        let md = TuningTable([result(1, acc: 0.75), result(2, acc: nil, status: .failed, error: "a|b\nc")]).markdown(title: "# t")
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("|") }
        XCTAssertEqual(rows.count, 4, "header, rule, two rows")
        XCTAssertEqual(rows[0].components(separatedBy: " | ").count, TuningTable.columns.count, "one header per column")
        XCTAssertTrue(rows[3].hasSuffix("| a\\|b c |"), String(rows[3]))
        XCTAssertTrue(rows[2].hasPrefix("| 1 | 1 | ok | 8 | 1 | 0.001 | 0.2 | 16 | 8 | 0.7500 |"), String(rows[2]))
    }

    // MARK: searches on a small embedding cache

    /// A small cache in `mien extract`'s format: happy clips rise, sad clips fall (separable only by
    /// order), 24 frames each, written to a file and read back by `EmbeddingCache.read`.
    func smallCache(videos: Int = 24) throws -> String {
        var rng = SplitMix64(seed: 5)
        var lines: [String] = []
        for i in 0..<videos {
            let rising = i % 2 == 0
            let frames = Array(0..<24)
            let emb: [[Double]] = frames.map { f in
                let v = Double(rising ? f : 23 - f) / 23
                return [v, 1 - v, Double(rng.next() % 1000) / 10000]
            }
            let obj: [String: Any] = ["video": "clip\(i).mp4", "track": 1, "frames": frames,
                                      "labels": Array(repeating: rising ? "happy" : "sad", count: 24),
                                      "cnn_probs": Array(repeating: Array(repeating: 1.0 / 7, count: 7), count: 24), "embeddings": emb]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self))
        }
        let path = NSTemporaryDirectory() + "mien-tune-\(UUID().uuidString).jsonl"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func settings() -> TrialSettings {
        var s = TrialSettings()
        s.epochs = 6; s.patience = 3; s.batchSize = 8; s.seed = 4
        return s
    }

    func testSearchesAreReproducibleAndAFailingTrialIsReportedWhileTheOthersFinish() throws {
        let data = try TuningData.load(cache: try smallCache(), seed: 2)
        // Stride 6 does not fit window 4: those trials fail; the window-12 ones run.
        let configs = try SearchSpace(units: [4, 8], layers: [1], learningRates: .values([0.01]), dropout: [0, 0.2], window: [4, 12], stride: [6]).grid()
        XCTAssertEqual(configs.count, 8)
        func search(parallel: Int) throws -> [TrialResult] {
            let executors = (0..<parallel).map { _ in InProcessTrialExecutor(data: data, settings: settings()) }
            let streamed = Counter()
            let results = try TuningSearch(trials: configs, executors: executors).run { _ in streamed.add() }
            XCTAssertEqual(streamed.value, configs.count, "every result streamed")
            return results
        }
        let first = try search(parallel: 2), second = try search(parallel: 2), serial = try search(parallel: 1)
        XCTAssertEqual(TuningTable(first).csv(seconds: false), TuningTable(second).csv(seconds: false), "same seed, same table")
        XCTAssertEqual(TuningTable(first).csv(seconds: false), TuningTable(serial).csv(seconds: false), "parallelism does not change figures")
        XCTAssertEqual(first.map(\.trial), Array(1...8))
        let failed = first.filter { $0.status == .failed }, ok = first.filter { $0.status == .ok }
        XCTAssertEqual(failed.map(\.params.window), [4, 4, 4, 4])
        XCTAssertTrue(failed.allSatisfy { $0.error?.contains("stride 6 does not fit window 4") == true }, "\(failed.map(\.error))")
        XCTAssertEqual(ok.count, 4)
        for r in ok {
            XCTAssertGreaterThan(r.validationWindows ?? 0, 0)
            XCTAssertTrue((1...6).contains(r.bestEpoch ?? 0) && (r.bestEpoch ?? 0) <= (r.epochsRun ?? 0))
            XCTAssertTrue((0...1).contains(r.validationAccuracy ?? -1) && (0...1).contains(r.validationMacroF1 ?? -1))
        }
        let table = TuningTable(first)
        XCTAssertEqual(table.rows.prefix(4).map(\.rank), [1, 2, 3, 4])
        XCTAssertTrue(table.markdown(title: "# t").contains("stride 6 does not fit window 4"))
    }

    /// The trial's figures are those of `mien train bilstm`'s path: the grouped split, windows and
    /// `BiLSTMTrainer` called directly with the same seed; the saved bundle loads and scores the same.
    func testATrialIsTheTrainerOnTheSharedSplitAndSavesALoadableBundle() throws {
        let cache = try smallCache()
        let data = try TuningData.load(cache: cache, seed: 2)
        let p = TrialParams(units: 6, layers: 1, learningRate: 0.01, dropout: 0.2, window: 12, stride: 6)
        let out = NSTemporaryDirectory() + "mien-tune-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: out) }
        let r = Trial.run(3, p, data: data, settings: settings(), out: out)
        XCTAssertEqual(r.status, .ok, r.error ?? "")

        let tracks = try EmbeddingCache.read(cache)
        let split = GroupedSplit.split(videoLabels: VideoLabels.majority(of: tracks), fractions: (0.7, 0.15), seed: 2)
        XCTAssertEqual(split.validation, data.validation)
        let all = try WindowDataset(tracks: tracks, length: 12, stride: 6, labels: labels)
        var c = BiLSTMTrainer.Config()
        c.units = 6; c.dropout = 0.2; c.learningRate = 0.01; c.epochs = 6; c.patience = 3; c.batchSize = 8; c.seed = 4
        let trainer = BiLSTMTrainer(config: c)
        let (model, history) = try trainer.train(all.subset(videos: split.train), validation: all.subset(videos: split.validation),
                                                 window: 12, inputSize: 3, classes: 7)
        let direct = try trainer.evaluate(model, all.subset(videos: split.validation), inputSize: 3, classes: 7)
        XCTAssertEqual(r.validationAccuracy, direct.accuracy)
        XCTAssertEqual(r.validationLoss!, direct.loss, accuracy: 1e-12)
        XCTAssertEqual(r.epochsRun, history.count)
        XCTAssertEqual(r.bestEpoch, history.min { $0.validationLoss < $1.validationLoss }?.epoch)

        let bundle = try BiLSTMBundle.load(directory: out)
        XCTAssertEqual(bundle.classifier.config, BiLSTMClassifier.Config(window: 12, inputSize: 3, units: 6, layers: 1, dropout: 0.2, classes: 7))
        XCTAssertEqual(bundle.preprocessing["window_stride"], "6")
        let reloaded = try trainer.evaluate(bundle.classifier, all.subset(videos: split.validation), inputSize: 3, classes: 7)
        XCTAssertEqual(reloaded.loss, direct.loss, accuracy: 1e-12, "saved weights are the kept epoch's")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/training.json"))) as! [String: Any]
        XCTAssertEqual(report["best_epoch"] as? Int, r.bestEpoch)
        XCTAssertEqual((report["split"] as? [String: [String]])?["validation"], data.validation.sorted())
    }

    func testMacroF1AveragesOverClassesPresentLikeScikitLearn() {
        // sklearn.metrics.f1_score([0,0,1,1,2], [0,1,1,1,0], average="macro") = 0.4222…: classes 0, 1, 2
        // have F1 1/2, 4/5, 0; classes 3–6 are absent from both lists and not averaged.
        XCTAssertEqual(Trial.macroF1(truth: [0, 0, 1, 1, 2], predicted: [0, 1, 1, 1, 0], classes: 7), (0.5 + 0.8 + 0) / 3, accuracy: 1e-12)
    }

    func testStopLeavesTheRestNotRunAndNoSplitWithoutValidationIsRefused() throws {
        final class Quick: TrialExecutor, @unchecked Sendable {
            func run(_ trial: Int, _ params: TrialParams) -> TrialResult { TrialResult(trial: trial, params: params, status: .ok) }
            func interrupt() {}
        }
        let configs = try space().grid()
        let box = SearchBox()
        box.search = try TuningSearch(trials: configs, executors: [Quick()])
        let results = try box.search!.run { r in if r.trial == 2 { box.search!.stop() } }
        XCTAssertEqual(results.filter { $0.status == .ok }.map(\.trial), [1, 2])
        XCTAssertEqual(results.filter { $0.status == .notRun }.count, configs.count - 2)
        XCTAssertTrue(box.search!.isStopped)

        // Two videos of different labels: each label's only video goes to training.
        let tracks = try EmbeddingCache.read(try smallCache(videos: 2))
        XCTAssertThrowsError(try TuningData(cache: "two.jsonl", tracks: tracks, seed: 1)) { XCTAssertTrue("\($0)".contains("no validation videos")) }
    }
}

final class SearchBox: @unchecked Sendable { var search: TuningSearch? }

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
