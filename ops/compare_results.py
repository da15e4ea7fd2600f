#!/usr/bin/env python3
"""Compares two Mien output folders (frames.jsonl, segments.jsonl, videos.jsonl; with
--extract, the embeddings.jsonl and videos.jsonl of `mien extract` / a cluster run with --extract).

    compare_results.py DIR_A DIR_B [--extract] [--tolerance X]

Lines are matched by their key ((video, frame, track), (video, track, start_frame), video);
every key must appear exactly once on each side, and every value must be equal — numbers
exactly, as written: a job's results do not depend on how many workers ran it, in one process
or many, nor on their timing or restarts (feature batches and window batches are cut the same
way every time, so each BLAS call sees the same operands). --tolerance X allows floating-point
values to differ by X absolute (e.g. to compare different builds). Exit 1 on the first
difference. (Line order differs between runs: videos finish in different orders.)
"""
import json
import math
import sys

KEYS = {"frames.jsonl": ("video", "frame", "track"), "segments.jsonl": ("video", "track", "start_frame"), "videos.jsonl": ("video",)}
EXTRACT_KEYS = {"embeddings.jsonl": ("video", "track"), "videos.jsonl": ("video",)}


def load(path, key):
    out = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            obj = json.loads(line)
            k = tuple(obj[x] for x in key)
            if k in out:
                sys.exit(f"compare_results: {path} line {n}: {k} appears twice")
            out[k] = obj
    return out


TOLERANCE = 0.0


def diff(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: fields differ {sorted(set(a) ^ set(b))}"
        return next((d for k in a if (d := diff(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} and {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := diff(x, y, f"{path}[{i}]"))), None)
    if isinstance(a, float) or isinstance(b, float):
        return None if math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE) else f"{path}: {a} and {b}"
    return None if a == b else f"{path}: {a!r} and {b!r}"


def main():
    global TOLERANCE
    a_dir, b_dir = sys.argv[1], sys.argv[2]
    options = sys.argv[3:]
    keys = EXTRACT_KEYS if "--extract" in options else KEYS
    if "--tolerance" in options:
        TOLERANCE = float(options[options.index("--tolerance") + 1])
    for name, key in keys.items():
        a, b = load(f"{a_dir}/{name}", key), load(f"{b_dir}/{name}", key)
        if set(a) != set(b):
            sys.exit(f"compare_results: {name}: {len(set(a) - set(b))} keys only in {a_dir}, {len(set(b) - set(a))} only in {b_dir}")
        for k in sorted(a, key=str):
            d = diff(a[k], b[k], f"{name} {k}")
            if d:
                sys.exit(f"compare_results: {d}")
    print(f"compare_results: {a_dir} and {b_dir} agree ({len(a)} videos)")


if __name__ == "__main__":
    main()
