"""Paths and settings shared by the Lean tests (a plain module, not a conftest)."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from classroom.config import lean_settings
from classroom.lean.settings import LeanSettings

HERE = Path(__file__).resolve().parent
FAKE_LEAN = HERE / "fake_lean.py"
FAKE_REPL = HERE / "fake_repl.py"
FAKE_LAKE = HERE / "fake_lake.py"

HEADER = "import Mathlib\nopen Nat"
STATEMENT = "theorem foo (n : Nat) : n + 0 = n"

# The fakes need only the standard library. Debian's own python3 lives under /usr,
# which the sandbox shows to Lean; an interpreter under /root (pyenv) would be
# unreachable for the sandbox's unprivileged user, like any toolchain kept there.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def fake_cmd(script: Path, *args: str) -> str:
    # Through an absolute interpreter: `python3` on PATH may be a shim needing the real HOME.
    return shlex.join([PYTHON, str(script), *args])


def tool_env(**extra: str) -> tuple[tuple[str, str], ...]:
    """What classroom/config.py would capture from a worker's environment."""
    return tuple({"PATH": os.environ.get("PATH", os.defpath), **extra}.items())


def settings(**values) -> LeanSettings:
    """LeanSettings from LEAN_* values, through the same parser as the app's start-up."""
    values.setdefault("LEAN_TOOL_ENV", tool_env())
    return lean_settings(values)


def local_settings(**overrides) -> LeanSettings:
    values = {"LEAN_CMD": fake_cmd(FAKE_LEAN), "LEAN_TIMEOUT": 5, "LEAN_MEMORY_MB": 512}
    values.update(overrides)
    return settings(**values)


def repl_settings(*args: str, **overrides) -> LeanSettings:
    values = {"LEAN_BACKEND": "repl", "LEAN_REPL_CMD": fake_cmd(FAKE_REPL, *args), "LEAN_TIMEOUT": 2,
              "LEAN_MEMORY_MB": 512}
    values.update(overrides)
    return settings(**values)


def sandbox_problem(lean_settings_value: LeanSettings) -> str | None:
    from classroom.lean.toolchain import make_jail

    return make_jail(lean_settings_value).problem()


def skip_without_sandbox(lean_settings_value: LeanSettings) -> None:
    """Skip, saying why, where bubblewrap cannot run (CI installs it: .ci/run)."""
    problem = sandbox_problem(lean_settings_value)
    if problem:
        pytest.skip(f"the Lean sandbox cannot run on this machine: {problem}")


@pytest.fixture
def clean_lean_env(monkeypatch):
    """Settings must come from the test's config, not from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("LEAN_"):
            monkeypatch.delenv(name)
    yield
