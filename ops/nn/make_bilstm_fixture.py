#!/usr/bin/env python3
"""Float64 numpy reference for Mien's BiLSTM classifier (Tests/MienNNTests/Fixtures/bilstm_reference.safetensors).

    python3 ops/nn/make_bilstm_fixture.py

Needs only numpy; the safetensors file is written by hand (8-byte little-endian header length,
JSON header, raw little-endian data). Deterministic: numpy PCG64, seed 20261127.

Layout (Keras, the same as MienNN's `LSTM` / `BiLSTMClassifier`):
  kernel            [Din, 4U]   columns in gate blocks i, f, c, o (input, forget, cell, output)
  recurrent_kernel  [U, 4U]     same gate blocks
  bias              [4U]
  z_t = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias;  i, f, o = sigmoid; c~ = tanh;
  c_t = f * c_{t-1} + i * c~;  h_t = o * tanh(c_t);  zero initial state.
  Backward direction: runs t = T-1 .. 0; its output at index t is its state after consuming x_t.
  Layer output [N, T, 2U] = forward_t || backward_t.  Dropout is the identity at inference.
  Classifier: final = forward h after step T-1 || backward h after step 0 of the last layer, [N, 2U];
  logits = final @ dense/kernel + dense/bias; probs = softmax(logits).

Tensors, per case C in {one_layer (N=3, T=5, D=6, U=4, 1 layer), two_layer (N=2, T=16, D=10, U=5, 2 layers),
wide (N=7, T=9, D=12, U=32, 2 layers: U % 16 == 0 takes MienNN's fused time loop, lstm_steps.c, and
N = 7 leaves rows beyond its 4- and 2-row blocks)}:
  C/input [N, T, D]
  C/bilstm_<k>/{forward,backward}/{kernel,recurrent_kernel,bias}   (MienNN names, k = 0, 1, ...)
  C/dense/kernel [2U, 7], C/dense/bias [7]
  C/expected/layer_<k> [N, T, 2U], C/expected/logits [N, 7], C/expected/probs [N, 7]
Weights and inputs are rounded to float32 first (so Mien reads exactly the values used here) and
stored as F32; expected outputs are computed in float64 and stored as F64.
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

SEED = 20261127
CLASSES = 7
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "MienNNTests", "Fixtures", "bilstm_reference.safetensors")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def lstm(x: np.ndarray, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, reverse: bool) -> np.ndarray:
    """x [N, T, D] float64 -> hidden states [N, T, U], aligned to input time."""
    n, t, _ = x.shape
    u = recurrent.shape[0]
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    out = np.zeros((n, t, u))
    steps = range(t - 1, -1, -1) if reverse else range(t)
    for s in steps:
        z = x[:, s, :] @ kernel + h @ recurrent + bias
        i, f, g, o = (sigmoid(z[:, :u]), sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sigmoid(z[:, 3 * u:]))
        c = f * c + i * g
        h = o * np.tanh(c)
        out[:, s, :] = h
    return out


def f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float64)


def make_case(rng: np.random.Generator, n: int, t: int, d: int, u: int, layers: int) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    x = f32(rng.standard_normal((n, t, d)))
    tensors["input"] = x
    h = x
    for k in range(layers):
        din = h.shape[2]
        outs = []
        for direction in ("forward", "backward"):
            w = f32(rng.uniform(-0.5, 0.5, (din, 4 * u)))
            r = f32(rng.uniform(-0.5, 0.5, (u, 4 * u)))
            b = f32(rng.uniform(-0.5, 0.5, (4 * u,)))
            tensors[f"bilstm_{k}/{direction}/kernel"] = w
            tensors[f"bilstm_{k}/{direction}/recurrent_kernel"] = r
            tensors[f"bilstm_{k}/{direction}/bias"] = b
            outs.append(lstm(h, w, r, b, reverse=direction == "backward"))
        h = np.concatenate(outs, axis=2)
        tensors[f"expected/layer_{k}"] = h
    final = np.concatenate([h[:, t - 1, :u], h[:, 0, u:]], axis=1)
    dk = f32(rng.uniform(-0.5, 0.5, (2 * u, CLASSES)))
    db = f32(rng.uniform(-0.5, 0.5, (CLASSES,)))
    tensors["dense/kernel"] = dk
    tensors["dense/bias"] = db
    logits = final @ dk + db
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    tensors["expected/logits"] = logits
    tensors["expected/probs"] = e / e.sum(axis=1, keepdims=True)
    return tensors


def write_safetensors(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    header: dict[str, object] = {"__metadata__": metadata}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = tensors[name]
        expected = "/expected/" in f"/{name}"
        arr = np.ascontiguousarray(a, dtype="<f8" if expected else "<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F64" if expected else "F32", "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def main() -> None:
    rng = np.random.Generator(np.random.PCG64(SEED))
    cases = {"one_layer": (3, 5, 6, 4, 1), "two_layer": (2, 16, 10, 5, 2), "wide": (7, 9, 12, 32, 2)}
    tensors: dict[str, np.ndarray] = {}
    for case, dims in cases.items():
        for name, a in make_case(rng, *dims).items():
            tensors[f"{case}/{name}"] = a
    meta = {"generator": "ops/nn/make_bilstm_fixture.py", "seed": str(SEED), "numpy": np.__version__,
            "gate_order": "i,f,c,o", "layout": "Keras: kernel [Din,4U], recurrent_kernel [U,4U], bias [4U]",
            "cases": json.dumps({k: dict(zip(["N", "T", "D", "U", "layers"], v)) for k, v in cases.items()})}
    write_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
