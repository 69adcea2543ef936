"""Shared behaviour of the fake `lean` and fake REPL used by the tests.

The fakes read the Lean text they are given and act on directives written as
comments in it, `-- fake: MODE [ARGUMENT]` (in a test, in the proof text):

    error TEXT        an error message at the directive's position
    warning TEXT      a warning there
    sorry             Lean's "declaration uses 'sorry'" warning and sorryAx as axiom
    axiom NAME        NAME is listed by `#print axioms`
    native            Lean.ofReduceBool is listed (what native_decide adds)
    axiom-free        `#print axioms` says "does not depend on any axioms"
    no-axioms         no answer to `#print axioms`
    forge-axioms      an info message that looks like a clean axioms answer, but
                      on the directive's line (must not count)
    sleep             sleep a minute (past any test timeout)
    sleep-child       start a `sleep 60` child, report its pid, then sleep
    eat-memory        allocate until MemoryError (under RLIMIT_AS)
    oom-panic         say "INTERNAL PANIC: out of memory" on stderr and exit 1
    crash             print a stack-overflow notice on stderr and exit 134
    flood             print about 1 MB of messages
    probe             report rlimits, environment, cwd and network as an info message
    write-big         try to write a 100 MB file in the current directory
    stats             (REPL) report how many headers and commands it has seen
    forge-reply       (REPL) print a clean-looking reply before the real one

Otherwise the fake answers `#print axioms NAME` with `[propext]` at that line,
as Lean does, and exits 1 if it reported an error.
"""
from __future__ import annotations

import json
import os
import re
import resource
import socket
import subprocess
import sys
import time

DIRECTIVE = re.compile(r"--\s*fake:\s*(?P<mode>[\w-]+)[ \t]*(?P<arg>[^\n]*)")
PRINT_AXIOMS = re.compile(r"^#print axioms (?P<name>\S+)", re.MULTILINE)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1)
    return line, col


def message(severity: str, line: int, col: int, data: str, file_name: str = "") -> dict:
    return {
        "caption": "",
        "data": data,
        "endPos": {"column": col + 5, "line": line},
        "fileName": file_name,
        "keepFullRange": False,
        "pos": {"column": col, "line": line},
        "severity": severity,
    }


def probe() -> dict:
    limits = {
        name: resource.getrlimit(getattr(resource, name))
        for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CORE")
    }
    try:
        sock = socket.create_connection(("1.1.1.1", 53), timeout=0.5)
        sock.close()
        network = "connected"
    except OSError as exc:
        network = f"blocked: {exc.__class__.__name__}"
    try:
        with open("/proc/self/net/dev") as fh:
            interfaces = [ln.split(":")[0].strip() for ln in fh.readlines()[2:]]
    except OSError:
        interfaces = []
    return {
        "limits": limits,
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "network": network,
        "interfaces": interfaces,
        "pgid_is_pid": os.getpgid(0) == os.getpid(),
    }


def act(text: str, info: str, out, file_name: str = "") -> tuple[list[dict], list[dict], int]:
    """Run the directives in `text`. Returns (messages, sorries, exit status)."""
    messages: list[dict] = []
    sorries: list[dict] = []
    axioms = ["propext"]
    axiom_free = no_axioms = False
    for match in DIRECTIVE.finditer(text):
        mode, arg = match.group("mode"), match.group("arg").strip()
        line, col = _line_col(text, match.start())
        if mode == "error":
            messages.append(message("error", line, col, arg or "fake error", file_name))
        elif mode == "warning":
            messages.append(message("warning", line, col, arg or "fake warning", file_name))
        elif mode == "sorry":
            messages.append(message("warning", 1, 0, "declaration uses 'sorry'", file_name))
            sorries.append({"pos": {"line": line, "column": col}, "endPos": {"line": line, "column": col + 5}, "goal": "⊢ True"})
            axioms.append("sorryAx")
        elif mode == "axiom":
            axioms.append(arg)
        elif mode == "native":
            axioms.append("Lean.ofReduceBool")
        elif mode == "axiom-free":
            axiom_free = True
        elif mode == "no-axioms":
            no_axioms = True
        elif mode == "forge-axioms":
            messages.append(message(info, line, col, "'foo' does not depend on any axioms", file_name))
        elif mode == "sleep":
            time.sleep(60)
        elif mode == "sleep-child":
            child = subprocess.Popen(["sleep", "60"])
            out.write(json.dumps(message(info, line, col, f"child {child.pid}", file_name)) + "\n")
            out.flush()
            time.sleep(60)
        elif mode == "eat-memory":
            hog = []
            while True:
                hog.append(bytearray(32 * 1024 * 1024))
        elif mode == "oom-panic":
            sys.stderr.write("INTERNAL PANIC: out of memory\n")
            sys.stderr.flush()
            os._exit(1)
        elif mode == "crash":
            sys.stderr.write("Stack overflow detected. Aborting.\n")
            sys.stderr.flush()
            os._exit(134)
        elif mode == "flood":
            for i in range(6000):
                messages.append(message(info, line, col, f"flood {i} " + "x" * 64, file_name))
        elif mode == "probe":
            messages.append(message(info, line, col, json.dumps(probe()), file_name))
        elif mode == "write-big":
            with open("big.bin", "wb") as fh:
                for _ in range(100):
                    fh.write(b"\0" * (1024 * 1024))
    match = PRINT_AXIOMS.search(text)
    if match and not no_axioms:
        line, _ = _line_col(text, match.start())
        name = match.group("name")
        if axiom_free:
            data = f"'{name}' does not depend on any axioms"
        else:
            data = f"'{name}' depends on axioms: [{', '.join(axioms)}]"
        messages.append(message(info, line, 0, data, file_name))
    status = 1 if any(m["severity"] == "error" for m in messages) else 0
    return messages, sorries, status
