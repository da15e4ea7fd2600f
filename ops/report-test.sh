#!/usr/bin/env bash
# `mien evaluate` end to end on the bundled synthetic sample (samples/synthetic with its
# labels.csv and frames.csv), then its report.html in headless Chromium:
#   - metrics.json: per-frame and per-window confusion matrices of both models recomputed
#     independently in Python from the job's own outputs (predictions/*.jsonl) and frames.csv
#     (IoU matching written here, not Mien's), and per-frame / per-video figures equal to the
#     aggregator's metrics.json of the same run;
#   - metrics.md has Table 1 and the per-class tables;
#   - report.html parses as XML, is self-contained (no script, no external URL), and has every
#     plot: <svg> ids counted per section;
#   - Chromium renders it: the PNG exists, has the window's size and is not blank (pixel variance);
#   - bad input (a missing labels file) is one clear error line, exit status 64.
#   ops/report-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "report-test: FAILED: $*" >&2; exit 1; }

echo "report-test: mien evaluate on samples/synthetic (synthetic clips)"
"$mien" evaluate samples/synthetic --labels samples/synthetic/labels.csv --frame-labels samples/synthetic/frames.csv \
  --data "synthetic: samples/synthetic (mien synth --videos 4 --seed 10)" --out "$work/eval" >"$work/stdout" 2>"$work/log" \
  || { cat "$work/log"; fail "mien evaluate exited with $?"; }
cat "$work/stdout"
for f in metrics.json metrics.md report.html predictions/frames.jsonl predictions/windows.jsonl predictions/videos.jsonl predictions/metrics.json; do
  [ -s "$work/eval/$f" ] || fail "$f missing or empty"
done

python3 - "$work/eval" samples/synthetic/frames.csv <<'PY'
import csv, json, sys, xml.etree.ElementTree as ET
from collections import Counter, defaultdict
out, frames_csv = sys.argv[1], sys.argv[2]
m = json.load(open(f"{out}/metrics.json"))
labels = m["labels"]
K = len(labels)
idx = {l: i for i, l in enumerate(labels)}
assert m["data"].startswith("synthetic"), m["data"]

# Independent truth: frames.csv boxes matched to detections by IoU >= 0.3 (best overlap).
truth_faces = defaultdict(list)
for r in csv.DictReader(open(frames_csv)):
    truth_faces[(r["video"], int(r["frame"]))].append((r["label"], [float(r[k]) for k in "xywh"]))
def iou(a, b):
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])); iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy; union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0
def truth(video, frame, box):
    best = max(((iou(box, b), l) for l, b in truth_faces.get((video, frame), [])), default=(0, None))
    return best[1] if best[0] >= 0.3 else None

def argmax(v): return max(range(len(v)), key=lambda i: (v[i], -i))
conf = {k: [[0] * K for _ in range(K)] for k in ("frame_cnn", "frame_bilstm", "window_cnn", "window_bilstm")}
tracks = defaultdict(list)
no_truth = 0
for line in open(f"{out}/predictions/frames.jsonl"):
    f = json.loads(line)
    t = truth(f["video"], f["frame"], f["box"])
    cnn = [f["cnn_probs"][l] for l in labels]
    tracks[(f["video"], f["track"])].append((f["frame"], t, cnn))
    if t is None:
        no_truth += 1
        continue
    conf["frame_cnn"][idx[t]][idx[f["cnn_label"]]] += 1
    conf["frame_bilstm"][idx[t]][idx[f["label"]]] += 1
windows = 0
for line in open(f"{out}/predictions/windows.jsonl"):
    w = json.loads(line); windows += 1
    covered = [x for x in tracks[(w["video"], w["track"])] if w["start_frame"] <= x[0] <= w["end_frame"]]
    assert len(covered) == w["frames"], w
    votes = Counter(idx[x[1]] for x in covered if x[1] is not None)
    if not votes: continue
    t = min(votes, key=lambda c: (-votes[c], c))
    mean = [sum(x[2][c] for x in covered) / len(covered) for c in range(K)]
    conf["window_cnn"][t][argmax(mean)] += 1
    conf["window_bilstm"][t][argmax([w["probs"][l] for l in labels])] += 1
assert windows > 0
for key, c in conf.items():
    level, model = key.split("_")
    ours = m[level]["cnn" if model == "cnn" else "cnn_bilstm"]
    assert ours["confusion"] == c, (key, ours["confusion"], c)
    acc = sum(c[i][i] for i in range(K)) / max(1, sum(map(sum, c)))
    assert abs(ours["accuracy"] - acc) < 1e-12, (key, ours["accuracy"], acc)
    assert abs(ours["classification_error"] - (1 - acc)) < 1e-12
assert m["frame"]["without_truth"] == no_truth, (m["frame"]["without_truth"], no_truth)
print(f"report-test: per-frame and per-window confusion matrices of both models equal an independent recomputation "
      f"({sum(map(sum, conf['frame_cnn']))} face-frames, {windows} windows)")

# Same run, the aggregator's own metrics.json (the same metric code): per frame and per video equal.
agg = json.load(open(f"{out}/predictions/metrics.json"))
for ours, theirs in [(m["frame"]["cnn"], agg["cnn"]), (m["frame"]["cnn_bilstm"], agg["bilstm"]),
                     (m["video"]["cnn"], agg["video_level"]["cnn"]), (m["video"]["cnn_bilstm"], agg["video_level"]["bilstm"])]:
    for k in ("count", "accuracy", "macro_f1", "weighted_f1", "weighted_precision", "confusion"):
        assert ours[k] == theirs[k], (k, ours[k], theirs[k])
t1 = m["table1"]
assert abs(t1["cnn"]["accuracy"] - m["frame"]["cnn"]["accuracy"]) < 1e-15
print(f"report-test: equal to the aggregator's metrics.json; Table 1 (synthetic sample): "
      f"CNN {100 * t1['cnn']['accuracy']:.2f} %, CNN+BiLSTM {100 * t1['cnn_bilstm']['accuracy']:.2f} %")

md = open(f"{out}/metrics.md").read()
for needle in ("## Table 1: accuracy and classification error (per frame)", "| Model | Accuracy | Classification error |",
               "| CNN (per frame) |", "| CNN+BiLSTM |", "| macro avg |", "| weighted avg |", "Data: synthetic"):
    assert needle in md, needle

# report.html: well-formed XML, self-contained, every plot present.
html = open(f"{out}/report.html").read()
for banned in ("<script", "<link", "<img", "<iframe", "@import", "url("):
    assert banned not in html, banned
assert html.count("http") == html.count('"http://www.w3.org/'), "only XML namespace URLs"
root = ET.fromstring(html.split("\n", 1)[1])  # after <!DOCTYPE html>
ns = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}
sections = {s.get("id"): s for s in root.iter("{http://www.w3.org/1999/xhtml}section")}
ok_videos = [json.loads(l)["video"] for l in open(f"{out}/predictions/videos.jsonl") if json.loads(l)["status"] == "ok"]
trained = [t["model"].lower() for t in m["training"]]
expected = {
    "training": [f"training-{t}-{k}" for t in trained for k in ("loss", "accuracy")],
    "confusion": [f"confusion-{l}-{mo}" for l in ("frame", "window", "video") for mo in ("cnn", "cnn-bilstm")],
    "per-class": ["per-class-precision", "per-class-recall", "per-class-f1"],
    "timelines": [f"timeline-{i}" for i in range(len(ok_videos))],
}
assert "bilstm" in trained, "the default bundle's BiLSTM training.json was not read"
for sec, ids in expected.items():
    got = [s.get("id") for s in sections[sec].iter("{http://www.w3.org/2000/svg}svg")]
    assert got == ids, (sec, got, ids)
    for svg in sections[sec].iter("{http://www.w3.org/2000/svg}svg"):
        drawn = sum(1 for e in svg.iter() if e.tag.split("}")[1] in ("rect", "polyline", "circle", "line"))
        assert drawn >= 3, (svg.get("id"), drawn)
total = sum(len(v) for v in expected.values())
assert len(list(root.iter("{http://www.w3.org/2000/svg}svg"))) == total
print(f"report-test: report.html is well-formed XML with all {total} plots: " + ", ".join(f"{k} {len(v)}" for k, v in expected.items()))
PY

echo "report-test: report.html in headless Chromium"
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || fail "chromium is not installed (ops/setup.sh installs it)"
width=1400 height=3200
timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$work/chrome" \
  --screenshot="$work/report.png" --window-size=$width,$height "file://$work/eval/report.html" >"$work/chrome.log" 2>&1 \
  || { cat "$work/chrome.log"; fail "chromium exited with an error"; }
[ -s "$work/report.png" ] || { cat "$work/chrome.log"; fail "no screenshot"; }
ffmpeg -v error -y -i "$work/report.png" -f rawvideo -pix_fmt gray "$work/report.gray"
python3 - "$work/report.png" "$work/report.gray" $width $height <<'PY'
import struct, sys
png, gray, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
head = open(png, "rb").read(24)
assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pw, ph = struct.unpack(">II", head[16:24])
assert (pw, ph) == (w, h), f"screenshot is {pw}x{ph}, expected {w}x{h}"
px = open(gray, "rb").read()
assert len(px) == w * h, len(px)
n = len(px); mean = sum(px) / n
var = sum((p - mean) ** 2 for p in px[::7]) / len(px[::7])
dark = sum(1 for p in px[::7] if p < 200) / len(px[::7])
assert var > 200, f"screenshot looks blank: pixel variance {var:.1f}"
assert dark > 0.01, f"screenshot looks blank: {100 * dark:.2f} % non-light pixels"
print(f"report-test: screenshot {pw}x{ph}, grey mean {mean:.1f}, variance {var:.0f}, {100 * dark:.1f} % non-light pixels")
PY

echo "report-test: a test set with a corrupt video: it is listed, not scored; exit status 2"
mkdir -p "$work/mixed"
cp samples/synthetic/clip_00001.mp4 "$work/mixed/"
head -c 4096 /dev/urandom > "$work/mixed/corrupt.mp4"
printf 'video,label\nclip_00001.mp4,happy\ncorrupt.mp4,sad\n' > "$work/mixed/labels.csv"
status=0
"$mien" evaluate "$work/mixed" --labels "$work/mixed/labels.csv" --data "synthetic: one sample clip and a corrupt file" \
  --out "$work/mixed-eval" >"$work/mixed.out" 2>"$work/mixed.log" || status=$?
[ $status -eq 2 ] || { cat "$work/mixed.log"; fail "corrupt input: exit status $status, expected 2"; }
python3 - "$work/mixed-eval" <<'PY'
import json, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
m = json.load(open(f"{out}/metrics.json"))
failed = m["videos"]["failed"]
assert [f["video"] for f in failed] == ["corrupt.mp4"] and failed[0]["error"], failed
assert m["video"]["cnn"]["count"] == 1 and m["videos"]["labelled"] == 1, m["videos"]
root = ET.fromstring(open(f"{out}/report.html").read().split("\n", 1)[1])
sections = {s.get("id"): s for s in root.iter("{http://www.w3.org/1999/xhtml}section")}
assert "failed" in sections and "corrupt.mp4" in "".join(sections["failed"].itertext())
assert [s.get("id") for s in sections["timelines"].iter("{http://www.w3.org/2000/svg}svg")] == ["timeline-0"]
print(f"report-test: corrupt.mp4 listed as failed ({failed[0]['error'][:60]}…), the good clip scored")
PY

echo "report-test: a missing labels file"
status=0
msg=$("$mien" evaluate samples/synthetic --labels "$work/nope.csv" --out "$work/x" 2>&1) || status=$?
[ $status -eq 64 ] || fail "missing labels: exit status $status, expected 64 (usage error)"
echo "$msg" | grep -q "nope.csv does not exist" || fail "missing labels: unclear error: $msg"
echo "report-test: all passed"
