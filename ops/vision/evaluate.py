#!/usr/bin/env python3
"""Measures MienVision's detectors and crop modes; prints the tables of docs/BENCHMARKS.md ## Vision.

    /usr/bin/python3 ops/vision/evaluate.py MIEN_BINARY SYNTH_DIR

Needs Debian's python3-opencv and python3-numpy, the photographs of
Tests/MienVisionTests/Fixtures/reference_faces.json (Debian facedetect, opencv-doc), and a data
set made by `mien synth` in SYNTH_DIR (synthetic: frames.csv gives the true face boxes).

1. Detection on synthetic video: every frame of every clip; a true face counts as found when a
   detection has IoU >= 0.5 with its box; every unmatched detection is a false positive.
2. Detection under head roll on the real photographs, rotated about the face centre by -30..30
   degrees: found when a detection's centre is within 0.35 x the reference box width of the
   rotated reference centre and its width within 0.6..1.6 x the reference width.
3. Crop modes through the pretrained fer CNN (ops/nn/fer_numpy.py, float64 numpy): for each
   photograph and roll angle, the class probabilities of the crop compared with those at 0
   degrees (total-variation distance 0.5*sum|p - p0|, top-1 agreement). Lower distance = the
   crop mode hides head roll from the CNN better.
"""
import csv
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import types

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ANGLES = [-30, -20, -10, 0, 10, 20, 30]


def load_safetensors(path):
    """Minimal safetensors reader (8-byte little-endian header size, JSON header, raw data)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", meta
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(meta["shape"])
    return out


def fer_model():
    # fer_numpy imports safetensors.numpy.load_file; give it the reader above.
    st = types.ModuleType("safetensors")
    stn = types.ModuleType("safetensors.numpy")
    stn.load_file = load_safetensors
    st.numpy = stn
    sys.modules.setdefault("safetensors", st)
    sys.modules.setdefault("safetensors.numpy", stn)
    sys.path.insert(0, os.path.join(ROOT, "ops", "nn"))
    import fer_numpy  # noqa: E402

    weights, graph = fer_numpy.load(os.path.join(ROOT, "models", "fer2013"))
    return lambda x: fer_numpy.forward(weights, graph, x)["predictions"]


def detect(mien, args, inputs):
    out = subprocess.run([mien, "detect", "--json"] + args + inputs, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


DETECTORS = [("haar", []), ("hog", ["--detector", "hog"]), ("hog, upsample off, threshold -0.3", None)]


def synthetic(mien, synth_dir):
    truth = {}
    with open(os.path.join(synth_dir, "frames.csv")) as f:
        for row in csv.DictReader(f):
            truth.setdefault((row["video"], int(row["frame"])), []).append(
                [float(row["x"]), float(row["y"]), float(row["w"]), float(row["h"])])
    clips = sorted(os.path.join(synth_dir, v) for v in {k[0] for k in truth})
    print("### Detection on synthetic video (%d clips, %d frames, %d true faces)\n" % (
        len(clips), len({k for k in truth}), sum(len(v) for v in truth.values())))
    print("| detector | faces found (IoU >= 0.5) | false positives / frame |")
    print("|---|---|---|")
    for name, args in [("haar", []), ("hog", ["--detector", "hog"])]:
        found = total = fp = frames = 0
        for rec in detect(mien, args, clips):
            video = os.path.basename(rec["path"])
            gts = truth.get((video, rec["frame"]), [])
            dets = [[d["x"], d["y"], d["w"], d["h"]] for d in rec["faces"]]
            frames += 1
            used = set()
            for g in gts:
                total += 1
                best = max(range(len(dets)), key=lambda i: iou(g, dets[i]), default=None)
                if best is not None and best not in used and iou(g, dets[best]) >= 0.5:
                    found += 1
                    used.add(best)
            fp += len(dets) - len(used)
        print("| %s | %d / %d = %.1f %% | %.3f |" % (name, found, total, 100.0 * found / max(1, total), fp / max(1, frames)))
    print()


def rotated_photos(tmp):
    with open(os.path.join(ROOT, "Tests", "MienVisionTests", "Fixtures", "reference_faces.json")) as f:
        refs = json.load(f)["images"]
    items = []
    for img in refs:
        path = img["path"] if img["path"].startswith("/") else os.path.join(ROOT, "Tests", "MienVisionTests", img["path"])
        bgr = cv2.imread(path)
        face = img["faces"][0]
        cx, cy = face["x"] + face["w"] / 2, face["y"] + face["h"] / 2
        for angle in ANGLES:
            m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
            out = cv2.warpAffine(bgr, m, (bgr.shape[1], bgr.shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            name = os.path.join(tmp, "%s_%+03d.png" % (img["name"], angle))
            cv2.imwrite(name, out)
            items.append((img["name"], angle, name, (cx, cy), face["w"]))
    return items


def roll(mien, items):
    print("### Detection under head roll (3 photographs rotated about the face, %d..%d degrees)\n" % (ANGLES[0], ANGLES[-1]))
    print("| detector | " + " | ".join("%+d°" % a for a in ANGLES) + " | all |")
    print("|---|" + "---|" * (len(ANGLES) + 1))
    for name, args in [("haar", []), ("hog", ["--detector", "hog", "--min-size", "20"]),
                       ("hog, upsample 1", ["--detector", "hog", "--min-size", "20", "--upsample", "1"])]:
        recs = {r["path"]: r for r in detect(mien, args, [it[2] for it in items])}
        hits = {a: 0 for a in ANGLES}
        for (_, angle, path, (cx, cy), w) in items:
            ok = any(math.hypot(d["x"] + d["w"] / 2 - cx, d["y"] + d["h"] / 2 - cy) <= 0.35 * w and 0.6 * w <= d["w"] <= 1.6 * w
                     for d in recs[path]["faces"])
            hits[angle] += ok
        n = len(items) // len(ANGLES)
        print("| %s | " % name + " | ".join("%d/%d" % (hits[a], n) for a in ANGLES) + " | %d/%d |" % (sum(hits.values()), len(items)))
    print()


def crops(mien, items, tmp, predict, detector_args, label):
    print("### Crop modes through the pretrained fer CNN (same photographs and angles; %s boxes)\n" % label)
    print("| crop | faces cropped | mean TV distance to 0° | top-1 same as 0° | mean TV at ±10° | at ±20° | at ±30° |")
    print("|---|---|---|---|---|---|---|")
    at0 = {}
    for mode in ["fer", "aligned", "eyes"]:
        d = os.path.join(tmp, "crops_%s_%s" % (mode, label.replace(" ", "_")))
        recs = {r["path"]: r for r in detect(mien, detector_args + ["--crop", mode, "--save-crops", d], [it[2] for it in items])}
        probs = {}
        for (photo, angle, path, (cx, cy), w) in items:
            faces = recs[path]["faces"]
            best = min(range(len(faces)), default=None,
                       key=lambda i: math.hypot(faces[i]["x"] + faces[i]["w"] / 2 - cx, faces[i]["y"] + faces[i]["h"] / 2 - cy))
            if best is None or math.hypot(faces[best]["x"] + faces[best]["w"] / 2 - cx, faces[best]["y"] + faces[best]["h"] / 2 - cy) > 0.35 * w:
                continue
            stem = os.path.splitext(os.path.basename(path))[0]
            crop = cv2.imread(os.path.join(d, "%s_f%06d_%d.png" % (stem, 0, best)), cv2.IMREAD_GRAYSCALE)
            x = ((crop.astype(np.float64) / 255.0 - 0.5) * 2.0)[None, :, :, None]
            probs[(photo, angle)] = predict(x)[0]
        at0[mode] = {ph: p for (ph, a), p in probs.items() if a == 0}
        tvs, same, by_abs = [], [], {10: [], 20: [], 30: []}
        for (photo, angle), p in probs.items():
            if angle == 0 or (photo, 0) not in probs:
                continue
            p0 = probs[(photo, 0)]
            tv = 0.5 * float(np.abs(p - p0).sum())
            tvs.append(tv)
            by_abs[abs(angle)].append(tv)
            same.append(int(np.argmax(p) == np.argmax(p0)))
        fmt = lambda v: "%.3f" % (sum(v) / len(v)) if v else "—"
        print("| %s | %d / %d | %s | %d / %d | %s | %s | %s |" % (
            mode, len(probs), len(items), fmt(tvs), sum(same), len(same), fmt(by_abs[10]), fmt(by_abs[20]), fmt(by_abs[30])))
    classes = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    for mode in ["aligned", "eyes"]:
        both = [ph for ph in at0["fer"] if ph in at0[mode]]
        tv0 = [0.5 * float(np.abs(at0["fer"][ph] - at0[mode][ph]).sum()) for ph in both]
        agree = sum(int(np.argmax(at0["fer"][ph]) == np.argmax(at0[mode][ph])) for ph in both)
        print("\nAt 0° (upright), %s vs fer crop of the same face: mean TV distance %s, same top-1 class %d / %d." % (
            mode, "%.3f" % (sum(tv0) / len(tv0)) if tv0 else "—", agree, len(both)))
    for mode in ["fer", "aligned", "eyes"]:
        print("Top class at 0° with %s crops: %s." % (mode, ", ".join(
            "%s %s %.2f" % (ph, classes[int(np.argmax(p))], float(np.max(p))) for ph, p in sorted(at0[mode].items()))))
    print()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mien, synth_dir = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        items = rotated_photos(tmp)
        roll(mien, items)
        predict = fer_model()
        crops(mien, items, tmp, predict, [], "Haar")
        crops(mien, items, tmp, predict, ["--detector", "hog", "--min-size", "20", "--upsample", "1"], "HOG upsample 1")
        synthetic(mien, synth_dir)


if __name__ == "__main__":
    main()
