#!/usr/bin/env bash
# The README's first quick-start command: installs what Mien needs (idempotent), builds it,
# and runs the main job on the bundled sample data.
#
# The cluster job (`mien run`) is not built yet (issue "The cluster"); until it lands this
# runs the transport self-test: every message kind of the wire protocol through every socket
# pattern over inproc, ipc and tcp.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/setup.sh --quiet
flags=(-c release -Xswiftc -enable-testing)
swift build "${flags[@]}" --product mien
mien="$(swift build "${flags[@]}" --show-bin-path)/mien"
"$mien" selftest
