/// The label of a whole video from its tracks' per-frame ground truth: the most frequent
/// non-neutral frame label (ties broken by name, alphabetically first), else "neutral".
/// This is what the grouped split stratifies on (`mien train bilstm` and `mien tune` alike).
public enum VideoLabels {
    public static func majority(of tracks: [TrackSequence]) -> [String: String] {
        var out: [String: String] = [:]
        for (video, ts) in Dictionary(grouping: tracks, by: \.video) {
            let counts = Dictionary(ts.flatMap(\.labels).map { ($0, 1) }, uniquingKeysWith: +)
            out[video] = counts.filter { $0.key != "neutral" }.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? "neutral"
        }
        return out
    }
}
