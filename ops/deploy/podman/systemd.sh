# Sourced by ops/deploy/container-test.sh: the systemd units of ops/deploy/systemd run by systemd
# (Debian 12's 252) as init in three containers standing for three hosts — the coordinator's,
# the aggregator's and a worker host with 2 feature and 1 sequence worker units — with the
# example environment files of ops/deploy/systemd/env as they are but for the addresses
# (192.0.2.10/11 → this network's .10/.11) and the keys of make-keys.sh under /etc/mien/keys.
# Mid-job (the workers joined, no video finished yet), feature worker 9111 and the coordinator
# are killed with SIGKILL: systemd restarts them (Restart=), the coordinator continues with
# --resume, and the outputs equal `mien run`'s. After the job the workers run again, ready for
# the next one. Uses from the caller: work, run_id, fail, say, same_outputs.

systemd_net=10.89.210  # a /24 for the three hosts; the env files' 192.0.2.x are mapped into it

host() { echo "$run_id-host-$1"; }
on() { local h=$1; shift; podman exec "$(host "$h")" "$@"; }

# Starts container "host" $1 at $systemd_net.$2 with systemd as init; extra podman options follow.
start_host() {
  local name=$1 ip=$2; shift 2
  podman run -d --name "$(host "$name")" --hostname "$name" --label "$run_id" --network "$run_id-hosts" \
    --ip "$systemd_net.$ip" --systemd=always -v "$work/keys:/etc/mien/keys:ro" "$@" localhost/mien-systemd:test >/dev/null
  timeout 60 podman exec "$(host "$name")" systemctl is-system-running --wait >/dev/null 2>&1 || true
}

# unit property $3 of unit $2 on host $1
prop() { on "$1" systemctl show -p "$3" --value "$2"; }

# Waits (≤ 120 s) until the coordinator's /status (`mien status`) counts $1 live feature workers.
wait_feature_workers() {
  local end=$((SECONDS + 120))
  while [ $SECONDS -lt $end ]; do
    on coordinator mien status --url "http://$systemd_net.10:9100" --json 2>/dev/null \
      | python3 -c 'import json,sys; s=json.load(sys.stdin); sys.exit(0 if s["live_workers"]["feature"] >= int(sys.argv[1]) else 1)' "$1" \
      && return 0
    sleep 0.2
  done
  return 1
}

# Waits (≤ 600 s) until unit $2 on host $1 has stopped; fails unless it ended well (status 0).
wait_unit_done() {
  local end=$((SECONDS + 600))
  while [ "$(prop "$1" "$2" ActiveState)" != inactive ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
  [ "$(prop "$1" "$2" Result)" = success ] && [ "$(prop "$1" "$2" ExecMainStatus)" = 0 ] \
    || fail "systemd: $2 on $1 did not end well: $(prop "$1" "$2" ActiveState) $(prop "$1" "$2" Result) status $(prop "$1" "$2" ExecMainStatus); $(on "$1" journalctl -u "$2" --no-pager | tail -3)"
}

# How many times systemd restarted unit $2 on host $1 (its journal; NRestarts is reset when a
# restarted unit ends well).
restarts() { on "$1" journalctl -u "$2" --no-pager | grep -c "Scheduled restart job" || true; }

make_systemd_hosts() {
  local env="$work/systemd-env" archive
  archive=$(realpath "$work/samples")
  podman build -q --network host --build-arg MIEN_IMAGE=mien:latest -f ops/deploy/podman/systemd.Containerfile \
    -t localhost/mien-systemd:test ops/deploy >/dev/null || fail "systemd: the host image did not build"
  mkdir -p "$env" "$work/out-systemd" && chown 10001:10001 "$work/out-systemd"
  for f in ops/deploy/systemd/env/*.env; do sed "s/192\.0\.2\./$systemd_net./g" "$f" > "$env/$(basename "$f")"; done
  podman network create --subnet "$systemd_net.0/24" "$run_id-hosts" >/dev/null \
    || fail "systemd: cannot make a podman network on $systemd_net.0/24 (in use? change systemd_net in $BASH_SOURCE)"
  start_host aggregator 11 -v "$env/aggregator.env:/etc/mien/aggregator.env:ro" -v "$work/out-systemd:/var/lib/mien/out"
  start_host coordinator 10 -v "$env/coordinator.env:/etc/mien/coordinator.env:ro" -v "$archive:/srv/archive:ro"
  start_host workers 12 -v "$env/feature-worker.env:/etc/mien/feature-worker.env:ro" \
    -v "$env/sequence-worker.env:/etc/mien/sequence-worker.env:ro" -v "$archive:/srv/archive:ro"
}

run_systemd() {
  local t
  make_systemd_hosts
  t=$(now)
  on aggregator systemctl start mien-aggregator
  on coordinator systemctl start mien-coordinator
  on workers systemctl enable --now -q mien-feature-worker@9111 mien-feature-worker@9112
  wait_feature_workers 2 || fail "systemd: the feature workers never joined: $(on workers journalctl -u 'mien-feature-worker@*' --no-pager | tail -3)"
  [ ! -s "$work/out-systemd/videos.jsonl" ] || fail "systemd: a video finished before the kills"
  on workers systemctl kill -s KILL mien-feature-worker@9111
  on coordinator systemctl kill -s KILL mien-coordinator
  on workers systemctl enable --now -q mien-sequence-worker@9121
  wait_unit_done coordinator mien-coordinator
  wait_unit_done aggregator mien-aggregator
  [ "$(restarts coordinator mien-coordinator)" = 1 ] && [ "$(restarts workers mien-feature-worker@9111)" -ge 1 ] \
    || fail "systemd: the killed units were not restarted by systemd (coordinator $(restarts coordinator mien-coordinator)×, feature worker 9111 $(restarts workers mien-feature-worker@9111)×)"
  say "systemd: job done in $(elapsed "$t") s; systemd restarted the SIGKILLed coordinator (it continued with --resume) and feature worker 9111"
  same_outputs "$work/ref-samples-unlabelled" "$work/out-systemd" "systemd: units as shipped on 3 container hosts, feature worker and coordinator killed"
  sleep 3  # RestartSec=2s: the workers the coordinator sent home are up again for the next job
  for u in mien-feature-worker@9111 mien-feature-worker@9112 mien-sequence-worker@9121; do
    [ "$(prop workers "$u" ActiveState)" = active ] || fail "systemd: $u is not running after the job (it should wait for the next)"
  done
  say "systemd: after the job every worker unit is running again, ready for the next job"
}
