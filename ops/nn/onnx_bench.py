#!/usr/bin/env python3
"""Mien vs onnxruntime: the fer mini-Xception CNN and a BiLSTM classifier, side by side, in one run.

    python3 ops/nn/onnx_bench.py [--mien PATH] [--batches 1,16,64,256] [--threads 1,2]
                                 [--min-seconds 1.0] [--save-onnx DIR] [--markdown]

What it does, in order:
  1. Builds the CNN as an ONNX graph with `onnx.helper`, directly from Mien's own model files
     (models/fer2013/model.safetensors + model.json; no tf2onnx, no TensorFlow): NHWC input →
     Transpose → Conv / depthwise Conv (group = C) + pointwise Conv / BatchNormalization / Relu /
     MaxPool / Add, TensorFlow `same` padding taken from model.json → outputs `probs` [N,7] and
     `embedding` [N,128] (GlobalAveragePool of add_4). Weights HWIO are transposed to ONNX OIHW.
  2. Checks onnxruntime's outputs against the Keras fixtures
     (Tests/MienNNTests/Fixtures/fer2013_reference.safetensors, made by make_fer_fixtures.py):
     max |ORT − Keras| must be ≤ 1e-4 for probs and embedding, on the random and face sets.
  3. Builds a BiLSTM classifier ONNX graph: input [N,T,D] → Transpose → LSTM
     (direction="bidirectional", hidden U) → concat(final forward h, final backward h) [N,2U] →
     Gemm (Dense, 7) → Softmax. Weights random (numpy PCG64, seed 7, uniform ±0.1; synthetic).
     Checks it against a float64 numpy LSTM (gate order i, o, f, c as ONNX defines): ≤ 1e-5.
  4. Benchmarks onnxruntime (CPUExecutionProvider, graph optimisation ENABLE_ALL, sequential
     execution, intra_op_num_threads = T, inter_op_num_threads = 1) at every batch × thread count,
     on seeded synthetic inputs: 2 warm-up runs, then runs until --min-seconds have passed (at least
     5 runs); per_s = items / total time, ms_per_batch = mean, the rule `mien bench` uses.
  5. Runs Mien's own benchmark for the same configurations in the same run:
        mien bench cnn    --batch B --threads T --json --min-seconds S
        mien bench bilstm --batch B --threads T --json --min-seconds S --window 16 --embedding 128 --units 64
     each printing {"model":..., "batch":B, "threads":T, "per_s":X, "ms_per_batch":Y} on its last
     line. The binary is --mien PATH, else $MIEN, else `swift build -c release --show-bin-path`/mien.
     If it is missing or has no `bench` command, the script says so and prints onnxruntime's figures.
  6. Prints a table: per_s and ms/batch for both, and the ratio Mien / onnxruntime (per_s; > 1 means
     Mien is faster).

Timing figures are only meaningful on a quiet machine: nothing else compiling or running.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODEL_DIR = os.path.join(ROOT, "models", "fer2013")
FIXTURE = os.path.join(ROOT, "Tests", "MienNNTests", "Fixtures", "fer2013_reference.safetensors")
OPSET = 17
CNN_TOLERANCE = 1e-4
LSTM_TOLERANCE = 1e-5
CLASSES = 7


# ----------------------------------------------------------------------------------------------
# CNN: ONNX graph from models/fer2013
# ----------------------------------------------------------------------------------------------

def build_cnn(model_dir: str = MODEL_DIR) -> onnx.ModelProto:
    with open(os.path.join(model_dir, "model.json")) as f:
        graph = json.load(f)
    weights = load_file(os.path.join(model_dir, graph["weights"]["file"]))
    nodes, inits = [], []

    def init(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def pads(layer: dict) -> list[int]:
        p = layer.get("tf_same_padding")
        return [0, 0, 0, 0] if p is None else [p["top"], p["left"], p["bottom"], p["right"]]

    out_name: dict[str, str] = {}
    for layer in graph["layers"]:
        name, kind, cfg = layer["name"], layer["type"], layer["config"]
        ins = [out_name[i] for i in layer["inputs"]]
        y = name
        if kind == "InputLayer":
            nodes.append(helper.make_node("Transpose", ["input"], [y], perm=[0, 3, 1, 2], name=name))
        elif kind == "Conv2D":
            w = init(f"{name}/W", weights[f"{name}/kernel"].transpose(3, 2, 0, 1))  # HWIO → OIHW
            conv_in = [ins[0], w] + ([init(f"{name}/B", weights[f"{name}/bias"])] if cfg["use_bias"] else [])
            nodes.append(helper.make_node("Conv", conv_in, [y], kernel_shape=cfg["kernel_size"],
                                          strides=cfg["strides"], pads=pads(layer), name=name))
        elif kind == "SeparableConv2D":
            dw = weights[f"{name}/depthwise_kernel"]  # [kh, kw, C, 1]
            c = dw.shape[2]
            wd = init(f"{name}/Wd", dw.transpose(2, 3, 0, 1))  # → [C, 1, kh, kw]
            wp = init(f"{name}/Wp", weights[f"{name}/pointwise_kernel"].transpose(3, 2, 0, 1))
            nodes.append(helper.make_node("Conv", [ins[0], wd], [f"{name}/dw"], kernel_shape=cfg["kernel_size"],
                                          strides=cfg["strides"], pads=pads(layer), group=c, name=f"{name}/depthwise"))
            pw_in = [f"{name}/dw", wp] + ([init(f"{name}/B", weights[f"{name}/bias"])] if cfg["use_bias"] else [])
            nodes.append(helper.make_node("Conv", pw_in, [y], kernel_shape=[1, 1], name=f"{name}/pointwise"))
        elif kind == "BatchNormalization":
            args = [ins[0]] + [init(f"{name}/{k}", weights[f"{name}/{k}"])
                               for k in ("gamma", "beta", "moving_mean", "moving_variance")]
            nodes.append(helper.make_node("BatchNormalization", args, [y], epsilon=cfg["epsilon"], name=name))
        elif kind == "Activation":
            if cfg["activation"] == "relu":
                nodes.append(helper.make_node("Relu", ins, [y], name=name))
            elif cfg["activation"] == "softmax":
                nodes.append(helper.make_node("Softmax", ins, ["probs"], axis=-1, name=name))
                y = "probs"
            else:
                raise SystemExit(f"onnx_bench: activation {cfg['activation']} of {name} not handled")
        elif kind == "MaxPooling2D":
            nodes.append(helper.make_node("MaxPool", ins, [y], kernel_shape=cfg["pool_size"], strides=cfg["strides"],
                                          pads=pads(layer), name=name))
        elif kind == "Add":
            nodes.append(helper.make_node("Add", ins, [y], name=name))
        elif kind == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", ins, [f"{name}/nc11"], name=name))
            nodes.append(helper.make_node("Flatten", [f"{name}/nc11"], [y], axis=1, name=f"{name}/flatten"))
        else:
            raise SystemExit(f"onnx_bench: layer type {kind} ({name}) not handled")
        out_name[name] = y
    emb = graph["embedding"]["layer"]
    nodes.append(helper.make_node("GlobalAveragePool", [out_name[emb]], ["embedding/nc11"], name="embedding/pool"))
    nodes.append(helper.make_node("Flatten", ["embedding/nc11"], ["embedding"], axis=1, name="embedding/flatten"))
    g = helper.make_graph(
        nodes, "fer2013_mini_xception",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 64, 64, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", CLASSES]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", graph["embedding"]["size"]])],
        inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mien onnx_bench.py")
    onnx.checker.check_model(model)
    return model


def check_cnn(model: onnx.ModelProto) -> list[str]:
    ref = load_file(FIXTURE)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    lines = []
    for s in ("random", "face"):
        probs, emb = sess.run(["probs", "embedding"], {"input": ref[f"{s}/input"]})
        for key, mine in (("probs", probs), ("embedding", emb)):
            diff = float(np.max(np.abs(mine.astype(np.float64) - ref[f"{s}/{key}"].astype(np.float64))))
            lines.append(f"CNN {s}/{key}: max |onnxruntime - Keras| = {diff:.3g} (tolerance {CNN_TOLERANCE})")
            if diff > CNN_TOLERANCE:
                raise SystemExit("onnx_bench: " + lines[-1] + ": the ONNX export is wrong")
    return lines


# ----------------------------------------------------------------------------------------------
# BiLSTM: ONNX graph with the LSTM op, random weights
# ----------------------------------------------------------------------------------------------

def bilstm_weights(d: int, u: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(seed))
    f = lambda *shape: rng.uniform(-0.1, 0.1, size=shape).astype(np.float32)  # noqa: E731
    return {"W": f(2, 4 * u, d), "R": f(2, 4 * u, u), "B": f(2, 8 * u), "dense_W": f(2 * u, CLASSES),
            "dense_b": f(CLASSES)}


def build_bilstm(t: int, d: int, u: int, w: dict[str, np.ndarray]) -> onnx.ModelProto:
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    inits.append(numpy_helper.from_array(np.array([0, 2 * u], dtype=np.int64), "flat_shape"))
    nodes = [
        helper.make_node("Transpose", ["input"], ["x_tnd"], perm=[1, 0, 2]),                 # [T, N, D]
        helper.make_node("LSTM", ["x_tnd", "W", "R", "B"], ["Y", "Y_h"], hidden_size=u,
                         direction="bidirectional"),                                         # Y_h [2, N, U]
        helper.make_node("Transpose", ["Y_h"], ["h_n2u"], perm=[1, 0, 2]),                   # [N, 2, U]
        helper.make_node("Reshape", ["h_n2u", "flat_shape"], ["h"]),                         # [N, 2U] fwd ‖ bwd
        helper.make_node("Gemm", ["h", "dense_W", "dense_b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    g = helper.make_graph(
        nodes, "bilstm_classifier",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", t, d])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", CLASSES]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", 2 * u])],
        inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mien onnx_bench.py")
    onnx.checker.check_model(model)
    return model


def bilstm_numpy(x: np.ndarray, w: dict[str, np.ndarray], u: int) -> tuple[np.ndarray, np.ndarray]:
    """Float64 reference: ONNX LSTM semantics (gates i, o, f, c; B = [Wb, Rb]), zero initial state."""
    x = x.astype(np.float64)
    n, t, _ = x.shape
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    finals = []
    for direction in (0, 1):
        W, R = w["W"][direction].astype(np.float64), w["R"][direction].astype(np.float64)
        b = w["B"][direction].astype(np.float64)
        bias = b[:4 * u] + b[4 * u:]
        h, c = np.zeros((n, u)), np.zeros((n, u))
        steps = range(t) if direction == 0 else range(t - 1, -1, -1)
        for s in steps:
            z = x[:, s] @ W.T + h @ R.T + bias
            i, o, f, g = sig(z[:, :u]), sig(z[:, u:2 * u]), sig(z[:, 2 * u:3 * u]), np.tanh(z[:, 3 * u:])
            c = f * c + i * g
            h = o * np.tanh(c)
        finals.append(h)
    hcat = np.concatenate(finals, axis=1)
    logits = hcat @ w["dense_W"].astype(np.float64) + w["dense_b"].astype(np.float64)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), hcat


def check_bilstm(model: onnx.ModelProto, w: dict[str, np.ndarray], t: int, d: int, u: int) -> list[str]:
    rng = np.random.Generator(np.random.PCG64(11))
    x = rng.standard_normal((5, t, d)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    probs, h = sess.run(["probs", "h"], {"input": x})
    ref_p, ref_h = bilstm_numpy(x, w, u)
    lines = []
    for key, mine, ref in (("probs", probs, ref_p), ("final hidden", h, ref_h)):
        diff = float(np.max(np.abs(mine.astype(np.float64) - ref)))
        lines.append(f"BiLSTM {key}: max |onnxruntime - numpy float64| = {diff:.3g} (tolerance {LSTM_TOLERANCE})")
        if diff > LSTM_TOLERANCE:
            raise SystemExit("onnx_bench: " + lines[-1])
    return lines


# ----------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------

def ort_time(model: onnx.ModelProto, x: np.ndarray, threads: int, min_seconds: float) -> dict:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feed = {"input": x}
    for _ in range(2):
        sess.run(None, feed)
    # Same rule as `mien bench`: run batches until min_seconds have passed (at least 5 here), then
    # per_s = images / total time and ms_per_batch = total time / batches (means, not medians).
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return {"per_s": x.shape[0] * len(times) / total, "ms_per_batch": total / len(times) * 1000.0,
            "runs": len(times), "median_ms": statistics.median(times) * 1000.0}


def find_mien(explicit: str | None) -> tuple[str | None, str]:
    if explicit:
        return (explicit, "") if os.access(explicit, os.X_OK) else (None, f"--mien {explicit} is not an executable file")
    env = os.environ.get("MIEN")
    if env:
        return (env, "") if os.access(env, os.X_OK) else (None, f"$MIEN={env} is not an executable file")
    if shutil.which("swift") is None:
        return None, "no --mien given and `swift` is not on PATH"
    r = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True)
    path = os.path.join(r.stdout.strip(), "mien")
    if r.returncode == 0 and os.access(path, os.X_OK):
        return path, ""
    return None, (f"no mien binary at {path}: build it (swift build -c release) or pass --mien PATH")


def mien_time(binary: str, model: str, batch: int, threads: int, args: argparse.Namespace) -> tuple[dict | None, str]:
    cmd = [binary, "bench", model, "--batch", str(batch), "--threads", str(threads), "--json",
           "--min-seconds", str(args.min_seconds)]
    if model == "bilstm":
        cmd += ["--window", str(args.window), "--embedding", str(args.embedding), "--units", str(args.units)]
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.mien_timeout)
    except subprocess.TimeoutExpired:
        return None, f"`{' '.join(cmd)}` timed out after {args.mien_timeout} s"
    if r.returncode != 0:
        msg = (r.stderr.strip() or r.stdout.strip()).splitlines()
        return None, f"`{' '.join(cmd)}` exited {r.returncode}: {msg[0] if msg else 'no output'}"
    lines = [l for l in r.stdout.strip().splitlines() if l.strip()]
    try:
        obj = json.loads(lines[-1])
        result = {"per_s": float(obj["per_s"]), "ms_per_batch": float(obj["ms_per_batch"])}
    except (IndexError, ValueError, KeyError, TypeError) as e:
        return None, f"`{' '.join(cmd)}` did not print the expected JSON line ({e}): {r.stdout.strip()[:200]!r}"
    if obj.get("batch") != batch or obj.get("threads") != threads:
        return None, f"`{' '.join(cmd)}` reported batch {obj.get('batch')} threads {obj.get('threads')}"
    return result, " ".join(cmd)


def machine_line() -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def main() -> None:
    p = argparse.ArgumentParser(description="Mien vs onnxruntime benchmark for the fer CNN and a BiLSTM.")
    p.add_argument("--mien", help="path to the mien binary (default: $MIEN, else swift build -c release --show-bin-path)")
    p.add_argument("--no-mien", action="store_true", help="benchmark onnxruntime only")
    p.add_argument("--batches", default="1,16,64,256")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--models", default="cnn,bilstm")
    p.add_argument("--window", type=int, default=16, help="BiLSTM window T")
    p.add_argument("--embedding", type=int, default=128, help="BiLSTM input size D")
    p.add_argument("--units", type=int, default=64, help="BiLSTM units U per direction")
    p.add_argument("--min-seconds", type=float, default=1.0, help="minimum timed seconds per onnxruntime configuration")
    p.add_argument("--mien-timeout", type=float, default=300.0)
    p.add_argument("--save-onnx", metavar="DIR", help="also write fer2013_cnn.onnx and bilstm.onnx into DIR")
    p.add_argument("--json-out", metavar="FILE", help="write all figures as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    threads_list = [int(t) for t in args.threads.split(",")]
    models = args.models.split(",")
    for m in models:
        if m not in ("cnn", "bilstm"):
            raise SystemExit(f"onnx_bench: unknown model {m!r} in --models; use cnn and/or bilstm")

    cnn = build_cnn()
    wl = bilstm_weights(args.embedding, args.units)
    bilstm = build_bilstm(args.window, args.embedding, args.units, wl)
    for line in check_cnn(cnn) + check_bilstm(bilstm, wl, args.window, args.embedding, args.units):
        print(line)
    if args.save_onnx:
        os.makedirs(args.save_onnx, exist_ok=True)
        onnx.save(cnn, os.path.join(args.save_onnx, "fer2013_cnn.onnx"))
        onnx.save(bilstm, os.path.join(args.save_onnx, "bilstm.onnx"))

    mien, why = (None, "--no-mien given") if args.no_mien else find_mien(args.mien)
    if mien is None:
        print(f"onnx_bench: Mien not benchmarked: {why}. Printing onnxruntime's figures only.")
    else:
        print(f"onnx_bench: Mien binary {mien}")

    rng = np.random.Generator(np.random.PCG64(3))
    rows = []
    mien_broken = None
    for model_name in models:
        for threads in threads_list:
            for batch in batches:
                if model_name == "cnn":
                    x = rng.uniform(-1, 1, size=(batch, 64, 64, 1)).astype(np.float32)
                    o = ort_time(cnn, x, threads, args.min_seconds)
                else:
                    x = rng.standard_normal((batch, args.window, args.embedding)).astype(np.float32)
                    o = ort_time(bilstm, x, threads, args.min_seconds)
                row = {"model": model_name, "batch": batch, "threads": threads, "onnxruntime": o, "mien": None}
                if mien is not None and mien_broken is None:
                    m, info = mien_time(mien, model_name, batch, threads, args)
                    if m is None:
                        mien_broken = info
                        print(f"onnx_bench: Mien's benchmark failed, skipping the rest of Mien's runs: {info}")
                    else:
                        row["mien"] = m
                rows.append(row)
                mm = row["mien"]
                print(f"  {model_name:6s} batch {batch:4d} threads {threads}: onnxruntime {o['per_s']:10.1f}/s"
                      + (f"  mien {mm['per_s']:10.1f}/s  ratio {mm['per_s'] / o['per_s']:.2f}" if mm else ""),
                      flush=True)

    unit = {"cnn": "images/s", "bilstm": "windows/s"}
    print()
    print(f"date {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; machine {machine_line()}")
    print(f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}; "
          f"BiLSTM T={args.window} D={args.embedding} U={args.units}; synthetic inputs")
    header = ["model", "batch", "threads", "ORT per_s", "ORT ms/batch", "Mien per_s", "Mien ms/batch", "Mien/ORT"]
    table = []
    for r in rows:
        o, m = r["onnxruntime"], r["mien"]
        table.append([f"{r['model']} ({unit[r['model']]})", str(r["batch"]), str(r["threads"]),
                      f"{o['per_s']:.1f}", f"{o['ms_per_batch']:.3f}",
                      f"{m['per_s']:.1f}" if m else "—", f"{m['ms_per_batch']:.3f}" if m else "—",
                      f"{m['per_s'] / o['per_s']:.2f}" if m else "—"])
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for t in table:
            print("| " + " | ".join(t) + " |")
    else:
        widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header)]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
        for t in table:
            print("  ".join(c.rjust(w) for c, w in zip(t, widths)))
    if mien is None or mien_broken:
        print(f"(Mien column empty: {why or mien_broken})")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"machine": machine_line(), "onnxruntime": ort.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
