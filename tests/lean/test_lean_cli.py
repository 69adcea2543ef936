"""`lean-check`: the command on a bare click group, and through `flask --app app`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lean_test_support import FAKE_LEAN, HEADER, STATEMENT, clean_lean_env, fake_cmd  # noqa: F401

from classroom import create_app
from classroom.lean.command import lean_check_command

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("clean_lean_env")


@pytest.fixture
def files(tmp_path):
    def write(proof: str, statement: str = STATEMENT, header: str = HEADER) -> list[str]:
        (tmp_path / "H.lean").write_text(header)
        (tmp_path / "S.lean").write_text(statement)
        (tmp_path / "P.lean").write_text(proof)
        return ["--header-file", str(tmp_path / "H.lean"), "--statement-file", str(tmp_path / "S.lean"),
                "--proof-file", str(tmp_path / "P.lean")]

    return write


@pytest.fixture
def invoke(tmp_path):
    """Run the command through an app whose LEAN_* settings are given (as the environment would)."""
    apps = []

    def run(args: list[str], **lean: str):
        lean.setdefault("LEAN_CMD", fake_cmd(FAKE_LEAN))
        lean.setdefault("LEAN_TIMEOUT", "5")
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", "SECRET_KEY": "k",
                          "INSTANCE_DIR": str(tmp_path), **lean})
        apps.append(app)
        return app.test_cli_runner().invoke(lean_check_command, args, catch_exceptions=False)

    yield run
    for app in apps:
        app.extensions["db_engine"].dispose()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_accepted_exit_0_with_json(invoke, files):
    result = invoke([*files("by\n  simp"), "--json"])
    assert result.exit_code == 0, result.output
    data = last_json(result.output)
    assert data["accepted"] is True and data["reason"] == "Accepted: Lean checked the proof."
    assert data["messages"] == [] and data["axioms"] == ["propext"]


def test_refused_exit_1_with_messages_at_the_students_lines(invoke, files):
    result = invoke([*files("by\n  simp\n  ring -- fake: error ring failed"), "--json"])
    assert result.exit_code == 1
    data = last_json(result.output)
    assert data["accepted"] is False and "line 3 of the proof" in data["reason"]
    assert data["messages"][0]["line"] == 3 and data["messages"][0]["part"] == "proof"


def test_plain_output_lists_reason_and_messages(invoke, files):
    result = invoke(files("by\n  simp -- fake: error nope"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("Refused: Lean reported an error at line 2")
    assert "proof:2:8: error: nope" in lines


def test_timeout_setting_is_used(invoke, files):
    result = invoke([*files("by -- fake: sleep"), "--json"], LEAN_TIMEOUT="1")
    assert result.exit_code == 1
    assert last_json(result.output)["reason"] == "Timed out after 1 s."


def test_tampering_is_refused(invoke, files):
    result = invoke([*files("by simp\naxiom cheat : False"), "--json"])
    assert result.exit_code == 1
    assert "axiom" in last_json(result.output)["reason"]


def test_missing_file_exit_2(invoke, files, tmp_path):
    args = files("by simp")
    args[args.index("--proof-file") + 1] = str(tmp_path / "missing.lean")
    result = invoke([*args, "--json"])
    assert result.exit_code == 2
    data = last_json(result.output)
    assert data["accepted"] is False and "missing.lean" in data["reason"]


def test_statement_without_theorem_exit_2(invoke, files):
    result = invoke([*files("trivial", statement="example : True"), "--json"])
    assert result.exit_code == 2
    assert "named theorem" in last_json(result.output)["reason"]


def test_lean_unavailable_exit_2(invoke, files):
    result = invoke([*files("by simp"), "--json"], LEAN_CMD="/nonexistent/lean")
    assert result.exit_code == 2
    assert last_json(result.output)["reason"].startswith("Lean checking is off")


def test_header_file_is_optional(invoke, tmp_path):
    (tmp_path / "S.lean").write_text("theorem t : True")
    (tmp_path / "P.lean").write_text("trivial")
    result = invoke(["--statement-file", str(tmp_path / "S.lean"), "--proof-file", str(tmp_path / "P.lean")])
    assert result.exit_code == 0, result.output


def test_through_flask_app(files, tmp_path):
    """The real entry point; needs the app owner to register the command in classroom/cli.py."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("LEAN_")
    }
    env.update(
        LEAN_CMD=fake_cmd(FAKE_LEAN),
        LEAN_TIMEOUT="5",
        CLASSROOM_INSTANCE_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3",
    )
    accepted = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "lean-check", *files("by\n  simp"), "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert last_json(accepted.stdout)["accepted"] is True
    refused = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "lean-check", *files("by\n  simp -- fake: axiom cheat"), "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    data = last_json(refused.stdout)
    assert data["accepted"] is False and "cheat" in data["reason"] and "messages" in data
