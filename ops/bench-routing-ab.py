#!/usr/bin/env python3
"""Side-by-side routing capacity of several mien binaries on this machine.

    python3 ops/bench-routing-ab.py ROUNDS "bench-routing ARGS" MIEN_A MIEN_B [MIEN_C ...]

Each round runs `MIEN bench-routing ARGS --json` once per binary, in the order given, under
`perf stat -e task-clock` (the whole process's CPU time); prints per binary the median CPU time
and the median of bench-routing's own frames/s, each as a ratio to the first binary. Run on a
quiet machine: figures from different runs or machines are not comparable.
"""
import json
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    rounds, args, bins = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3:]
    cpu = {b: [] for b in bins}
    fps = {b: [] for b in bins}
    for _ in range(rounds):
        for b in bins:
            r = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", b] + args + ["--json"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"{b} {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()[-400:]}")
            clock = [line for line in r.stderr.splitlines() if "task-clock" in line]
            if not clock:
                sys.exit(f"perf stat printed no task-clock for {b}: is perf allowed here? {r.stderr.strip()[-200:]}")
            cpu[b].append(float(clock[0].split(",")[0]))
            fps[b].append(json.loads(r.stdout.strip().splitlines()[-1])["frames_per_s"])
    first = bins[0]
    for b in bins:
        c, f = statistics.median(cpu[b]), statistics.median(fps[b])
        print(f"{b}: CPU median {c:.0f} ms ({c / statistics.median(cpu[first]):.3f} of the first); "
              f"{f:.0f} frames/s median ({f / statistics.median(fps[first]):.3f} of the first); {rounds} runs")


if __name__ == "__main__":
    main()
