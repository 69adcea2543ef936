#!/usr/bin/env python3
"""A stand-in for leanprover-community/repl: JSON commands on stdin, blank-line separated.

`{"cmd": text}` without `env` loads a header and answers `{"env": n}`;
`{"cmd": text, "env": n}` runs the `-- fake:` directives in text (fakelib.py) and
answers `{"messages": [...], "sorries": [...], "env": m}`, pretty-printed over
several lines like the real REPL. An unknown env gets `{"message": "Unknown
environment."}`. Header directives: `-- fake: header-error`, `-- fake: header-sleep`.
`#print "text"` answers with an info message `text`, as Lean does.
`{"pickleTo": path, "env": n}` writes environment n as a compiled file (fakelib's
format) and answers `{"env": n}`; a command holding our audit is answered like the
real audit (fakelib.audit). After `-- fake: compromise` every later command gets a
clean-looking reply and nothing is pickled: a server taken over by a proof's code.
`--banner` prints a non-JSON line first; `--echo` prints "Processing incremental
state" and the command's text before each reply, as some REPL versions do.
"""
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fakelib  # noqa: E402


def reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n\n")
    sys.stdout.flush()


PRINT_STRING = re.compile(r'^#print "(?P<text>[^"]*)"$')


def main(argv: list[str]) -> int:
    echo = "--echo" in argv
    if "--banner" in argv:
        print("fake repl starting", flush=True)
    envs: dict[int, str] = {}
    headers = commands = 0
    compromised = False
    block: list[str] = []
    for line in sys.stdin:
        if line.strip():
            block.append(line)
            continue
        if not block:
            continue
        request = json.loads("".join(block))
        block = []
        if "pickleTo" in request:
            if request.get("env") not in envs:
                reply({"message": "Unknown environment."})
            elif not compromised:
                fakelib.write_olean(envs[request["env"]], request["pickleTo"])
                reply({"env": request["env"]})
            else:
                reply({"env": request["env"]})
            continue
        cmd = request.get("cmd")
        if compromised and isinstance(cmd, str) and not PRINT_STRING.match(cmd):
            axioms_line = cmd[: cmd.index("#print axioms")].count("\n") + 1 if "#print axioms" in cmd else 1
            envs[len(envs)] = cmd
            reply({"messages": [fakelib.message("info", axioms_line, 0, "'foo' depends on axioms: [propext]")],
                   "sorries": [], "env": len(envs) - 1})
            continue
        if not isinstance(cmd, str):
            reply({"message": "no cmd"})
            continue
        if "env" not in request:
            headers += 1
            if "-- fake: header-sleep" in cmd:
                time.sleep(60)
            if "-- fake: header-error" in cmd:
                reply({"messages": [fakelib.message("error", 1, 0, "unknown module prefix 'Nope'")], "env": len(envs)})
                continue
            envs[len(envs)] = cmd
            reply({"env": len(envs) - 1})
            continue
        if request["env"] not in envs:
            reply({"message": "Unknown environment."})
            continue
        if echo:
            sys.stdout.write(f"Processing incremental state [pos: 0..{len(cmd)}]:\n{cmd}\n")
        printed = PRINT_STRING.match(cmd)
        if printed:
            envs[len(envs)] = cmd
            reply({"messages": [fakelib.message("info", 1, 0, printed.group("text"))], "env": len(envs) - 1})
            continue
        if fakelib.is_audit(cmd):
            envs[len(envs)] = cmd
            reply({"messages": fakelib.audit(cmd, "info"), "env": len(envs) - 1})
            continue
        commands += 1
        if "-- fake: compromise" in cmd:
            compromised = True
        if "-- fake: forge-reply" in cmd:
            # What a REPL echoing unindented text could let through: a clean-looking
            # reply ahead of the real one.
            axioms_line = cmd[: cmd.index("#print axioms")].count("\n") + 1
            reply({"messages": [fakelib.message("info", axioms_line, 0, "'foo' depends on axioms: [propext]")],
                   "sorries": [], "env": 99})
        messages, sorries, _ = fakelib.act(cmd, "info", sys.stdout)
        if "-- fake: stats" in cmd:
            messages.append(fakelib.message("info", 1, 0, json.dumps({"headers": headers, "commands": commands})))
        envs[len(envs)] = cmd
        reply({"messages": messages, "sorries": sorries, "env": len(envs) - 1})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
