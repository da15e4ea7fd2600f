#!/usr/bin/env bash
# `mien tune` end to end, as real processes, on a small embedding cache (a seeded test fixture
# from ops/tune/make_cache.py: order-separable happy/sad tracks, not real data):
#   - a grid of 4 trials in 2 worker processes: a progress line per trial, the configurations
#     whose stride does not fit the window reported as failed with their error while the others
#     finish, ranked results.csv / results.md, trials.jsonl, best/ and a bundle.json that
#     `mien run --model` accepts (it runs a sample clip with it);
#   - `mien train bilstm` with the best configuration writes the same weights as best/;
#   - the same command again gives the same table (timings aside);
#   - a worker killed (-9) mid-trial: that trial is reported failed, a new worker runs the rest;
#   - Ctrl-C (SIGINT) mid-search: exit status 130, the partial table written, no worker left;
#   - the same grid with --parallel 0 --listen and 2 remote `mien tune-worker --coordinator`
#     processes: the same table (timings aside) and the same bundle files (sha256);
#   - a remote tune-worker killed (-9) mid-trial: its trial runs on the other, every trial is ok
#     and the table is that of a local run; the workers exit when the search is over.
#   ops/tune-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "tune-test: FAILED: $*" >&2; exit 1; }

python3 ops/tune/make_cache.py "$work/cache.jsonl"
args=(--cache "$work/cache.jsonl" --units 4,8 --lr 0.01 --dropout 0 --window 4,12 --stride 6
      --epochs 6 --patience 3 --batch-size 8 --seed 2 --parallel 2)

echo "tune-test: grid of 4 trials (2 cannot fit their stride) in 2 worker processes"
"$mien" tune "${args[@]}" --out "$work/a" 2>"$work/a.log" || { cat "$work/a.log"; fail "mien tune exited with $?"; }
[ "$(grep -c '^tune \[[1-4]/4\] trial' "$work/a.log")" -eq 4 ] || { cat "$work/a.log"; fail "expected 4 progress lines"; }
python3 - "$work/a" <<'PY' || fail "tables of the first run"
import csv, json, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
assert len(rows) == 4, rows
ok = [r for r in rows if r["status"] == "ok"]
bad = [r for r in rows if r["status"] == "failed"]
assert [r["rank"] for r in ok] == ["1", "2"] and [r["window"] for r in ok] == ["12", "12"], ok
assert len(bad) == 2 and all(r["window"] == "4" and "stride 6 does not fit window 4" in r["error"] for r in bad), bad
accs = [float(r["val_accuracy"]) for r in ok]
assert accs == sorted(accs, reverse=True), accs
md = open(os.path.join(out, "results.md")).read()
assert md.count("\n| ") == 5 and "stride 6 does not fit window 4" in md, md
streamed = [json.loads(l) for l in open(os.path.join(out, "trials.jsonl"))]
assert sorted(r["trial"] for r in streamed) == [1, 2, 3, 4], streamed
best = int(ok[0]["trial"])
report = json.load(open(os.path.join(out, "best", "training.json")))
assert report["tune_trial"] == best and "test_window_accuracy" in report, report
assert open(os.path.join(out, "best", "model.safetensors"), "rb").read() == open(os.path.join(out, "trials", "%03d" % best, "model.safetensors"), "rb").read()
bundle = json.load(open(os.path.join(out, "bundle.json")))
assert bundle["bilstm"] == "best" and os.path.isfile(os.path.join(bundle["cnn"], "model.json")), bundle
print("tune-test: ranked table, failed trials reported, best = trial %d (val acc %s)" % (best, ok[0]["val_accuracy"]))
PY

echo "tune-test: mien run --model with the tuned bundle"
"$mien" run samples/synthetic/clip_00001.mp4 --model "$work/a" --out "$work/run" 2>"$work/run.log" || { cat "$work/run.log"; fail "mien run --model <tuned> exited with $?"; }
python3 - "$work/run" <<'PY' || { cat "$work/run.log"; fail "mien run wrote no labels with the tuned bundle"; }
import json, os, sys
videos = [json.loads(l) for l in open(os.path.join(sys.argv[1], "videos.jsonl"))]
assert len(videos) == 1 and videos[0]["status"] == "ok" and videos[0]["label"], videos
frames = [json.loads(l) for l in open(os.path.join(sys.argv[1], "frames.jsonl"))]
assert frames and all(f["label"] for f in frames), len(frames)
PY

echo "tune-test: mien train bilstm with the best configuration and seed makes the same weights"
read -r units window stride < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["units"], r["window"], r["stride"])' "$work/a/best/training.json")
"$mien" train bilstm --cache "$work/cache.jsonl" --out "$work/trained" --units "$units" --window "$window" --stride "$stride" \
  --learning-rate 0.01 --dropout 0 --epochs 6 --patience 3 --batch-size 8 --seed 2 2>"$work/train.log" || { cat "$work/train.log"; fail "train bilstm"; }
cmp "$work/trained/model.safetensors" "$work/a/best/model.safetensors" || fail "mien tune's best weights differ from mien train bilstm's with the same configuration"

echo "tune-test: mien train bilstm --cnn-prior --validation-cache: epoch 0 is the CNN's window mean, selection on the given cache"
# The cache's CNN probabilities are uniform: give each frame some that lean to happy early in a
# track and to sad late, so that the window mean is right on some windows and wrong on others.
python3 - "$work/cache.jsonl" "$work/prior-cache.jsonl" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        t = json.loads(line)
        n = len(t["frames"])
        t["cnn_probs"] = [[0.05, 0.05, 0.05, 0.5 - 0.4 * i / n, 0.1 + 0.4 * i / n, 0.1, 0.15] for i in range(n)]
        out.write(json.dumps(t) + "\n")
PY
"$mien" train bilstm --cache "$work/cache.jsonl" --validation-cache "$work/prior-cache.jsonl" --cnn-prior --out "$work/prior" --units 8 \
  --window "$window" --stride "$stride" --learning-rate 0.01 --dropout 0 --epochs 3 --patience 3 --batch-size 8 --seed 2 \
  2>"$work/prior.log" || { cat "$work/prior.log"; fail "train bilstm --cnn-prior"; }
python3 - "$work/prior" "$work/prior-cache.jsonl" "$window" "$stride" <<'PY' || { cat "$work/prior.log"; fail "train bilstm --cnn-prior: wrong history or bundle"; }
import json, sys
out, cache, T, S = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = json.load(open(f"{out}/training.json"))
m = json.load(open(f"{out}/model.json"))
assert m["bilstm"]["cnn_prior"] is True and r["cnn_prior"] is True and r["validation_cache"] == cache, (m["bilstm"], r["validation_cache"])
assert [h["epoch"] for h in r["history"]] == [0, 1, 2, 3] and r["test_window_accuracy"] is None, r["history"]
# Epoch 0's validation accuracy is the CNN's window label (argmax of the mean of its frames'
# probabilities, centre frame's truth) on the windows TrackWindower cuts, computed here anew.
L = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
right = total = 0
for line in open(cache):
    t = json.loads(line)
    n = len(t["frames"])
    starts = list(range(0, n - T + 1, S)) if n >= T else [0]
    if n >= T and starts[-1] + T < n: starts.append(n - T)
    for s in starts:
        idx = range(s, min(s + T, n))
        mean = [sum(t["cnn_probs"][i][c] for i in idx) for c in range(7)]
        centre = list(idx)[len(idx) // 2]
        right += L[max(range(7), key=lambda c: mean[c])] == t["labels"][centre]
        total += 1
acc = r["history"][0]["validation_accuracy"]
assert 0 < right < total and abs(acc - right / total) < 1e-9, (acc, right, total)
print(f"tune-test: --cnn-prior epoch 0 validation accuracy {acc:.4f} = the CNN's window mean over {total} windows")
PY

echo "tune-test: the same command gives the same table"
"$mien" tune "${args[@]}" --out "$work/b" 2>"$work/b.log" || { cat "$work/b.log"; fail "second run exited with $?"; }
cut -d, -f1-16 "$work/a/results.csv" > "$work/a.cut"; cut -d, -f1-16 "$work/b/results.csv" > "$work/b.cut"
diff "$work/a.cut" "$work/b.cut" || fail "tables differ between two runs with the same seed"

echo "tune-test: a worker killed mid-trial fails that trial only; a fresh worker runs the rest"
# 200 epochs (~3 s a trial here): the kill, a second after the workers start, lands mid-trial.
# With 60 (~1 s) a trial could end just before it, and the killed worker was idle between trials.
"$mien" tune --cache "$work/cache.jsonl" --units 16 --lr 0.001,0.002,0.003 --dropout 0 --window 12 --stride 1 \
  --epochs 200 --patience 200 --seed 2 --parallel 2 --out "$work/k" 2>"$work/k.log" &
pid=$!
for _ in $(seq 1 100); do grep -qs 'worker process' "$work/k.log" && break; sleep 0.1; done
sleep 1
victim=$(pgrep -o -f "tune-worker --cache $work/cache.jsonl --out $work/k") || fail "no worker process found"
kill -KILL "$victim"
status=0; wait $pid || status=$?
[ $status -eq 0 ] || { cat "$work/k.log"; fail "exit status $status after a worker was killed, expected 0"; }
python3 - "$work/k/results.csv" <<'PY' || { cat "$work/k.log"; fail "table after a worker was killed"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
statuses = sorted(r["status"] for r in rows)
assert statuses == ["failed", "ok", "ok"], statuses
assert "killed by signal 9" in [r for r in rows if r["status"] == "failed"][0]["error"], rows
PY

echo "tune-test: Ctrl-C mid-search writes the partial table"
"$mien" tune --cache "$work/cache.jsonl" --units 64,96 --lr 0.001,0.002,0.003 --dropout 0 --window 12 --stride 1 \
  --epochs 500 --patience 500 --seed 2 --parallel 2 --out "$work/c" 2>"$work/c.log" &
pid=$!
for _ in $(seq 1 100); do grep -qs 'worker process' "$work/c.log" && break; sleep 0.1; done
sleep 1
start=$(date +%s)
kill -INT $pid
status=0; wait $pid || status=$?
[ $status -eq 130 ] || { cat "$work/c.log"; fail "exit status $status after SIGINT, expected 130"; }
[ $(( $(date +%s) - start )) -le 10 ] || fail "took more than 10 s to stop"
if pgrep -f "tune-worker --cache $work/cache.jsonl" >/dev/null; then fail "worker processes left running"; fi
python3 - "$work/c/results.csv" <<'PY' || { cat "$work/c.log"; fail "partial table"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 6, rows
statuses = [r["status"] for r in rows]
assert statuses.count("interrupted") == 2 and statuses.count("not run") == 4, statuses
PY
grep -q 'interrupted' "$work/c.log" || fail "no interrupt message"
# Remote workers: a free loopback port for each search, then tune-workers connecting to it.
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
same_bundles() {  # same files with the same bytes under trials/ of two searches
  (cd "$1" && find trials -type f | sort | xargs sha256sum) > "$work/sums.1"
  (cd "$2" && find trials -type f | sort | xargs sha256sum) > "$work/sums.2"
  diff "$work/sums.1" "$work/sums.2"
}

echo "tune-test: the first grid with --parallel 0 --listen and 2 remote tune-workers gives the same table and bundles"
endpoint=tcp://127.0.0.1:$(port)
# The workers start first: they retry until tune is up.
"$mien" tune-worker --coordinator "$endpoint" 2>"$work/r-w1.log" & w1=$!
"$mien" tune-worker --coordinator "$endpoint" 2>"$work/r-w2.log" & w2=$!
args_remote=("${args[@]}"); args_remote[${#args_remote[@]}-1]=0   # --parallel 0: remote workers only
"$mien" tune "${args_remote[@]}" --listen "$endpoint" --out "$work/r" 2>"$work/r.log" || { cat "$work/r.log" "$work/r-w1.log"; fail "mien tune --listen exited with $?"; }
for w in $w1 $w2; do
  status=0; wait $w || status=$?
  [ $status -eq 0 ] || { cat "$work/r-w1.log" "$work/r-w2.log"; fail "a tune-worker exited with $status after the search"; }
done
grep -q 'joined' "$work/r.log" || { cat "$work/r.log"; fail "no remote worker joined"; }
cut -d, -f1-16,18 "$work/a/results.csv" > "$work/a.cut18"; cut -d, -f1-16,18 "$work/r/results.csv" > "$work/r.cut18"
diff "$work/a.cut18" "$work/r.cut18" || fail "remote workers' table differs from the local one"
same_bundles "$work/a" "$work/r" || fail "remote workers' bundles differ from the local ones"
cmp "$work/a/best/model.safetensors" "$work/r/best/model.safetensors" || fail "best/ differs"

echo "tune-test: a remote tune-worker killed (-9) mid-trial: its trial goes to the other worker, the table is the local one"
kgrid=(--cache "$work/cache.jsonl" --units 16 --lr 0.001,0.002,0.003,0.004 --dropout 0 --window 12 --stride 1
       --epochs 60 --patience 60 --seed 2)
"$mien" tune "${kgrid[@]}" --parallel 2 --out "$work/kl" 2>"$work/kl.log" || { cat "$work/kl.log"; fail "local run of the kill grid exited with $?"; }
endpoint=tcp://127.0.0.1:$(port)
"$mien" tune "${kgrid[@]}" --parallel 0 --listen "$endpoint" --out "$work/kr" 2>"$work/kr.log" &
pid=$!
"$mien" tune-worker --coordinator "$endpoint" 2>"$work/kr-victim.log" & victim=$!
for _ in $(seq 1 100); do grep -qs 'cache .* ready' "$work/kr-victim.log" && break; sleep 0.1; done
"$mien" tune-worker --coordinator "$endpoint" 2>"$work/kr-w2.log" & w2=$!
sleep 0.5  # the victim asked for a trial as soon as it had the cache: it is training now
pgrep -P $victim >/dev/null || { cat "$work/kr.log" "$work/kr-victim.log"; fail "the victim runs no trial"; }
kill -KILL $victim
{ wait $victim; } 2>/dev/null || true
status=0; wait $pid || status=$?
[ $status -eq 0 ] || { cat "$work/kr.log"; fail "exit status $status after a remote worker was killed, expected 0"; }
wait $w2 || fail "the surviving tune-worker did not exit cleanly"
grep -Eq '(disconnected|stopped heartbeating).*running trial' "$work/kr.log" || { cat "$work/kr.log"; fail "tune did not re-queue the killed worker's trial"; }
python3 - "$work/kr/results.csv" <<'PY' || { cat "$work/kr.log"; fail "table after a remote worker was killed"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 4 and all(r["status"] == "ok" for r in rows), rows
PY
cut -d, -f1-16,18 "$work/kl/results.csv" > "$work/kl.cut"; cut -d, -f1-16,18 "$work/kr/results.csv" > "$work/kr.cut"
diff "$work/kl.cut" "$work/kr.cut" || fail "the table after a remote worker was killed differs from the local run's"
same_bundles "$work/kl" "$work/kr" || fail "bundles after a remote worker was killed differ from the local run's"
sleep 1  # its orphaned trial process notices within 0.5 s
if pgrep -f "tune-worker --cache .*mien-tune-worker-$victim-" >/dev/null; then fail "the killed worker's trial process is still running"; fi
rm -rf "${TMPDIR:-/tmp}"/mien-tune-worker-$victim-*  # its scratch folder (it could not clean up)
echo "tune-test: all passed"
