#!/usr/bin/env python3
"""Training speed of Mien's CNN (or, with --bilstm, BiLSTM) trainer against Keras/TensorFlow on
the same model and machine.

Runs, alternating and in separate processes so neither warms the other's caches:
  * `mien bench train-cnn --model-json M --batch B --threads T` (forward in training mode,
    cross-entropy, backward, Adam on seeded synthetic images), and
  * the same model built in Keras from Mien's model.json (the layer graph is Keras's own layer
    list), `train_on_batch` with Adam on random images of the same shape, with TensorFlow's
    intra-op and inter-op threads set to T (oneDNN off: it crashes on the Xeon machines here),
and prints training images/s of each, their median over --rounds, and the ratio, per thread
count, as a Markdown table with the CPU named. With --bilstm: `mien bench train-bilstm` (the
BiLSTM classifier: window T × embedding D, U units per direction, final states → dense → softmax
over 7, Adam, dropout 0) against Keras's Bidirectional(LSTM(U)) → Dense(7, softmax) with Adam,
`train_on_batch` on the same shapes; windows/s.

Keras/TF is not one of Mien's dependencies: give --python a Python that has tensorflow
(e.g. `python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu`).

  python3 ops/nn/train_bench.py --mien .build/release/mien --python /tmp/tfenv/bin/python \
      --model-json models/fer2013/model.json --batch 32 --threads 1 2
  python3 ops/nn/train_bench.py --mien .build/release/mien --python /tmp/tfenv/bin/python \
      --bilstm --batch 64 --threads 1 2
"""
import argparse
import json
import statistics
import subprocess
import sys

# Both children end the same way: warm-up, then `steps` timed train_on_batch calls.
TIMED_STEPS = r'''
for _ in range(3):
    model.train_on_batch(x, y)
start = time.perf_counter()
for _ in range(steps):
    model.train_on_batch(x, y)
elapsed = time.perf_counter() - start
print(json.dumps({"per_s": steps * batch / elapsed, "tf": tf.__version__}))
'''

KERAS_CHILD = r'''
import json, os, sys, time
threads, batch, steps, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
# TensorFlow's oneDNN kernels crash (SIGSEGV) on the Xeon machines here; its Eigen kernels run.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
from tensorflow import keras
d = json.load(open(path))
L = keras.layers
tensors = {}
for spec in d["layers"]:
    c, name, t = spec.get("config", {}), spec["name"], spec["type"]
    ins = [tensors[i] for i in spec.get("inputs", [])]
    if t == "InputLayer":
        tensors[name] = keras.Input((d["input"]["height"], d["input"]["width"], d["input"]["channels"]), name=name)
        continue
    if t == "Conv2D":
        layer = L.Conv2D(c["filters"], tuple(c["kernel_size"]), strides=tuple(c["strides"]), padding=c["padding"], use_bias=c.get("use_bias", True), name=name)
    elif t == "SeparableConv2D":
        layer = L.SeparableConv2D(c["filters"], tuple(c["kernel_size"]), strides=tuple(c["strides"]), padding=c["padding"], use_bias=c.get("use_bias", True), name=name)
    elif t == "BatchNormalization":
        layer = L.BatchNormalization(epsilon=c.get("epsilon", 1e-3), momentum=c.get("momentum", 0.99), name=name)
    elif t == "Activation":
        layer = L.Activation(c["activation"], name=name)
    elif t == "MaxPooling2D":
        layer = L.MaxPooling2D(tuple(c["pool_size"]), strides=tuple(c["strides"]), padding=c["padding"], name=name)
    elif t == "Add":
        tensors[name] = L.Add(name=name)(ins)
        continue
    elif t == "GlobalAveragePooling2D":
        layer = L.GlobalAveragePooling2D(name=name)
    else:
        raise SystemExit(f"layer type {t} is not handled here")
    tensors[name] = layer(ins[0])
model = keras.Model(tensors[d["layers"][0]["name"]], tensors[d["output"]["layer"]])
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
rng = np.random.default_rng(1)
x = rng.uniform(-1, 1, (batch, d["input"]["height"], d["input"]["width"], d["input"]["channels"])).astype("float32")
y = np.eye(len(d["labels"]), dtype="float32")[rng.integers(0, len(d["labels"]), batch)]
''' + TIMED_STEPS

KERAS_BILSTM_CHILD = r'''
import json, os, sys, time
threads, batch, steps, window, embedding, units = (int(v) for v in sys.argv[1:7])
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import numpy as np
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
from tensorflow import keras
x_in = keras.Input((window, embedding))
h = keras.layers.Bidirectional(keras.layers.LSTM(units))(x_in)
model = keras.Model(x_in, keras.layers.Dense(7, activation="softmax")(h))
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
rng = np.random.default_rng(1)
x = rng.uniform(-1, 1, (batch, window, embedding)).astype("float32")
y = np.eye(7, dtype="float32")[rng.integers(0, 7, batch)]
''' + TIMED_STEPS


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def mien_rate(args, threads):
    kind = "train-bilstm" if args.bilstm else "train-cnn"
    cmd = [args.mien, "bench", kind, "--batch", str(args.batch), "--threads", str(threads),
           "--min-seconds", str(args.seconds), "--json"]
    if args.bilstm:
        cmd += ["--window", str(args.window), "--embedding", str(args.embedding), "--units", str(args.units)]
    elif args.architecture:
        cmd += ["--architecture", args.architecture, "--input-size", str(args.input_size)]
    else:
        cmd += ["--model-json", args.model_json]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def keras_rate(args, threads, model_json):
    if args.bilstm:
        argv = [KERAS_BILSTM_CHILD] + [str(v) for v in (threads, args.batch, args.keras_steps, args.window, args.embedding, args.units)]
    else:
        argv = [KERAS_CHILD, str(threads), str(args.batch), str(args.keras_steps), model_json]
    out = subprocess.run([args.python, "-c"] + argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mien", required=True)
    p.add_argument("--python", required=True, help="a Python with tensorflow")
    p.add_argument("--model-json", default="models/fer2013/model.json")
    p.add_argument("--architecture", help="time mien's --architecture instead (Keras uses --model-json, which must describe the same graph)")
    p.add_argument("--input-size", type=int, default=48)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=4.0, help="mien's timed seconds per round")
    p.add_argument("--keras-steps", type=int, default=40)
    p.add_argument("--bilstm", action="store_true", help="time the BiLSTM classifier instead of a CNN")
    p.add_argument("--window", type=int, default=16, help="--bilstm: window length T")
    p.add_argument("--embedding", type=int, default=128, help="--bilstm: embedding size D")
    p.add_argument("--units", type=int, default=64, help="--bilstm: units per direction")
    args = p.parse_args()
    rows = []
    tf_version = "?"
    for t in args.threads:
        m, k = [], []
        for _ in range(args.rounds):
            m.append(mien_rate(args, t)["per_s"])
            kr = keras_rate(args, t, args.model_json)
            tf_version = kr["tf"]
            k.append(kr["per_s"])
        rows.append((t, m, k))
    if args.bilstm:
        name, unit = f"BiLSTM T {args.window}, D {args.embedding}, {args.units} units", "windows/s"
    else:
        name, unit = args.architecture or args.model_json, "images/s"
    print(f"Training {unit}, {name}, batch {args.batch}, {cpu_name()}; Keras/TF {tf_version}; median of {args.rounds} alternating rounds\n")
    print("| threads | Mien (rounds) | Keras/TF (rounds) | Mien ÷ Keras |")
    print("|---|---|---|---|")
    for t, m, k in rows:
        fmt = lambda v: ", ".join(f"{x:.0f}" for x in v)
        print(f"| {t} | **{statistics.median(m):.0f}** ({fmt(m)}) | **{statistics.median(k):.0f}** ({fmt(k)}) | {statistics.median(m) / statistics.median(k):.2f}× |")


if __name__ == "__main__":
    sys.exit(main())
