"""The interface used by grading: the result type, judging what Lean said, and choosing a checker.

Plain Python on purpose (no Flask, no database): a background job calls
`get_checker(app.config).check(header, statement, proof)` and stores the result.
The settings come from classroom/config.py (`app.config["LEAN"]`, a LeanSettings).
"""
from __future__ import annotations

import shlex
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Union

from .assemble import AssembledProof
from .audit import AuditVerdict
from .messages import LeanMessage, parse_axioms
from .settings import SANDBOX_NONE, LeanSettings
from .toolchain import ProjectError, make_jail, project_env

ALLOWED_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
# Axioms by which Lean trusts its compiler (`native_decide`, `decide +native`, `bv_decide`).
COMPILER_AXIOMS = ("Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler")

HOW_TO_TURN_ON = "Lean checking is off: install Lean 4 (elan) and set LEAN_CMD or put `lean` on PATH."


# ---------------------------------------------------------------- results


@dataclass
class LeanResult:
    accepted: bool
    reason: str  # one sentence for the student
    messages: list[LeanMessage]
    axioms: list[str]
    duration_ms: int
    # accepted | refused | timeout | out_of_memory | error (not checked: setup or
    # instructor problem, worth retrying or showing to the instructor)
    status: str = "refused"
    backend: str = ""
    sandbox: str = ""  # how Lean was confined (one line; "NO SANDBOX ..." when it was not)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "reason": self.reason,
            "status": self.status,
            "messages": [m.to_dict() for m in self.messages],
            "axioms": list(self.axioms),
            "duration_ms": self.duration_ms,
            "backend": self.backend,
            "sandbox": self.sandbox,
        }


class LeanChecker(Protocol):
    def check(self, header: str, statement: str, proof: str) -> LeanResult: ...


def seconds_text(seconds: float) -> str:
    return f"{seconds:g} s"


def _first_line(text: str, limit: int = 200, last: bool = False) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    line = (lines[-1] if last else lines[0]) if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def judge_first_run(
    assembled: AssembledProof,
    raw_messages: list[LeanMessage],
    *,
    in_file: bool,
    duration_ms: int,
    backend: str,
    sorries: list[dict[str, Any]] | None = None,
    exit_status: int | None = 0,
    truncated: bool = False,
    other_output: str = "",
) -> tuple[list[LeanMessage], LeanResult | None]:
    """What the run that elaborated the student's text says: its messages at the
    student's lines, and a refusal (or None when the audit must decide).

    This run's output can only refuse: if the student's code ever ran in it, it
    could print anything, so a clean-looking `#print axioms` answer here counts
    for nothing (the answer at our line is dropped; the audit gives the axioms).
    """
    axioms_line = assembled.axioms_line(in_file)
    shown: list[LeanMessage] = []
    for raw in raw_messages:
        if raw.severity == "info" and raw.line == axioms_line and parse_axioms(raw.text) is not None:
            continue
        shown.append(assembled.relocate(raw, in_file))

    def refused(reason: str, status: str = "refused") -> tuple[list[LeanMessage], LeanResult]:
        return shown, LeanResult(False, reason, shown, [], duration_ms, status, backend)

    errors = [m for m in shown if m.severity == "error"]
    if errors:
        first = errors[0]
        if first.part == "header":
            return refused(f"Not checked: the problem's Lean header has an error: {_first_line(first.text)}", "error")
        where = f"line {first.line} of the proof" if first.part == "proof" else f"line {first.line} of the {first.part}"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return refused(f"Refused: Lean reported an error at {where}{more}: {_first_line(first.text)}")
    if sorries or any(m.severity == "warning" and "sorry" in m.text for m in shown):
        return refused("Refused: the proof uses sorry.")
    if truncated:
        return refused("Refused: Lean's output was longer than the size limit, so the check is incomplete.")
    if exit_status not in (0, None):
        # The last line of a crash report says what happened (Lean panics, tracebacks).
        detail = _first_line(other_output, last=True)
        return refused(f"Not checked: Lean stopped with exit status {exit_status}" + (f": {detail}" if detail else "."),
                       "error")
    return shown, None


def judge_audit(shown: list[LeanMessage], verdict: AuditVerdict | None, *, duration_ms: int, backend: str) -> LeanResult:
    """The verdict, from the audit alone (see audit.py)."""

    def result(accepted: bool, reason: str, status: str, axioms: list[str] | None = None) -> LeanResult:
        return LeanResult(accepted, reason, shown, axioms or [], duration_ms, status, backend)

    if verdict is None:
        return result(False, "Refused: Lean did not produce the compiled proof, so it could not be audited.", "refused")
    if verdict.status == "error":
        return result(False, f"Not checked: {verdict.reason}.", "error")
    if verdict.status != "accepted":
        return result(False, f"Refused: {verdict.reason}.", "refused")
    axioms = verdict.axioms
    if "sorryAx" in axioms:
        return result(False, "Refused: the proof uses sorry.", "refused", axioms)
    extra = [a for a in axioms if a not in ALLOWED_AXIOMS]
    if extra:
        names = ", ".join(extra)
        why = " (native_decide makes Lean trust the compiler)" if any(a in COMPILER_AXIOMS for a in extra) else ""
        return result(
            False,
            f"Refused: the proof depends on {names}{why}; only propext, Classical.choice and Quot.sound are allowed.",
            "refused",
            axioms,
        )
    return result(True, "Accepted: Lean checked the proof.", "accepted", axioms)


# ---------------------------------------------------------------- availability

SettingsSource = Union[LeanSettings, Mapping[str, Any]]


def settings_of(source: SettingsSource) -> LeanSettings:
    """The LeanSettings themselves, or those classroom/config.py put in an app's config."""
    if isinstance(source, LeanSettings):
        return source
    settings = source.get("LEAN") if source is not None else None
    if not isinstance(settings, LeanSettings):
        raise TypeError("Lean settings are built by classroom.config.lean_settings (app.config['LEAN'])")
    return settings


def _problem(settings: LeanSettings) -> str | None:
    """Why Lean cannot be used with these settings, or None if it can."""
    if settings.backend == "repl":
        argv = settings.repl_argv()
        if not argv:
            return "Lean checking is off: LEAN_BACKEND=repl needs LEAN_REPL_CMD (e.g. `/opt/repl/.lake/build/bin/repl`)."
        if not settings.which(argv[0]):
            return f"Lean checking is off: LEAN_REPL_CMD program `{argv[0]}` was not found."
    else:
        if settings.cmd is None and not settings.which("lean"):
            return HOW_TO_TURN_ON
        if settings.cmd is not None and not settings.which(settings.cmd[0]):
            return f"Lean checking is off: LEAN_CMD program `{settings.cmd[0]}` was not found; install Lean 4 (elan) or fix LEAN_CMD."
    if settings.project_dir:
        if not Path(settings.project_dir).is_dir():
            return f"Lean checking is off: LEAN_PROJECT_DIR {settings.project_dir} is not a directory."
        if not settings.which(settings.lake_argv()[0]):
            return f"Lean checking is off: LEAN_PROJECT_DIR is set but `{settings.lake_argv()[0]}` was not found."
        try:
            project_env(settings)
        except ProjectError as exc:
            return f"Lean checking is off: {exc}."
    sandbox = make_jail(settings).problem()
    if sandbox:
        return (f"Lean checking is off: the sandbox cannot run here: {sandbox}. "
                "LEAN_SANDBOX=none runs Lean unconfined (not recommended).")
    return None


def sandbox_line(settings: LeanSettings) -> str:
    return make_jail(settings).describe()


def lean_status(source: SettingsSource) -> tuple[bool, str]:
    """(enabled, one line saying what is used or how to turn Lean checking on).

    Without a sandbox (LEAN_SANDBOX=none) the line starts with "Warning:" and says so."""
    settings = settings_of(source)
    problem = _problem(settings)
    if problem:
        return False, problem
    limits = f"timeout {seconds_text(settings.timeout)}, memory {settings.memory_mb or 'unlimited'} MB"
    if settings.backend == "repl":
        where = f" in {settings.project_dir}" if settings.project_dir else ""
        what = f"REPL server `{shlex.join(settings.repl_argv())}`{where}"
    else:
        where = f" with the project {settings.project_dir}" if settings.project_dir else ""
        what = f"`{shlex.join(settings.lean_argv())}`{where}"
    line = f"Lean checking is on: {what} ({limits}); {sandbox_line(settings)}."
    if settings.sandbox == SANDBOX_NONE:
        line = "Warning: " + line
    return True, line


_cache_lock = threading.Lock()
_cache: dict[LeanSettings, LeanChecker] = {}


def get_checker(source: SettingsSource) -> LeanChecker | None:
    """A checker for these settings, or None when Lean (or its sandbox) is not available.

    Checkers are kept per settings, so a REPL backend keeps its servers (and the
    imports they loaded) between checks in the same process.
    """
    settings = settings_of(source)
    if _problem(settings):
        return None
    with _cache_lock:
        checker = _cache.get(settings)
        if checker is None:
            if settings.backend == "repl":
                from .repl import ReplLeanChecker

                checker = ReplLeanChecker(settings)
            else:
                from .local import LocalLeanChecker

                checker = LocalLeanChecker(settings)
            _cache[settings] = checker
        return checker


def close_checkers() -> None:
    """Stop every cached checker's background processes (REPL servers)."""
    with _cache_lock:
        checkers = list(_cache.values())
        _cache.clear()
    for checker in checkers:
        close = getattr(checker, "close", None)
        if close:
            close()
