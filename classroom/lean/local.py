"""Check a proof with the `lean` program: one sandboxed run compiles it, a second audits it.

1. `lean --json -o Check.olean Check.lean` in a fresh sandbox whose only writable
   place is its scratch directory. Its messages are shown to the student and can
   refuse the proof; they cannot accept it.
2. When it produced a compiled file, the worker copies it (a regular file, no
   link, within the size limit) into a new read-only directory next to the
   audit file, and `lean --json Audit.lean` runs in another fresh sandbox. Only
   its marked verdict can accept the proof (see audit.py).
"""
from __future__ import annotations

import os
import stat
import time

from .assemble import LeanInputError, assemble, find_refusal
from .audit import AuditVerdict, audit_file, new_marker, read_verdict
from .checker import LeanResult, judge_audit, judge_first_run, seconds_text
from .messages import parse_json_lines
from .sandbox import Mounts, PrivateTempDir, SandboxResult, clean_env, run_limited
from .settings import LeanSettings
from .toolchain import ProjectError, make_jail, project_env

FILE_NAME = "Check.lean"
OLEAN_NAME = "Check.olean"
AUDIT_NAME = "Audit.lean"


def refused_before_lean(reason: str, message, started: float, backend: str) -> LeanResult:
    return LeanResult(
        accepted=False,
        reason=reason,
        messages=[message],
        axioms=[],
        duration_ms=int((time.monotonic() - started) * 1000),
        status="refused",
        backend=backend,
    )


def not_checked(reason: str, started: float, backend: str) -> LeanResult:
    """A problem of the instructor's text or of the setup, not of the student's proof."""
    return LeanResult(False, reason, [], [], int((time.monotonic() - started) * 1000), "error", backend)


def prepare(header: str, statement: str, proof: str, started: float, backend: str):
    """The checks every backend makes before Lean runs.

    Returns (assembled file, None), or (None, the result to give back unchecked or refused)."""
    try:
        assembled = assemble(header, statement, proof)
    except LeanInputError as exc:
        return None, not_checked(f"Not checked: {exc}", started, backend)
    refusal = find_refusal(proof)
    if refusal:
        return None, refused_before_lean(refusal.reason, refusal.as_message(), started, backend)
    return assembled, None


def read_compiled(path: str, limit_bytes: int) -> bytes | None:
    """The compiled file the sandboxed run left, if it is a plain file within the limit.

    The sandbox's user owns the scratch directory, so the name could be a link to
    anything the worker may read: open without following links, check the type."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit_bytes or info.st_size == 0:
            return None
        chunks, left = [], info.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def run_failure(run: SandboxResult, settings: LeanSettings, backend: str, what: str = "") -> LeanResult | None:
    """The result for a run that did not finish normally, or None."""
    limits = settings.limits()

    def plain(reason: str, status: str) -> LeanResult:
        return LeanResult(False, reason, [], [], run.duration_ms, status, backend)

    if run.start_error:
        return plain(f"Not checked: Lean could not be started ({run.start_error}).", "error")
    if run.timed_out:
        return plain(f"Timed out after {seconds_text(limits.timeout)}{what}.", "timeout")
    if run.cpu_exceeded:
        return plain(f"Timed out: Lean used more than {seconds_text(limits.cpu_seconds or 0)} of CPU time{what}.", "timeout")
    if run.out_of_memory:
        return plain("Out of memory.", "out_of_memory")
    if run.file_too_large:
        return plain("Refused: Lean tried to write a file larger than the limit.", "refused")
    return None


class LocalLeanChecker:
    """Two sandboxed `lean` runs per check: compile, then audit (the verdict)."""

    backend = "local"

    def __init__(self, settings: LeanSettings) -> None:
        self.settings = settings
        self.jail = make_jail(settings)

    def lean(self) -> list[str]:
        lean = list(self.settings.lean_argv())
        # Resolve now: a clear error beats exit status 127 from inside the sandbox.
        lean[0] = self.settings.which(lean[0]) or lean[0]
        return lean

    def _env(self, home: str) -> dict[str, str]:
        env = clean_env(home, self.settings.env)
        env.update(project_env(self.settings))
        return env

    def check(self, header: str, statement: str, proof: str) -> LeanResult:
        result = self._check(header, statement, proof)
        result.sandbox = self.jail.describe()
        return result

    def _check(self, header: str, statement: str, proof: str) -> LeanResult:
        started = time.monotonic()
        assembled, early = prepare(header, statement, proof, started, self.backend)
        if early is not None:
            return early
        try:
            self._env("/")
        except ProjectError as exc:
            return not_checked(f"Not checked: {exc}.", started, self.backend)
        limits = self.settings.limits()
        lean = self.lean()
        with PrivateTempDir(jail=self.jail) as scratch:
            source = os.path.join(scratch, FILE_NAME)
            with open(source, "w", encoding="utf-8") as fh:
                fh.write(assembled.text)
            os.chmod(source, 0o644)
            olean = os.path.join(scratch, OLEAN_NAME)
            run = run_limited([*lean, "--json", "-o", olean, source], limits=limits, cwd=scratch,
                              env=self._env(scratch), jail=self.jail, mounts=Mounts(writable=(scratch,)))
            failed = run_failure(run, self.settings, self.backend)
            if failed:
                return failed
            messages, other = parse_json_lines(run.stdout)
            shown, refusal = judge_first_run(
                assembled, messages, in_file=True, duration_ms=run.duration_ms, backend=self.backend,
                exit_status=run.returncode, truncated=run.truncated, other_output="\n".join([*other, run.stderr]),
            )
            if refusal is not None:
                return refusal
            compiled = read_compiled(olean, limits.max_file_mb * 1024 * 1024)
        if compiled is None:
            return judge_audit(shown, None, duration_ms=run.duration_ms, backend=self.backend)
        verdict, audit_ms = self._audit(header, statement, assembled.theorem_name, compiled)
        if isinstance(verdict, LeanResult):
            verdict.messages = shown
            verdict.duration_ms += run.duration_ms
            return verdict
        return judge_audit(shown, verdict, duration_ms=run.duration_ms + audit_ms, backend=self.backend)

    def _audit(self, header: str, statement: str, name: str, compiled: bytes) -> tuple[AuditVerdict | LeanResult, int]:
        marker = new_marker()
        with PrivateTempDir(prefix="lean-audit-") as inbox, PrivateTempDir(prefix="lean-audit-home-", jail=self.jail) as home:
            # The inbox stays the worker's: the sandbox may read it, not change it.
            os.chmod(inbox, 0o755)
            olean = os.path.join(inbox, OLEAN_NAME)
            with open(olean, "wb") as fh:
                fh.write(compiled)
            path = os.path.join(inbox, AUDIT_NAME)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(audit_file(header, statement, name, olean, marker))
            for item in (olean, path):
                os.chmod(item, 0o644)
            run = run_limited([*self.lean(), "--json", path], limits=self.settings.limits(), cwd=home,
                              env=self._env(home), jail=self.jail, mounts=Mounts(writable=(home,), readable=(inbox,)))
        failed = run_failure(run, self.settings, self.backend, " (auditing the compiled proof)")
        if failed:
            return failed, run.duration_ms
        if run.truncated:
            return AuditVerdict("error", "the audit's output was longer than the size limit"), run.duration_ms
        messages, _ = parse_json_lines(run.stdout)
        return read_verdict(messages, marker), run.duration_ms
