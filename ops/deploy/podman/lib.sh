# Shared by ops/deploy/build-image.sh and ops/deploy/container-test.sh (sourced, not run):
# podman set up the way these scripts need it, and the local base images (no registry).
#
# Environment:
#   CONTAINERS_CONF       podman's settings (default: ops/deploy/podman/containers.conf)
#   MIEN_DEBIAN_MIRROR    the Debian mirror debootstrap reads (default: the one apt uses here)
#   MIEN_BASE_IMAGE       the Debian 12 base image (default: localhost/debian:bookworm-slim)
# Images live in podman's storage (as root: /var/lib/containers/storage); a base image that
# exists there is not made again.

podman_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$podman_dir/containers.conf}
base_image=${MIEN_BASE_IMAGE:-localhost/debian:bookworm-slim}
# podman from Debian 12 (4.3.1), runc (see containers.conf), debootstrap for the base images,
# catatonit (the pause process of pods), netavark + aardvark-dns (networks with names) and the
# iptables netavark runs to set a network up (Debian's netavark does not depend on it: without it
# every container on a named network fails with "netavark: No such file or directory"),
# podman-compose for ops/deploy/compose.yaml.
podman_packages=(podman runc debootstrap catatonit netavark aardvark-dns iptables podman-compose)

say() { echo "${script_name:-podman}: $*" >&2; }

# Installs the missing packages with apt-get (as ops/setup.sh does); returns 1 if that fails.
ensure_podman_packages() {
  local missing=() p sudo_cmd=""
  for p in "${podman_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# The Debian mirror apt uses on this host (deb822 or one-line sources), else deb.debian.org.
debian_mirror() {
  if [ -n "${MIEN_DEBIAN_MIRROR:-}" ]; then echo "$MIEN_DEBIAN_MIRROR"; return; fi
  local m
  m=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list \
      | grep -oE 'https?://[^ ]*/debian/?' | grep -v security | head -1)
  echo "${m:-http://deb.debian.org/debian}"
}

# localhost/debian:bookworm-slim made by debootstrap (minbase) and `podman import`, with the
# PATH and CMD a pulled image has (`podman kube play` needs PATH set in the image).
make_base_image() {
  if podman image exists "$base_image"; then return 0; fi
  local rootfs mirror t
  rootfs=$(mktemp -d) mirror=$(debian_mirror) t=$(now)
  say "making $base_image: debootstrap --variant=minbase bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { say "debootstrap failed (log: $rootfs.log); set MIEN_DEBIAN_MIRROR to a reachable Debian mirror"; rm -rf "$rootfs"; return 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  local rc=0
  tar -C "$rootfs" -c . | podman import -q \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$base_image" >/dev/null || { say "podman import of the debootstrap tree failed"; rc=1; }
  rm -rf "$rootfs" "$rootfs.log"
  [ $rc != 0 ] || say "made $base_image in $(elapsed "$t") s"
  return $rc
}

# Why podman is unusable here (empty when it works): the reason a caller prints as
# "skipped: …". Without an argument, whether podman runs at all; with "run", whether it can
# start a container of the base image.
podman_cannot() {
  local err
  command -v podman >/dev/null || { echo "podman is not installed (apt-get install ${podman_packages[*]})"; return; }
  if [ "${1:-}" = run ]; then
    err=$(podman run --rm --network none "$base_image" true 2>&1) && return
    echo "podman cannot start a container on this machine: $(echo "$err" | grep -v syslog | tail -1)"
  else
    err=$(podman info 2>&1 >/dev/null) && return
    echo "podman does not work on this machine: $(echo "$err" | grep -v syslog | tail -1)"
  fi
}

# Seconds since the epoch with milliseconds, for timings.
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
