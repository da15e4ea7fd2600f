#!/usr/bin/env python3
"""Example downstream consumer of Mien's result stream, in Python (pyzmq + protobuf).

Subscribes to a Mien PUB/XPUB endpoint (the aggregator's result stream, or
`mien selftest publish`), decodes every message as a mien.v1.Published (the result
stream's own message, proto/mien/v1/envelope.proto) and prints it as one line of proto3 JSON
(proto field names).

    python3 examples/python/mien_consumer.py tcp://127.0.0.1:5600 [--count N] [--topic frame_result]
        [--curve-server-key aggregator.pub --curve-secret-key consumer.key]

With CURVE (an aggregator started with --curve-secret-key/--curve-allow), give the aggregator's
public key file and this consumer's own key file, both made by `mien keys generate`; the
consumer's .pub must be on the aggregator's --curve-allow list, or it receives nothing.

The Python protobuf modules are generated from Mien's proto/ files with `protoc` into a
cache folder next to this script on first use (needs Debian's protobuf-compiler).
Each message is two frames: the topic (the body kind) and one serialized Published.
A message that does not decode is reported on stderr and skipped.
"""
import argparse
import json
import pathlib
import subprocess
import sys

import zmq
import zmq.utils.z85
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

PROTOCOL_VERSION = 2
HERE = pathlib.Path(__file__).resolve().parent
PROTO_DIR = HERE.parent.parent / "proto"
GEN_DIR = HERE / "build" / "gen"


def load_envelope_module():
    """Generates (if stale) and imports the mien.v1 Python modules; returns envelope_pb2
    (Envelope: between the cluster's peers; Published: the result stream)."""
    protos = sorted(PROTO_DIR.glob("mien/v1/*.proto"))
    if not protos:
        sys.exit(f"mien_consumer: no .proto files under {PROTO_DIR}")
    stamp = GEN_DIR / "mien" / "v1" / "envelope_pb2.py"
    if not stamp.exists() or stamp.stat().st_mtime < max(p.stat().st_mtime for p in protos):
        GEN_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["protoc", f"--python_out={GEN_DIR}", f"-I{PROTO_DIR}", *map(str, protos)], check=True)
    sys.path.insert(0, str(GEN_DIR))
    from mien.v1 import envelope_pb2  # noqa: E402  (generated above)
    return envelope_pb2


def read_key_file(path, secret):
    """Reads a key file written by `mien keys generate`.

    NAME.pub: one line, the Z85 public key. NAME.key: ZeroMQ certificate text with
    `public-key = "..."` and `secret-key = "..."` lines (zmq.auth.load_certificate reads it too).
    Returns (public, secret) as bytes; exits with a message naming the file when unusable.
    """
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"mien_consumer: cannot read CURVE key file {path}: {e}; make one with `mien keys generate`")
    fields = {}
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    for ln in lines:
        for name in ("public-key", "secret-key"):
            if ln.startswith(name) and "=" in ln:
                fields[name] = ln.split("=", 1)[1].strip(" \t\"'")
    if "public-key" not in fields and len(lines) == 1:
        fields["public-key"] = lines[0]
    if secret and "secret-key" not in fields:
        sys.exit(f"mien_consumer: {path} has no secret-key line: give this consumer's .key file (not a .pub)")
    for name, value in fields.items():
        try:
            ok = len(value) == 40 and len(zmq.utils.z85.decode(value)) == 32
        except (ValueError, KeyError, IndexError, TypeError):
            ok = False
        if not ok:
            sys.exit(f"mien_consumer: {path}: the {name} is not a 40-character Z85 CURVE key; make one with `mien keys generate`")
    if "public-key" not in fields:
        sys.exit(f"mien_consumer: {path} holds no public key; make one with `mien keys generate`")
    return fields["public-key"].encode(), fields.get("secret-key", "").encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("endpoint", help="e.g. tcp://127.0.0.1:5600")
    parser.add_argument("--count", type=int, default=-1, help="stop after N messages (default: run until interrupted)")
    parser.add_argument("--topic", default="", help="only this kind, e.g. frame_result (default: all)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds without a message before giving up")
    parser.add_argument("--curve-server-key", metavar="FILE", help="the aggregator's public key file (.pub) when its stream uses CURVE")
    parser.add_argument("--curve-secret-key", metavar="FILE", help="this consumer's key file (.key); its .pub must be on the aggregator's --curve-allow")
    args = parser.parse_args()
    if bool(args.curve_server_key) != bool(args.curve_secret_key):
        parser.error("--curve-server-key and --curve-secret-key go together (the server's .pub and this consumer's .key)")

    Published = load_envelope_module().Published
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, int(args.timeout * 1000))
    sub.setsockopt(zmq.SUBSCRIBE, args.topic.encode())
    if args.curve_server_key:
        server_public, _ = read_key_file(args.curve_server_key, secret=False)
        own_public, own_secret = read_key_file(args.curve_secret_key, secret=True)
        sub.curve_serverkey = server_public
        sub.curve_publickey = own_public
        sub.curve_secretkey = own_secret
    sub.connect(args.endpoint)
    # For scripts that start the publisher after the consumer: from here on the subscription is on
    # its way (ZeroMQ connects and subscribes in the background, within milliseconds on a LAN).
    print(f"mien_consumer: subscribed to {args.endpoint} (topic {args.topic!r})", file=sys.stderr, flush=True)

    printed = 0
    try:
        while args.count < 0 or printed < args.count:
            try:
                frames = sub.recv_multipart()
            except zmq.Again:
                print(f"mien_consumer: no message for {args.timeout:g} s after {printed} message(s)", file=sys.stderr)
                return 1
            if len(frames) != 2:
                print(f"mien_consumer: skipped a message of {len(frames)} frame(s), expected 2 (topic, published)", file=sys.stderr)
                continue
            message = Published()
            try:
                message.ParseFromString(frames[1])
            except DecodeError as e:
                print(f"mien_consumer: skipped {len(frames[1])} bytes that are not a mien.v1.Published: {e}", file=sys.stderr)
                continue
            if message.protocol_version != PROTOCOL_VERSION:
                print(f"mien_consumer: skipped a message of protocol version {message.protocol_version}", file=sys.stderr)
                continue
            print(json.dumps(MessageToDict(message, preserving_proto_field_name=True), ensure_ascii=False), flush=True)
            printed += 1
    finally:
        sub.close()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
