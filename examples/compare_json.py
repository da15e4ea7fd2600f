#!/usr/bin/env python3
"""Compares two files of proto3-JSON lines field for field (used by the interop test).

    compare_json.py EXPECTED ACTUAL

Objects must have the same keys, lists the same length, strings/bools/ints equal; numbers
compare with a relative tolerance of 1e-6 (float32 fields print with different digit
counts in different implementations, e.g. 0.6 vs 0.600000024). Exits 1 with the first
difference's path when the files differ.
"""
import json
import math
import sys


def diff(a, b, path="$"):
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys differ: only expected {sorted(set(a) - set(b))}, only actual {sorted(set(b) - set(a))}"
        for k in a:
            d = diff(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} elements expected, {len(b)} actual"
        for i, (x, y) in enumerate(zip(a, b)):
            d = diff(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        return None if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12) else f"{path}: {a!r} expected, {b!r} actual"
    return None if a == b else f"{path}: {a!r} expected, {b!r} actual"


def main():
    expected = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    actual = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    if len(expected) != len(actual):
        sys.exit(f"compare_json: {len(expected)} messages expected, {len(actual)} received")
    for i, (e, a) in enumerate(zip(expected, actual)):
        d = diff(e, a, f"message {i + 1}")
        if d:
            sys.exit(f"compare_json: {d}")
    print(f"compare_json: {len(expected)} messages equal field for field")


if __name__ == "__main__":
    main()
