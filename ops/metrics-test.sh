#!/usr/bin/env bash
# The metrics endpoints of a real cluster job (process level), on the bundled synthetic sample:
#   coordinator, aggregator, 2 feature workers and a sequence worker, each with --metrics,
#   over the 4 sample clips copied 3 times (12 videos, 1.5 MB). The feature workers start only once
#   the job is under way, so "during the run" is a fact and not a race with a fast machine:
#   then `mien status` prints the running job and the coordinator's /metrics parses with
#   prometheus_client's text parser (videos known, feature batches queued, none processed);
#   once frames flow, a feature worker's /metrics parses too;
#   at the end (--metrics-linger keeps the endpoints up): the counters equal the job's counts
#   in frames.jsonl / segments.jsonl / videos.jsonl (ops/metrics_check.py), /status says
#   finished; HTTP 404 and 400 answers; `mien status` against a closed port is a clear error;
#   `mien run --metrics` on one clip: /status and /metrics agree with its outputs.
#   ops/metrics-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; [ -n "${MIEN_KEEP:-}" ] && echo "metrics-test: kept $work" || rm -rf "$work"' EXIT
fail() { echo "metrics-test: FAILED: $*" >&2; for f in "$work"/*.log; do echo "--- $f" >&2; tail -5 "$f" >&2; done; exit 1; }
check=ops/metrics_check.py
sample=samples/synthetic
zmq=6055 http=9655   # ZeroMQ ports zmq..zmq+3, metrics ports http..http+4
coord_m=127.0.0.1:$http agg_m=127.0.0.1:$((http + 1)) seq_m=127.0.0.1:$((http + 2))
fw_m=(127.0.0.1:$((http + 3)) 127.0.0.1:$((http + 4)))
out="$work/out"; mkdir -p "$out"
linger=(--metrics-linger 120)
archive="$work/archive"
for copy in a b c; do
  mkdir -p "$archive/$copy"
  cp $sample/clip_*.mp4 "$archive/$copy/"
done
videos=$(find "$archive" -name '*.mp4' | wc -l)

"$mien" aggregator --bind tcp://127.0.0.1:$((zmq + 2)) --publish tcp://127.0.0.1:$((zmq + 3)) --out "$out" \
  --metrics $agg_m "${linger[@]}" 2>"$work/aggregator.log" & pids+=($!)
"$mien" sequence-worker --coordinator tcp://127.0.0.1:$((zmq + 1)) --metrics $seq_m "${linger[@]}" 2>"$work/sw.log" & pids+=($!)
"$mien" coordinator --features tcp://127.0.0.1:$zmq --sequences tcp://127.0.0.1:$((zmq + 1)) --aggregator tcp://127.0.0.1:$((zmq + 2)) \
  --journal "$work/journal.log" --metrics $coord_m "${linger[@]}" "$archive" 2>"$work/coordinator.log" & coordinator=$!
pids+=($coordinator)

status_json() { curl -sf --max-time 5 "http://$coord_m/status" 2>/dev/null || true; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, d))' "$1"; }

# During the run, before any feature worker: videos probed, batches queued.
deadline=$((SECONDS + 120)) mid=""
while [ $SECONDS -lt $deadline ]; do
  s=$(status_json)
  if [ -n "$s" ] && [ "$(echo "$s" | field 'frames["total"] > 0 and batches["feature_queued"] > 0')" = True ]; then mid=1; break; fi
  kill -0 $coordinator 2>/dev/null || fail "the coordinator exited before the job got under way"
  sleep 0.2
done
[ -n "$mid" ] || fail "the job did not get under way on /status within 120 s"
line=$("$mien" status --url "http://$coord_m") || fail "mien status during the run exited with $?"
echo "metrics-test: mien status during the run: $line"
case "$line" in job-*" running: videos 0/$videos  frames 0/"*) ;; *) fail "mien status printed: $line" ;; esac
"$mien" status --url "http://$coord_m" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["state"] == "running" and d["videos"]["total"] == int(sys.argv[1]) and d["batches"]["feature_queued"] > 0, d' $videos \
  || fail "mien status --json"
python3 $check scrape "http://$coord_m/metrics" "$work/coord-mid.txt" || fail "mid-run coordinator /metrics"
python3 $check midrun "$work/coord-mid.txt" $videos || fail "mid-run exposition"

# Now the feature workers; a feature worker's /metrics once frames flow.
for i in 0 1; do
  "$mien" feature-worker --coordinator tcp://127.0.0.1:$zmq --metrics ${fw_m[$i]} "${linger[@]}" 2>"$work/fw$i.log" & pids+=($!)
done
deadline=$((SECONDS + 180)) flowing=""
while [ $SECONDS -lt $deadline ]; do
  s=$(status_json)
  if [ -n "$s" ] && [ "$(echo "$s" | field 'frames["done"] > 0')" = True ]; then flowing=1; break; fi
  sleep 0.2
done
[ -n "$flowing" ] || fail "no frames processed within 180 s of starting the feature workers"
python3 $check scrape "http://${fw_m[0]}/metrics" "$work/fw-mid.txt" || fail "feature worker /metrics while frames flow"
echo "metrics-test: feature worker /metrics parsed while frames flow"

# The end: /status says finished (the endpoints linger), final scrapes.
deadline=$((SECONDS + 600)) done=""
while [ $SECONDS -lt $deadline ]; do
  s=$(status_json)
  if [ -n "$s" ] && [ "$(echo "$s" | field 'state')" = finished ]; then done=1; break; fi
  kill -0 $coordinator 2>/dev/null || fail "the coordinator exited without lingering"
  sleep 0.5
done
[ -n "$done" ] || fail "the job did not finish within 600 s"
final=$(status_json)
echo "metrics-test: final /status: $final"
# The aggregator acknowledges the last video before it writes the job metrics: wait for them.
for _ in $(seq 1 100); do [ -s "$out/metrics.json" ] && break; sleep 0.1; done
python3 $check scrape "http://$coord_m/metrics" "$work/coord.txt" || fail "final coordinator /metrics"
python3 $check scrape "http://$agg_m/metrics" "$work/agg.txt" || fail "final aggregator /metrics"
python3 $check scrape "http://$seq_m/metrics" "$work/seq.txt" || fail "final sequence worker /metrics"
for i in 0 1; do python3 $check scrape "http://${fw_m[$i]}/metrics" "$work/fw$i.txt" || fail "final feature worker $i /metrics"; done
python3 $check final "$out" "$work/coord.txt" "$work/agg.txt" "$work/coord-mid.txt" "$work/seq.txt" "$work/fw0.txt" "$work/fw1.txt" \
  || fail "final counters"
frames=$(python3 -c 'import json,sys; print(sum(json.loads(l)["frames"] for l in open(sys.argv[1])))' "$out/videos.jsonl")
[ "$(echo "$final" | field 'frames["done"]')" = "$frames" ] || fail "/status frames done differs from videos.jsonl's $frames"

# HTTP errors: unknown path → 404, garbage → 400; workers serve no /status.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$coord_m/nope")" = 404 ] || fail "unknown path is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://${fw_m[0]}/status")" = 404 ] || fail "a worker's /status is not 404"
answer=$(printf 'NOT HTTP AT ALL\r\n\r\n' | python3 -c '
import socket, sys
host, port = sys.argv[1].split(":")
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(sys.stdin.buffer.read())
print(s.recv(100).decode().splitlines()[0])' "$coord_m")
[ "$answer" = "HTTP/1.1 400 Bad Request" ] || fail "garbage request answered: $answer"
echo "metrics-test: 404 for unknown paths, 400 for a malformed request"

# SIGTERM ends the linger; then nothing listens and mien status says so.
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait $coordinator || fail "coordinator exited with $? after SIGTERM during the linger"
err=$("$mien" status --url "http://$coord_m" 2>&1) && fail "mien status succeeded with nothing listening"
case "$err" in *"nothing answers at http://$coord_m"*) ;; *) fail "unclear error with nothing listening: $err" ;; esac
echo "metrics-test: with nothing listening: $err"

# mien run serves the same endpoints for its in-process roles.
run_m=127.0.0.1:$((http + 5))
"$mien" run $sample/clip_00001.mp4 --out "$work/run" --metrics $run_m "${linger[@]}" 2>"$work/run.log" & run=$!; pids+=($run)
deadline=$((SECONDS + 300)) done=""
while [ $SECONDS -lt $deadline ]; do
  s=$(curl -sf --max-time 5 "http://$run_m/status" 2>/dev/null || true)
  if [ -n "$s" ] && [ "$(echo "$s" | field 'state')" = finished ]; then done=1; break; fi
  kill -0 $run 2>/dev/null || fail "mien run exited without lingering"
  sleep 0.5
done
[ -n "$done" ] || fail "mien run did not finish within 300 s"
python3 $check scrape "http://$run_m/metrics" "$work/run.txt" || fail "mien run /metrics"
python3 - "$work/run.txt" "$work/run" "$s" <<'PY' || fail "mien run's metrics differ from its outputs"
import json, sys
sys.path.insert(0, "ops")
from metrics_check import load, value
m, out, status = load(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
videos = [json.loads(l) for l in open(f"{out}/videos.jsonl")]
faces = sum(1 for _ in open(f"{out}/frames.jsonl"))
frames = sum(v["frames"] for v in videos)
assert status["frames"]["done"] == frames and status["videos"]["done"] == 1, status
assert value(m, "mien_frames_processed_total", role="coordinator") == frames
assert value(m, "mien_frames_processed_total", role="feature-worker") == frames
assert value(m, "mien_results_published_total", role="aggregator", kind="frame") == faces
print(f"metrics-test: mien run --metrics: /status and /metrics agree with its outputs ({frames} frames, {faces} face-frames)")
PY
kill -TERM $run; wait $run || fail "mien run exited with $? after SIGTERM during the linger"
echo "metrics-test: all passed"
