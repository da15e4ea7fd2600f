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
