#!/usr/bin/env bash
# End-to-end checks of the cluster on the bundled synthetic sample, with real processes:
#   1. `mien run` (embedded) and ops/local-cluster.sh (2 feature + 2 sequence worker
#      processes over tcp) give the same frames, segments and videos;
#   2. kill -9 of a feature worker mid-job: the job completes with the same outputs;
#   3. kill -9 of a sequence worker mid-job: likewise;
#   4. kill -9 of the coordinator mid-job, then a new coordinator with --resume: likewise,
#      every frame exactly once;
#   5. --frames inline with feature workers that cannot open the videos (a mount namespace of
#      their own hides the sample folder under an empty tmpfs; their working directory is
#      elsewhere): the coordinator decodes and ships the frames; likewise;
#   6. feature extraction by role processes (coordinator and aggregator with --extract, 2
#      feature workers) writes the embeddings of `mien extract`.
#   ops/cluster-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
mien=$(realpath "$mien")  # the inline run starts workers in another working directory
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; [ -n "${MIEN_KEEP:-}" ] && echo "cluster-test: kept $work" || rm -rf "$work"' EXIT
sample=samples/synthetic
args=(--labels $sample/labels.csv)
fail() { echo "cluster-test: FAILED: $*" >&2; exit 1; }

same() {  # same outputs as the embedded run (floats within 1e-5), each line's key once
  python3 ops/compare_results.py "$work/embedded" "$1" >/dev/null || fail "$2: outputs differ from mien run's: $(python3 ops/compare_results.py "$work/embedded" "$1" 2>&1)"
  echo "cluster-test: $2: outputs equal mien run's ($(wc -l < "$1/frames.jsonl") frame lines, each once)"
}

"$mien" run $sample "${args[@]}" --out "$work/embedded" 2>/dev/null
ops/local-cluster.sh --mien "$mien" --out "$work/cluster" --port 5655 "${args[@]}" $sample 2>/dev/null
same "$work/cluster" "2+2 worker processes"

# Starts aggregator + workers on ports from $1; the coordinator is started by the caller.
# Feature workers run under "${wrap[@]}" (empty: as they are). With $3 = feature|sequence, the
# second worker of that kind is held back: start_worker starts it later.
wrap=()
start_roles() {
  local base=$1 out=$2 held=${3:-}
  "$mien" aggregator --bind tcp://127.0.0.1:$((base + 2)) --publish tcp://127.0.0.1:$((base + 3)) --out "$out" 2>"$out.aggregator.log" &
  aggregator=$!; pids+=($aggregator)
  fw=(); sw=()
  for i in 1 2; do
    [ "$held$i" = feature2 ] || start_worker feature "$base" "$out" "$i"
    [ "$held$i" = sequence2 ] || start_worker sequence "$base" "$out" "$i"
  done
}
start_worker() {  # kind base out index
  if [ "$1" = feature ]; then
    "${wrap[@]}" "$mien" feature-worker --coordinator tcp://127.0.0.1:$2 2>"$3.fw$4.log" & fw+=($!); pids+=($!)
  else
    "$mien" sequence-worker --coordinator tcp://127.0.0.1:$(($2 + 1)) 2>"$3.sw$4.log" & sw+=($!); pids+=($!)
  fi
}
coordinator() {  # base out [--resume]; exec, so that a background call's PID is the coordinator's
  exec "$mien" coordinator --features tcp://127.0.0.1:$1 --sequences tcp://127.0.0.1:$(($1 + 1)) \
    --aggregator tcp://127.0.0.1:$(($1 + 2)) --journal "$2/journal.log" "${args[@]}" ${3:-} $sample 2>>"$2.coordinator.log"
}
mid_job() {  # true while the job is running (not every video has its result yet)
  local out=$1
  [ "$(wc -l < "$out/videos.jsonl" 2>/dev/null || echo 0)" -lt 4 ]
}
# Waits (≤ 60 s) until the coordinator log of $1 says the worker whose log is $2 was handed its
# first batch: killing it then leaves work in flight that only a re-queue can finish.
wait_working() {
  local log=$1 wlog=$2 id=""
  for _ in $(seq 600); do
    # key=value logs: the worker's `msg="serving tcp://…" … worker=ID`, the coordinator's
    # (debug, --verbose) `msg="feature worker handed its first batch" … worker=ID#N`.
    id=${id:-$(sed -n 's/.*msg="serving tcp:[^"]*".* worker=\([^ ]*\).*/\1/p' "$wlog" 2>/dev/null | head -1)}
    [ -n "$id" ] && grep -qE "msg=\"(feature|sequence) worker handed its first batch\".* worker=${id}(#[0-9]+)?( |\$)" "$log" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# The victim's sibling (the other worker of its kind) starts only after the kill plus more than
# the heartbeat expiry (3 s): until then the job cannot end, so the coordinator must notice the
# dead worker whatever the machine's speed — by its silence, or sooner by a send that finds it
# gone (EHOSTUNREACH) — and its work can only be finished by a re-queue.
for victim in feature sequence; do
  out="$work/kill-$victim"; mkdir -p "$out"
  start_roles 5700 "$out" $victim
  (coordinator 5700 "$out" --verbose) & c=$!; pids+=($c)
  if [ $victim = feature ]; then w=${fw[0]}; wlog="$out.fw1.log"; else w=${sw[0]}; wlog="$out.sw1.log"; fi
  wait_working "$out.coordinator.log" "$wlog" || fail "kill-$victim: the worker was never handed work"
  mid_job "$out" || fail "kill-$victim: the job ended before the kill"
  kill -9 "$w"; wait "$w" 2>/dev/null || true
  sleep 4
  start_worker $victim 5700 "$out" 2
  wait $c || fail "kill-$victim: coordinator exited with $?"
  wait $aggregator || true
  grep -qE "stopped heartbeating|could not send .* to ${victim:0:1}w-" "$out.coordinator.log" || fail "kill-$victim: the coordinator never noticed the dead worker"
  same "$out" "kill -9 of a $victim worker"
  for p in "${fw[@]}" "${sw[@]}"; do kill "$p" 2>/dev/null || true; done
done

# The coordinator dies once the first video is finished (so --resume has something to skip)
# and before the last one is.
out="$work/kill-coordinator"; mkdir -p "$out"
start_roles 5800 "$out"
(coordinator 5800 "$out") & c=$!; pids+=($c)
for _ in $(seq 1200); do [ -s "$out/videos.jsonl" ] && break; sleep 0.05; done
[ -s "$out/videos.jsonl" ] || fail "kill-coordinator: no video finished within 60 s"
mid_job "$out" || fail "kill-coordinator: the job ended before the kill"
kill -9 $c; wait $c 2>/dev/null || true
(coordinator 5800 "$out" --resume) || fail "kill-coordinator: the resumed coordinator exited with $?"
wait $aggregator || true
same "$out" "kill -9 of the coordinator, then --resume"
for p in "${fw[@]}" "${sw[@]}"; do kill "$p" 2>/dev/null || true; done

# Inline frames: feature workers without access to the videos. `unshare -rm` (an unprivileged
# user + mount namespace) execs, so each worker's PID stays the one recorded.
# Batches as long as the reference run's default (100 frames; inline defaults to 32): each batch
# starts with a full face scan, so equal outputs need equal batch boundaries.
out="$work/inline"; mkdir -p "$out" "$work/elsewhere"
videos=$PWD/$sample
if unshare -rm sh -c 'mount -t tmpfs none "$1" && ! test -e "$1/clip_00000.mp4"' _ "$videos" 2>/dev/null; then
  wrap=(unshare -rm sh -c 'mount -t tmpfs none "$1" && cd "$2" && shift 2 && exec "$@"' _ "$videos" "$work/elsewhere")
else
  echo "cluster-test: inline: no mount namespaces here (unshare -rm); the workers only run elsewhere and could open the videos"
  wrap=(sh -c 'cd "$1" && shift && exec "$@"' _ "$work/elsewhere")
fi
start_roles 5900 "$out"
timeout 300 "$mien" coordinator --features tcp://127.0.0.1:5900 --sequences tcp://127.0.0.1:5901 --aggregator tcp://127.0.0.1:5902 \
  --journal "$out/journal.log" --frames inline --batch-frames 100 "${args[@]}" $sample 2>>"$out.coordinator.log" || fail "inline: coordinator exited with $? (logs: $out.*.log)"
wait $aggregator || true
same "$out" "--frames inline, feature workers without the videos"
for p in "${fw[@]}" "${sw[@]}"; do kill "$p" 2>/dev/null || true; done

# 6. Extraction across processes = mien extract (the bundle's CNN, the same frame labels).
"$mien" extract $sample --labels $sample/labels.csv --frame-labels $sample/frames.csv --cnn models/synthetic/cnn \
  --out "$work/extract-embedded" 2>/dev/null
ops/local-cluster.sh --mien "$mien" --extract -f 2 --out "$work/extract-cluster" --port 5955 --model synthetic \
  --labels $sample/labels.csv --frame-labels $sample/frames.csv $sample 2>/dev/null
python3 ops/compare_results.py "$work/extract-embedded" "$work/extract-cluster" --extract >/dev/null \
  || fail "extraction: outputs differ from mien extract's: $(python3 ops/compare_results.py "$work/extract-embedded" "$work/extract-cluster" --extract 2>&1)"
echo "cluster-test: extraction by 2 feature-worker processes: embeddings equal mien extract's ($(wc -l < "$work/extract-cluster/embeddings.jsonl") tracks)"
echo "cluster-test: all passed"
