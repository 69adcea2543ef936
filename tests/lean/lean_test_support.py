"""Paths and settings shared by the Lean tests (a plain module, not a conftest)."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FAKE_LEAN = HERE / "fake_lean.py"
FAKE_REPL = HERE / "fake_repl.py"
FAKE_LAKE = HERE / "fake_lake.py"

HEADER = "import Mathlib\nopen Nat"
STATEMENT = "theorem foo (n : Nat) : n + 0 = n"


def fake_cmd(script: Path, *args: str) -> str:
    # Through this interpreter: `python3` on PATH may be a shim needing the real HOME.
    return shlex.join([sys.executable, str(script), *args])


def local_config(**overrides) -> dict:
    config = {"LEAN_CMD": fake_cmd(FAKE_LEAN), "LEAN_TIMEOUT": 5, "LEAN_MEMORY_MB": 512}
    config.update(overrides)
    return config


@pytest.fixture
def clean_lean_env(monkeypatch):
    """Settings must come from the test's config, not from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("LEAN_"):
            monkeypatch.delenv(name)
    yield
