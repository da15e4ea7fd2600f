#!/usr/bin/env bash
# `mien train cnn` end to end on a tiny SYNTHETIC FER2013-format CSV (ops/fixtures/make_fer2013_csv.py):
#   - an uninterrupted 3-epoch run, and the same run killed with kill -9 after its first
#     checkpoint and continued with --resume, end with byte-identical model.safetensors and the
#     same per-epoch history; and a --threads 2 run gives the same weights as --threads 1;
#   - the bundle loads as a CNN (mien classify reads it);
#   - --teacher: a distilled run records its teachers; resuming it with other teachers is refused;
#   - a malformed CSV row is one clear error naming the file and line (exit 1).
#   ops/train-cnn-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
fail() { echo "train-cnn-test: FAILED: $*" >&2; exit 1; }

python3 ops/fixtures/make_fer2013_csv.py "$work/fer.csv" --per-class 8 --seed 3
common=(train cnn --data "$work/fer.csv" --epochs 3 --lr 0.002 --patience 5 --seed 5)
args=("${common[@]}" --batch-size 8 --threads 1)

echo "train-cnn-test: uninterrupted run, 3 epochs"
"$mien" "${args[@]}" --checkpoint-dir "$work/a.ck" --out "$work/a" 2>"$work/a.log" || { cat "$work/a.log"; fail "uninterrupted run"; }

echo "train-cnn-test: same run, kill -9 after the first checkpoint"
"$mien" "${args[@]}" --checkpoint-dir "$work/b.ck" --out "$work/b" 2>"$work/b1.log" &
pid=$!
for _ in $(seq 1 1200); do
  [ -e "$work/b.ck/epoch-0001.safetensors" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
[ -e "$work/b.ck/epoch-0001.safetensors" ] || { cat "$work/b1.log"; fail "no checkpoint after epoch 1"; }
[ ! -e "$work/b/model.safetensors" ] || fail "the run finished before it was killed; cannot test resumption"
done_epochs=$(ls "$work/b.ck" | grep -c '^epoch-.*\.safetensors$')
echo "  killed with $done_epochs of 3 epoch checkpoints written"

echo "train-cnn-test: --resume"
"$mien" "${args[@]}" --checkpoint-dir "$work/b.ck" --out "$work/b" --resume 2>"$work/b2.log" || { cat "$work/b2.log"; fail "resumed run"; }
grep -q "resuming after epoch $done_epochs" "$work/b2.log" || { cat "$work/b2.log"; fail "the resumed run did not start from epoch $done_epochs"; }
a_sum=$(sha256sum < "$work/a/model.safetensors"); b_sum=$(sha256sum < "$work/b/model.safetensors")
[ "$a_sum" = "$b_sum" ] || fail "weights differ: uninterrupted ${a_sum:0:16}, resumed ${b_sum:0:16}"
python3 - "$work/a/training.json" "$work/b/training.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["history"] == b["history"], (a["history"], b["history"])
assert a["best_epoch"] == b["best_epoch"] and a["content_hash"] == b["content_hash"]
assert b["resumed_from_epoch"] >= 1 and a["resumed_from_epoch"] == 0
assert set(a["history"][0]) == {"epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy"}
print("  identical weights (sha256 %s…) and history; best epoch %d, validation accuracy %.3f (synthetic)"
      % (a["content_hash"][:12], a["best_epoch"], a["best_validation_accuracy"]))
PY

echo "train-cnn-test: batches of 16 (two chunks) on one and on two threads give the same weights"
for t in 1 2; do
  "$mien" "${common[@]}" --batch-size 16 --threads $t --checkpoint-dir "$work/t$t.ck" --out "$work/t$t" 2>"$work/t$t.log" \
    || { cat "$work/t$t.log"; fail "run with --threads $t"; }
done
t1=$(sha256sum < "$work/t1/model.safetensors"); t2=$(sha256sum < "$work/t2/model.safetensors")
[ "$t1" = "$t2" ] || fail "weights differ between --threads 1 (${t1:0:16}) and --threads 2 (${t2:0:16})"

echo "train-cnn-test: the bundle is a CNN mien can load"
python3 - "$work/img.pgm" <<'PY'
import sys
open(sys.argv[1], "wb").write(b"P5 64 64 255\n" + bytes((x * 4) % 256 for x in range(64 * 64)))
PY
"$mien" classify --model "$work/a/model.json" --aligned "$work/img.pgm" >"$work/classify.out" 2>&1 || { cat "$work/classify.out"; fail "classify with the trained bundle"; }

echo "train-cnn-test: distillation: --teacher (the run above and fer2013), its report, and a resume with another teacher refused"
"$mien" "${args[@]}" --epochs 1 --teacher "$work/a, fer2013" --distill-weight 0.6 --checkpoint-dir "$work/d.ck" --out "$work/d" 2>"$work/d.log" ||
  { cat "$work/d.log"; fail "a run with --teacher"; }
grep -q "teacher $work/a, fer2013 (flip-averaged, T 2) agrees with" "$work/d.log" || { cat "$work/d.log"; fail "the run does not report its teachers"; }
python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))["distillation"]; assert d["weight"] == 0.6 and "fer2013@" in d["teachers"] and 0 <= d["teacher_train_agreement"] <= 1, d' \
  "$work/d/training.json" || fail "training.json does not record the distillation"
status=0
"$mien" "${args[@]}" --epochs 2 --teacher fer2013 --distill-weight 0.6 --checkpoint-dir "$work/d.ck" --out "$work/d2" --resume 2>"$work/d2.log" || status=$?
[ $status -ne 0 ] && grep -q "other data, settings" "$work/d2.log" || { cat "$work/d2.log"; fail "a resume with other teachers must be refused"; }
status=0
"$mien" "${args[@]}" --teacher "fer2013,," --out "$work/d3" 2>"$work/d3.log" || status=$?
[ $status -ne 0 ] && grep -q -- "--teacher and --teacher-predictions need names separated by commas" "$work/d3.log" || { cat "$work/d3.log"; fail "an empty teacher name must be refused"; }

echo "train-cnn-test: a malformed row is a clear error"
{ head -3 "$work/fer.csv"; echo "2,1 2 3,Training"; } > "$work/bad.csv"
status=0
"$mien" train cnn --data "$work/bad.csv" --epochs 1 --out "$work/bad" 2>"$work/bad.log" || status=$?
[ $status -eq 1 ] || { cat "$work/bad.log"; fail "exit status $status for a bad row, expected 1"; }
grep -q "bad.csv line 4: 3 pixel values" "$work/bad.log" || { cat "$work/bad.log"; fail "the error does not name the file and line"; }
echo "train-cnn-test: passed"
