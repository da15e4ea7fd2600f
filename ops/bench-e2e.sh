#!/usr/bin/env bash
# End-to-end speed of `mien run` against decode-only, side by side (docs/BENCHMARKS.md, "Cluster").
#   ops/bench-e2e.sh ROUNDS INPUT [MIEN_BINARY…]
# INPUT is a video or a folder of videos (an archive). Each round runs, for each binary in turn:
# decode-only (`mien probe --count` of every video), then `mien run` with 1 and 2 feature workers
# at the default decoder threads, then with `--decode-threads 1` (one core per worker), then
# the multi-process cluster of ops/local-cluster.sh with 1 and 2 workers of each kind (a
# `mien feature-worker` process decodes on one thread: one core per worker by design). One line
# per command: "ROUND BINARY RUN WALL_S USER_S SYS_S" (CPU of the processes the command waited
# for: not the cluster's workers, which local-cluster.sh stops at the end); then medians and
# per-round ratios.
# Time on a quiet machine only, after `sync`; the first round is a warm-up and is left out.
set -euo pipefail
rounds=${1:?usage: ops/bench-e2e.sh ROUNDS INPUT [MIEN_BINARY…]}
input=${2:?usage: ops/bench-e2e.sh ROUNDS INPUT [MIEN_BINARY…]}
shift 2
input=$(realpath "$input")
bins=()
for b in "$@"; do bins+=("$(realpath "$b")"); done
cd "$(dirname "$0")/.."
[ ${#bins[@]} -gt 0 ] || bins=("$PWD/.build/release/mien")
videos=("$input")
[ -d "$input" ] && mapfile -t videos < <(find "$input" -maxdepth 1 -type f \( -name '*.mp4' -o -name '*.mkv' -o -name '*.avi' -o -name '*.mov' \) | sort)
out=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$out" "$log"' EXIT
timed() {  # round, binary, run name, command…
  /usr/bin/time -o "$out/time" -f "%e %U %S" "${@:4}" >/dev/null 2>&1
  # folder/name, so that two binaries both called mien (e.g. /tmp/old/mien and .build/release/mien) stay apart
  echo "$1 $(basename "$(dirname "$2")")/$(basename "$2") $3 $(cat "$out/time")"
}
sync
for r in $(seq 0 "$rounds"); do
  for m in "${bins[@]}"; do
    timed "$r" "$m" probe "$m" probe --count "${videos[@]}"
    for w in 1 2; do
      rm -rf "$out/run"; timed "$r" "$m" "fw$w" "$m" run "$input" --out "$out/run" --feature-workers $w
    done
    for w in 1 2; do
      rm -rf "$out/run"; timed "$r" "$m" "fw$w-dt1" "$m" run "$input" --out "$out/run" --feature-workers $w --decode-threads 1
    done
    for w in 1 2; do
      rm -rf "$out/run"; timed "$r" "$m" "cluster$w" ops/local-cluster.sh -f $w -s $w --port 57310 --mien "$m" --out "$out/run" "$input"
    done
  done
done | tee "$log"
python3 - "$log" <<'PY'
import collections, statistics as st, sys
runs = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, b, name, wall = line.split()[:4]
    if r != "0":  # round 0 is the warm-up
        runs[(b, name)][r] = float(wall)
for b in sorted({b for b, _ in runs}):
    rounds = sorted(runs[(b, "probe")], key=int)
    print(f"{b}:")
    for name in ["probe", "fw1", "fw2", "fw1-dt1", "fw2-dt1", "cluster1", "cluster2"]:
        w = [runs[(b, name)][r] for r in rounds]
        print(f"  {name:8} wall {min(w):.2f}-{max(w):.2f} s, median {st.median(w):.2f} s")
    for one, two in [("fw1", "fw2"), ("fw1-dt1", "fw2-dt1"), ("cluster1", "cluster2")]:
        ratio = [runs[(b, one)][r] / runs[(b, two)][r] for r in rounds]
        print(f"  {two} speed-up over {one}: {min(ratio):.2f}-{max(ratio):.2f}x, median {st.median(ratio):.2f}x")
    share = [runs[(b, "probe")][r] / runs[(b, "fw2")][r] for r in rounds]
    print(f"  fw2 share of decode-only: {min(share):.2f}-{max(share):.2f}, median {st.median(share):.2f}")
PY
