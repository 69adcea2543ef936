"""LocalLeanChecker end to end, with tests/lean/fake_lean.py standing in for `lean --json`."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from lean_test_support import FAKE_LAKE, FAKE_LEAN, HEADER, STATEMENT, clean_lean_env, fake_cmd, local_config  # noqa: F401

from classroom.lean import LeanResult, get_checker, lean_settings_from_config, lean_status
from classroom.lean.checker import HOW_TO_TURN_ON, LeanSettingsError
from classroom.lean.local import LocalLeanChecker

pytestmark = pytest.mark.usefixtures("clean_lean_env")


def check(proof: str, **config) -> LeanResult:
    checker = get_checker(local_config(**config))
    assert isinstance(checker, LocalLeanChecker)
    return checker.check(HEADER, STATEMENT, proof)


def test_accepted_proof():
    result = check("by\n  simp")
    assert result.accepted and result.status == "accepted"
    assert result.reason == "Accepted: Lean checked the proof."
    assert result.axioms == ["propext"]
    assert result.backend == "local" and result.duration_ms >= 0


def test_error_is_shown_at_the_students_line():
    result = check("by\n  intro h\n  simp -- fake: error unsolved goals")
    assert not result.accepted and result.status == "refused"
    assert result.reason == "Refused: Lean reported an error at line 3 of the proof: unsolved goals"
    (message,) = result.messages
    assert (message.part, message.line, message.column, message.severity) == ("proof", 3, 7, "error")


def test_added_axiom_is_refused_and_named():
    result = check("by\n  exact cheat _ -- fake: axiom cheat")
    assert not result.accepted
    assert result.axioms == ["propext", "cheat"]
    assert "cheat" in result.reason


def test_native_decide_is_refused_with_the_reason():
    result = check("by\n  native_decide -- fake: native")
    assert not result.accepted and "native_decide" in result.reason and "Lean.ofReduceBool" in result.reason


def test_sorry_reported_by_lean_is_refused():
    result = check("by\n  stop -- fake: sorry")
    assert not result.accepted and result.reason == "Refused: the proof uses sorry."


def test_no_axioms_answer_and_forged_answer_are_refused():
    result = check("by\n  simp -- fake: no-axioms\n  -- fake: forge-axioms")
    assert not result.accepted and "did not report which axioms" in result.reason


def test_extra_commands_are_refused_without_running_lean():
    # Were Lean run, the fake would crash (status "error"); it must not be reached.
    result = check("by simp -- fake: crash\n\ntheorem bar : False := by simp")
    assert not result.accepted and result.status == "refused"
    assert "`theorem` (line 3)" in result.reason
    assert result.messages[0].line == 3


def test_timeout():
    result = check("by\n  simp -- fake: sleep", LEAN_TIMEOUT=1)
    assert not result.accepted and result.status == "timeout"
    assert result.reason == "Timed out after 1 s."
    assert result.duration_ms < 4000


@pytest.mark.parametrize("directive", ["eat-memory", "oom-panic"])
def test_out_of_memory(directive):
    result = check(f"by\n  simp -- fake: {directive}", LEAN_MEMORY_MB=256)
    assert not result.accepted and result.status == "out_of_memory"
    assert result.reason == "Out of memory."


def test_crash_is_not_checked():
    result = check("by\n  simp -- fake: crash")
    assert not result.accepted and result.status == "error"
    assert "Stack overflow" in result.reason


def test_flooding_output_is_cut_and_refused():
    result = check("by\n  simp -- fake: flood", LEAN_MAX_OUTPUT_KB=64)
    assert not result.accepted and "size limit" in result.reason


def test_lean_runs_with_a_clean_env_private_dir_and_limits(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    result = check("by\n  simp -- fake: probe", LEAN_MEMORY_MB=777, LEAN_TIMEOUT=3)
    probe = json.loads(result.messages[0].text)
    assert "SECRET_KEY" not in probe["env"]
    assert probe["env"]["HOME"] == probe["cwd"]
    assert Path(probe["cwd"]).name.startswith("lean-check-")
    assert not Path(probe["cwd"]).exists(), "the private directory is removed after the check"
    assert probe["limits"]["RLIMIT_AS"] == [777 * 2**20] * 2
    assert probe["limits"]["RLIMIT_CPU"][0] == 6  # default: twice the timeout
    assert probe["pgid_is_pid"]


def test_lake_env_in_the_project_dir(tmp_path):
    (tmp_path / "lakefile.toml").write_text('name = "proj"\n')
    result = check(
        "by\n  simp -- fake: probe",
        LEAN_PROJECT_DIR=str(tmp_path),
        LEAN_LAKE_CMD=fake_cmd(FAKE_LAKE),
    )
    assert result.accepted, result.reason
    probe = json.loads(result.messages[0].text)
    assert probe["cwd"] == str(tmp_path)
    assert probe["env"]["LEAN_PATH"] == str(tmp_path / ".lake/build/lib")


def test_command_line_for_lake_and_plain_lean(tmp_path):
    plain = LocalLeanChecker(lean_settings_from_config({"LEAN_CMD": f"{sys.executable} -X dev"}))
    argv, cwd = plain.command("/tmp/x/Check.lean")
    assert argv == [sys.executable, "-X", "dev", "--json", "/tmp/x/Check.lean"] and cwd is None
    lake = LocalLeanChecker(lean_settings_from_config({"LEAN_PROJECT_DIR": str(tmp_path), "LEAN_LAKE_CMD": "true"}))
    argv, cwd = lake.command("/tmp/x/Check.lean")
    assert argv[1:] == ["env", "lean", "--json", "/tmp/x/Check.lean"] and cwd == str(tmp_path)


def test_bad_statement_is_not_checked():
    checker = get_checker(local_config())
    result = checker.check(HEADER, "example : True", "trivial")
    assert not result.accepted and result.status == "error" and result.reason.startswith("Not checked:")


# ---------------------------------------------------------------- settings and status


def test_settings_from_config_fall_back_to_environment(monkeypatch):
    monkeypatch.setenv("LEAN_TIMEOUT", "12")
    monkeypatch.setenv("LEAN_MEMORY_MB", "1000")
    monkeypatch.setenv("LEAN_CMD", "/opt/lean --threads 1")
    settings = lean_settings_from_config({"LEAN_CMD": None, "LEAN_MEMORY_MB": 2048, "LEAN_PROJECT_DIR": ""})
    assert settings.cmd == ("/opt/lean", "--threads", "1")
    assert settings.timeout == 12.0 and settings.memory_mb == 2048
    assert settings.project_dir is None and settings.backend == "local"
    assert settings.limits().cpu_seconds == 24.0


def test_settings_defaults():
    settings = lean_settings_from_config({})
    assert (settings.cmd, settings.timeout, settings.memory_mb, settings.backend) == (None, 60.0, 4096, "local")
    assert settings.lean_argv() == ("lean",)


@pytest.mark.parametrize("config", [{"LEAN_TIMEOUT": "soon"}, {"LEAN_BACKEND": "cloud"}])
def test_bad_settings_are_reported(config):
    with pytest.raises(LeanSettingsError):
        lean_settings_from_config(config)
    enabled, line = lean_status(config)
    assert not enabled and line.startswith("Lean checking is off")
    assert get_checker(config) is None


def test_off_without_lean(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `lean` anywhere
    assert get_checker({}) is None
    assert lean_status({}) == (False, HOW_TO_TURN_ON)
    assert HOW_TO_TURN_ON == "Lean checking is off: install Lean 4 (elan) and set LEAN_CMD or put `lean` on PATH."


def test_off_when_lean_cmd_is_missing_or_project_dir_is_wrong(tmp_path):
    enabled, line = lean_status({"LEAN_CMD": "/nonexistent/lean"})
    assert not enabled and "/nonexistent/lean" in line
    assert get_checker({"LEAN_CMD": "/nonexistent/lean"}) is None
    enabled, line = lean_status(local_config(LEAN_PROJECT_DIR=str(tmp_path / "nope"), LEAN_LAKE_CMD="true"))
    assert not enabled and "LEAN_PROJECT_DIR" in line


def test_on_says_what_is_used(tmp_path):
    enabled, line = lean_status(local_config())
    assert enabled and line.startswith("Lean checking is on:") and "fake_lean.py" in line and "timeout 5 s" in line
    enabled, line = lean_status(local_config(LEAN_PROJECT_DIR=str(tmp_path), LEAN_LAKE_CMD="true"))
    assert enabled and "env" in line and str(tmp_path) in line


def test_lean_on_path_is_found(monkeypatch, tmp_path):
    lean = tmp_path / "lean"
    lean.write_text(f"#!/bin/sh\nexec {sys.executable} {FAKE_LEAN} \"$@\"\n")
    lean.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    checker = get_checker({"LEAN_TIMEOUT": 5})
    assert checker is not None
    assert checker.check(HEADER, STATEMENT, "by simp").accepted
