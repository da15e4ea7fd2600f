#!/usr/bin/env python3
"""Scores `mien detect --json` output against the annotated real faces of
ops/fixtures/detection/annotated_faces.json: recall (annotated faces found) and false boxes
(detections matching no annotated face) per 100 frames.

usage: detection_check.py FIXTURE MEDIA_DIR NAME=DETECT_JSONL... [--require NAME:RECALL:FALSE_PER_100]...

Each DETECT_JSONL holds `mien detect --json` lines of every fixture source (videos run with
`--every` as the fixture says and `--detect-every 1`, so every listed frame is a full detection).
A detection finds a face when their IoU >= 0.3 (each face and each detection matched at most once,
greedily by IoU). Prints a Markdown table, one row per NAME, then each source's counts. With
--require, exits 1 unless NAME's recall >= RECALL and its false boxes per 100 frames <= FALSE_PER_100.
"""
import json
import os
import sys

MATCH_IOU = 0.3


def iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(truth, found):
    pairs = sorted(((iou(t, d), i, j) for i, t in enumerate(truth) for j, d in enumerate(found)), reverse=True)
    ti, dj, hits = set(), set(), 0
    for v, i, j in pairs:
        if v < MATCH_IOU or i in ti or j in dj:
            continue
        ti.add(i); dj.add(j); hits += 1
    return hits, len(found) - hits


def frames_of(fixture, media):
    """(key, file path, frame index, truth boxes) of every annotated frame."""
    out = []
    for v in fixture["videos"]:
        path = v["file"] if v["file"].startswith("/") else os.path.join(media, v["file"])
        for f in v["frames"]:
            out.append((v["name"], path, f["frame"], f["faces"]))
    for im in fixture["images"]:
        path = im["file"] if im["file"].startswith("/") else os.path.join(media, im["file"])
        out.append((os.path.basename(im["file"]), path, 0, im["faces"]))
    return out


def score(frames, jsonl):
    seen = {}
    with open(jsonl) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            seen[(os.path.realpath(r["path"]), r["frame"])] = [[d["x"], d["y"], d["w"], d["h"]] for d in r["faces"]]
    per = {}
    missing = []
    for key, path, idx, truth in frames:
        found = seen.get((os.path.realpath(path), idx))
        if found is None:
            missing.append(f"{path} frame {idx}")
            continue
        hits, false = match(truth, found)
        s = per.setdefault(key.split("_1001")[0] if key.startswith("cremad") else key, [0, 0, 0, 0])
        s[0] += 1; s[1] += len(truth); s[2] += hits; s[3] += false
    return per, missing


def main():
    args = sys.argv[1:]
    requires = [a.split(":") for a, prev in zip(args, [""] + args) if prev == "--require"]
    args = [a for a, prev in zip(args, [""] + args) if a != "--require" and prev != "--require"]
    if len(args) < 3:
        sys.exit(__doc__)
    fixture = json.load(open(args[0]))
    frames = frames_of(fixture, args[1])
    results = {}
    print("| detector | frames | faces | found | recall | false boxes | per 100 frames |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for arg in args[2:]:
        name, jsonl = arg.split("=", 1)
        per, missing = score(frames, jsonl)
        if missing:
            sys.exit(f"{name}: no `mien detect` line for {len(missing)} annotated frames, e.g. {missing[:3]}")
        n, faces, hits, false = (sum(s[k] for s in per.values()) for k in range(4))
        results[name] = (hits / faces, 100 * false / n)
        print(f"| {name} | {n} | {faces} | {hits} | {hits / faces:.3f} | {false} | {100 * false / n:.1f} |")
        details = ", ".join(f"{k} {s[2]}/{s[1]} found, {s[3]} false" for k, s in sorted(per.items()))
        print(f"  {name}: {details}", file=sys.stderr)
    failed = False
    for name, recall, false in requires:
        r, f = results[name]
        if r < float(recall) or f > float(false):
            print(f"detection-check: FAILED: {name}: recall {r:.3f} (needs >= {recall}), {f:.1f} false boxes per 100 frames (needs <= {false})", file=sys.stderr)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
