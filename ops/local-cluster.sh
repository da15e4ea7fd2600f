#!/usr/bin/env bash
# Starts a Mien cluster on one machine as separate processes over tcp:// on loopback:
# an aggregator, a coordinator, N feature workers and M sequence workers, and waits for
# the job to finish. Outputs go to --out as with `mien run`.
#
#   ops/local-cluster.sh [-f N] [-s M] [--out DIR] [--labels labels.csv] [--frame-labels frames.csv]
#                        [--port BASE] [--mien PATH] [--model NAME|DIR] [--resume] [--extract] INPUT…
# --extract: feature extraction only (as `mien extract`: embeddings.jsonl, no sequence workers).
#
# Ports: BASE (feature workers), BASE+1 (sequence workers), BASE+2 (aggregator),
# BASE+3 (result stream for consumers). Logs: DIR/logs/<role>.log.
set -euo pipefail
cd "$(dirname "$0")/.."

features=2 sequences=2 out=mien-out labels="" frame_labels="" base=5555 mien="" resume="" model=""
inputs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -f) features=$2; shift 2 ;;
    -s) sequences=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --labels) labels=$2; shift 2 ;;
    --frame-labels) frame_labels=$2; shift 2 ;;
    --port) base=$2; shift 2 ;;
    --mien) mien=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --resume) resume=--resume; shift ;;
    --extract) extract=--extract; shift ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) inputs+=("$1"); shift ;;
  esac
done
[ ${#inputs[@]} -gt 0 ] || { echo "local-cluster: give at least one INPUT" >&2; exit 2; }
[ -n "$mien" ] || mien="$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien"
[ -x "$mien" ] || { echo "local-cluster: $mien not built (swift build -c release -Xswiftc -enable-testing --product mien)" >&2; exit 1; }

fe="tcp://127.0.0.1:$base" se="tcp://127.0.0.1:$((base + 1))"
ae="tcp://127.0.0.1:$((base + 2))" pe="tcp://127.0.0.1:$((base + 3))"
mkdir -p "$out/logs"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

[ -n "${extract:-}" ] && sequences=0  # extraction runs no sequence workers
"$mien" aggregator --bind "$ae" --publish "$pe" --out "$out" $resume ${extract:-} \
  ${frame_labels:+--frame-labels "$frame_labels"} 2> "$out/logs/aggregator.log" &
aggregator=$!; pids+=($aggregator)
for i in $(seq 1 "$features"); do
  "$mien" feature-worker --coordinator "$fe" ${model:+--model "$model"} 2> "$out/logs/feature-worker-$i.log" & pids+=($!)
done
for i in $(seq 1 "$sequences"); do
  "$mien" sequence-worker --coordinator "$se" ${model:+--model "$model"} 2> "$out/logs/sequence-worker-$i.log" & pids+=($!)
done
status=0
"$mien" coordinator --features "$fe" --sequences "$se" --aggregator "$ae" --journal "$out/journal.log" ${model:+--model "$model"} $resume ${extract:-} \
  ${labels:+--labels "$labels"} "${inputs[@]}" 2> >(tee "$out/logs/coordinator.log" >&2) || status=$?
wait "$aggregator" || true
echo "local-cluster: job finished with status $status; results in $out, logs in $out/logs" >&2
exit $status
