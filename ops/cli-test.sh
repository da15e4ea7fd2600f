#!/usr/bin/env bash
# End-to-end checks of the main commands on real files:
#   - `mien run` on an archive with bad inputs (corrupt, truncated, non-video, zero-length,
#     a video without faces) next to good ones: each bad input is reported in videos.jsonl
#     with a clear error, the good ones are labelled, the exit status is 2;
#     FFmpeg's own messages about them only in the debug log, never raw on stderr; so too
#     libpng's, libjpeg's and OpenCV's about damaged images;
#   - a missing model bundle is one clear error line and exit status 1 (not a crash);
#   - `mien classify --aligned` on the real face crop agrees with the Keras reference
#     (happy, p = 0.998 in Tests/MienNNTests/Fixtures/fer2013_README.md);
#   - `mien run` on a photo (a one-frame track, shorter than any window) labels the face by the
#     CNN ("source":"cnn"): the smiling astronaut is `happy` with --model fer2013 and fer2013-mien;
#   - `mien evaluate` on labelled still images (class folders; bundles or a bare CNN folder; a CSV
#     with a bad label or a missing model fails clearly);
#   - every --help text wraps where ArgumentParser wraps it (ops/help_check.py: no hard line
#     break mid-sentence in a source string);
#   - the vision CLI checks (ops/vision/cli_test.sh).
#   ops/cli-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "cli-test: FAILED: $*" >&2; exit 1; }

archive="$work/archive"
mkdir -p "$archive/good" "$archive/bad"
cp samples/synthetic/clip_00001.mp4 samples/synthetic/clip_00003.mp4 "$archive/good/"
head -c 20000 samples/synthetic/clip_00000.mp4 > "$archive/bad/truncated.mp4"
head -c 4096 /dev/urandom > "$archive/bad/corrupt.mp4"
: > "$archive/bad/empty.mp4"
echo "not a video" > "$archive/bad/notes.bin"
ffmpeg -v error -y -f lavfi -i "testsrc2=size=320x240:rate=25:duration=1" -c:v libx264 -pix_fmt yuv420p "$archive/bad/no_faces.mp4"
echo "cli-test: mien run on an archive with 5 bad inputs"
status=0
"$mien" run "$archive" --out "$work/out" 2>"$work/run.log" || status=$?
[ $status -eq 2 ] || { cat "$work/run.log"; fail "exit status $status, expected 2 (some inputs failed)"; }
python3 - "$work/out/videos.jsonl" <<'PY'
import json, sys
v = {json.loads(l)["video"]: json.loads(l) for l in open(sys.argv[1])}
expected_errors = {"bad/truncated.mp4", "bad/corrupt.mp4", "bad/empty.mp4", "bad/notes.bin", "bad/no_faces.mp4"}
assert set(v) == expected_errors | {"good/clip_00001.mp4", "good/clip_00003.mp4"}, sorted(v)
for name in expected_errors:
    assert v[name]["status"] == "error" and v[name]["error"], (name, v[name])
    print(f"  {name}: {v[name]['error'][:110]}")
assert "no faces" in v["bad/no_faces.mp4"]["error"], v["bad/no_faces.mp4"]
for name in ("good/clip_00001.mp4", "good/clip_00003.mp4"):
    assert v[name]["status"] == "ok" and v[name]["faces"] > 0, v[name]
print("cli-test: bad inputs reported one by one, good videos labelled")
PY
# The libraries' own messages (FFmpeg's "moov atom not found" for the truncated MP4) are not
# printed raw at the default level: the run's stderr has Mien's lines only; with --log-level
# debug they come through Mien's log (label mien.library).
if grep -v -e '^mien run: ' -e '^videos ' "$work/run.log" | grep -q .; then
  cat "$work/run.log"; fail "raw library lines on stderr at the default log level"
fi
"$mien" run "$archive/bad/truncated.mp4" --log-level debug --out "$work/out-debug" 2>"$work/run-debug.log" || true
grep -q 'level=debug label=mien.library msg=".*moov atom not found' "$work/run-debug.log" ||
  { cat "$work/run-debug.log"; fail "FFmpeg's message should be in the debug log"; }
grep -q '^\[mov' "$work/run-debug.log" && { cat "$work/run-debug.log"; fail "a raw FFmpeg line at debug level"; }
# The image libraries print their own warnings (libpng, libjpeg: fprintf to stderr) and OpenCV
# its messages (std::cerr): a PNG with a bad iCCP profile, a JPEG with zeroed data, a PGM with a
# bad header. None raw at the default level; each through Mien's log at debug level.
damaged="$work/damaged"
mkdir -p "$damaged"
python3 - "$damaged" <<'PY'
import struct, sys, zlib
out = sys.argv[1]
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
rows = b"".join(b"\0" + bytes((x * 4) & 255 for x in range(64)) for _ in range(64))
profile = struct.pack(">I", 16) + b"A" * 12  # shorter than an ICC header: "iCCP: too short"
open(f"{out}/bad_iccp.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
    + chunk(b"iCCP", b"bad\0\0" + zlib.compress(profile)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
jpeg = open("Tests/MienVisionTests/Fixtures/astronaut.jpg", "rb").read()
open(f"{out}/garbled.jpg", "wb").write(jpeg[:3000] + bytes(200) + jpeg[3200:])
open(f"{out}/bad.pgm", "wb").write(b"P5\n64 x4\n255\n" + bytes(100))
PY
"$mien" run "$damaged"/* --out "$work/out-damaged" 2>"$work/damaged.log" || true
if grep -v -e '^mien run: ' -e '^videos ' "$work/damaged.log" | grep -q .; then
  cat "$work/damaged.log"; fail "raw image-library lines on stderr at the default log level"
fi
"$mien" run "$damaged"/* --log-level debug --out "$work/out-damaged-debug" 2>"$work/damaged-debug.log" || true
for line in 'libpng warning: iCCP: too short' 'Corrupt JPEG data: ' "imread_('[^']*bad.pgm'): can't read header"; do
  grep -q "level=debug label=mien.library msg=\"$line" "$work/damaged-debug.log" ||
    { cat "$work/damaged-debug.log"; fail "'$line' should be in the debug log"; }
done
grep -q -e '^libpng' -e '^Corrupt JPEG' -e '^imread_' "$work/damaged-debug.log" && { cat "$work/damaged-debug.log"; fail "a raw image-library line at debug level"; }
echo "cli-test: library messages go through the log (debug), none raw"

echo "cli-test: help texts without hard line breaks mid-sentence"
python3 ops/help_check.py --self-test
python3 ops/help_check.py "$mien"

echo "cli-test: a missing model bundle"
status=0
out=$("$mien" run samples/synthetic --model /nonexistent/bundle --out "$work/x" 2>&1) || status=$?
[ $status -eq 1 ] || fail "missing model: exit status $status, expected 1"
echo "$out" | grep -q "no model bundle" || fail "missing model: unclear error: $out"
[ "$(echo "$out" | wc -l)" -le 2 ] || fail "missing model: more than an error line: $out"

echo "cli-test: one feature worker per CPU the process may use, by default"
for cpus in 0 0,1; do
  n=$(taskset -c "$cpus" "$mien" run --help | grep -A3 -- "--feature-workers <" | grep -o "(default: [0-9]*)" | tr -dc 0-9)
  expected=$(taskset -c "$cpus" nproc)
  [ "$n" == "$expected" ] || fail "taskset -c $cpus: --feature-workers defaults to '$n', expected $expected (the CPUs in the mask)"
done

echo "cli-test: mien classify on the real face crop"
line=$("$mien" classify --aligned --json --model fer2013 Tests/MienNNTests/Fixtures/astronaut_face_64.png)
python3 - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["label"] == "happy", r
assert abs(r["probs"]["happy"] - 0.998) < 0.002, r["probs"]
print(f"cli-test: classify → {r['label']} p={r['probs']['happy']:.5f} (Keras reference 0.998)")
PY
# Outside the repository, with no --model: the default bundle (fer2013-mien, as for mien run) is
# found like mien run's; its name and its model.json path select the same CNN.
face="$PWD/Tests/MienNNTests/Fixtures/astronaut_face_64.png" mien_abs=$(realpath "$mien")
line=$("$mien" classify --aligned --json --model fer2013-mien "$face")
for model in "" "--model fer2013-mien" "--model $PWD/models/fer2013-mien/model.json"; do
  other=$(cd "$work" && env -u MIEN_MODELS "$mien_abs" classify --aligned --json $model "$face") ||
    fail "mien classify ${model:-(no --model)} from another folder failed"
  [ "${other#*\"label\"}" == "${line#*\"label\"}" ] || fail "mien classify ${model:-(no --model)} from another folder: $other, expected $line"
done

echo "cli-test: mien run on a photo (a one-frame track: the CNN labels it)"
# scikit-image's astronaut.png (NASA, public domain), committed as JPEG: see reference_faces.json.
cp Tests/MienVisionTests/Fixtures/astronaut.jpg "$work/astronaut.jpg"
for model in fer2013 fer2013-mien synthetic default; do
  # "default": no --model, the bundle a user gets (fer2013-mien, for real footage)
  "$mien" run "$work/astronaut.jpg" $([[ $model == default ]] || echo --model "$model") --out "$work/photo-$model" \
    2>"$work/photo-$model.log" || { cat "$work/photo-$model.log"; fail "mien run on a photo with --model $model failed"; }
done
python3 - "$work" <<'PY'
import json, sys
for model in ("fer2013", "fer2013-mien", "synthetic", "default"):
    out = f"{sys.argv[1]}/photo-{model}"
    frames = [json.loads(l) for l in open(f"{out}/frames.jsonl")]
    assert len(frames) == 1, (model, frames)
    f = frames[0]
    assert f["source"] == "cnn", (model, f)
    assert f["label"] == f["cnn_label"] and f["probs"] == f["cnn_probs"], (model, f)
    video = json.loads(open(f"{out}/videos.jsonl").readline())
    assert video["status"] == "ok" and video["label"] == f["label"], (model, video)
    # Every bundle with a CNN trained on real faces labels the smiling astronaut happy.
    if model in ("fer2013", "fer2013-mien", "default"):
        assert f["label"] == "happy", f
    print(f"cli-test: photo, --model {model}: {f['label']} p={f['probs'][f['label']]:.3f} (source {f['source']})")
PY

echo "cli-test: mien evaluate on labelled still images (class folders, a path,label CSV, errors)"
stills="$work/stills"
mkdir -p "$stills/happy" "$stills/neutral"
cp Tests/MienNNTests/Fixtures/astronaut_face_64.png "$stills/happy/a.png"
cp Tests/MienNNTests/Fixtures/astronaut_face_64.png "$stills/neutral/b.png"
"$mien" evaluate "$stills" --model fer2013,synthetic --data "test: one real face, filed under two classes" --out "$work/eval-stills" > "$work/eval-stills.txt" ||
  fail "mien evaluate on still images failed"
python3 - "$work/eval-stills" <<'PY'
import json, sys
m = json.load(open(f"{sys.argv[1]}/metrics.json"))
assert m["kind"] == "still images" and [x["bundle"] for x in m["models"]][:2] == ["fer2013", "synthetic"], m
fer = m["models"][0]["metrics"]
# The same happy face under happy/ and neutral/: fer2013 (happy, p 0.998) gets exactly one right.
assert fer["count"] == 2 and fer["accuracy"] == 0.5, fer
assert fer["confusion"][3][3] == 1 and fer["confusion"][6][3] == 1, fer["confusion"]
# Two bundles: their ensemble (mean probabilities) is scored too, and every model's per-image
# predictions are written with probabilities summing to one.
assert m["models"][2]["bundle"] == "mean of fer2013 + synthetic", m["models"][2]["bundle"]
assert m["models"][2]["metrics"]["count"] == 2
import csv
for name in ("fer2013", "synthetic", "ensemble"):
    rows = list(csv.DictReader(open(f"{sys.argv[1]}/predictions-{name}.csv")))
    assert [r["truth"] for r in rows] == ["happy", "neutral"], rows
    for r in rows:
        p = {k[2:]: float(v) for k, v in r.items() if k.startswith("p_")}
        assert abs(sum(p.values()) - 1) < 1e-3 and r["predicted"] == max(p, key=p.get), r
print(f"cli-test: still images: fer2013 accuracy {fer['accuracy']}, {m['models'][0]['ms_per_face']:.3f} ms/face")
PY
grep -q "Confusion matrix" "$work/eval-stills/metrics.md" || fail "metrics.md has no confusion matrix"
# A CNN folder that is not a bundle (what `mien train cnn --out` writes) is scored as itself.
"$mien" evaluate "$stills" --model models/synthetic/cnn --out "$work/eval-cnn" > /dev/null ||
  fail "mien evaluate on still images with a bare CNN folder (models/synthetic/cnn) failed"
python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); assert m["models"][0]["bundle"] == "cnn" and m["models"][0]["metrics"]["count"] == 2, m' \
  "$work/eval-cnn/metrics.json" || fail "the bare CNN folder's row is wrong: $(cat "$work/eval-cnn/metrics.json")"
status=0
"$mien" evaluate "$stills" --model "$work/no-such-cnn" --out "$work/eval-none" 2>"$work/eval-none.log" || status=$?
[ "$status" -ne 0 ] && grep -q "no model bundle or CNN folder" "$work/eval-none.log" || { cat "$work/eval-none.log"; fail "a missing model must fail naming it"; }
printf 'path,label\nstills/happy/a.png,joy\n' > "$work/bad.csv"
status=0
"$mien" evaluate "$work/bad.csv" --model fer2013 --out "$work/eval-bad" 2>"$work/eval-bad.log" || status=$?
[ "$status" -ne 0 ] && grep -q 'bad.csv:2: unknown label "joy"' "$work/eval-bad.log" ||
  { cat "$work/eval-bad.log"; fail "a CSV with an unknown label must fail naming the file, line and label"; }

ops/vision/cli_test.sh "$mien"
echo "cli-test: all passed"
