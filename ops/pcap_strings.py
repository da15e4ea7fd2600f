#!/usr/bin/env python3
"""Counts plaintext strings in the TCP payloads of a packet capture.

    pcap_strings.py CAPTURE STRING...

tshark (Wireshark's command-line dissector) extracts the payload of every TCP segment with its
stream number; the payloads of each stream are joined in capture order, so a string split
across two segments is still found. Prints one JSON object:
{"segments": N, "payload_bytes": N, "streams": N, "counts": {STRING: occurrences}}.
Exit 1 when tshark is missing or cannot read the capture.
"""
import json
import shutil
import subprocess
import sys
from collections import defaultdict


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: pcap_strings.py CAPTURE STRING...")
    capture, needles = sys.argv[1], sys.argv[2:]
    if not shutil.which("tshark"):
        sys.exit("pcap_strings: tshark not found (apt-get install tshark)")
    run = subprocess.run(["tshark", "-r", capture, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.stream", "-e", "tcp.payload"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"pcap_strings: tshark could not read {capture}: {run.stderr.strip()}")
    streams = defaultdict(bytearray)
    segments = 0
    for line in run.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 2 or not parts[1]:
            continue
        streams[parts[0]] += bytes.fromhex(parts[1].replace(":", ""))
        segments += 1
    counts = {n: sum(bytes(s).count(n.encode()) for s in streams.values()) for n in needles}
    print(json.dumps({"segments": segments, "payload_bytes": sum(len(s) for s in streams.values()),
                      "streams": len(streams), "counts": counts}))


if __name__ == "__main__":
    main()
