#!/usr/bin/env bash
# Multi-host tests on one machine: Linux network namespaces joined by veth pairs and a bridge
# give the coordinator, the aggregator, two feature workers, a sequence worker and a result
# consumer their own IP addresses, so every link is real TCP between hosts:
#
#   10.200.0.10 coordinator   10.200.0.11 aggregator   10.200.0.21/22 feature workers
#   10.200.0.31 sequence worker   10.200.0.40 consumer   10.200.0.50 intruder (wrong CURVE key)
#
#   1. plaintext job (--insecure-bind) on samples/synthetic: outputs equal `mien run`'s;
#      mid-job the first feature worker's link is cut (ip link set … down): the coordinator
#      notices, re-queues its batches, the link comes back, and every result is there exactly once;
#      the packet capture of this run contains the video ids, topics and label names (so the
#      check in 2 can fail);
#   2. CURVE job (keys from ops/deploy/make-keys.sh): outputs equal `mien run`'s; a feature worker
#      with a key that is not on the allow-list is refused (coordinator log) and gets no work;
#      the capture (tshark's dumpcap on the coordinator's and aggregator's veths) contains none
#      of those strings.
#
#   ops/netns-test.sh [path/to/mien]
# Skips (exit 0, saying why) when not root or when `ip netns add` fails. Needs iproute2 and
# tshark (ops/setup.sh installs them). Part 2 skips, naming the command, while the binary has
# no `mien keys generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
mien=$(realpath "${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}")
say() { echo "netns-test: $*"; }
skip() { say "SKIPPED: $*"; exit 0; }
fail() { say "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "creating network namespaces needs root (run as root)"
command -v ip >/dev/null || skip "no ip command (apt-get install iproute2)"
for tool in dumpcap tshark; do command -v $tool >/dev/null || fail "$tool not found (ops/setup.sh installs tshark)"; done

# Names unique to this run (interface names are limited to 15 characters).
tag=$(printf '%04x' $(( $$ % 65536 )))
ns() { echo "mien$tag-$1"; }
bridge="mb$tag"
roles=(c a f1 f2 s1 x w)
declare -A addr=([c]=10.200.0.10 [a]=10.200.0.11 [f1]=10.200.0.21 [f2]=10.200.0.22 [s1]=10.200.0.31 [x]=10.200.0.40 [w]=10.200.0.50)
work=$(mktemp -d)
pids=() capture=""
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "$capture" ] && kill "$capture" 2>/dev/null || true
  for r in "${roles[@]}"; do ip netns del "$(ns $r)" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  if [ -n "${MIEN_KEEP:-}" ]; then echo "netns-test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if ! err=$(ip netns add "$(ns c)" 2>&1); then skip "ip netns add failed ($err): network namespaces are not available here"; fi

# The bridge has no address: the namespaces' subnet never touches the host's routing table.
# nf_call_iptables=0 keeps a host firewall's FORWARD policy out of the bridged traffic.
ip link add "$bridge" type bridge
ip link set "$bridge" type bridge nf_call_iptables 0 nf_call_ip6tables 0 2>/dev/null || true
ip link set "$bridge" up
for r in "${roles[@]}"; do
  n=$(ns $r)
  [ "$r" = c ] || ip netns add "$n"
  ip link add "mv$tag-$r" type veth peer name "mp$tag-$r" netns "$n"
  ip link set "mv$tag-$r" master "$bridge" up
  ip -n "$n" link set "mp$tag-$r" name eth0
  ip -n "$n" addr add "${addr[$r]}/24" dev eth0
  ip -n "$n" link set eth0 up
  ip -n "$n" link set lo up
done
in_ns() { local r=$1; shift; ip netns exec "$(ns $r)" "$@"; }

# Reachability: a listener in the coordinator's namespace, a connection from a worker's.
in_ns c python3 -c '
import socket, sys
s = socket.socket(); s.bind(("10.200.0.10", 5599)); s.listen(1); s.settimeout(10)
c, _ = s.accept(); c.sendall(b"ok")' &
listener=$!
sleep 0.3
got=$(in_ns f1 python3 -c '
import socket, time
for _ in range(50):
    try:
        s = socket.create_connection(("10.200.0.10", 5599), timeout=2); print(s.recv(2).decode()); break
    except OSError: time.sleep(0.1)') || true
wait $listener || true
[ "$got" = ok ] || fail "no TCP between the namespaces over bridge $bridge (a host firewall on bridged traffic?)"
say "namespaces up: coordinator ${addr[c]}, aggregator ${addr[a]}, feature workers ${addr[f1]} ${addr[f2]}, sequence worker ${addr[s1]}"

sample=samples/synthetic
labels=(--labels $sample/labels.csv)
# The deployment files (and this test's coordinator flags) are set for the `synthetic` bundle
# (window 8) the samples were made for; `mien run`'s reference outputs must use it too.
export MIEN_MODEL=synthetic
# The coordinator takes the window from its --model bundle as `mien run` does; the deployment files pass
# --window/--stride explicitly, and so does this test (the bundle's T, stride T/2).
window=$(python3 -c 'import json; print(json.load(open("models/synthetic/bilstm/model.json"))["input"]["window"])')
windows=(--window "$window" --stride $(( window / 2 > 0 ? window / 2 : 1 )))
# Detection on every full frame, with a very fine image pyramid (step 1.01, ~230 levels): the
# default front end finishes the 4 sample clips well within a second of the workers joining,
# before a link can be cut mid-job (with Mien's Haar evaluator, every frame at step 1.03 took
# ~1.2 s end to end in one process, at 1.01 ~3 s). The same front end for the reference run and
# the workers, so the outputs must still be equal. Haar, not the default RetinaFace: the pyramid
# options are Haar's, and RetinaFace finishes the clips before the cut.
front=(--detector haar --detect-every 1 --detect-max-side 640 --detect-scale-factor 1.01 --detect-min-neighbors 5)
# Short batches (4 per clip; the default is 100 frames by reference, one batch per clip): each
# worker holds work in flight until the job's last batches, so the link cut below catches the
# worker with batches that only a re-queue can finish. The same for the reference run: a batch
# starts with a full scan, so equal outputs need equal batch boundaries.
batching=(--batch-frames 16)
"$mien" run $sample "${labels[@]}" "${front[@]}" "${batching[@]}" --out "$work/embedded" 2>/dev/null
same() {  # same outputs as the embedded run (floats within 1e-5), each line's key once
  python3 ops/compare_results.py "$work/embedded" "$1" >/dev/null ||
    fail "$2: outputs differ from mien run's: $(python3 ops/compare_results.py "$work/embedded" "$1" 2>&1)"
  say "$2: outputs equal mien run's ($(wc -l < "$1/frames.jsonl") frame lines, each once)"
}

start_capture() {  # file: dumpcap on the host side of the coordinator's and aggregator's veths
  dumpcap -q -i "mv$tag-c" -i "mv$tag-a" -f tcp -w "$1" 2>"$1.log" & capture=$!
  for _ in $(seq 50); do grep -q "Capturing on" "$1.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
}
stop_capture() { kill -INT "$capture" 2>/dev/null || true; wait "$capture" 2>/dev/null || true; capture=""; }
# A worker's id from its "serving" log line: "ID: serving …" or logfmt "… msg=\"serving …\" … worker=ID".
wid() {
  local line; line=$(grep -m1 "serving" "$1" || true)
  if [[ "$line" =~ (^|[[:space:]])worker=\"?([^\"[:space:]]+) ]]; then echo "${BASH_REMATCH[2]}"
  else sed -n 's/^\([^ ]*\): serving .*$/\1/p' <<<"$line"; fi
}

# job NAME [curve]: starts the roles in their namespaces; the caller waits for the coordinator.
job() {
  local name=$1 mode=${2:-plain} out="$work/$1"
  mkdir -p "$out"
  local sec_a=() sec_c=() sec_f=() sec_s=() sec_x=()
  if [ "$mode" = curve ]; then
    local k="$work/keys"
    sec_a=(--curve-secret-key "$k/secret/aggregator.key" --curve-allow "$k/allow-aggregator" --curve-allow-consumers "$k/allow-consumers")
    sec_c=(--curve-secret-key "$k/secret/coordinator.key" --curve-allow "$k/allow-coordinator" --curve-server-key "$k/public/aggregator.pub")
    sec_f=(--curve-secret-key "$k/secret/feature-worker.key" --curve-server-key "$k/public/coordinator.pub")
    sec_s=(--curve-secret-key "$k/secret/sequence-worker.key" --curve-server-key "$k/public/coordinator.pub")
    sec_x=(--curve-secret-key "$k/secret/consumer.key" --curve-server-key "$k/public/aggregator.pub")
  else
    sec_a=(--insecure-bind) sec_c=(--insecure-bind)
  fi
  ip netns exec "$(ns a)" "$mien" aggregator --bind tcp://${addr[a]}:5557 --publish tcp://${addr[a]}:5558 --out "$out" "${sec_a[@]}" 2>"$out.aggregator.log" &
  aggregator=$!; pids+=($aggregator)
  ip netns exec "$(ns x)" python3 examples/python/mien_consumer.py tcp://${addr[a]}:5558 --timeout 120 "${sec_x[@]}" >"$out.consumer.jsonl" 2>"$out.consumer.log" &
  consumer=$!; pids+=($consumer)
  ip netns exec "$(ns f1)" "$mien" feature-worker --coordinator tcp://${addr[c]}:5555 "${front[@]}" "${sec_f[@]}" 2>"$out.f1.log" & f1=$!; pids+=($f1)
  ip netns exec "$(ns f2)" "$mien" feature-worker --coordinator tcp://${addr[c]}:5555 "${front[@]}" "${sec_f[@]}" 2>"$out.f2.log" & f2=$!; pids+=($f2)
  ip netns exec "$(ns s1)" "$mien" sequence-worker --coordinator tcp://${addr[c]}:5556 "${sec_s[@]}" 2>"$out.s1.log" & s1=$!; pids+=($s1)
  # The consumer subscribes before the first result is published: Python's start-up competes with
  # the workers' model loading, so wait for it to say so (a fixed 1 s was not always enough).
  for _ in $(seq 200); do grep -q "subscribed to" "$out.consumer.log" 2>/dev/null && break; sleep 0.05; done
  grep -q "subscribed to" "$out.consumer.log" || fail "$name: the consumer did not start ($(tail -2 "$out.consumer.log"))"
  sleep 0.5  # the subscription reaches the aggregator's PUB socket
  ip netns exec "$(ns c)" "$mien" coordinator --features tcp://${addr[c]}:5555 --sequences tcp://${addr[c]}:5556 \
    --aggregator tcp://${addr[a]}:5557 --journal "$out/journal.log" --verbose "${batching[@]}" "${windows[@]}" "${sec_c[@]}" "${labels[@]}" $sample \
    2>"$out.coordinator.log" & coordinator=$!; pids+=($coordinator)
}
finish() {  # name: waits for the job, stops the workers and the consumer
  local out="$work/$1"
  wait "$coordinator" || fail "$1: coordinator exited with $? ($(tail -3 "$out.coordinator.log"))"
  wait "$aggregator" || fail "$1: aggregator exited with $? ($(tail -3 "$out.aggregator.log"))"
  sleep 0.5
  for p in $f1 $f2 $s1 $consumer; do kill "$p" 2>/dev/null || true; done
  for p in $f1 $f2 $s1 $consumer; do wait "$p" 2>/dev/null || true; done
}

# --- 1. plaintext job across the namespaces, with a link cut mid-job -------------------------
start_capture "$work/plain.pcapng"
t0=$(date +%s.%N)
job plain
out="$work/plain"
for _ in $(seq 100); do grep -q "feature worker.* joined" "$out.coordinator.log" 2>/dev/null && break; sleep 0.1; done
sleep 1  # the workers hold batches from their first second on (credit-based prefetch)
[ "$(wc -l < "$out/videos.jsonl" 2>/dev/null || echo 0)" -lt 4 ] || fail "link cut: the job ended before the cut; the test needs a longer job"
f1id=$(wid "$out.f1.log")
[ -n "$f1id" ] || fail "link cut: no worker id in $out.f1.log"
ip link set "mv$tag-f1" down
say "link cut: ip link set mv$tag-f1 down (feature worker $f1id at ${addr[f1]})"
noticed=""
for _ in $(seq 100); do
  grep "feature worker.* stopped heartbeating" "$out.coordinator.log" | grep -q -F -e "$f1id" && { noticed=yes; break; }
  kill -0 "$coordinator" 2>/dev/null || break
  sleep 0.1
done
ip link set "mv$tag-f1" up
[ -n "$noticed" ] || fail "link cut: the coordinator never reported feature worker $f1id as dead"
say "link cut: the coordinator re-queued the batches of $f1id; link restored"
finish plain
stop_capture
same "$out" "plaintext job over TCP between namespaces, a feature worker's link cut mid-job"
say "plaintext job took $(python3 -c "import time; print(round(time.time() - $t0, 1))") s"
consumer_got() {  # name: the consumer in its own namespace received every frame and video result
  local out="$work/$1" frames videos
  frames=$(grep -c '"frame_result"' "$out.consumer.jsonl" || true)
  videos=$(grep -c '"video_result"' "$out.consumer.jsonl" || true)
  [ "$frames" -eq "$(wc -l < "$out/frames.jsonl")" ] && [ "$videos" -eq "$(wc -l < "$out/videos.jsonl")" ] ||
    fail "$1: the consumer at ${addr[x]} received $frames frame and $videos video results, the job wrote $(wc -l < "$out/frames.jsonl") and $(wc -l < "$out/videos.jsonl") ($(tail -2 "$out.consumer.log"))"
  say "$1: the consumer at ${addr[x]} received all $frames frame and $videos video results"
}
consumer_got plain

# Strings that must be visible in plaintext traffic: video ids (the feature batches carry the
# path), result topics, and label names (≥ 5 characters, so that random ciphertext bytes do not
# match them by chance: 2^-40 per position).
needles=(clip_00000 clip_00001 samples/synthetic frame_result video_result surprise neutral disgust happy angry)
python3 ops/pcap_strings.py "$work/plain.pcapng" "${needles[@]}" > "$work/plain.strings.json"
python3 - "$work/plain.strings.json" <<'EOF' || fail "the plaintext capture lacks strings it should contain: $(cat "$work/plain.strings.json")"
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
labels = [k for k in ("surprise", "neutral", "disgust", "happy", "angry") if c[k] > 0]
missing = [k for k in ("clip_00000", "samples/synthetic", "frame_result", "video_result") if c[k] == 0]
print(f"netns-test: plaintext capture: {r['payload_bytes']} payload bytes in {r['streams']} TCP streams; "
      f"video ids {c['clip_00000'] + c['clip_00001']}x, topics {c['frame_result'] + c['video_result']}x, label names {labels}")
sys.exit(1 if missing or not labels else 0)
EOF

# --- 2. CURVE job: encrypted and authenticated; an intruder with a wrong key ----------------------
if ! python3 ops/has-command.py "$mien" keys generate 2>/dev/null; then
  say "SKIPPED the CURVE part (wrong-key worker, encrypted capture): this mien has no \`mien keys generate\` command"
  say "all passed (CURVE part skipped)"
  exit 0
fi
ops/deploy/make-keys.sh --mien "$mien" "$work/keys" >/dev/null
"$mien" keys generate --out "$work/intruder" --name intruder >/dev/null
start_capture "$work/curve.pcapng"
job curve curve
out="$work/curve"
ip netns exec "$(ns w)" "$mien" feature-worker --coordinator tcp://${addr[c]}:5555 \
  --curve-secret-key "$work/intruder/intruder.key" --curve-server-key "$work/keys/public/coordinator.pub" 2>"$out.intruder.log" &
intruder=$!; pids+=($intruder)
finish curve
kill "$intruder" 2>/dev/null || true; wait "$intruder" 2>/dev/null || true
stop_capture
same "$out" "CURVE job between namespaces, with an intruder on the network"

intruder_key=$(cat "$work/intruder/intruder.pub")
intruder_id=$(wid "$out.intruder.log")
# Z85 keys contain regular-expression characters and may start with "-": match them as fixed
# strings given with -e.
refusal=$(grep -E -i "refus|denied|reject" "$out.coordinator.log" | grep -F -e "$intruder_key" | grep -F -e "${addr[w]}" | head -1)
[ -n "$refusal" ] ||
  fail "wrong key: the coordinator log has no refusal naming the intruder's key $intruder_key and address ${addr[w]}: $(grep -i -E 'refus|denied|reject|curve|zap' "$out.coordinator.log" | head -3)"
[ -n "$intruder_id" ] || fail "wrong key: no worker id in $out.intruder.log"
if grep -F -e "$intruder_id" "$out.coordinator.log" | grep -q -v -E -i "refus|denied|reject"; then
  fail "wrong key: the coordinator dealt with the intruder $intruder_id: $(grep -F -e "$intruder_id" "$out.coordinator.log" | head -3)"
fi
say "wrong key: the intruder $intruder_id at ${addr[w]} never joined; the coordinator logged: $(echo "$refusal" | cut -c1-170)"
consumer_got curve

python3 ops/pcap_strings.py "$work/curve.pcapng" "${needles[@]}" CURVE > "$work/curve.strings.json"
python3 - "$work/curve.strings.json" <<'EOF' || fail "the CURVE capture: $(cat "$work/curve.strings.json")"
import json, sys
r = json.load(open(sys.argv[1]))
c = r["counts"]
leaked = {k: v for k, v in c.items() if k != "CURVE" and v > 0}
print(f"netns-test: CURVE capture: {r['payload_bytes']} payload bytes in {r['streams']} TCP streams; "
      f"CURVE handshakes seen {c['CURVE']}x; plaintext strings found: {leaked or 'none'}")
if r["payload_bytes"] < 10000 or c["CURVE"] == 0:
    sys.exit("netns-test: the capture holds too little CURVE traffic to judge")
sys.exit(1 if leaked else 0)
EOF
say "all passed"
