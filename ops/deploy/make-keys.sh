#!/usr/bin/env bash
# Makes the CURVE key pairs of a Mien cluster with `mien keys generate`, laid out the way
# compose.yaml, the systemd units and the Kubernetes kustomization expect:
#
#   DIR/secret/NAME.key          secret keys (mode 0600): each goes to its own role only
#   DIR/public/NAME.pub          public keys: servers' .pub go to their clients
#   DIR/allow-coordinator/*.pub  the coordinator's --curve-allow (feature + sequence workers)
#   DIR/allow-aggregator/*.pub   the aggregator's --curve-allow (the coordinator only)
#   DIR/allow-consumers/*.pub    the aggregator's --curve-allow-consumers (result stream consumers)
#
# NAME is coordinator, aggregator, feature-worker, sequence-worker, consumer. All feature workers
# share one key pair (likewise sequence workers): give each host its own pair instead by
# generating more names and copying their .pub files into the allow-list folder.
#
#   ops/deploy/make-keys.sh [--mien PATH] DIR
# Refuses to overwrite existing keys (mien keys generate never overwrites).
set -euo pipefail
mien=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mien) mien=$2; shift 2 ;;
    -h|--help) sed -n 2,18p "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "make-keys: give the output folder, e.g. ops/deploy/make-keys.sh ops/deploy/keys" >&2; exit 2; }
dir=$1
if [ -z "$mien" ]; then
  if command -v mien >/dev/null; then mien=mien
  else mien="$(cd "$(dirname "$0")/../.." && swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien"; fi
fi
python3 "$(dirname "$0")/../has-command.py" "$mien" keys generate 2>/dev/null || { echo "make-keys: $mien has no \`keys generate\` command (build mien first, or pass --mien PATH)" >&2; exit 1; }

mkdir -p "$dir/secret" "$dir/public" "$dir/allow-coordinator" "$dir/allow-aggregator" "$dir/allow-consumers"
chmod 0700 "$dir/secret"
for name in coordinator aggregator feature-worker sequence-worker consumer; do
  [ -e "$dir/secret/$name.key" ] && { echo "make-keys: $dir/secret/$name.key exists; remove $dir to start over" >&2; exit 1; }
  tmp=$(mktemp -d)
  "$mien" keys generate --out "$tmp" --name "$name" >/dev/null
  mv "$tmp/$name.key" "$dir/secret/$name.key"
  mv "$tmp/$name.pub" "$dir/public/$name.pub"
  rmdir "$tmp"
done
cp "$dir/public/feature-worker.pub" "$dir/public/sequence-worker.pub" "$dir/allow-coordinator/"
cp "$dir/public/coordinator.pub" "$dir/allow-aggregator/"
cp "$dir/public/consumer.pub" "$dir/allow-consumers/"
echo "make-keys: wrote key pairs for coordinator, aggregator, feature-worker, sequence-worker, consumer in $dir"
