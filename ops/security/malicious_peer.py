#!/usr/bin/env python3
"""A misbehaving peer for Mien's coordinator (security test; not part of Mien itself).

Connects DEALER sockets to the coordinator's feature and sequence endpoints and, until
--duration seconds pass or it is terminated, keeps doing three kinds of damage in turn:

  oversized  a message larger than the coordinator's --max-message-bytes (libzmq must cut the
             connection before the coordinator sees it; a fresh socket reconnects each time);
  garbled    random bytes, truncated and bit-flipped envelopes, an envelope of protocol
             version 99, an envelope without a body, messages of 2 and 0-length frames;
  flooding   valid-looking envelopes (heartbeats, readies, a bogus embedding batch) from a
             peer that never said hello, as fast as --flood-rate allows (messages/s, per endpoint).

With --curve-server-key/--curve-secret-key it speaks CURVE: given a key on the coordinator's
allow-list it is an *allowed but misbehaving* peer, the case the rate limit and the decode
checks exist for. Says "malicious_peer: attacking" on stderr once it has started, and prints
a JSON report of what it handed to its sockets on stdout at the end (messages queued while
the coordinator is not listening count as sent; "flood_blocked" counts those refused by a
full queue).

    malicious_peer.py --features tcp://127.0.0.1:5555 --sequences tcp://127.0.0.1:5556 \
        [--curve-server-key coordinator.pub --curve-secret-key attacker.key] \
        [--oversize-bytes 2097152] [--flood-rate 5000] [--duration 60] [--seed 7]
"""
import argparse
import json
import pathlib
import random
import signal
import sys
import time

import zmq

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "examples" / "python"))
import mien_consumer  # noqa: E402  (for its generated mien.v1 modules and key-file reader)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", required=True)
    parser.add_argument("--sequences", required=True)
    parser.add_argument("--curve-server-key")
    parser.add_argument("--curve-secret-key")
    parser.add_argument("--oversize-bytes", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--flood-rate", type=float, default=5000, help="flood messages per second per endpoint")
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    Envelope = mien_consumer.load_envelope_module().Envelope
    keys = None
    if args.curve_server_key:
        server_public, _ = mien_consumer.read_key_file(args.curve_server_key, secret=False)
        own_public, own_secret = mien_consumer.read_key_file(args.curve_secret_key, secret=True)
        keys = (server_public, own_public, own_secret)

    ctx = zmq.Context()

    def dealer(endpoint, identity=None):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SNDHWM, 10_000)
        s.setsockopt(zmq.RCVHWM, 100)
        if identity:
            s.setsockopt(zmq.ROUTING_ID, identity)
        if keys:
            s.curve_serverkey, s.curve_publickey, s.curve_secretkey = keys
        s.connect(endpoint)
        return s

    seq = [0]

    def envelope(fill, version=mien_consumer.PROTOCOL_VERSION):
        seq[0] += 1
        e = Envelope()
        e.protocol_version = version
        e.sender_id = "attacker"
        e.sequence = seq[0]
        e.sent_unix_ms = int(time.time() * 1000)
        fill(e)
        return e.SerializeToString()

    def heartbeat(e):
        e.session.heartbeat.sent_unix_ms = int(time.time() * 1000)

    def ready(e):
        e.session.ready.credit = 1_000_000

    def bogus_batch(e):
        e.embedding_batch.video_id = "clip_00000.mp4"
        e.embedding_batch.batch_id = rng.getrandbits(63)

    valid = [envelope(heartbeat), envelope(ready), envelope(bogus_batch)]

    def garbled():
        good = envelope(heartbeat)
        choice = rng.randrange(6)
        if choice == 0:
            return [bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 512)))]
        if choice == 1:
            return [good[: rng.randrange(1, len(good))]]
        if choice == 2:
            b = bytearray(good)
            b[rng.randrange(len(b))] ^= 0xFF
            return [bytes(b)]
        if choice == 3:
            return [envelope(heartbeat, version=99)]
        if choice == 4:
            return [envelope(lambda e: None)]
        return [good, good] if rng.random() < 0.5 else [b""]

    endpoints = {"features": args.features, "sequences": args.sequences}
    flooders = {name: dealer(ep, identity=f"flood-{name}".encode()) for name, ep in endpoints.items()}
    sent = {"oversized": 0, "garbled": 0, "flood": 0, "flood_blocked": 0}
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: stop.__setitem__(0, True))

    big = bytes(args.oversize_bytes)
    start = time.monotonic()
    next_oversize = start
    flood_interval = 1.0 / args.flood_rate if args.flood_rate > 0 else None
    tick = 0
    while not stop[0] and time.monotonic() - start < args.duration:
        now = time.monotonic()
        # Oversized: a fresh connection each time (libzmq drops the connection that sent it).
        if now >= next_oversize:
            for ep in endpoints.values():
                s = dealer(ep)
                try:
                    s.send(big, zmq.NOBLOCK)
                    sent["oversized"] += 1
                except zmq.Again:
                    pass
                s.close()
            next_oversize = now + 0.25
        # Garbled and flooding messages, interleaved, paced to the flood rate.
        for name, s in flooders.items():
            try:
                if tick % 10 == 0:
                    s.send_multipart(garbled(), zmq.NOBLOCK)
                    sent["garbled"] += 1
                else:
                    s.send(valid[tick % len(valid)], zmq.NOBLOCK)
                    sent["flood"] += 1
            except zmq.Again:
                sent["flood_blocked"] += 1
            # Answers to the flood (errors for the unknown peer) are read and thrown away.
            try:
                while True:
                    s.recv(zmq.NOBLOCK)
            except zmq.Again:
                pass
        tick += 1
        if tick == 1:
            print("malicious_peer: attacking", file=sys.stderr, flush=True)
        if flood_interval:
            behind = start + tick * flood_interval - time.monotonic()
            if behind > 0:
                time.sleep(behind)
    for s in flooders.values():
        s.close()
    ctx.term()
    sent["seconds"] = round(time.monotonic() - start, 2)
    print(json.dumps(sent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
