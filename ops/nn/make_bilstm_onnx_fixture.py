#!/usr/bin/env python3
"""BiLSTM reference outputs from onnxruntime's `LSTM` op, for Mien's BiLSTM equivalence tests.

    python3 ops/nn/make_bilstm_onnx_fixture.py

Writes Tests/MienNNTests/Fixtures/fer2013_bilstm_onnx_reference.safetensors: random (seeded,
**synthetic**) weights in Keras layout, random inputs, and the outputs onnxruntime computes with
ONNX `LSTM` nodes (direction="bidirectional"), each checked against an independent float64 numpy
implementation written directly in the Keras layout (max difference must be ≤ 1e-5).

Cases (prefix `<case>/`):
  one_layer  N=3, T=5,  D=6, U=4, 1 BiLSTM layer
  two_layer  N=2, T=16, D=8, U=5, 2 stacked BiLSTM layers (layer 2 reads layer 1's [N,T,2U] output)
then a dense layer over the last layer's final states and a softmax over 7 classes.

Tensors per case (float32):
  input                          [N, T, D]
  layer{k}/forward/kernel        [Din, 4U]  Keras layout, gate blocks i, f, c, o (Din = D, then 2U)
  layer{k}/forward/recurrent_kernel [U, 4U]
  layer{k}/forward/bias          [4U]
  layer{k}/backward/...          the same for the reverse direction
  layer{k}/output                [N, T, 2U] forward ‖ backward hidden state per step, both aligned to
                                 input time (backward[t] = state after consuming x_t … x_{T-1})
  final_hidden                   [N, 2U] last layer: forward h after step T-1 ‖ backward h after step 0
                                 (what Keras Bidirectional(return_sequences=False) returns)
  dense/kernel [2U, 7], dense/bias [7], logits [N, 7], probs [N, 7] (softmax)

Gate order conversion for ONNX (i, o, f, c): W_onnx = kernel.T with blocks [i, o, f, c];
B_onnx = [bias reordered, zeros(4U)] (ONNX adds a separate recurrence bias).
"""
from __future__ import annotations

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "MienNNTests", "Fixtures", "fer2013_bilstm_onnx_reference.safetensors")
CLASSES = 7
TOLERANCE = 1e-5
SEED = 42
CASES = {"one_layer": dict(n=3, t=5, d=6, u=4, layers=1), "two_layer": dict(n=2, t=16, d=8, u=5, layers=2)}


def keras_to_onnx(kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, u: int):
    """Keras [Din,4U]/[U,4U]/[4U] (i,f,c,o) → ONNX W [4U,Din], R [4U,U], B [8U] (i,o,f,c)."""
    order = [0, 3, 1, 2]  # ONNX block k takes Keras block order[k]
    def reorder_rows(m):  # m: [4U, X]
        return np.concatenate([m[b * u:(b + 1) * u] for b in order], axis=0)
    w = reorder_rows(kernel.T)
    r = reorder_rows(recurrent.T)
    b = np.concatenate([bias[b * u:(b + 1) * u] for b in order] + [np.zeros(4 * u, np.float32)])
    return w, r, b


def lstm_numpy(x: np.ndarray, kernel, recurrent, bias, reverse: bool) -> np.ndarray:
    """Float64, Keras layout and gate order i, f, c, o; returns [N, T, U] aligned to input time."""
    n, t, _ = x.shape
    u = recurrent.shape[0]
    k, r, b = (a.astype(np.float64) for a in (kernel, recurrent, bias))
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h, c = np.zeros((n, u)), np.zeros((n, u))
    out = np.zeros((n, t, u))
    for s in (range(t - 1, -1, -1) if reverse else range(t)):
        z = x[:, s] @ k + h @ r + b
        i, f, g, o = sig(z[:, :u]), sig(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), sig(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[:, s] = h
    return out


def build_case(name: str, n: int, t: int, d: int, u: int, layers: int, rng: np.random.Generator):
    tensors: dict[str, np.ndarray] = {}
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    tensors[f"{name}/input"] = x
    nodes, inits = [helper.make_node("Transpose", ["input"], ["x0"], perm=[1, 0, 2])], []
    din, prev = d, "x0"
    for k in range(1, layers + 1):
        ws, rs, bs = [], [], []
        for direction in ("forward", "backward"):
            kern = rng.uniform(-0.5, 0.5, size=(din, 4 * u)).astype(np.float32)
            rec = rng.uniform(-0.5, 0.5, size=(u, 4 * u)).astype(np.float32)
            bias = rng.uniform(-0.5, 0.5, size=(4 * u,)).astype(np.float32)
            tensors[f"{name}/layer{k}/{direction}/kernel"] = kern
            tensors[f"{name}/layer{k}/{direction}/recurrent_kernel"] = rec
            tensors[f"{name}/layer{k}/{direction}/bias"] = bias
            w, r, b = keras_to_onnx(kern, rec, bias, u)
            ws.append(w), rs.append(r), bs.append(b)
        inits += [numpy_helper.from_array(np.stack(ws), f"W{k}"), numpy_helper.from_array(np.stack(rs), f"R{k}"),
                  numpy_helper.from_array(np.stack(bs), f"B{k}"),
                  numpy_helper.from_array(np.array([t, n, 2 * u], dtype=np.int64), f"seq_shape{k}")]
        nodes += [
            helper.make_node("LSTM", [prev, f"W{k}", f"R{k}", f"B{k}"], [f"Y{k}", f"Yh{k}"], hidden_size=u,
                             direction="bidirectional"),                              # Y [T, 2, N, U]
            helper.make_node("Transpose", [f"Y{k}"], [f"Yt{k}"], perm=[0, 2, 1, 3]),  # [T, N, 2, U]
            helper.make_node("Reshape", [f"Yt{k}", f"seq_shape{k}"], [f"x{k}"]),      # [T, N, 2U]
            helper.make_node("Transpose", [f"x{k}"], [f"out{k}"], perm=[1, 0, 2]),    # [N, T, 2U]
        ]
        prev, din = f"x{k}", 2 * u
    dense_k = rng.uniform(-0.5, 0.5, size=(2 * u, CLASSES)).astype(np.float32)
    dense_b = rng.uniform(-0.5, 0.5, size=(CLASSES,)).astype(np.float32)
    tensors[f"{name}/dense/kernel"], tensors[f"{name}/dense/bias"] = dense_k, dense_b
    inits += [numpy_helper.from_array(dense_k, "dense_k"), numpy_helper.from_array(dense_b, "dense_b"),
              numpy_helper.from_array(np.array([n, 2 * u], dtype=np.int64), "flat")]
    nodes += [
        helper.make_node("Transpose", [f"Yh{layers}"], ["hn"], perm=[1, 0, 2]),
        helper.make_node("Reshape", ["hn", "flat"], ["final_hidden"]),
        helper.make_node("Gemm", ["final_hidden", "dense_k", "dense_b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    outputs = [f"out{k}" for k in range(1, layers + 1)] + ["final_hidden", "logits", "probs"]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("input", TensorProto.FLOAT, [n, t, d])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, [None] * (3 if o.startswith("out") else 2)) for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    results = dict(zip(outputs, sess.run(outputs, {"input": x})))

    # Independent float64 numpy in Keras layout.
    h = x.astype(np.float64)
    ref = {}
    for k in range(1, layers + 1):
        f = lstm_numpy(h, *(tensors[f"{name}/layer{k}/forward/{p}"] for p in ("kernel", "recurrent_kernel", "bias")), False)
        b = lstm_numpy(h, *(tensors[f"{name}/layer{k}/backward/{p}"] for p in ("kernel", "recurrent_kernel", "bias")), True)
        h = np.concatenate([f, b], axis=2)
        ref[f"out{k}"] = h
    ref["final_hidden"] = np.concatenate([h[:, t - 1, :u], h[:, 0, u:]], axis=1)
    ref["logits"] = ref["final_hidden"] @ dense_k.astype(np.float64) + dense_b.astype(np.float64)
    e = np.exp(ref["logits"] - ref["logits"].max(axis=1, keepdims=True))
    ref["probs"] = e / e.sum(axis=1, keepdims=True)
    report = []
    for o in outputs:
        diff = float(np.max(np.abs(results[o].astype(np.float64) - ref[o])))
        report.append(f"{name}/{o}: max |onnxruntime - numpy float64| = {diff:.3g}")
        if diff > TOLERANCE:
            raise SystemExit(f"make_bilstm_onnx_fixture: {report[-1]} > {TOLERANCE}")
    for k in range(1, layers + 1):
        tensors[f"{name}/layer{k}/output"] = results[f"out{k}"].astype(np.float32)
    for o in ("final_hidden", "logits", "probs"):
        tensors[f"{name}/{o}"] = results[o].astype(np.float32)
    return tensors, report


def main() -> None:
    rng = np.random.Generator(np.random.PCG64(SEED))
    tensors, report = {}, []
    for name, cfg in CASES.items():
        t, r = build_case(name, rng=rng, **cfg)
        tensors.update(t)
        report += r
    meta = {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__, "seed": SEED,
            "cases": CASES, "weights": "uniform(-0.5, 0.5), inputs standard normal: synthetic"}
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, OUT,
              metadata={"provenance": json.dumps(meta, sort_keys=True)})
    os.chmod(OUT, 0o644)
    print("\n".join(report))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes, {len(tensors)} tensors)")


if __name__ == "__main__":
    main()
