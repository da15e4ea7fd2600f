#!/usr/bin/env python3
"""Compares the CNN's reading of the same inputs through two face front ends, frame by frame
(issue 18: "the CNN's accuracy on real labelled clips not lower with the new front end").

usage: frontend_parity.py A_OUT B_OUT --labels labels.csv [--block K] [--truth-boxes boxes.csv]

A_OUT, B_OUT: `mien evaluate … --out DIR` folders of the same inputs (e.g. `--detector haar` and
`--detector retinaface`); their predictions/frames.jsonl are read. labels.csv: `video,label` as
given to `mien evaluate`. Prints:
  - on the frames where both found exactly one face: each front end's CNN accuracy (argmax of
    cnn_probs against the video's label), the frames right with only one of them and the exact
    McNemar p-value (two-sided binomial test on those), how often the labels agree, and how the
    boxes differ (IoU, B's side / A's, centre shift in A's sides: median, 10th, 90th percentile);
  - per video, both accuracies;
  - a paired test on blocks of K consecutive frames (default 5, `mien run`'s keyframe interval: a
    block's frames share a detector box, so they are not independent): the blocks where the
    counts differ, and the two-sided sign-flip permutation p-value of the summed difference.
--truth-boxes: `make_canvas_frames.py fer`'s boxes.csv (`video,file,x,y,side`: where each
FER2013 photograph lies in its canvas, its own framing). Frames of a folder are matched to files
in `mien`'s natural order, faces to the truth square at IoU > 0.3, and for each front end the crop
`mien`'s aligned mode cuts (the box's side + 2 x 10 px, about its centre) is compared with the
truth square: its side / the truth's, its centre shift, and the CNN's accuracy by crop scale.
"""
import argparse
import collections
import csv
import json
import math
import os
import random
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from detection_check import iou  # noqa: E402  (box IoU, the detection check's)


def fail(message):
    sys.exit(f"frontend_parity: {message}")


def natural_key(name):
    """`mien`'s order of a frame folder's files (naturalOrder in FrameSource.swift)."""
    return [(0, int(t), len(t)) if t.isdigit() else (1, t.lower()) for t in re.findall(r"\d+|\D+", name)]


def read_labels(path):
    try:
        rows = list(csv.DictReader(open(path)))
    except OSError as e:
        fail(f"cannot read {path}: {e}")
    if not rows or "video" not in rows[0] or "label" not in rows[0]:
        fail(f"{path} must have a header `video,label` and a row per video")
    return {r["video"]: r["label"] for r in rows}


def read_faces(out_dir):
    """{(video, frame): [record, …]} from a `mien evaluate` folder."""
    path = os.path.join(out_dir, "predictions", "frames.jsonl")
    faces = collections.defaultdict(list)
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                try:
                    r = json.loads(line)
                    faces[(r["video"], r["frame"])].append(r)
                except (ValueError, KeyError) as e:
                    fail(f"{path}:{n}: not a frames.jsonl record ({e})")
    except OSError as e:
        fail(f"cannot read {path} ({e}): give the --out folder of `mien evaluate`")
    return faces


def mcnemar_exact(only_a, only_b):
    """Two-sided exact McNemar p-value: binomial test of only_a against n = only_a + only_b, p = 1/2."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, j) for j in range(min(only_a, only_b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def sign_flip_p(differences, rounds=100000, seed=1):
    """Two-sided p-value of |sum(differences)| under random sign flips of the non-zero ones."""
    nz = [d for d in differences if d]
    observed = abs(sum(nz))
    if not nz:
        return 1.0
    rng = random.Random(seed)
    hits = sum(abs(sum(d if rng.random() < 0.5 else -d for d in nz)) >= observed for _ in range(rounds))
    return hits / rounds


def spread(values):
    s = sorted(values)
    return f"median {statistics.median(s):.3f} (10 %: {s[len(s) // 10]:.3f}, 90 %: {s[9 * len(s) // 10]:.3f})"


def correct(record, label):
    probs = record["cnn_probs"]
    return max(probs, key=probs.get) == label


def compare(a, b, labels, block):
    keys = sorted(k for k in set(a) & set(b) if len(a[k]) == 1 and len(b[k]) == 1 and k[0] in labels)
    if not keys:
        fail("no frame has exactly one face in both outputs (are they of the same inputs?)")
    only_a = only_b = agree = 0
    ious, sides, dxs, dys = [], [], [], []
    per_video = collections.defaultdict(lambda: [0, 0, 0])
    blocks = collections.defaultdict(int)
    for k in keys:
        ra, rb = a[k][0], b[k][0]
        label = labels[k[0]]
        ca, cb = correct(ra, label), correct(rb, label)
        only_a += ca and not cb
        only_b += cb and not ca
        agree += max(ra["cnn_probs"], key=ra["cnn_probs"].get) == max(rb["cnn_probs"], key=rb["cnn_probs"].get)
        v = per_video[k[0]]
        v[0] += 1
        v[1] += ca
        v[2] += cb
        blocks[(k[0], k[1] // block)] += ca - cb
        ba, bb = ra["box"], rb["box"]
        ious.append(iou(ba, bb))
        sides.append(bb[2] / ba[2])
        dxs.append((bb[0] + bb[2] / 2 - ba[0] - ba[2] / 2) / ba[2])
        dys.append((bb[1] + bb[3] / 2 - ba[1] - ba[3] / 2) / ba[2])
    n = len(keys)
    right_a, right_b = sum(v[1] for v in per_video.values()), sum(v[2] for v in per_video.values())
    print(f"frames with one face in both: {n} (A {sum(len(x) for x in a.values())} faces, B {sum(len(x) for x in b.values())})")
    print(f"CNN accuracy: A {100 * right_a / n:.2f} %, B {100 * right_b / n:.2f} %; right only with A {only_a}, "
          f"only with B {only_b}: exact McNemar p = {mcnemar_exact(only_a, only_b):.3f}; same label {100 * agree / n:.1f} %")
    print(f"boxes: IoU {spread(ious)}; B side / A side {spread(sides)}")
    print(f"       centre shift in A's sides: x {spread(dxs)}; y {spread(dys)}")
    for video in sorted(per_video):
        count, ra, rb = per_video[video]
        print(f"  {video}: {count} frames, A {100 * ra / count:.1f} %, B {100 * rb / count:.1f} %")
    d = list(blocks.values())
    print(f"blocks of {block} frames: {len(d)}, counts differ in {sum(1 for x in d if x)} "
          f"(A more right {sum(1 for x in d if x > 0)}, B {sum(1 for x in d if x < 0)}, sum {sum(d):+d}): "
          f"sign-flip p = {sign_flip_p(d):.3f}")


def truth_framing(outputs, names, boxes_path, labels):
    rows = list(csv.DictReader(open(boxes_path)))
    if not rows or set(rows[0]) < {"video", "file", "x", "y", "side"}:
        fail(f"{boxes_path} must have a header `video,file,x,y,side` (make_canvas_frames.py fer)")
    files = collections.defaultdict(list)
    for r in rows:
        files[r["video"]].append(r)
    for video in files:
        files[video].sort(key=lambda r: natural_key(r["file"]))
    for name, faces in zip(names, outputs):
        scale, dx, dy = [], [], []
        bins = collections.defaultdict(lambda: [0, 0])
        for video, rs in files.items():
            for i, r in enumerate(rs):
                x, y, side = float(r["x"]), float(r["y"]), float(r["side"])
                truth = [x, y, side, side]
                found = [f for f in faces.get((video, i), []) if iou(f["box"], truth) > 0.3]
                if len(found) != 1:
                    continue
                b = found[0]["box"]
                k = (max(b[2], b[3]) + 20) / side
                scale.append(k)
                dx.append((b[0] + b[2] / 2 - x - side / 2) / side)
                dy.append((b[1] + b[3] / 2 - y - side / 2) / side)
                cell = bins[min(8, max(0, int((k - 0.85) / 0.05)))]
                cell[0] += 1
                cell[1] += correct(found[0], labels[video])
        if not scale:
            fail(f"{name}: no face matches a truth square of {boxes_path}")
        print(f"{name}: {len(scale)} of {len(rows)} faces matched; aligned crop side / truth side {spread(scale)}; "
              f"centre shift in truth sides x {spread(dx)}, y {spread(dy)}")
        for b in sorted(bins):
            count, right = bins[b]
            low = 0.85 + 0.05 * b
            span = f"{low:.2f}–{low + 0.05:.2f}" if 0 < b < 8 else (f"< {low + 0.05:.2f}" if b == 0 else f"≥ {low:.2f}")
            print(f"  crop / truth {span}: {count} faces, CNN {100 * right / count:.1f} %")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--labels", required=True)
    p.add_argument("--block", type=int, default=5)
    p.add_argument("--truth-boxes")
    args = p.parse_args()
    if args.block < 1:
        fail(f"--block must be ≥ 1, got {args.block}")
    labels = read_labels(args.labels)
    a, b = read_faces(args.a), read_faces(args.b)
    compare(a, b, labels, args.block)
    if args.truth_boxes:
        truth_framing([a, b], [f"A ({args.a})", f"B ({args.b})"], args.truth_boxes, labels)


if __name__ == "__main__":
    main()
