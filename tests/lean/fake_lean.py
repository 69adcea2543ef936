#!/usr/bin/env python3
"""A stand-in for `lean --json [-o OLEAN] FILE` driven by `-- fake:` directives (see fakelib.py).

Used as LEAN_CMD in tests. Tests call it as `<python> fake_lean.py` because a
`python3` found through PATH may be a shim that needs the real HOME, which the
sandbox replaces.
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fakelib  # noqa: E402


def main(argv: list[str]) -> int:
    olean = None
    if "-o" in argv:
        at = argv.index("-o")
        olean = argv[at + 1]
        argv = argv[:at] + argv[at + 2:]
    files = [a for a in argv if not a.startswith("-")]
    if "--json" not in argv or len(files) != 1:
        print(f"fake lean: expected `--json [-o OLEAN] FILE`, got {argv}")
        return 3
    path = files[0]
    text = Path(path).read_text(encoding="utf-8")
    if fakelib.is_audit(text):
        messages, status = fakelib.audit(text, "information", file_name=path), 0
    else:
        messages, _, status = fakelib.act(text, "information", sys.stdout, file_name=path)
    for m in messages:
        print(json.dumps(m, ensure_ascii=False))
    if olean and status == 0:
        link = fakelib.DIRECTIVE_LINK.search(text)
        if link:
            os.symlink(link.group("arg").strip(), olean)
        else:
            fakelib.write_olean(text, olean)
    return 1 if any(m["severity"] == "error" for m in messages) else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
