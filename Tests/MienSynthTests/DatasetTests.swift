import XCTest
import MienCore
@testable import MienSynth

final class DatasetTests: XCTestCase {
    let small = SynthConfig(width: 160, height: 120, fps: 25, minSeconds: 2, maxSeconds: 3)

    func testEveryPrefixIsBalancedWithinOne() {
        let ds = SynthDataset(seed: 42, count: 100, config: small)
        var labels: [ExpressionClass] = []
        for i in 0..<100 {
            labels.append(ds.expression(ofClip: i))
            XCTAssertLessThanOrEqual(ClassBalance(labels).spread, 1, "prefix of \(i + 1) clips")
        }
        XCTAssertEqual(ClassBalance(labels).total, 100)
        // Blocks of seven hold each class once.
        XCTAssertEqual(Set(labels[0..<7]), Set(ExpressionClass.allCases))
        XCTAssertEqual(Set(labels[7..<14]), Set(ExpressionClass.allCases))
    }

    func testClassOrderDependsOnSeed() {
        let a = (0..<14).map { SynthDataset(seed: 1, count: 14, config: small).expression(ofClip: $0) }
        let b = (0..<14).map { SynthDataset(seed: 2, count: 14, config: small).expression(ofClip: $0) }
        XCTAssertNotEqual(a, b)
    }

    func testClassBalanceSummaryAndSpread() {
        let b = ClassBalance([.happy, .happy, .sad])
        XCTAssertEqual(b.counts[.happy], 2)
        XCTAssertEqual(b.spread, 2)
        XCTAssertEqual(b.summary, "angry 0, disgust 0, fear 0, happy 2, sad 1, surprise 0, neutral 0 (total 3)")
    }

    func testSamePlanForSameSeedAndIndependentOfCount() {
        let a = SynthDataset(seed: 9, count: 5, config: small).plan(ofClip: 3)
        let b = SynthDataset(seed: 9, count: 500, config: small).plan(ofClip: 3)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, SynthDataset(seed: 10, count: 5, config: small).plan(ofClip: 3))
    }

    func testPlansRespectConfig() {
        let cfg = SynthConfig(width: 320, height: 240, fps: 25, minSeconds: 2, maxSeconds: 10)
        let ds = SynthDataset(seed: 3, count: 60, config: cfg)
        var twoFaces = 0
        for i in 0..<60 {
            let p = ds.plan(ofClip: i)
            XCTAssertGreaterThanOrEqual(p.frameCount, 50)
            XCTAssertLessThanOrEqual(p.frameCount, 250)
            XCTAssertTrue((1...2).contains(p.faces.count))
            if p.faces.count == 2 { twoFaces += 1 }
            for k in [0, p.frameCount / 2, p.frameCount - 1] {
                for f in p.faceFrames(at: k) {
                    let b = f.box(frameWidth: 320, frameHeight: 240)
                    XCTAssertGreaterThan(b.w, 40, "clip \(i) frame \(k): face too small")
                    XCTAssertGreaterThanOrEqual(b.x, 0)
                    XCTAssertLessThanOrEqual(b.x + b.w, 320)
                    XCTAssertLessThanOrEqual(b.y + b.h, 240)
                    XCTAssertLessThan(abs(f.roll), 0.13, "roll stays within ±7.5°")
                }
            }
        }
        XCTAssertGreaterThan(twoFaces, 5)
        XCTAssertLessThan(twoFaces, 40)
        XCTAssertEqual(SynthConfig(maxFaces: 1).problem(), nil)
        XCTAssertTrue(SynthConfig(width: 641).problem()!.contains("even"))
        XCTAssertTrue(SynthConfig(minSeconds: 5, maxSeconds: 3).problem()!.contains("max-seconds"))
    }

    func testCSVFormats() throws {
        XCTAssertEqual(GroundTruthCSV.labelsHeader, "video,label")
        XCTAssertEqual(GroundTruthCSV.framesHeader, "video,frame,track,label,x,y,w,h")
        let plan = SynthDataset(seed: 1, count: 1, config: small).plan(ofClip: 0)
        let face = plan.faceFrames(at: 0)[0]
        let row = GroundTruthCSV.frameRow(video: "clip_00000.mp4", frame: 0, face: face, width: 160, height: 120)
        let parts = row.split(separator: ",").map(String.init)
        XCTAssertEqual(parts.count, 8)
        XCTAssertEqual(parts[0], "clip_00000.mp4")
        XCTAssertEqual(parts[1], "0")
        XCTAssertEqual(parts[2], "0")
        XCTAssertEqual(parts[3], "neutral", "first frame is in the neutral lead-in")
        XCTAssertTrue(parts[4...].allSatisfy { Int($0) != nil })
        XCTAssertEqual(SynthDataset.clipName(7), "clip_00007.mp4")

        let text = "video,label\nclip_00000.mp4,happy\nclip_00001.mp4,fear\n"
        let parsed = try GroundTruthCSV.parseLabels(text)
        XCTAssertEqual(parsed.map(\.video), ["clip_00000.mp4", "clip_00001.mp4"])
        XCTAssertEqual(parsed.map(\.label), [.happy, .fear])
        XCTAssertThrowsError(try GroundTruthCSV.parseLabels("video,label\nclip_00000.mp4,joyful\n")) { e in
            XCTAssertTrue("\(e)".contains("line 2"), "\(e)")
        }
        XCTAssertThrowsError(try GroundTruthCSV.parseLabels("name,class\n"))
    }
}
