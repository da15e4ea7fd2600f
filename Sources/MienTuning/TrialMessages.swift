import Foundation
import MienProto
import MienTraining

// Conversions between the search's Swift types and their messages in tuning.proto.

extension Mien_V1_TrialParams {
    public init(_ p: TrialParams) {
        self.init()
        units = UInt32(clamping: p.units); layers = UInt32(clamping: p.layers)
        learningRate = p.learningRate; dropout = p.dropout
        window = UInt32(clamping: p.window); stride = UInt32(clamping: p.stride)
    }
}

extension TrialParams {
    public init(_ m: Mien_V1_TrialParams) {
        self.init(units: Int(m.units), layers: Int(m.layers), learningRate: m.learningRate, dropout: m.dropout,
                  window: Int(m.window), stride: Int(m.stride))
    }
}

extension Mien_V1_TrialResult {
    /// A finished trial's result with its bundle `files` (name → bytes).
    public init(_ r: TrialResult, files: [(name: String, data: Data)] = []) {
        self.init()
        trial = UInt32(clamping: r.trial)
        params = Mien_V1_TrialParams(r.params)
        status = r.status.rawValue
        error = r.error ?? ""
        if let train = r.trainWindows, let validation = r.validationWindows {
            windows = .with { $0.train = UInt32(clamping: train); $0.validation = UInt32(clamping: validation) }
        }
        if let accuracy = r.validationAccuracy, let f1 = r.validationMacroF1, let loss = r.validationLoss, let best = r.bestEpoch, let run = r.epochsRun {
            figures = .with {
                $0.accuracy = accuracy; $0.macroF1 = f1; $0.loss = loss
                $0.bestEpoch = UInt32(clamping: best); $0.epochsRun = UInt32(clamping: run)
            }
        }
        seconds = r.seconds
        self.files = files.map { f in .with { $0.name = f.name; $0.data = f.data } }
    }
}

extension TrialResult {
    /// The result a remote worker reported; nil when its status is not one a worker reports.
    public init?(_ m: Mien_V1_TrialResult) {
        guard let status = Status(rawValue: m.status), status == .ok || status == .failed else { return nil }
        self.init(trial: Int(m.trial), params: TrialParams(m.params), status: status, error: m.error.isEmpty ? nil : m.error, seconds: m.seconds)
        if m.hasWindows { trainWindows = Int(m.windows.train); validationWindows = Int(m.windows.validation) }
        if m.hasFigures {
            validationAccuracy = m.figures.accuracy; validationMacroF1 = m.figures.macroF1; validationLoss = m.figures.loss
            bestEpoch = Int(m.figures.bestEpoch); epochsRun = Int(m.figures.epochsRun)
        }
    }
}

extension Mien_V1_TrialSetup {
    /// Whether a worker set up for `self` can run `other`'s trials as they are (same data, same settings).
    func sameSearch(_ other: Mien_V1_TrialSetup) -> Bool {
        var a = self, b = other
        a.chunks = 0; b.chunks = 0
        return a == b
    }
}

/// The files of a trial's bundle folder, for a TrialResult: regular files directly in it.
func trialFiles(in directory: String) throws -> [(name: String, data: Data)] {
    let fm = FileManager.default
    return try fm.contentsOfDirectory(atPath: directory).sorted().compactMap { name in
        let path = (directory as NSString).appendingPathComponent(name)
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        return (name, try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// Whether a file name from a peer is safe to write inside a trial folder (no path, no dot files).
func isPlainFileName(_ name: String) -> Bool {
    !name.isEmpty && name.count <= 255 && !name.contains("/") && !name.hasPrefix(".") && !name.contains("\0")
}
