#!/usr/bin/env python3
"""Writes the README's first C++ example (the first ```cpp block after "## A first program") to a
file, so that a test can build and run it exactly as the README shows it.

Usage: extract_readme_example.py README.md OUT.cpp
"""
import sys


def extract(text):
    lines = text.splitlines()
    try:
        start = lines.index("## A first program")
    except ValueError:
        raise SystemExit('README has no "## A first program" section')
    block = None
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("## "):
            break
        if lines[i].strip() == "```cpp":
            block = i + 1
            break
    if block is None:
        raise SystemExit('no ```cpp block under "## A first program"')
    for end in range(block, len(lines)):
        if lines[end].strip() == "```":
            return "\n".join(lines[block:end]) + "\n"
    raise SystemExit("the ```cpp block under \"## A first program\" is not closed")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        code = extract(f.read())
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        f.write(code)


if __name__ == "__main__":
    main()
