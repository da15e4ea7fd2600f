# Sourced by ops/deploy/container-test.sh: the Kubernetes manifests (ops/deploy/k8s) played by
# `podman kube play` on the bundled samples, rendered for podman 4.3 by kube-for-podman.py
# (which says on stderr what it changes). The coordinator Job has no --labels, so the reference
# is `mien run` without labels. Uses from the caller: work, run_id, fail, say, same_outputs, wait_exit.

run_kube() {
  local out="$work/out-kube" journal="$work/journal-kube" t rc
  mkdir -p "$out" "$journal" && chown 10001:10001 "$out" "$journal"
  python3 ops/deploy/podman/kube-for-podman.py ops/deploy/k8s "$work/keys" --secrets "$work/kube-secrets" \
    --volume "mien-videos=$(realpath "$work/samples")" --volume "mien-out=$out" --volume "mien-journal=$journal" \
    > "$work/kube.yaml" 2> "$work/kube-changes.txt" || fail "kube: rendering failed: $(cat "$work/kube-changes.txt")"
  t=$(now)
  podman kube play --network "$run_id" "$work/kube.yaml" > "$work/kube-play.log" 2>&1 \
    || fail "kube: podman kube play failed: $(grep -v syslog "$work/kube-play.log" | tail -3)"
  rc=$(wait_exit mien-coordinator-coordinator 600)
  [ "$rc" = 0 ] || fail "kube: the coordinator pod exited with $rc: $(podman logs mien-coordinator-coordinator 2>&1 | tail -3)"
  rc=$(wait_exit mien-aggregator-aggregator 60)
  [ "$rc" = 0 ] || fail "kube: the aggregator pod exited with $rc: $(podman logs mien-aggregator-aggregator 2>&1 | tail -3)"
  say "kube: podman kube play of ops/deploy/k8s: job done in $(elapsed "$t") s; $(grep -c . "$work/kube-changes.txt") changes for podman 4.3 (kube-for-podman.py):"
  sed 's/^kube-for-podman: /    /' "$work/kube-changes.txt" >&2
  same_outputs "$work/ref-samples-unlabelled" "$out" "kube: ConfigMaps, keys, 2+1 worker Deployments, coordinator and aggregator found by their Service names"
  podman kube down "$work/kube.yaml" >/dev/null 2>&1
}
