# Sourced by ops/deploy/container-test.sh: the fixtures (keys, data, `mien run` references) and
# the cluster as `podman run` containers. Uses from the caller: mien, work, run_id, fail, say.

# CURVE keys (make-keys.sh) as podman secrets, the synthetic archive, and `mien run`'s outputs.
make_fixtures() {
  local t n
  t=$(now)
  ops/deploy/make-keys.sh --mien "$mien" "$work/keys" >/dev/null
  for n in coordinator aggregator feature-worker sequence-worker consumer; do
    podman secret create "$run_id-$n.key" "$work/keys/secret/$n.key" >/dev/null
  done
  ln -s "$PWD/samples/synthetic" "$work/samples"
  "$mien" synth --out "$work/synthetic" --videos 3 --seed 2121 --min-seconds 2 --max-seconds 3 >/dev/null 2>&1 \
    || fail "mien synth could not make the synthetic archive"
  "$mien" run "$work/samples" --labels "$work/samples/labels.csv" --out "$work/ref-samples" 2>/dev/null
  "$mien" run "$work/synthetic" --labels "$work/synthetic/labels.csv" --out "$work/ref-synthetic" 2>/dev/null
  "$mien" run "$work/samples" --out "$work/ref-samples-unlabelled" 2>/dev/null
  podman network create "$run_id" >/dev/null
  say "fixtures: CURVE keys, a 3-clip synthetic archive, mien run's outputs ($(elapsed "$t") s)"
}

# The outputs in $2 equal those in $1: values (ops/compare_results.py) and, sorted, byte for byte.
same_outputs() {
  local ref=$1 out=$2 what=$3 f
  python3 ops/compare_results.py "$ref" "$out" >/dev/null \
    || fail "$what: outputs differ from mien run's: $(python3 ops/compare_results.py "$ref" "$out" 2>&1 | tail -1)"
  for f in frames.jsonl segments.jsonl videos.jsonl; do
    cmp -s <(sort "$ref/$f") <(sort "$out/$f") || fail "$what: $f has mien run's values but not its bytes"
  done
  say "$what: outputs byte-identical to mien run's ($(wc -l < "$out/frames.jsonl") frame, $(wc -l < "$out/segments.jsonl") segment, $(wc -l < "$out/videos.jsonl") video lines)"
}

# Options every role container gets: this run's label and network, the compose file's lockdown.
# Secret keys as podman secrets at /etc/mien/secret/NAME.key, readable by UID 10001 only (podman 4.3
# cannot mount a secret under /run/secrets of a read-only root filesystem).
locked() { echo --label "$run_id" --network "$run_id" --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges; }
secret() { echo "--secret=$run_id-$1.key,type=mount,target=/etc/mien/secret/$1.key,uid=10001,gid=10001,mode=0400"; }
keys=() # filled by run_cluster: the public keys and allow-lists, read-only

start_aggregator() {  # container out
  podman run -d --name "$1" --network-alias aggregator $(locked) $(secret aggregator) "${keys[@]}" \
    -v "$2:/data/out" mien:latest aggregator --bind tcp://0.0.0.0:5557 --publish tcp://0.0.0.0:5558 \
    --out /data/out --curve-secret-key /etc/mien/secret/aggregator.key --curve-allow /etc/mien/allow-aggregator \
    --curve-allow-consumers /etc/mien/allow-consumers >/dev/null
}

start_consumer() {  # container videos
  podman run -d --name "$1" $(locked) $(secret consumer) "${keys[@]}" mien-consumer:latest tcp://aggregator:5558 \
    --topic video_result --count "$2" --timeout 600 --curve-server-key /etc/mien/public/aggregator.pub \
    --curve-secret-key /etc/mien/secret/consumer.key >/dev/null
}

start_coordinator() {  # container data out
  podman run -d --name "$1" --network-alias coordinator $(locked) $(secret coordinator) "${keys[@]}" \
    -v "$2:/data/videos:ro" -v "$3:/data/out" mien:latest coordinator \
    --features tcp://0.0.0.0:5555 --sequences tcp://0.0.0.0:5556 --aggregator tcp://aggregator:5557 \
    --journal /data/out/journal.log --labels /data/videos/labels.csv --batch-frames 100 --frames reference \
    --window 8 --stride 4 --curve-secret-key /etc/mien/secret/coordinator.key --curve-allow /etc/mien/allow-coordinator \
    --curve-server-key /etc/mien/public/aggregator.pub --verbose /data/videos >/dev/null
}

start_worker() {  # container kind(feature|sequence) data
  local videos=()
  [ "$2" = sequence ] || videos=(-v "$3:/data/videos:ro")
  podman run -d --name "$1" $(locked) $(secret "$2-worker") "${keys[@]}" "${videos[@]}" mien:latest "$2-worker" \
    --coordinator "tcp://coordinator:$([ "$2" = feature ] && echo 5555 || echo 5556)" --model "$MIEN_MODEL" \
    --curve-secret-key "/etc/mien/secret/$2-worker.key" --curve-server-key /etc/mien/public/coordinator.pub >/dev/null
}

# Waits (≤ 120 s) until the coordinator in container $1 logs that the worker in container $2 was
# handed its first batch.
wait_working() {
  local id="" _
  for _ in $(seq 1200); do
    id=${id:-$(podman logs "$2" 2>&1 | sed -n 's/.*msg="serving tcp:[^"]*".* worker=\([^ ]*\).*/\1/p' | head -1)}
    [ -n "$id" ] && podman logs "$1" 2>&1 | grep -qE "msg=\"(feature|sequence) worker handed its first batch\".* worker=${id}(#[0-9]+)?( |\$)" && return 0
    sleep 0.1
  done
  return 1
}

# Exit status of container $1 once it stops (≤ $2 s), "timeout" otherwise.
wait_exit() {
  timeout "$2" podman wait "$1" 2>/dev/null || echo timeout
}

# run_cluster NAME DATA kill|none: one job with every role in its own container. With kill, feature
# worker 1 is killed once it has been handed work; the second feature worker and the sequence
# worker start only 4 s later (more than the 3 s heartbeat expiry), so the job cannot end before
# the coordinator has noticed, and the killed worker's batches can only be finished by a re-queue,
# whatever the machine's speed.
run_cluster() {
  local name=$1 data=$2 kill=$3 out="$work/out-$1" p="$run_id-$1" t ready n rc
  n=$(wc -l < "$work/ref-${name%-nokill}/videos.jsonl")
  keys=(-v "$work/keys/public:/etc/mien/public:ro" -v "$work/keys/allow-coordinator:/etc/mien/allow-coordinator:ro"
        -v "$work/keys/allow-consumers:/etc/mien/allow-consumers:ro"
        -v "$work/keys/allow-aggregator:/etc/mien/allow-aggregator:ro")
  mkdir -p "$out" && chown 10001:10001 "$out"
  t=$(now)
  start_aggregator "$p-aggregator" "$out"
  start_consumer "$p-consumer" "$n"
  start_coordinator "$p-coordinator" "$(realpath "$data")" "$out"
  local t_worker; t_worker=$(now)
  start_worker "$p-fw1" feature "$(realpath "$data")"
  wait_working "$p-coordinator" "$p-fw1" || fail "$name: feature worker 1 was never handed work (logs: podman logs $p-fw1)"
  ready=$(elapsed "$t_worker")
  if [ "$kill" = kill ]; then
    [ "$(wc -l < "$out/videos.jsonl" 2>/dev/null || echo 0)" -lt "$n" ] || fail "$name: the job ended before the kill"
    podman kill "$p-fw1" >/dev/null
    sleep 4
  fi
  start_worker "$p-fw2" feature "$(realpath "$data")"
  start_worker "$p-sw1" sequence "$data"
  rc=$(wait_exit "$p-coordinator" 600)
  [ "$rc" = 0 ] || fail "$name: coordinator exited with $rc: $(podman logs "$p-coordinator" 2>&1 | tail -3)"
  rc=$(wait_exit "$p-aggregator" 60)
  [ "$rc" = 0 ] || fail "$name: aggregator exited with $rc: $(podman logs "$p-aggregator" 2>&1 | tail -3)"
  say "$name: job done in $(elapsed "$t") s (feature worker handed work $ready s after podman run)"
  if [ "$kill" = kill ]; then
    # Either way the coordinator notices (issue 20): silence past the expiry, or a send that finds
    # the worker gone (its work then goes to the other worker at once).
    podman logs "$p-coordinator" 2>&1 | grep -qE "stopped heartbeating|could not send .* to fw-" ||
      fail "$name: the coordinator never noticed the killed worker"
  fi
  same_outputs "$work/ref-${name%-nokill}" "$out" "$name: podman containers$([ "$kill" = kill ] && echo ", feature worker 1 killed mid-job")"
  check_consumer "$p-consumer" "$out" "$name"
  podman rm -f -t 0 "$p-aggregator" "$p-consumer" "$p-coordinator" "$p-fw1" "$p-fw2" "$p-sw1" >/dev/null
}

# The consumer container $1 exits 0 having read one video_result per video (check_stream).
check_consumer() {
  local rc
  rc=$(wait_exit "$1" 60)
  [ "$rc" = 0 ] || fail "$3: the consumer container exited with $rc: $(podman logs "$1" 2>&1 | tail -2)"
  check_stream "$@"
}

# The consumer container $1 printed a video_result for each video of $2/videos.jsonl, same label.
check_stream() {
  podman logs "$1" 2>/dev/null | python3 -c '
import json, sys
got = sorted((m["video_result"]["video_id"], m["video_result"].get("label")) for m in map(json.loads, sys.stdin) if "video_result" in m)
want = sorted((v["video"], v.get("label")) for v in map(json.loads, open(sys.argv[1])))
assert got == want, (got, want)' "$2/videos.jsonl" || fail "$3: the consumer's stream differs from videos.jsonl: $(podman logs "$1" 2>&1 | head -3)"
  say "$3: the consumer container read every video result from the stream"
}
