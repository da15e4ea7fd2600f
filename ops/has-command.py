#!/usr/bin/env python3
"""Exit 0 when a mien binary has the given subcommand (and option), else 1 (saying so on stderr).

    has-command.py path/to/mien keys generate
    has-command.py path/to/mien coordinator --metrics

Reads the command tree from swift-argument-parser's `--experimental-dump-help` JSON (its
`--help` exits 0 even for an unknown subcommand, so help text cannot tell).
"""
import json
import subprocess
import sys

mien, path = sys.argv[1], sys.argv[2:]
option = path.pop() if path and path[-1].startswith("--") else None
run = subprocess.run([mien, "--experimental-dump-help"], capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(f"has-command: {mien} --experimental-dump-help failed: {run.stderr.strip()}")
node = json.loads(run.stdout)["command"]
for name in path:
    node = next((s for s in node.get("subcommands") or [] if s["commandName"] == name), None)
    if node is None:
        print(f"has-command: {mien} has no `mien {' '.join(path)}` command", file=sys.stderr)
        sys.exit(1)
if option and not any("--" + n["name"] == option for a in node.get("arguments") or [] for n in a.get("names") or []):
    print(f"has-command: `mien {' '.join(path)}` has no {option} option", file=sys.stderr)
    sys.exit(1)
