#!/usr/bin/env bash
# Vision throughput on a 640×480 synthetic clip (docs/BENCHMARKS.md, "## Vision").
#   ops/vision/bench.sh [MIEN_BINARY] [SECONDS]
# Makes one 640×480, 25 fps, one-face clip with `mien synth` (synthetic data), then times, pinned to
# one core (taskset -c 0) with OpenCV's parallel loops at 1 thread: decode only, and decode +
# detect + crop for each detector (haar, hog) and crop mode (fer, aligned). Figures are frames/s
# per core. Run on a quiet machine: other processes on core 0 lower the figures.
set -euo pipefail
mien=${1:-.build/release/mien}
seconds=${2:-8}
[ -x "$mien" ] || { echo "bench.sh: $mien is not an executable; build with: swift build -c release" >&2; exit 1; }
command -v taskset >/dev/null || { echo "bench.sh: taskset (util-linux) is needed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$mien" synth --out "$work/synth" --videos 1 --seed 7 --min-seconds "$seconds" --max-seconds "$seconds" \
  --width 640 --height 480 --max-faces 1 >/dev/null
clip=$(ls "$work"/synth/*.mp4 | head -1)
echo "clip: $("$mien" probe --count "$clip")"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for detector in haar hog; do
  for crop in fer aligned; do
    taskset -c 0 "$mien" detect --benchmark --threads 1 --detector "$detector" --crop "$crop" "$clip"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
