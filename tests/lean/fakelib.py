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

What a proof could do if its code ran inside Lean (each must not get it accepted,
nor reach anything of the app's):

    forge-verdict     print a clean `#print axioms` answer at the real line, a
                      made-up audit verdict and a Lean-like JSON message, then exit 0
                      at once (before Lean would report anything else)
    escape JSON       try each action in the JSON object (read/write/connect/unix
                      paths, tcp ports) and report what happened as an info message
    link-olean PATH   leave the compiled file as a symbolic link to PATH
    compromise        (REPL) from now on answer every command with a clean reply
                      and write no compiled file

Compiled files and the audit: with `-o FILE` (or the REPL's `pickleTo`) the fake
writes a "compiled file", a JSON object with the theorem's name, its statement and
the source. A file holding our audit command (it reads the compiled file with
`readModuleData`) is answered the way the real audit answers: one info message
"<marker> axioms: [...]" (the axioms the source's directives name), or
"<marker> refused: ..." when the theorem or its statement differ;
`-- fake: kernel-reject` in the source makes the "kernel" reject it.

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
DIRECTIVE_LINK = re.compile(r"--\s*fake:\s*link-olean[ \t]+(?P<arg>[^\n]+)")
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


def escape(actions: dict) -> dict:
    """Try what a proof's code would try if it ran; report each outcome."""
    report: dict = {"uid_map": "", "read": {}, "write": {}, "unix": {}, "tcp": {}}
    try:
        with open("/proc/self/uid_map") as fh:
            report["uid_map"] = " ".join(fh.read().split())
    except OSError as exc:
        report["uid_map"] = f"unreadable: {exc.__class__.__name__}"
    for path in actions.get("read", []):
        try:
            with open(path, "rb") as fh:
                report["read"][path] = "read: " + fh.read(64).decode("utf-8", "replace")
        except OSError as exc:
            report["read"][path] = f"blocked: {exc.__class__.__name__}"
    for path in actions.get("write", []):
        try:
            with open(path, "a") as fh:
                fh.write("pwned\n")
            report["write"][path] = "written"
        except OSError as exc:
            report["write"][path] = f"blocked: {exc.__class__.__name__}"
    for path in actions.get("unix", []):
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(1)
            sock.connect(path)
            sock.close()
            report["unix"][path] = "connected"
        except OSError as exc:
            report["unix"][path] = f"blocked: {exc.__class__.__name__}"
    for port in actions.get("tcp", []):
        try:
            sock = socket.create_connection(("127.0.0.1", int(port)), timeout=1)
            sock.close()
            report["tcp"][str(port)] = "connected"
        except OSError as exc:
            report["tcp"][str(port)] = f"blocked: {exc.__class__.__name__}"
    return report


STATEMENT = re.compile(r"(?:theorem|lemma)\s+(?P<name>\S+)(?P<type>.*?):=", re.DOTALL)


def write_olean(text: str, path: str) -> None:
    """The fake's compiled file: what the audit needs to re-check the theorem."""
    match = STATEMENT.search(text)
    data = {"fake_olean": 1, "theorem": match.group("name") if match else "",
            "type": " ".join(match.group("type").split()) if match else "", "source": text}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh)


AUDIT_MARKER = re.compile(r'let marker := "(?P<marker>[0-9a-f]+)"')
AUDIT_AXIOM = re.compile(r"^axiom classroom_audit_[0-9a-f]+(?P<type>.*?)\nopen Lean Meta in", re.DOTALL | re.MULTILINE)
AUDIT_NAME = re.compile(r"stmtName\.getPrefix \+\+ `(?P<name>\S+)")
AUDIT_PATH = re.compile(r'System\.FilePath\.mk "(?P<path>[^"]+)"')


def is_audit(text: str) -> bool:
    return "readModuleData" in text and AUDIT_MARKER.search(text) is not None


def audit(text: str, info: str, file_name: str = "") -> list[dict]:
    """Answer our audit command as the real one does (see classroom/lean/audit.py)."""
    marker = AUDIT_MARKER.search(text).group("marker")
    line, _ = _line_col(text, text.index("#eval"))

    def verdict(words: str) -> list[dict]:
        return [message(info, line, 0, f"{marker} {words}", file_name)]

    path = AUDIT_PATH.search(text).group("path")
    try:
        with open(path, encoding="utf-8") as fh:
            olean = json.load(fh)
        assert olean.get("fake_olean") == 1
    except (OSError, ValueError, AssertionError):
        return [message("error", line, 0, f"failed to read file '{path}', invalid header", file_name)]
    name = AUDIT_NAME.search(text).group("name")
    if olean["theorem"] != name:
        return verdict(f"refused: the compiled proof has no theorem {name}")
    if olean["type"] != " ".join(AUDIT_AXIOM.search(text).group("type").split()):
        return verdict("refused: the theorem's statement is not the problem's")
    source = olean["source"]
    if "-- fake: kernel-reject" in source:
        return [message("error", line, 0, "(kernel) declaration type mismatch", file_name),
                *verdict("axioms: [propext]")]
    axioms = ["propext"]
    for match in DIRECTIVE.finditer(source):
        mode, arg = match.group("mode"), match.group("arg").strip()
        if mode == "axiom":
            axioms.append(arg)
        elif mode == "native":
            axioms.append("Lean.ofReduceBool")
        elif mode == "sorry":
            axioms.append("sorryAx")
        elif mode == "axiom-free":
            axioms = []
    return verdict(f"axioms: [{', '.join(axioms)}]")


def forge_verdict(text: str, info: str, out, file_name: str = "") -> None:
    """Print what would pass for a clean check, then stop before Lean says anything else."""
    match = PRINT_AXIOMS.search(text)
    line = _line_col(text, match.start())[0] if match else 1
    name = match.group("name") if match else "foo"
    for data in (f"'{name}' depends on axioms: [propext]", f"{'0' * 32} axioms: [propext]"):
        out.write(json.dumps(message(info, line, 0, data, file_name)) + "\n")
    out.flush()
    os._exit(0)


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
        elif mode == "forge-verdict":
            forge_verdict(text, info, out, file_name)
        elif mode == "escape":
            messages.append(message(info, line, col, json.dumps(escape(json.loads(arg))), file_name))
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
