"""Check proofs through long-running Lean REPL servers (leanprover-community/repl).

Importing Mathlib takes far longer than checking a short proof, so at scale a
server keeps the imports loaded: the problem's header is sent once as
`{"cmd": header}` and the environment number it answers with is reused for every
proof with that header, `{"cmd": statement + proof + "#print axioms", "env": n}`.
Requests and replies are JSON separated by blank lines. Some REPL versions echo
the command's text to stdout before the reply; the proof is indented so it never
starts a line with `{`, and each check is followed by `#print "<random nonce>"`:
the check's reply is the last one before the reply naming the nonce.

Servers come in pairs, each in its own sandbox (see bubblewrap.py):
* the prover elaborates the student's text. It is the one process that could run
  a student's code (were the refusal list ever to miss a way), and it lives on
  between checks, so nothing it says can accept a proof: its messages explain
  failures, and it writes the checked environment to a file (`pickleTo`);
* the auditor never receives the student's text. The worker copies that file into
  the auditor's read-only inbox and sends the audit command (audit.py), which
  re-checks every declaration with the kernel, compares the theorem with the
  instructor's statement and reports the axioms under a fresh random marker.

Each request has its own wall-clock deadline; a server that misses it, dies, or
floods its output is killed (with its sandbox) and started afresh on the next
check. Memory, process and file-size limits apply to each server. A CPU-time
rlimit would add up over the server's life, so only the wall clock limits CPU
here. Servers are restarted after LEAN_REPL_MAX_CHECKS checks because the REPL
keeps every environment it has produced.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import re
import secrets
import selectors
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Callable

from .audit import audit_command, audit_header, new_marker, read_verdict
from .checker import LeanResult, judge_audit, judge_first_run, seconds_text
from .local import OLEAN_NAME, prepare, read_compiled
from .messages import ReplReply, parse_repl_reply
from .sandbox import Mounts, PrivateTempDir, clean_env, kill_group, looks_out_of_memory, spawn
from .settings import LeanSettings
from .toolchain import ProjectError, make_jail, project_env

STDERR_TAIL = 64 * 1024


@dataclass
class _Failure:
    kind: str  # timeout | died | too_long | protocol
    detail: str = ""
    out_of_memory: bool = False


class ReplProcess:
    """One REPL server process and the header environments it has loaded."""

    def __init__(self, settings: LeanSettings, role: str = "prover") -> None:
        self.settings = settings
        self.role = role  # prover: gets the student's text; auditor: only our audit commands
        self.jail = make_jail(settings)
        self.proc: subprocess.Popen | None = None
        self.envs: dict[str, int] = {}
        self.checks = 0
        self.starts = 0
        self._tmp: PrivateTempDir | None = None
        # The auditor's inbox: the worker's directory, which its sandbox may only read.
        self._inbox: PrivateTempDir | None = None
        self._out = bytearray()
        self._err = bytearray()

    @property
    def scratch(self) -> str:
        assert self._tmp is not None
        return self._tmp.path

    @property
    def inbox(self) -> str:
        assert self._inbox is not None
        return self._inbox.path

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.stop()
        self._tmp = PrivateTempDir(prefix=f"lean-repl-{self.role}-", jail=self.jail)
        readable: tuple[str, ...] = ()
        if self.role == "auditor":
            self._inbox = PrivateTempDir(prefix="lean-repl-inbox-")
            os.chmod(self._inbox.path, 0o755)
            readable = (self._inbox.path,)
        argv = list(self.settings.repl_argv())
        argv[0] = self.settings.which(argv[0]) or argv[0]
        env = clean_env(self._tmp.path, self.settings.env)
        env.update(project_env(self.settings))
        self.proc, _ = spawn(
            argv,
            limits=self.settings.limits(),
            cwd=self.settings.project_dir or self._tmp.path,
            env=env,
            jail=self.jail,
            mounts=Mounts(writable=(self._tmp.path,), readable=readable),
            cpu_limit=False,
            stdin=subprocess.PIPE,
            die_with_parent=False,
        )
        self.envs.clear()
        self.checks = 0
        self.starts += 1
        self._out.clear()
        self._err.clear()

    def stop(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
            self.proc = None
        for tmp in (self._tmp, self._inbox):
            if tmp is not None:
                tmp.__exit__()
        self._tmp = self._inbox = None
        self.envs.clear()

    def _died(self) -> _Failure:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        stderr = self._err.decode("utf-8", errors="replace")
        oom = looks_out_of_memory(code, stderr)
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {code}"
        return _Failure("died", detail, out_of_memory=oom)

    def request(
        self,
        payloads: list[dict[str, Any]],
        timeout: float,
        done: Callable[[dict[str, Any]], bool],
    ) -> list[dict[str, Any]] | _Failure:
        """Send commands; collect reply objects until `done(obj)`, at most `timeout` seconds."""
        assert self.proc is not None and self.proc.stdin and self.proc.stdout and self.proc.stderr
        deadline = time.monotonic() + timeout
        data = "".join(json.dumps(p, ensure_ascii=False) + "\n\n" for p in payloads).encode("utf-8")
        limit = self.settings.limits().max_output_bytes
        received = 0
        replies: list[dict[str, Any]] = []
        sel = selectors.DefaultSelector()
        try:
            sel.register(self.proc.stdout, selectors.EVENT_READ, "out")
            sel.register(self.proc.stderr, selectors.EVENT_READ, "err")
            sel.register(self.proc.stdin, selectors.EVENT_WRITE, "in")
            while True:
                for obj in self._take_replies():
                    replies.append(obj)
                    if done(obj):
                        return replies
                if received > limit:
                    return _Failure("too_long")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return _Failure("timeout")
                events = sel.select(timeout=min(remaining, 0.5))
                if not events and not self.alive:
                    return self._died()
                for key, _ in events:
                    if key.data == "in":
                        try:
                            sent = os.write(key.fd, data)
                        except (BrokenPipeError, ConnectionResetError):
                            return self._died()
                        data = data[sent:]
                        if not data:
                            sel.unregister(key.fileobj)
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        if key.data == "out":
                            return self._died()
                        continue
                    if key.data == "out":
                        self._out += chunk
                        received += len(chunk)
                    else:
                        self._err += chunk
                        del self._err[:-STDERR_TAIL]
        finally:
            sel.close()

    def _take_replies(self) -> list[dict[str, Any]]:
        """The JSON replies in the complete blank-line-separated blocks of stdout.

        Some REPL versions print "Processing incremental state ...:" and the
        command's text before the reply, so a block may start with text that is
        not JSON (and that the student wrote). The reply is the JSON object that
        ends the block, starting on a line that begins with `{`.
        """
        replies = []
        while True:
            cut = self._out.find(b"\n\n")
            if cut < 0:
                return replies
            block = bytes(self._out[:cut]).decode("utf-8", errors="replace")
            del self._out[: cut + 2]
            obj = _trailing_json(block)
            if obj is not None:
                replies.append(obj)


def _trailing_json(block: str) -> dict[str, Any] | None:
    starts = [0] if block.startswith("{") else []
    starts += [m.start() + 1 for m in re.finditer(r"\n\{", block)]
    for start in starts:
        try:
            obj = json.loads(block[start:])
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    return None


def _is_refusal(obj: dict[str, Any]) -> bool:
    return "env" not in obj and isinstance(obj.get("message"), str)


def _mentions(obj: dict[str, Any], nonce: str) -> bool:
    return any(isinstance(m, dict) and m.get("data") == nonce for m in obj.get("messages") or [])


class ReplLeanChecker:
    """LeanChecker backed by a pool of prover/auditor REPL pairs (LEAN_REPL_POOL pairs, default 1)."""

    backend = "repl"

    def __init__(self, settings: LeanSettings) -> None:
        self.settings = settings
        self.jail = make_jail(settings)
        pool = max(1, settings.repl_pool)
        self.processes = [ReplProcess(settings, "prover") for _ in range(pool)]
        self.auditors = [ReplProcess(settings, "auditor") for _ in range(pool)]
        self._free: queue.Queue[int] = queue.Queue()
        for index in range(pool):
            self._free.put(index)
        atexit.register(self.close)

    def close(self) -> None:
        for proc in [*self.processes, *self.auditors]:
            proc.stop()

    def check(self, header: str, statement: str, proof: str) -> LeanResult:
        started = time.monotonic()
        assembled, early = prepare(header, statement, proof, started, self.backend)
        if early is None:
            index = self._free.get()
            try:
                result = self._check(self.processes[index], self.auditors[index], header, statement, assembled, started)
            finally:
                self._free.put(index)
        else:
            result = early
        result.sandbox = self.jail.describe()
        return result

    def _result(self, reason: str, status: str, started: float, messages=None) -> LeanResult:
        return LeanResult(False, reason, messages or [], [], int((time.monotonic() - started) * 1000), status, self.backend)

    def _failure(self, proc: ReplProcess, failure: _Failure, started: float, during: str = "") -> LeanResult:
        # Whatever went wrong, the server's state is unknown now: start afresh next time.
        proc.stop()
        timeout = seconds_text(self.settings.timeout)
        if failure.out_of_memory:
            return self._result("Out of memory.", "out_of_memory", started)
        if failure.kind == "timeout":
            if during == "header":
                return self._result(f"Not checked: loading the problem's Lean header took more than {timeout}.", "error", started)
            if during == "audit":
                return self._result(f"Timed out after {timeout} (auditing the compiled proof).", "timeout", started)
            return self._result(f"Timed out after {timeout}.", "timeout", started)
        if failure.kind == "too_long":
            return self._result("Refused: Lean's output was longer than the size limit, so the check is incomplete.", "refused", started)
        return self._result(f"Not checked: the Lean REPL stopped unexpectedly ({failure.detail}).", "error", started)

    def _ready(self, proc: ReplProcess, header_text: str, started: float) -> int | LeanResult:
        """The server's environment for this header, starting the server if needed."""
        if proc.checks >= self.settings.repl_max_checks:
            proc.stop()
        if not proc.alive:
            try:
                proc.start()
            except (OSError, subprocess.SubprocessError, ProjectError) as exc:
                proc.stop()
                return self._result(f"Not checked: the Lean REPL could not be started ({exc}).", "error", started)
        env = proc.envs.get(header_text)
        if env is not None:
            return env
        # The header is the instructor's text: its first reply is taken as is.
        answers = proc.request([{"cmd": header_text}], self.settings.timeout, done=lambda obj: True)
        if isinstance(answers, _Failure):
            return self._failure(proc, answers, started, during="header")
        reply: ReplReply = parse_repl_reply(answers[-1])
        errors = [m for m in reply.messages if m.severity == "error"]
        if reply.error or errors or reply.env is None:
            detail = reply.error or (errors[0].text if errors else "no environment in the reply")
            for m in errors:
                m.part = "header"
            return self._result(f"Not checked: the problem's Lean header has an error: {detail.splitlines()[0]}", "error", started, errors)
        proc.envs[header_text] = reply.env
        return reply.env

    def _synced(self, proc: ReplProcess, payloads: list[dict[str, Any]], env: int, started: float):
        """Send payloads and a `#print "<nonce>"`; the replies up to the nonce's, or a LeanResult."""
        nonce = secrets.token_hex(16)
        answers = proc.request(
            [*payloads, {"cmd": f'#print "{nonce}"', "env": env}],
            self.settings.timeout,
            done=lambda obj: _mentions(obj, nonce) or _is_refusal(obj),
        )
        if isinstance(answers, _Failure):
            return self._failure(proc, answers, started)
        if not _mentions(answers[-1], nonce) or len(answers) < 1 + len(payloads):
            proc.stop()
            detail = answers[-1].get("message") if _is_refusal(answers[-1]) else "replies out of step"
            return self._result(f"Not checked: the Lean REPL refused the command ({detail}).", "error", started)
        return answers

    def _check(self, proc: ReplProcess, auditor: ReplProcess, header: str, statement: str, assembled,
               started: float) -> LeanResult:
        header_text = (header or "").replace("\r\n", "\n").strip()
        env = self._ready(proc, header_text, started)
        if isinstance(env, LeanResult):
            return env
        # The proof's own text may be echoed before the reply, so a reply could be
        # forged inside a comment: the true reply is the last one before the nonce's.
        answers = self._synced(proc, [{"cmd": assembled.body, "env": env}], env, started)
        if isinstance(answers, LeanResult):
            return answers
        proc.checks += 1
        reply = parse_repl_reply(answers[-2])
        if reply.error:
            proc.stop()
            return self._result(f"Not checked: the Lean REPL refused the command ({reply.error}).", "error", started)
        shown, refusal = judge_first_run(
            assembled, reply.messages, in_file=False, duration_ms=int((time.monotonic() - started) * 1000),
            backend=self.backend, sorries=reply.sorries, exit_status=None,
        )
        if refusal is not None:
            return refusal
        compiled = None
        if reply.env is not None:
            pickle = os.path.join(proc.scratch, f"{secrets.token_hex(8)}.olean")
            pickled = self._synced(proc, [{"pickleTo": pickle, "env": reply.env}], env, started)
            if isinstance(pickled, LeanResult):
                return pickled
            compiled = read_compiled(pickle, self.settings.limits().max_file_mb * 1024 * 1024)
            try:
                os.unlink(pickle)
            except OSError:
                pass
        if compiled is None:
            return judge_audit(shown, None, duration_ms=int((time.monotonic() - started) * 1000), backend=self.backend)
        return self._audit(auditor, header, statement, assembled.theorem_name, compiled, shown, started)

    def _audit(self, auditor: ReplProcess, header: str, statement: str, name: str, compiled: bytes, shown,
               started: float) -> LeanResult:
        env = self._ready(auditor, audit_header(header), started)
        if isinstance(env, LeanResult):
            return env
        marker = new_marker()
        olean = os.path.join(auditor.inbox, f"{marker}-{OLEAN_NAME}")
        with open(olean, "wb") as fh:
            fh.write(compiled)
        os.chmod(olean, 0o644)
        try:
            answers = auditor.request([{"cmd": audit_command(statement, name, olean, marker), "env": env}],
                                      self.settings.timeout, done=lambda obj: True)
        finally:
            try:
                os.unlink(olean)
            except OSError:
                pass
        if isinstance(answers, _Failure):
            return self._failure(auditor, answers, started, during="audit")
        auditor.checks += 1
        reply = parse_repl_reply(answers[-1])
        if reply.error:
            auditor.stop()
            return self._result(f"Not checked: the auditing Lean REPL refused the command ({reply.error}).", "error", started)
        return judge_audit(shown, read_verdict(reply.messages, marker),
                           duration_ms=int((time.monotonic() - started) * 1000), backend=self.backend)
