#!/usr/bin/env python3
"""Every `mien … --help` text wraps where ArgumentParser wraps it: no hard line break in the
middle of a sentence in the source strings.

Walks `mien --help` and every subcommand's (found in each SUBCOMMANDS section) with
COLUMNS=1000, so that ArgumentParser itself breaks no line; any line that then ends mid-sentence
(on a letter, digit or comma) and is followed by a line starting with a lowercase word is a hard
break in a source string ("… with batch norm folded,\\n        on seeded synthetic …"). Lines that
are only an option's synopsis (its help follows on the next line) are not sentences.

    ops/help_check.py path/to/mien       # exit 1 listing each hard break
    ops/help_check.py --self-test        # the rule on made-up text: finds the breaks it must
"""
import os
import re
import subprocess
import sys


def help_text(mien, path):
    env = dict(os.environ, COLUMNS="1000")
    run = subprocess.run([mien, *path, "--help"], env=env, capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise SystemExit(f"help_check: `mien {' '.join(path)} --help` exited {run.returncode}: {run.stderr.strip()}")
    return run.stdout


def subcommands(text):
    m = re.search(r"^SUBCOMMANDS:\n(.*?)(?:\n\n|\Z)", text, re.S | re.M)
    if not m:
        return []
    names = [line.split()[0] for line in m.group(1).splitlines() if re.match(r"^  \S", line)]
    return [n for n in names if n != "help"]


SYNOPSIS = re.compile(r"^  (-\S+(, )?)+( <[^>]+>)?$")  # "  --model-json <model-json>" alone on its line


def hard_breaks(text):
    """(line, next line) pairs where a sentence is broken by a newline of the source."""
    lines = text.split("\n")
    found = []
    for a, b in zip(lines, lines[1:]):
        if not a.strip() or not b.strip() or SYNOPSIS.match(a.rstrip()):
            continue
        if re.search(r"[\w,]$", a.rstrip()) and re.match(r"^\s*[a-z]", b):
            found.append((a.rstrip(), b))
    return found


def self_test():
    broken = ("OVERVIEW: Measure things.\n\n  cnn:    the mini-Xception with batch norm folded,\n"
              "          on seeded synthetic values.\n  --x <x>                 Help that goes\n"
              "                          on and on. (default: 1)\n")
    fine = ("OVERVIEW: Measure things.\n\nOne sentence. Another one:\n  a list item\n"
            "  --model-json <model-json>\n                          cnn: model description.\n"
            '{"a": 1,\n "b": 2}\n')
    assert len(hard_breaks(broken)) == 2, hard_breaks(broken)
    assert hard_breaks(fine) == [], hard_breaks(fine)
    print("help_check: self-test passed")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    mien = sys.argv[1]
    todo, pages, problems = [[]], 0, []
    while todo:
        path = todo.pop(0)
        text = help_text(mien, path)
        pages += 1
        problems += [(" ".join(["mien", *path, "--help"]), a, b) for a, b in hard_breaks(text)]
        todo += [path + [s] for s in subcommands(text)]
    for command, a, b in problems:
        print(f"{command}: hard line break mid-sentence:\n    {a.strip()[-80:]}\n    {b.strip()[:80]}")
    if problems:
        raise SystemExit(f"help_check: {len(problems)} hard break(s) in {pages} help texts: "
                         "join the source string's lines (a trailing \\ in a multi-line literal) and let ArgumentParser wrap")
    print(f"help_check: {pages} help texts, no hard break mid-sentence")


if __name__ == "__main__":
    main()
