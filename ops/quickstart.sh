#!/usr/bin/env bash
# The README's first quick-start command: installs what Mien needs (idempotent), builds it,
# and runs the main job on the bundled sample data (four synthetic clips with ground truth),
# writing results to mien-out/ (frames.jsonl, segments.jsonl, videos.jsonl, metrics.json).
# The samples are drawn faces, so the job uses the bundle trained for them (`--model synthetic`);
# without --model, mien runs the default bundle for real footage (fer2013-mien).
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh --quiet
flags=(-c release -Xswiftc -enable-testing)
swift build "${flags[@]}" --product mien
mien="$(swift build "${flags[@]}" --show-bin-path)/mien"
"$mien" run samples/synthetic --labels samples/synthetic/labels.csv --frame-labels samples/synthetic/frames.csv \
  --model synthetic --out mien-out "$@"
echo
echo "per-video results (mien-out/videos.jsonl):"
cut -c1-160 mien-out/videos.jsonl
