#!/usr/bin/env python3
"""A stand-in for `lake env CMD...`: checks it runs in a Lake project, then runs CMD.

It sets LEAN_PATH like Lake would, so a test can see the variable reach Lean.
"""
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "env" or len(argv) < 2:
        print(f"fake lake: expected `env CMD ...`, got {argv}")
        return 3
    if not (Path("lakefile.lean").exists() or Path("lakefile.toml").exists()):
        print("fake lake: no lakefile in the current directory")
        return 4
    os.environ["LEAN_PATH"] = str(Path(".lake/build/lib").resolve())
    os.execvp(argv[1], argv[1:])
    return 5


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
