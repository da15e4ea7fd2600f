#!/usr/bin/env bash
# Interop check for downstream consumers: builds the C example consumer (libzmq + protobuf-c)
# and runs it and the Python example consumer (pyzmq + protobuf) against Swift-produced
# messages (`mien selftest publish`), then asserts both decoded every envelope field for
# field equal to what Swift sent (`mien selftest dump`).
#   ops/interop-test.sh [path/to/mien]
set -euo pipefail
cd "$(dirname "$0")/.."
mien=${1:-$(swift build ${MIEN_SWIFT_FLAGS:--c release} --show-bin-path)/mien}
[ -x "$mien" ] || { echo "interop: $mien not built; run swift build first" >&2; exit 1; }

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
make -s -C examples/c >/dev/null
"$mien" selftest dump > "$work/expected.jsonl"
count=$(wc -l < "$work/expected.jsonl")
endpoint="ipc://$work/stream.sock"

"$mien" selftest publish --endpoint "$endpoint" --subscribers 2 --timeout 30 &
publisher=$!
examples/c/build/mien-consumer "$endpoint" "$count" > "$work/c.jsonl" &
c_consumer=$!
python3 examples/python/mien_consumer.py "$endpoint" --count "$count" > "$work/python.jsonl" &
py_consumer=$!
wait $publisher
wait $c_consumer
wait $py_consumer

echo "interop: C consumer:"
python3 examples/compare_json.py "$work/expected.jsonl" "$work/c.jsonl"
echo "interop: Python consumer:"
python3 examples/compare_json.py "$work/expected.jsonl" "$work/python.jsonl"

# The live result stream of a real job reaches both consumers.
live="ipc://$work/live.sock"
# (a generous idle timeout: the first video result takes a while on a loaded 2-core machine)
examples/c/build/mien-consumer --timeout 120 "$live" 4 video_result > "$work/c-live.jsonl" &
c_live=$!
python3 examples/python/mien_consumer.py "$live" --count 4 --topic video_result --timeout 120 > "$work/py-live.jsonl" 2> "$work/py-live.log" &
py_live=$!
# Both subscribe before the first video can finish: Python's start-up can take longer than the
# job's first video, so wait for the consumer to say it has subscribed (a fixed 1 s missed it).
for _ in $(seq 200); do grep -q "subscribed to" "$work/py-live.log" 2>/dev/null && break; sleep 0.05; done
sleep 1
"$mien" run samples/synthetic --out "$work/run" --publish "$live" 2>/dev/null
wait $c_live
wait $py_live
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
expected = {json.loads(l)["video"]: json.loads(l)["label"] for l in open(f"{work}/run/videos.jsonl")}
for who in ("c", "py"):
    got = {}
    for line in open(f"{work}/{who}-live.jsonl"):
        v = json.loads(line)["video_result"]
        got[v["video_id"]] = v["label"]
    assert got == expected, f"{who} consumer received {got}, videos.jsonl says {expected}"
print(f"interop: C and Python consumers received the live stream of a mien run: {len(expected)} video results each, equal to videos.jsonl")
PY
