# Sourced by ops/deploy/container-test.sh: ops/deploy/compose.yaml run by podman-compose (Debian
# 12's 1.0.3) on the bundled samples, from a copy of the compose folder holding the keys (compose
# resolves ./keys beside the file). The services run as UID 10001, owner of the key copies, as the
# file's comments ask (MIEN_UID/MIEN_GID). podman-compose 1.0.3 ignores `profiles`, so the
# services are named (the monitoring profile's Prometheus needs a registry); the aggregator and
# the consumer start first so that the consumer is subscribed before the first result.
# Uses from the caller: work, run_id, fail, say, same_outputs, check_stream, wait_exit.

compose_project() { echo "$run_id-compose"; }

run_compose() {
  local dir="$work/compose" out="$work/out-compose" p t rc
  p=$(compose_project)
  mkdir -p "$dir" "$out"
  cp ops/deploy/compose.yaml ops/deploy/prometheus.yml "$dir/" && cp -a "$work/keys" "$dir/keys"
  chown -R 10001:10001 "$dir/keys" "$out"
  t=$(now)
  (cd "$dir" && export MIEN_UID=10001 MIEN_GID=10001 MIEN_VIDEOS="$(realpath "$work/samples")" MIEN_OUT="$out" \
    && podman-compose -p "$p" up --no-build -d aggregator consumer \
    && podman-compose -p "$p" up --no-build --no-deps -d coordinator feature-worker sequence-worker) > "$work/compose-up.log" 2>&1 \
    || fail "compose: podman-compose up failed: $(grep -v syslog "$work/compose-up.log" | tail -3)"
  [ "$(podman ps -a --filter "label=io.podman.compose.project=$p" --filter "label=com.docker.compose.service=feature-worker" -q | wc -l)" = 2 ] \
    || fail "compose: not the 2 feature-worker replicas the file asks for"
  rc=$(wait_exit "${p}_coordinator_1" 600)
  [ "$rc" = 0 ] || fail "compose: the coordinator exited with $rc: $(podman logs "${p}_coordinator_1" 2>&1 | tail -3)"
  rc=$(wait_exit "${p}_aggregator_1" 60)
  [ "$rc" = 0 ] || fail "compose: the aggregator exited with $rc: $(podman logs "${p}_aggregator_1" 2>&1 | tail -3)"
  say "compose: podman-compose up of ops/deploy/compose.yaml: job done in $(elapsed "$t") s"
  same_outputs "$work/ref-samples-unlabelled" "$out" "compose: CURVE secrets, 2 feature-worker replicas, read-only roots"
  podman stop -t 2 "${p}_consumer_1" >/dev/null  # it runs until --timeout=3600; what it read is in its log
  check_stream "${p}_consumer_1" "$out" compose
  (cd "$dir" && podman-compose -p "$p" down) >/dev/null 2>&1
}
