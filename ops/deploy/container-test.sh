#!/usr/bin/env bash
# The deployment run for real, with podman (Debian 12's 4.3.1), on this one machine:
#   1. builds the image from ops/deploy/Dockerfile with the given mien binary in place of the
#      build stage (ops/deploy/build-image.sh --binary; the compile itself is measured in
#      docs/DEPLOY.md) and the consumer image, and checks them (ops/deploy/check-image.sh);
#   2. the cluster as containers on one podman network — aggregator, coordinator, 2 feature
#      workers, 1 sequence worker, a consumer container reading the result stream — with the
#      CURVE keys of ops/deploy/make-keys.sh as podman secrets and the videos mounted
#      read-only: outputs equal to `mien run`'s, on the bundled samples and on a synthetic
#      archive, with a feature-worker container killed mid-job (`podman kill`) and without;
#   3. the Kubernetes manifests (ops/deploy/k8s) played by `podman kube play`, as far as podman
#      4.3 plays them (ops/deploy/podman/kube-for-podman.py says what it changes): same outputs;
#   4. ops/deploy/compose.yaml run by podman-compose: same outputs, its consumer included;
#   5. the systemd units under systemd as init in three container "hosts", the example env files
#      as shipped but for the addresses; the coordinator and a feature worker SIGKILLed mid-job
#      and restarted by systemd: same outputs, and the workers up again for the next job.
# Where podman cannot run containers it prints "container-test: skipped: REASON" and exits 0;
# likewise with MIEN_SKIP_CONTAINERS=1 (e.g. a machine where apt-get must not install podman).
#   ops/deploy/container-test.sh [path/to/mien]      (MIEN_KEEP=1 keeps the work folder)
set -euo pipefail
# The deployment files (and this test's coordinator flags) are set for the `synthetic` bundle
# (window 8) the samples were made for; `mien run`'s reference outputs must use it too.
export MIEN_MODEL=synthetic
cd "$(dirname "$0")/../.."
script_name=container-test
source ops/deploy/podman/lib.sh
mien=$(realpath "${1:-$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/mien}")
run_id=mien-ct-$$
fail() { say "FAILED: $*"; exit 1; }
skip() { echo "container-test: skipped: $*"; exit 0; }

cleanup() {
  local ids
  ids=$(podman ps -aq --filter "label=$run_id" 2>/dev/null || true)
  [ -z "$ids" ] || podman rm -f -t 0 $ids >/dev/null 2>&1 || true
  [ ! -f "$work/kube.yaml" ] || podman kube down "$work/kube.yaml" >/dev/null 2>&1 || true
  ids=$(podman ps -aq --filter "label=io.podman.compose.project=$run_id-compose" 2>/dev/null || true)
  [ -z "$ids" ] || podman rm -f -t 0 $ids >/dev/null 2>&1 || true
  podman network rm -f "$run_id-compose_mien" >/dev/null 2>&1 || true
  podman secret ls --format '{{.Name}}' 2>/dev/null | grep "^$run_id-" | xargs -r podman secret rm >/dev/null 2>&1 || true
  podman network rm -f "$run_id" "$run_id-hosts" >/dev/null 2>&1 || true
  if [ -n "${MIEN_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}

# --- preconditions: podman installed and able to start a container, else skip -----------------
[ -z "${MIEN_SKIP_CONTAINERS:-}" ] || skip "MIEN_SKIP_CONTAINERS is set"
ensure_podman_packages || skip "apt-get could not install ${podman_packages[*]}"
reason=$(podman_cannot)
[ -z "$reason" ] || skip "$reason"
make_base_image || skip "no Debian 12 base image could be made (see the message above)"
reason=$(podman_cannot run)
[ -z "$reason" ] || skip "$reason"
work=$(mktemp -d /tmp/mien-container-test.XXXXXX)
chmod 0755 "$work"  # the containers' non-root user reaches the folders mounted from it
trap cleanup EXIT

step_start=$(now)
ops/deploy/build-image.sh --binary "$mien" || fail "the image did not build or did not pass its checks"
say "1. images built and checked ($(elapsed "$step_start") s)"

source ops/deploy/podman/cluster.sh
source ops/deploy/podman/kube.sh
source ops/deploy/podman/compose.sh
source ops/deploy/podman/systemd.sh
make_fixtures
run_cluster samples "$work/samples" kill
run_cluster synthetic "$work/synthetic" kill
run_cluster samples-nokill "$work/samples" none
run_cluster synthetic-nokill "$work/synthetic" none
run_kube
run_compose
run_systemd
say "all passed ($(elapsed "$step_start") s)"
