#!/usr/bin/env python3
"""The longest Swift functions under Sources/ (lines from `func`/`init` to its closing brace,
nested functions counted inside their parent too), longest first.

    ops/longest-functions.py [N]      # default 10
"""
import re, sys
from pathlib import Path

DECL = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|static|final|override|mutating|nonisolated|convenience|required|@discardableResult)\s+)*(func\s+[^\s(<]+|init[?!]?)\s*[(<]")


def functions(path):
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    for i, line in enumerate(lines):
        m = DECL.match(line)
        if not m:
            continue
        depth, opened = 0, False
        for j in range(i, len(lines)):
            code = re.sub(r'"(?:\\.|[^"\\])*"', '""', lines[j].split("//")[0])
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                yield j - i + 1, f"{path}:{i + 1}", m.group(1)
                break


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    found = [f for p in sorted(Path("Sources").rglob("*.swift")) for f in functions(p)]
    for length, where, name in sorted(found, reverse=True)[:n]:
        print(f"{length:5d}  {where}  {name}")


if __name__ == "__main__":
    main()
