#!/usr/bin/env python3
"""Example downstream consumer of Mien's result stream, in Python (pyzmq + protobuf).

Subscribes to a Mien PUB/XPUB endpoint (the aggregator's result stream, or
`mien selftest publish`), decodes every message as a mien.v1.Envelope and prints it as
one line of proto3 JSON (proto field names).

    python3 examples/python/mien_consumer.py tcp://127.0.0.1:5600 [--count N] [--topic frame_result]

The Python protobuf modules are generated from Mien's proto/ files with `protoc` into a
cache folder next to this script on first use (needs Debian's protobuf-compiler).
Each message is two frames: the topic (the body kind) and one serialized envelope.
A message that does not decode is reported on stderr and skipped.
"""
import argparse
import json
import pathlib
import subprocess
import sys

import zmq
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

PROTOCOL_VERSION = 1
HERE = pathlib.Path(__file__).resolve().parent
PROTO_DIR = HERE.parent.parent / "proto"
GEN_DIR = HERE / "build" / "gen"


def load_envelope_class():
    """Generates (if stale) and imports the mien.v1 Python modules; returns Envelope."""
    protos = sorted(PROTO_DIR.glob("mien/v1/*.proto"))
    if not protos:
        sys.exit(f"mien_consumer: no .proto files under {PROTO_DIR}")
    stamp = GEN_DIR / "mien" / "v1" / "envelope_pb2.py"
    if not stamp.exists() or stamp.stat().st_mtime < max(p.stat().st_mtime for p in protos):
        GEN_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["protoc", f"--python_out={GEN_DIR}", f"-I{PROTO_DIR}", *map(str, protos)], check=True)
    sys.path.insert(0, str(GEN_DIR))
    from mien.v1 import envelope_pb2  # noqa: E402  (generated above)
    return envelope_pb2.Envelope


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("endpoint", help="e.g. tcp://127.0.0.1:5600")
    parser.add_argument("--count", type=int, default=-1, help="stop after N envelopes (default: run until interrupted)")
    parser.add_argument("--topic", default="", help="only this kind, e.g. frame_result (default: all)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds without a message before giving up")
    args = parser.parse_args()

    Envelope = load_envelope_class()
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))
    sub.setsockopt(zmq.SUBSCRIBE, args.topic.encode())
    sub.connect(args.endpoint)

    printed = 0
    try:
        while args.count < 0 or printed < args.count:
            try:
                frames = sub.recv_multipart()
            except zmq.Again:
                print(f"mien_consumer: no message for {args.timeout:g} s after {printed} message(s)", file=sys.stderr)
                return 1
            if len(frames) != 2:
                print(f"mien_consumer: skipped a message of {len(frames)} frame(s), expected 2 (topic, envelope)", file=sys.stderr)
                continue
            envelope = Envelope()
            try:
                envelope.ParseFromString(frames[1])
            except DecodeError as e:
                print(f"mien_consumer: skipped {len(frames[1])} bytes that are not a mien.v1.Envelope: {e}", file=sys.stderr)
                continue
            if envelope.protocol_version != PROTOCOL_VERSION:
                print(f"mien_consumer: skipped an envelope of protocol version {envelope.protocol_version}", file=sys.stderr)
                continue
            print(json.dumps(MessageToDict(envelope, preserving_proto_field_name=True), ensure_ascii=False), flush=True)
            printed += 1
    finally:
        sub.close()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
