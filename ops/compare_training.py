#!/usr/bin/env python3
"""Compares two `mien train cnn` runs (their training.json) epoch by epoch: validation
accuracy per epoch and the first epoch at which each run reached the other's best
validation accuracy. Prints Markdown.

    compare_training.py FINE_TUNED/training.json FROM_SCRATCH/training.json
"""
import json
import sys

a_path, b_path = sys.argv[1:3]
runs = [("fine-tuned", json.load(open(a_path))), ("from scratch", json.load(open(b_path)))]
print("| epoch | " + " | ".join(f"{n}: val loss / val acc" for n, _ in runs) + " |")
print("|---|" + "---|" * len(runs))
print("| 0 (start) | " + " | ".join(f"{r['initial_validation_loss']:.4f} / {r['initial_validation_accuracy']:.3f}" for _, r in runs) + " |")
longest = max(len(r["history"]) for _, r in runs)
for e in range(longest):
    cells = []
    for _, r in runs:
        h = r["history"]
        cells.append(f"{h[e]['validation_loss']:.4f} / {h[e]['validation_accuracy']:.3f}" if e < len(h) else "—")
    print(f"| {e + 1} | " + " | ".join(cells) + " |")
print()
for (n1, r1), (n2, r2) in [(runs[0], runs[1]), (runs[1], runs[0])]:
    target = max(h["validation_accuracy"] for h in r2["history"])
    first = next((h["epoch"] for h in r1["history"] if h["validation_accuracy"] >= target), None)
    print(f"- {n1} reaches {n2}'s best validation accuracy ({target:.3f}) "
          + (f"at epoch {first}" if first else f"in none of its {len(r1['history'])} epochs"))
for n, r in runs:
    print(f"- {n}: best epoch (lowest validation loss) {r['best_epoch']}, validation accuracy there "
          f"{r['best_validation_accuracy']:.3f}, test accuracy {r['test_accuracy']:.3f}; "
          f"{len(r['history'])} epochs run, stopped early: {r['stopped_early']}")
