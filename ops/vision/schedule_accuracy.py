#!/usr/bin/env python3
"""Compares face boxes of two `mien detect --json` runs over the same frames.

    schedule_accuracy.py REFERENCE.jsonl CANDIDATE.jsonl [--iou 0.5]

REFERENCE is usually full-frame detection on every frame (`--detect-every 1`), CANDIDATE a
cheaper schedule (`--detect-every 5`, a smaller `--max-side`, ...). Per frame, boxes are
matched greedily by IoU (highest first, >= --iou). Prints:
  recall     = matched reference faces / reference faces   (faces the candidate kept)
  precision  = matched candidate faces / candidate faces   (candidate faces the reference has)
  mean IoU of matched pairs, and the frames where the face counts differ.
"""
import argparse
import json
import sys


def iou(a, b):
    ix = max(0.0, min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]))
    iy = max(0.0, min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]))
    inter = ix * iy
    union = a["w"] * a["h"] + b["w"] * b["h"] - inter
    return inter / union if union > 0 else 0.0


def load(path):
    frames = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
            frames[(r["path"], r["frame"])] = r["faces"]
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference")
    ap.add_argument("candidate")
    ap.add_argument("--iou", type=float, default=0.5)
    args = ap.parse_args()
    ref, cand = load(args.reference), load(args.candidate)
    if set(ref) != set(cand):
        sys.exit(f"the runs cover different frames: {len(set(ref) ^ set(cand))} differ")
    n_ref = n_cand = matched = count_diff = 0
    ious = []
    for key in ref:
        r, c = ref[key], cand[key]
        n_ref += len(r)
        n_cand += len(c)
        count_diff += len(r) != len(c)
        pairs = sorted(((iou(a, b), i, j) for i, a in enumerate(r) for j, b in enumerate(c)), reverse=True)
        used_r, used_c = set(), set()
        for v, i, j in pairs:
            if v < args.iou:
                break
            if i in used_r or j in used_c:
                continue
            used_r.add(i)
            used_c.add(j)
            ious.append(v)
        matched += len(used_r)
    recall = matched / n_ref if n_ref else 1.0
    precision = matched / n_cand if n_cand else 1.0
    mean_iou = sum(ious) / len(ious) if ious else 0.0
    print(json.dumps({"frames": len(ref), "reference_faces": n_ref, "candidate_faces": n_cand,
                      "recall": round(recall, 4), "precision": round(precision, 4),
                      "mean_iou": round(mean_iou, 4), "frames_with_other_count": count_diff}))


if __name__ == "__main__":
    main()
