#!/usr/bin/env python3
"""Writes a small embedding cache in `mien extract`'s format (embeddings.jsonl) for testing
`mien tune`: a TEST FIXTURE, not data. Happy clips' embeddings rise over their frames and sad
clips' fall (the two classes differ only in order, which a BiLSTM can learn); 128 values per
frame like the fer2013 CNN's embeddings, so the tuned bundle pairs with that CNN in `mien run`.
Seeded: the same arguments write the same file.

    make_cache.py OUT.jsonl [--videos 24] [--frames 24] [--seed 5]
"""
import argparse
import json
import random

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--videos", type=int, default=24)
ap.add_argument("--frames", type=int, default=24)
ap.add_argument("--seed", type=int, default=5)
a = ap.parse_args()
rng = random.Random(a.seed)
with open(a.out, "w") as f:
    for i in range(a.videos):
        rising = i % 2 == 0
        label = "happy" if rising else "sad"
        emb = []
        for t in range(a.frames):
            v = (t if rising else a.frames - 1 - t) / (a.frames - 1)
            emb.append([round(v, 4), round(1 - v, 4)] + [round(rng.uniform(0, 0.1), 4) for _ in range(126)])
        f.write(json.dumps({"video": f"clip_{i:05d}.mp4", "track": 1, "frames": list(range(a.frames)),
                            "labels": [label] * a.frames, "cnn_probs": [[round(1 / 7, 6)] * 7] * a.frames,
                            "embeddings": emb}) + "\n")
