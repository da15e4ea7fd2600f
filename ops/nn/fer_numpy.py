"""Float64 numpy forward pass of the fer mini-Xception, reading only Mien's model files.

An independent oracle for the import (models/fer2013/model.safetensors + model.json): it follows
the layer graph in model.json, with the Keras layouts and TensorFlow padding rules stated there.
Deliberately naive (sliding windows + einsum), no TensorFlow.

    weights, graph = load("models/fer2013")
    out = forward(weights, graph, x)   # x: [N, 64, 64, 1] preprocessed, NHWC
    out["predictions"]  [N, 7]; out["embedding"] [N, 128]; out[<layer name>] every layer's output
"""
from __future__ import annotations

import json
import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors.numpy import load_file


def load(model_dir: str) -> tuple[dict[str, np.ndarray], dict]:
    with open(os.path.join(model_dir, "model.json")) as f:
        graph = json.load(f)
    weights = load_file(os.path.join(model_dir, graph["weights"]["file"]))
    return {k: v.astype(np.float64) for k, v in weights.items()}, graph


def _pad(x: np.ndarray, layer: dict, value: float) -> np.ndarray:
    p = layer.get("tf_same_padding")
    if p is None:
        return x
    return np.pad(x, ((0, 0), (p["top"], p["bottom"]), (p["left"], p["right"]), (0, 0)), constant_values=value)


def _windows(x: np.ndarray, k: list[int], s: list[int]) -> np.ndarray:
    """[N, H, W, C] → [N, Ho, Wo, C, kh, kw] with stride s."""
    w = sliding_window_view(x, (k[0], k[1]), axis=(1, 2))
    return w[:, ::s[0], ::s[1]]


def forward(weights: dict[str, np.ndarray], graph: dict, x: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for layer in graph["layers"]:
        name, kind, cfg = layer["name"], layer["type"], layer["config"]
        ins = [out[i] for i in layer["inputs"]]
        if kind == "InputLayer":
            y = x
        elif kind == "Conv2D":
            win = _windows(_pad(ins[0], layer, 0.0), cfg["kernel_size"], cfg["strides"])
            y = np.einsum("nhwcij,ijco->nhwo", win, weights[f"{name}/kernel"])
            if cfg["use_bias"]:
                y = y + weights[f"{name}/bias"]
        elif kind == "SeparableConv2D":
            win = _windows(_pad(ins[0], layer, 0.0), cfg["kernel_size"], cfg["strides"])
            depth = np.einsum("nhwcij,ijc->nhwc", win, weights[f"{name}/depthwise_kernel"][:, :, :, 0])
            y = np.einsum("nhwc,co->nhwo", depth, weights[f"{name}/pointwise_kernel"][0, 0])
            if cfg["use_bias"]:
                y = y + weights[f"{name}/bias"]
        elif kind == "BatchNormalization":
            g, b = weights[f"{name}/gamma"], weights[f"{name}/beta"]
            m, v = weights[f"{name}/moving_mean"], weights[f"{name}/moving_variance"]
            y = g * (ins[0] - m) / np.sqrt(v + cfg["epsilon"]) + b
        elif kind == "Activation":
            act = cfg["activation"]
            if act == "relu":
                y = np.maximum(ins[0], 0.0)
            elif act == "softmax":
                e = np.exp(ins[0] - ins[0].max(axis=-1, keepdims=True))
                y = e / e.sum(axis=-1, keepdims=True)
            else:
                raise ValueError(f"{name}: activation {act} not supported by fer_numpy")
        elif kind == "MaxPooling2D":
            win = _windows(_pad(ins[0], layer, -np.inf), cfg["pool_size"], cfg["strides"])
            y = win.max(axis=(4, 5))
        elif kind == "Add":
            y = sum(ins[1:], ins[0])
        elif kind == "GlobalAveragePooling2D":
            y = ins[0].mean(axis=(1, 2))
        else:
            raise ValueError(f"{name}: layer type {kind} not supported by fer_numpy")
        if list(y.shape[1:]) != layer["output_shape"]:
            raise ValueError(f"{name}: computed shape {list(y.shape[1:])}, model.json says {layer['output_shape']}")
        out[name] = y
    emb = graph["embedding"]
    out["embedding"] = out[emb["layer"]].mean(axis=(1, 2))
    return out
