#!/usr/bin/env bash
# Builds Mien's container images with podman from ops/deploy/Dockerfile — the committed file,
# only build arguments differ — on a host that reaches no container registry: the Debian 12
# base image is made locally (debootstrap + podman import), and so is the Swift build image.
# Then checks the image (ops/deploy/check-image.sh).
#
#   ops/deploy/build-image.sh [--binary PATH | --swift-image NAME] [--tag NAME]
#                             [--consumer-tag NAME | --no-consumer] [--no-check]
#
#   (default)          compiles mien inside the Dockerfile's build stage, in a Swift image made
#                      from this host's toolchain (localhost/mien-swift:bookworm: the folder of
#                      `swift`, and /opt/swift-packages when git resolves GitHub from there)
#   --swift-image NAME compiles in that image instead (e.g. swift:6.3-bookworm from a registry)
#   --binary PATH      skips the compile: a mien built on this Debian 12 host takes the build
#                      stage's place (--build-context build=DIR), with the shared libraries
#                      `ldd` resolves outside Debian's packages (a non-static Swift runtime)
#   --tag NAME         the image (default mien:latest, stored as localhost/mien:latest)
#   --consumer-tag     the Python consumer image (default mien-consumer:latest)
# Prints each step's wall time and the image sizes. podman settings: ops/deploy/podman/.
set -euo pipefail
cd "$(dirname "$0")/../.."
script_name=build-image
source ops/deploy/podman/lib.sh

binary="" swift_image="" tag=mien:latest consumer_tag=mien-consumer:latest check=1
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --swift-image) swift_image=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --consumer-tag) consumer_tag=$2; shift 2 ;;
    --no-consumer) consumer_tag=""; shift ;;
    --no-check) check=0; shift ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) say "unknown argument $1 (see --help)"; exit 2 ;;
  esac
done
[ -z "$binary" ] || [ -x "$binary" ] || { say "--binary $binary is not an executable file (build mien first: swift build -c release --product mien)"; exit 2; }

# Build steps (apt-get in the Dockerfile) use the host's network: on some hosts containers on
# podman's networks reach nothing outside (sandboxes without NAT egress); the host always can.
build=(podman build -q --network host)

# localhost/mien-swift:bookworm from the toolchain of the `swift` on PATH (see podman/swift.Containerfile).
make_swift_image() {
  local name=localhost/mien-swift:bookworm toolchain mounts=()
  if podman image exists "$name"; then echo "$name"; return; fi
  toolchain=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
  [ -x "$toolchain/usr/bin/swift" ] || { say "no Swift toolchain found from \`swift\` on PATH (give --swift-image or --binary)"; return 1; }
  mounts=(-v "$toolchain:/mnt/toolchain:ro")
  [ -d /opt/swift-packages ] && git config --get-regexp '^url\..*insteadof' | grep -q /opt/swift-packages \
    && mounts+=(-v /opt/swift-packages:/mnt/packages:ro)
  say "making $name from the toolchain in $toolchain"
  "${build[@]}" "${mounts[@]}" --build-arg BASE="$base_image" -f ops/deploy/podman/swift.Containerfile \
    -t "$name" ops/deploy/podman >/dev/null
  echo "$name"
}

# DIR/out/bin/mien and DIR/out/lib/: what the Dockerfile's build stage would have produced.
stage_binary() {
  local dir=$1 lib path owned=()
  install -D -m 0755 "$binary" "$dir/out/bin/mien"
  mkdir -p "$dir/out/lib"
  # Mien's OpenCV I/O library (imgcodecs, videoio), built beside the binary, opened from ../lib.
  [ -f "$(dirname "$binary")/libMienOpenCVIO.so" ] || { say "$(dirname "$binary")/libMienOpenCVIO.so is missing: build it with swift build -c release --product MienOpenCVIO"; return 1; }
  install -m 0755 "$(dirname "$binary")/libMienOpenCVIO.so" "$dir/out/lib/libMienOpenCVIO.so"
  ldd "$binary" | grep -q "not found" && { say "$binary: $(ldd "$binary" | grep "not found" | head -1)"; return 1; }
  while read -r lib path; do
    dpkg -S "$path" >/dev/null 2>&1 || dpkg -S "$(readlink -f "$path")" >/dev/null 2>&1 \
      || { cp -L "$path" "$dir/out/lib/$lib"; owned+=("$lib"); }
  done < <(ldd "$binary" | sed -n 's/^\s*\(\S*\) => \(\/\S*\) .*/\1 \2/p')
  say "staged $binary with ${#owned[@]} libraries no Debian package provides: ${owned[*]:-none}"
}

image_size() { podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }

build_runtime() {
  local t stage args=(--build-arg RUNTIME_IMAGE="$base_image")
  t=$(now)
  if [ -n "$binary" ]; then
    stage=$(mktemp -d)
    stage_binary "$stage"
    args+=(--build-context "build=$stage")
  else
    args+=(--build-arg SWIFT_IMAGE="${swift_image:-$(make_swift_image)}")
  fi
  say "${build[*]} -f ops/deploy/Dockerfile --target runtime ${args[*]} -t $tag ."
  "${build[@]}" -f ops/deploy/Dockerfile --target runtime "${args[@]}" -t "$tag" . >/dev/null
  [ -z "${stage:-}" ] || rm -rf "$stage"
  say "built $tag in $(elapsed "$t") s: $(image_size "$tag")"
}

build_consumer() {
  local t
  t=$(now)
  "${build[@]}" -f ops/deploy/Dockerfile --target consumer --build-arg RUNTIME_IMAGE="$base_image" \
    -t "$consumer_tag" . >/dev/null
  say "built $consumer_tag in $(elapsed "$t") s: $(image_size "$consumer_tag")"
}

ensure_podman_packages
reason=$(podman_cannot)
[ -z "$reason" ] || { say "$reason"; exit 1; }
t=$(now); make_base_image; say "base image $base_image ready ($(elapsed "$t") s)"
reason=$(podman_cannot run)
[ -z "$reason" ] || { say "$reason"; exit 1; }
build_runtime
[ -z "$consumer_tag" ] || build_consumer
[ "$check" = 0 ] || ops/deploy/check-image.sh "$tag"
