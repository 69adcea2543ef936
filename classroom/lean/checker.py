"""The interface used by grading: settings, the result type, and choosing a checker.

Plain Python on purpose (no Flask, no database): a background job calls
`get_checker(app.config).check(header, statement, proof)` and stores the result.
"""
from __future__ import annotations

import os
import shlex
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol

from .assemble import AssembledProof
from .messages import LeanMessage, parse_axioms
from .sandbox import Limits

ALLOWED_AXIOMS = ("propext", "Classical.choice", "Quot.sound")
# Axioms that `native_decide` / `decide +kernel`-style compiler trust introduces.
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "reason": self.reason,
            "status": self.status,
            "messages": [m.to_dict() for m in self.messages],
            "axioms": list(self.axioms),
            "duration_ms": self.duration_ms,
            "backend": self.backend,
        }


class LeanChecker(Protocol):
    def check(self, header: str, statement: str, proof: str) -> LeanResult: ...


def seconds_text(seconds: float) -> str:
    return f"{seconds:g} s"


def _first_line(text: str, limit: int = 200, last: bool = False) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    line = (lines[-1] if last else lines[0]) if lines else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def evaluate(
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
) -> LeanResult:
    """Decide acceptance from what Lean said. Shared by the local and REPL backends.

    Accepted only if: no error message; no sorry (warning, REPL `sorries`, or
    `sorryAx` among the axioms); `#print axioms` of the theorem was answered at
    the line where we put it; and it lists only propext, Classical.choice and
    Quot.sound. Anything unexpected refuses (fail closed).
    """
    axioms_line = assembled.axioms_line(in_file)
    axioms: list[str] | None = None
    shown: list[LeanMessage] = []
    for raw in raw_messages:
        if raw.severity == "info" and raw.line == axioms_line and axioms is None:
            parsed = parse_axioms(raw.text)
            if parsed is not None:
                # Identified by position, not by text: output the student's code
                # might print elsewhere cannot stand in for it.
                axioms = parsed
                continue
        shown.append(assembled.relocate(raw, in_file))

    def result(accepted: bool, reason: str, status: str) -> LeanResult:
        return LeanResult(accepted, reason, shown, axioms or [], duration_ms, status, backend)

    errors = [m for m in shown if m.severity == "error"]
    if errors:
        first = errors[0]
        if first.part == "header":
            return result(False, f"Not checked: the problem's Lean header has an error: {_first_line(first.text)}", "error")
        where = f"line {first.line} of the proof" if first.part == "proof" else f"line {first.line} of the {first.part}"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return result(False, f"Refused: Lean reported an error at {where}{more}: {_first_line(first.text)}", "refused")
    if sorries or any(m.severity == "warning" and "sorry" in m.text for m in shown) or "sorryAx" in (axioms or []):
        return result(False, "Refused: the proof uses sorry.", "refused")
    if truncated:
        return result(False, "Refused: Lean's output was longer than the size limit, so the check is incomplete.", "refused")
    if exit_status not in (0, None):
        # The last line of a crash report says what happened (Lean panics, tracebacks).
        detail = _first_line(other_output, last=True)
        return result(
            False,
            f"Not checked: Lean stopped with exit status {exit_status}" + (f": {detail}" if detail else "."),
            "error",
        )
    if axioms is None:
        return result(False, "Refused: Lean did not report which axioms the theorem uses, so it cannot be accepted.", "refused")
    extra = [a for a in axioms if a not in ALLOWED_AXIOMS]
    if extra:
        names = ", ".join(extra)
        why = " (native_decide makes Lean trust the compiler)" if any(a in COMPILER_AXIOMS for a in extra) else ""
        return result(
            False,
            f"Refused: the proof depends on {names}{why}; only propext, Classical.choice and Quot.sound are allowed.",
            "refused",
        )
    return result(True, "Accepted: Lean checked the proof.", "accepted")


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class LeanSettings:
    cmd: tuple[str, ...] | None = None  # LEAN_CMD split like a shell would; None = `lean` on PATH
    project_dir: str | None = None  # LEAN_PROJECT_DIR: run through `lake env` there
    timeout: float = 60.0  # LEAN_TIMEOUT, seconds of wall-clock time per check
    backend: str = "local"  # LEAN_BACKEND: local | repl
    repl_cmd: tuple[str, ...] | None = None  # LEAN_REPL_CMD
    memory_mb: int = 4096  # LEAN_MEMORY_MB (RLIMIT_AS); 0 = no limit
    cpu_seconds: float | None = None  # LEAN_CPU_SECONDS; default 2 x timeout
    max_processes: int = 512  # LEAN_MAX_PROCESSES (RLIMIT_NPROC)
    max_file_mb: int = 64  # LEAN_MAX_FILE_MB (RLIMIT_FSIZE)
    max_output_kb: int = 1024  # LEAN_MAX_OUTPUT_KB per stream
    isolate_network: bool = True  # LEAN_ISOLATE_NETWORK
    lake_cmd: tuple[str, ...] | None = None  # LEAN_LAKE_CMD; default `lake` beside LEAN_CMD or on PATH
    repl_pool: int = 1  # LEAN_REPL_POOL: REPL processes per checker
    repl_max_checks: int = 200  # LEAN_REPL_MAX_CHECKS: restart a REPL after this many checks

    def limits(self) -> Limits:
        return Limits(
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            cpu_seconds=self.cpu_seconds if self.cpu_seconds is not None else max(2 * self.timeout, 5.0),
            max_processes=self.max_processes,
            max_file_mb=self.max_file_mb,
            max_output_bytes=self.max_output_kb * 1024,
            isolate_network=self.isolate_network,
        )

    def lean_argv(self) -> tuple[str, ...]:
        return self.cmd or ("lean",)

    def lake_argv(self) -> tuple[str, ...]:
        if self.lake_cmd:
            return self.lake_cmd
        lean = self.lean_argv()[0]
        if os.sep in lean:
            sibling = Path(lean).with_name("lake")
            if sibling.exists():
                return (str(sibling),)
        return ("lake",)


class LeanSettingsError(ValueError):
    pass


def _raw(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name) if config is not None else None
    if value is None or (isinstance(value, str) and not value.strip()):
        value = os.environ.get(name)
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _number(config: Mapping[str, Any], name: str, default: float, kind: type = float) -> Any:
    value = _raw(config, name)
    if value is None:
        return default
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError) as exc:
        raise LeanSettingsError(f"{name} must be a number, got {value!r}") from exc


def _argv(config: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = _raw(config, name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value) or None
    return tuple(shlex.split(str(value))) or None


def _flag(config: Mapping[str, Any], name: str, default: bool) -> bool:
    value = _raw(config, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")


def lean_settings_from_config(config: Mapping[str, Any]) -> LeanSettings:
    """Read the LEAN_* settings from an app.config-like mapping, falling back to os.environ."""
    backend = str(_raw(config, "LEAN_BACKEND") or "local").strip().lower()
    if backend not in ("local", "repl"):
        raise LeanSettingsError(f"LEAN_BACKEND must be 'local' or 'repl', got {backend!r}")
    cpu = _raw(config, "LEAN_CPU_SECONDS")
    project = _raw(config, "LEAN_PROJECT_DIR")
    return LeanSettings(
        cmd=_argv(config, "LEAN_CMD"),
        project_dir=str(project) if project else None,
        timeout=_number(config, "LEAN_TIMEOUT", 60.0),
        backend=backend,
        repl_cmd=_argv(config, "LEAN_REPL_CMD"),
        memory_mb=_number(config, "LEAN_MEMORY_MB", 4096, int),
        cpu_seconds=_number(config, "LEAN_CPU_SECONDS", 0.0) if cpu is not None else None,
        max_processes=_number(config, "LEAN_MAX_PROCESSES", 512, int),
        max_file_mb=_number(config, "LEAN_MAX_FILE_MB", 64, int),
        max_output_kb=_number(config, "LEAN_MAX_OUTPUT_KB", 1024, int),
        isolate_network=_flag(config, "LEAN_ISOLATE_NETWORK", True),
        lake_cmd=_argv(config, "LEAN_LAKE_CMD"),
        repl_pool=max(1, _number(config, "LEAN_REPL_POOL", 1, int)),
        repl_max_checks=max(1, _number(config, "LEAN_REPL_MAX_CHECKS", 200, int)),
    )


# ---------------------------------------------------------------- availability


def _resolvable(program: str) -> bool:
    return shutil.which(program) is not None


def _problem(settings: LeanSettings) -> str | None:
    """Why Lean cannot be used with these settings, or None if it can."""
    if settings.backend == "repl":
        if not settings.repl_cmd:
            return "Lean checking is off: LEAN_BACKEND=repl needs LEAN_REPL_CMD (e.g. `lake env /path/to/repl/.lake/build/bin/repl`)."
        if not _resolvable(settings.repl_cmd[0]):
            return f"Lean checking is off: LEAN_REPL_CMD program `{settings.repl_cmd[0]}` was not found."
    else:
        if settings.cmd is None and not _resolvable("lean"):
            return HOW_TO_TURN_ON
        if settings.cmd is not None and not _resolvable(settings.cmd[0]):
            return f"Lean checking is off: LEAN_CMD program `{settings.cmd[0]}` was not found; install Lean 4 (elan) or fix LEAN_CMD."
        if settings.project_dir and not _resolvable(settings.lake_argv()[0]):
            return f"Lean checking is off: LEAN_PROJECT_DIR is set but `{settings.lake_argv()[0]}` was not found."
    if settings.project_dir and not Path(settings.project_dir).is_dir():
        return f"Lean checking is off: LEAN_PROJECT_DIR {settings.project_dir} is not a directory."
    return None


def lean_status(config: Mapping[str, Any]) -> tuple[bool, str]:
    """(enabled, one line saying what is used or how to turn Lean checking on)."""
    try:
        settings = lean_settings_from_config(config)
    except LeanSettingsError as exc:
        return False, f"Lean checking is off: {exc}."
    problem = _problem(settings)
    if problem:
        return False, problem
    limits = f"timeout {seconds_text(settings.timeout)}, memory {settings.memory_mb or 'unlimited'} MB"
    if settings.backend == "repl":
        where = f" in {settings.project_dir}" if settings.project_dir else ""
        return True, f"Lean checking is on: REPL server `{shlex.join(settings.repl_cmd or ())}`{where} ({limits})."
    lean = shlex.join(settings.lean_argv())
    if settings.project_dir:
        return True, f"Lean checking is on: `{shlex.join(settings.lake_argv())} env {lean}` in {settings.project_dir} ({limits})."
    return True, f"Lean checking is on: `{lean}` ({limits})."


_cache_lock = threading.Lock()
_cache: dict[LeanSettings, LeanChecker] = {}


def get_checker(config: Mapping[str, Any]) -> LeanChecker | None:
    """A checker for these settings, or None when Lean is not available.

    Checkers are kept per settings, so a REPL backend keeps its server (and the
    imports it loaded) between checks in the same process.
    """
    try:
        settings = lean_settings_from_config(config)
    except LeanSettingsError:
        return None
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
