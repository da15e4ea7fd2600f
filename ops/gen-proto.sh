#!/usr/bin/env bash
# Regenerates the committed Swift code in Sources/MienProto from proto/mien/v1/*.proto,
# or, with --check, verifies that the committed code matches proto/ (fails on drift).
#
# The generator is protoc-gen-swift built from this package's own swift-protobuf
# dependency (so generator and runtime versions match) and Debian's `protoc`.
#   ops/gen-proto.sh          regenerate
#   ops/gen-proto.sh --check  exit 1 and show the diff when generated code is stale
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-generate}
out=Sources/MienProto
swift_flags=(-c release)
if [ -n "${MIEN_SWIFT_FLAGS:-}" ]; then read -r -a swift_flags <<<"$MIEN_SWIFT_FLAGS"; fi

command -v protoc >/dev/null || { echo "gen-proto: protoc not found; run ops/setup.sh first" >&2; exit 1; }
swift build "${swift_flags[@]}" --product protoc-gen-swift >/dev/null
plugin="$(swift build "${swift_flags[@]}" --show-bin-path)/protoc-gen-swift"

generate_into() {
  mkdir -p "$1"
  protoc --plugin=protoc-gen-swift="$plugin" \
         --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
         --swift_out="$1" -I proto proto/mien/v1/*.proto
}

case "$mode" in
  generate)
    rm -f "$out"/*.pb.swift
    generate_into "$out"
    echo "gen-proto: regenerated $(ls "$out"/*.pb.swift | wc -l) files in $out"
    ;;
  --check)
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    generate_into "$tmp"
    status=0
    for f in "$tmp"/*.pb.swift; do
      name=$(basename "$f")
      if [ ! -f "$out/$name" ]; then echo "gen-proto: $out/$name is missing" >&2; status=1; continue; fi
      if ! diff -u "$out/$name" "$f" >&2; then status=1; fi
    done
    for f in "$out"/*.pb.swift; do
      [ -f "$tmp/$(basename "$f")" ] || { echo "gen-proto: $f has no .proto source" >&2; status=1; }
    done
    if [ $status -ne 0 ]; then
      echo "gen-proto: generated code in $out does not match proto/: run ops/gen-proto.sh and commit" >&2
      exit 1
    fi
    echo "gen-proto: $out matches proto/"
    ;;
  *) echo "usage: ops/gen-proto.sh [--check]" >&2; exit 2 ;;
esac
