"""Check a proof by running the `lean` compiler on an assembled file, one process per check."""
from __future__ import annotations

import os
import shutil
import time

from .assemble import LeanInputError, assemble, find_refusal
from .checker import LeanResult, LeanSettings, evaluate, seconds_text
from .messages import parse_json_lines
from .sandbox import PrivateTempDir, clean_env, run_limited

FILE_NAME = "Check.lean"


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


class LocalLeanChecker:
    """`lean --json Check.lean` (or `lake env lean --json ...` in LEAN_PROJECT_DIR) under limits."""

    backend = "local"

    def __init__(self, settings: LeanSettings) -> None:
        self.settings = settings

    def command(self, path: str) -> tuple[list[str], str | None]:
        """The argv for checking `path`, and the directory to run it in (None: the temp dir)."""
        lean = list(self.settings.lean_argv())
        # Resolve now: the sandboxed PATH is the same, but a clear error beats exit 127.
        lean[0] = shutil.which(lean[0]) or lean[0]
        if self.settings.project_dir:
            lake = list(self.settings.lake_argv())
            lake[0] = shutil.which(lake[0]) or lake[0]
            return [*lake, "env", *lean, "--json", path], self.settings.project_dir
        return [*lean, "--json", path], None

    def check(self, header: str, statement: str, proof: str) -> LeanResult:
        started = time.monotonic()
        assembled, early = prepare(header, statement, proof, started, self.backend)
        if early is not None:
            return early
        limits = self.settings.limits()
        with PrivateTempDir() as tmp:
            path = os.path.join(tmp, FILE_NAME)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(assembled.text)
            argv, cwd = self.command(path)
            run = run_limited(argv, limits=limits, cwd=cwd or tmp, env=clean_env(tmp))

        def plain(reason: str, status: str) -> LeanResult:
            return LeanResult(False, reason, [], [], run.duration_ms, status, self.backend)

        if run.start_error:
            return plain(f"Not checked: Lean could not be started ({run.start_error}).", "error")
        if run.timed_out:
            return plain(f"Timed out after {seconds_text(limits.timeout)}.", "timeout")
        if run.cpu_exceeded:
            return plain(f"Timed out: Lean used more than {seconds_text(limits.cpu_seconds or 0)} of CPU time.", "timeout")
        if run.out_of_memory:
            return plain("Out of memory.", "out_of_memory")
        if run.file_too_large:
            return plain("Refused: Lean tried to write a file larger than the limit.", "refused")
        messages, other = parse_json_lines(run.stdout)
        return evaluate(
            assembled,
            messages,
            in_file=True,
            duration_ms=run.duration_ms,
            backend=self.backend,
            exit_status=run.returncode,
            truncated=run.truncated,
            other_output="\n".join([*other, run.stderr]),
        )
