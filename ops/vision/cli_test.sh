#!/usr/bin/env bash
# End-to-end check of `mien probe` and `mien detect`: exact output on committed fixtures and
# generated videos, and clear errors with exit status 1 for bad inputs.
#   ops/vision/cli_test.sh [MIEN_BINARY]
# Needs ffmpeg. Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
mien=${1:-.build/release/mien}
root=$(cd "$(dirname "$0")/../.." && pwd)
fix="$root/Tests/MienVisionTests/Fixtures"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() {  # name, expected, actual
  if [ "$2" == "$3" ]; then passed=$((passed + 1)); else failed=$((failed + 1)); printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"; fi
}

cp "$fix/astronaut.jpg" "$work/astronaut.jpg"
check "probe image" \
  '{"codec":"jpg","duration":0,"fps":0,"frame_count":1,"frame_count_exact":true,"height":512,"kind":"image","path":"'"$work"'/astronaut.jpg","width":512}' \
  "$("$mien" probe "$work/astronaut.jpg")"

ffmpeg -v error -y -f lavfi -i "testsrc2=size=320x240:rate=25:duration=2" -c:v libx264 -pix_fmt yuv420p "$work/clip.mp4"
check "probe video (exact count)" \
  '{"codec":"avc1","duration":2,"fps":25,"frame_count":50,"frame_count_exact":true,"height":240,"kind":"video","path":"'"$work"'/clip.mp4","width":320}' \
  "$("$mien" probe --count "$work/clip.mp4")"

# OpenCV's imgcodecs and videoio (GDAL, GStreamer: ~100 libraries, ~0.09 s of every start) are
# opened only when an image is read or a video written, never for a video job.
loaded() {  # library, command…: how often the dynamic loader opened the library
  LD_DEBUG=files "${@:2}" 2>&1 >/dev/null | grep "generating link map" | grep -c "file=[^ ]*$1"
}
check "video probe loads no imgcodecs" 0 "$(loaded libopencv_imgcodecs "$mien" probe --count "$work/clip.mp4")"
check "video probe loads no videoio" 0 "$(loaded libopencv_videoio "$mien" probe --count "$work/clip.mp4")"
check "image probe opens imgcodecs" 1 "$(loaded libopencv_imgcodecs "$mien" probe "$work/astronaut.jpg")"
# Without imgcodecs (hidden by a bind mount in a private mount namespace) an image is one clear
# error naming the library and its package, and videos still work.
if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
  lib=$(ldconfig -p | awk '/libopencv_imgcodecs\.so\.[0-9]/ {print $NF; exit}')
  hidden() { unshare -m sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$lib" "$@"; }
  status=0
  out=$(hidden "$mien" probe "$work/astronaut.jpg" 2>&1) || status=$?
  check "missing imgcodecs: exit status" 1 "$status"
  check "missing imgcodecs: clear error" 1 "$(echo "$out" | grep -c "missing library: cannot load OpenCV's imgcodecs library .*apt-get install libopencv-imgcodecs")"
  check "missing imgcodecs: videos still work" 50 "$(hidden "$mien" probe --count "$work/clip.mp4" | python3 -c 'import json, sys; print(json.load(sys.stdin)["frame_count"])')"
else
  echo "skipped: the missing-imgcodecs checks need root (a private mount namespace)"
fi
# The two libraries come through Mien's own libMienOpenCVIO.so, found beside the binary or in
# its ../lib: a binary copied without it says so for an image, and works for a video.
mkdir -p "$work/bare/bin" "$work/bare/lib"
cp "$mien" "$work/bare/bin/mien"
status=0
out=$("$work/bare/bin/mien" probe "$work/astronaut.jpg" 2>&1) || status=$?
check "no libMienOpenCVIO: exit status" 1 "$status"
check "no libMienOpenCVIO: clear error" 1 "$(echo "$out" | grep -c "missing library: cannot find libMienOpenCVIO.so beside $work/bare/bin or in its ../lib: it is built with mien")"
check "no libMienOpenCVIO: videos still work" 50 "$("$work/bare/bin/mien" probe --count "$work/clip.mp4" | python3 -c 'import json, sys; print(json.load(sys.stdin)["frame_count"])')"
cp "$(dirname "$mien")/libMienOpenCVIO.so" "$work/bare/lib/"
check "libMienOpenCVIO in ../lib (the container's layout)" 1 "$(loaded libopencv_imgcodecs "$work/bare/bin/mien" probe "$work/astronaut.jpg")"

mkdir "$work/frames"
for i in 1 2 10; do cp "$fix/fer_crop_astronaut.png" "$work/frames/frame$i.png"; done
check "probe folder" \
  '{"codec":"png","duration":0.3,"fps":10,"frame_count":3,"frame_count_exact":true,"height":64,"kind":"frames","path":"'"$work"'/frames","width":64}' \
  "$("$mien" probe --folder-fps 10 "$work/frames")"

check "detect text" \
  "$work/astronaut.jpg frame 0 t=0.000s: 1 face(s) (178,67 92×92 score 45.00)
$work/astronaut.jpg: 1 frames processed, 1 with faces, 1 faces
  detection: 1 full-frame, 0 keyframes without a full scan (scene unchanged), 0 followed, 0 template match(es) failed and searched by the cascade, 0 face(s) lost by the search" \
  "$("$mien" detect --crop fer "$work/astronaut.jpg")"

check "detect json" \
  '{"faces":[{"h":92,"roll":0,"score":45,"w":92,"x":178,"y":67}],"frame":0,"height":512,"path":"'"$work"'/astronaut.jpg","timestamp":0,"width":512}' \
  "$("$mien" detect --json --crop fer "$work/astronaut.jpg")"

check "detect json, default aligned crop: the bundled 5-point landmarks and the measured roll" \
  "5 3.3" \
  "$("$mien" detect --json "$work/astronaut.jpg" | /usr/bin/python3 -c 'import json,sys; f=json.load(sys.stdin)["faces"][0]; print(len(f["landmarks"]), f["roll"])')"

check "detect sampled video (no faces in the test pattern; full detection on every 5th processed frame)" \
  "$work/clip.mp4: 10 frames processed, 0 with faces, 0 faces
  detection: 2 full-frame, 0 keyframes without a full scan (scene unchanged), 8 followed, 0 template match(es) failed and searched by the cascade, 0 face(s) lost by the search" \
  "$("$mien" detect --every 5 "$work/clip.mp4")"

echo "not a video" > "$work/bad.mp4"
err=$("$mien" probe "$work/bad.mp4" 2>&1 >/dev/null); status=$?
check "probe bad input status" "1" "$status"
check "probe bad input names the file" "yes" "$(grep -q "$work/bad.mp4: unsupported format" <<<"$err" && echo yes || echo no)"
err=$("$mien" detect "$work/missing.mp4" 2>&1 >/dev/null); status=$?
check "detect missing status" "1" "$status"
check "detect missing names the file" "yes" "$(grep -q "$work/missing.mp4: not found" <<<"$err" && echo yes || echo no)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
