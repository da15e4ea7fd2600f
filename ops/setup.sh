#!/usr/bin/env bash
# Installs what Mien needs on Debian 12, once: system packages through apt-get and the
# Python packages the interop examples and reference scripts use. Idempotent: packages
# already present are not touched, and a machine with everything does nothing.
#   ops/setup.sh            build + run + test dependencies
#   ops/setup.sh --quiet    the same, printing only what it installs
set -euo pipefail

# Debian packages: build (pkg-config, protoc), runtime libraries (libzmq, OpenBLAS, FFmpeg's
# libraries for decoding video, OpenCV + Haar cascades, dlib + its 68-point landmark model,
# FFmpeg tools for probing and encoding),
# C interop (protobuf-c), public test photographs (facedetect: grace_hopper; opencv-doc: messi5 and
# the backgrounds of the detection check's canvas frames, made by python3-opencv),
# headless Chromium to render `mien evaluate`'s report.html in its test (ops/report-test.sh),
# pgrep (procps) for ops/tune-test.sh's worker-process checks, and the multi-host test's
# network namespaces and packet capture (iproute2, tshark, tcpdump).
debian_packages=(
  pkg-config
  libzmq3-dev
  protobuf-compiler
  libprotobuf-c-dev protobuf-c-compiler
  libopenblas-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
  libopencv-dev opencv-data
  libdlib-dev libdlib-data
  ffmpeg
  facedetect opencv-doc
  python3-opencv
  chromium
  procps
  iproute2 tshark tcpdump
)
# Python packages for the interop example consumer and test harness scripts
# (prometheus-client: its text parser checks the /metrics exposition in ops/metrics-test.sh);
# the deployment validator (ops/deploy/validate.py) uses PyYAML, the Kubernetes JSON schemas
# shipped in kubernetes-validate, the compose-spec schema shipped in check-jsonschema, and
# dockerfile-parse.
python_packages=(pyzmq protobuf prometheus-client pyyaml kubernetes-validate check-jsonschema dockerfile-parse)

quiet=${1:-}
say() { [ "$quiet" = "--quiet" ] || echo "setup: $*"; }

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

py=${PYTHON:-python3}
missing_py=()
for p in "${python_packages[@]}"; do
  case "$p" in
    pyzmq) mod=zmq ;; protobuf) mod=google.protobuf ;; pyyaml) mod=yaml ;;
    *) mod=${p//-/_} ;;
  esac
  "$py" -c "import $mod" 2>/dev/null || missing_py+=("$p")
done
if [ ${#missing_py[@]} -gt 0 ]; then
  echo "setup: installing Python packages: ${missing_py[*]}"
  "$py" -m pip install -q "${missing_py[@]}"
else
  say "Python packages present"
fi
