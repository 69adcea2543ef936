#!/usr/bin/env python3
"""A stand-in for `lean --json FILE` driven by `-- fake:` directives (see fakelib.py).

Used as LEAN_CMD in tests. Tests call it as `<python> fake_lean.py` because a
`python3` found through PATH may be a shim that needs the real HOME, which the
sandbox replaces.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fakelib  # noqa: E402


def main(argv: list[str]) -> int:
    files = [a for a in argv if not a.startswith("-")]
    if "--json" not in argv or len(files) != 1:
        print(f"fake lean: expected `--json FILE`, got {argv}")
        return 3
    path = files[0]
    text = Path(path).read_text(encoding="utf-8")
    messages, _, status = fakelib.act(text, "information", sys.stdout, file_name=path)
    for m in messages:
        print(json.dumps(m, ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
