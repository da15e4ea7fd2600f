#!/usr/bin/env bash
# kill -9 / --resume of `mien train cnn` at full size (not part of ops/test.sh: minutes per epoch).
# Two identical runs start together; the second is killed with kill -9 five seconds after its
# first checkpoint (i.e. during epoch 2) and continued with --resume; the two bundles and
# histories are compared. docs/TRAINING.md reports the result on the synthetic crop set.
#   ops/train-cnn-resume-demo.sh DATA [path/to/mien] [extra train-cnn options…]
set -euo pipefail
cd "$(dirname "$0")/.."
data=$1; shift
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}; shift || true
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
args=(train cnn --data "$data" --epochs 3 --patience 4 --seed 7 "$@")
"$mien" "${args[@]}" --checkpoint-dir "$d/a.ck" --out "$d/a" 2>"$d/a.log" &
pa=$!
"$mien" "${args[@]}" --checkpoint-dir "$d/b.ck" --out "$d/b" 2>"$d/b1.log" &
pb=$!
while [ ! -e "$d/b.ck/epoch-0001.safetensors" ]; do kill -0 "$pb" 2>/dev/null || { cat "$d/b1.log"; exit 1; }; sleep 0.2; done
sleep 5
kill -9 "$pb"; wait "$pb" || true
echo "killed the second run during epoch 2; checkpoints: $(ls "$d/b.ck" | tr '\n' ' ')"
"$mien" "${args[@]}" --checkpoint-dir "$d/b.ck" --out "$d/b" --resume 2>"$d/b2.log"
wait "$pa"
grep -h "epoch\|resuming" "$d/a.log" "$d/b1.log" "$d/b2.log"
sha256sum "$d/a/model.safetensors" "$d/b/model.safetensors"
python3 - "$d/a/training.json" "$d/b/training.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
same = a["history"] == b["history"] and a["content_hash"] == b["content_hash"]
print("identical weights and history:", same, "| resumed from epoch", b["resumed_from_epoch"])
sys.exit(0 if same else 1)
PY
