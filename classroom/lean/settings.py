"""The Lean settings, as one immutable value.

classroom/config.py reads and validates every `LEAN_*` variable once, at start-up,
and builds a `LeanSettings`; nothing in classroom/lean reads the environment.
The variables Lean itself needs (PATH, ELAN_HOME, LEAN_PATH, ...) are captured
there too, in `tool_env`, so the sandbox can pass exactly those on.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .sandbox import Limits

SANDBOX_BUBBLEWRAP = "bubblewrap"
SANDBOX_NONE = "none"
SANDBOX_KINDS = (SANDBOX_BUBBLEWRAP, SANDBOX_NONE)


class LeanSettingsError(ValueError):
    """A LEAN_* setting has a value that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class LeanSettings:
    cmd: tuple[str, ...] | None = None  # LEAN_CMD split like a shell would; None = `lean` on PATH
    project_dir: str | None = None  # LEAN_PROJECT_DIR: its `lake env` gives Lean its LEAN_PATH
    timeout: float = 60.0  # LEAN_TIMEOUT, seconds of wall-clock time per Lean run
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
    sandbox: str = SANDBOX_BUBBLEWRAP  # LEAN_SANDBOX: bubblewrap | none
    sandbox_user: str | None = None  # LEAN_SANDBOX_USER; None = `nobody` for a root worker, else its own user
    bwrap_cmd: str | None = None  # LEAN_BWRAP_CMD; default `bwrap` on PATH
    sandbox_paths: tuple[str, ...] = ()  # LEAN_SANDBOX_PATHS: more read-only paths for the toolchain
    # Not variables: the app's own secrets (instance directory, database files), which
    # no sandbox mount may contain, and the environment Lean's tools need.
    private_paths: tuple[str, ...] = ()
    tool_env: tuple[tuple[str, str], ...] = ()

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

    @property
    def env(self) -> dict[str, str]:
        return dict(self.tool_env)

    @property
    def search_path(self) -> str:
        return self.env.get("PATH") or os.defpath

    def which(self, program: str) -> str | None:
        """`program` resolved on the captured PATH (not this process's environment)."""
        return shutil.which(program, path=self.search_path)

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

    def repl_argv(self) -> tuple[str, ...]:
        """LEAN_REPL_CMD without a leading `lake env`: the platform gives the REPL the
        project's paths itself (Lake cannot run on the read-only project in the sandbox),
        so the form the docs used to show keeps working."""
        argv = tuple(self.repl_cmd or ())
        if len(argv) > 2 and Path(argv[0]).name == "lake" and argv[1] == "env":
            return argv[2:]
        return argv
