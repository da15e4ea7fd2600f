#!/usr/bin/env bash
# Checks a built Mien image (ops/deploy/build-image.sh runs it after each build):
#   1. `mien --version` runs, and how long the container takes to do it (start to exit);
#   2. every shared library resolves: `ldd` of mien and of every OpenCV module installed (the
#      ones mien opens on first use included) finds each library it needs;
#   3. the image runs as a non-root user (UID 10001) with no shell login;
#   4. the models are found and work: `mien run` on a bundled sample clip, as that user, with a
#      read-only root filesystem, no capabilities and the clip mounted read-only, labels the
#      clip with the default bundle (status ok, faces found).
#   ops/deploy/check-image.sh [IMAGE]     (default mien:latest)
set -euo pipefail
cd "$(dirname "$0")/../.."
script_name=check-image
source ops/deploy/podman/lib.sh
image=${1:-mien:latest}
clip=samples/synthetic/clip_00000.mp4
fail() { say "FAILED: $image: $*"; exit 1; }
locked=(--read-only --cap-drop ALL --security-opt no-new-privileges --network none)

check_version() {
  local t out
  t=$(now)
  out=$(podman run --rm "${locked[@]}" "$image" --version) || fail "mien --version failed"
  say "1. mien --version: $out (container start to exit: $(elapsed "$t") s)"
}

check_libraries() {
  local out
  out=$(podman run --rm --network none --entrypoint sh "$image" -c \
    'ldd /usr/local/bin/mien /usr/lib/x86_64-linux-gnu/libopencv_*.so.4*') || fail "ldd failed in the image"
  ! grep "not found" <<<"$out" || fail "unresolved shared libraries (add their Debian packages to the runtime stage's apt-get line)"
  say "2. shared libraries: all $(grep -c '=>' <<<"$out") resolved (mien and $(grep -c '^/' <<<"$out") files checked)"
}

check_user() {
  local uid
  uid=$(podman run --rm "${locked[@]}" --entrypoint id "$image" -u)
  [ "$uid" = 10001 ] || fail "runs as UID $uid, expected the non-root 10001"
  say "3. runs as UID $uid (non-root)"
}

check_models() {
  local out
  out=$(podman run --rm "${locked[@]}" --tmpfs /tmp -v "$PWD/$clip:/data/clip.mp4:ro" --entrypoint sh "$image" -c \
    'mien run /data/clip.mp4 --out /tmp/out >/dev/null 2>/tmp/err || { cat /tmp/err >&2; exit 1; }; cat /tmp/out/videos.jsonl') \
    || fail "mien run on $clip failed in the image"
  summary=$(python3 - "$out" <<'EOF'
import json, sys
v = json.loads(sys.argv[1])
assert v["status"] == "ok" and v["faces"] > 0 and v["label"], v
print(f"{v['faces']} faces, label {v['label']}")
EOF
) || fail "mien run on $clip in the image: $out"
  say "4. models found: mien run on $clip as UID 10001, read-only root: $summary"
}

check_version
check_libraries
check_user
check_models
say "$image passed"
