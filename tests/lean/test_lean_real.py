"""Checks against real Lean 4. They run when `lean` is on PATH or LEAN_CMD is set
(LEAN_PROJECT_DIR and LEAN_TIMEOUT are honoured); otherwise each is skipped with the
reason (see it with `pytest -rs`). Only core Lean is used, so no Mathlib is needed.
"""
from __future__ import annotations

import json
import os
import shutil

import pytest

from classroom import create_app
from classroom.config import LEAN_TOOL_VARIABLES, lean_settings
from classroom.lean import ALLOWED_AXIOMS, get_checker, lean_status
from classroom.lean.command import lean_check_command

SKIP_REASON = "Lean 4 is not installed here: put `lean` on PATH or set LEAN_CMD to run the real-Lean tests"


def _config() -> dict:
    config = {key: value for key, value in os.environ.items() if key.startswith("LEAN_")}
    config["LEAN_BACKEND"] = "local"
    config.setdefault("LEAN_TIMEOUT", "120")
    config["LEAN_TOOL_ENV"] = tuple((n, os.environ[n]) for n in LEAN_TOOL_VARIABLES if os.environ.get(n))
    return config


@pytest.fixture
def checker():
    if not (os.environ.get("LEAN_CMD") or shutil.which("lean")):
        pytest.skip(SKIP_REASON)
    found = get_checker(lean_settings(_config()))
    if found is None:
        pytest.skip(f"Lean is configured but not usable: {lean_status(lean_settings(_config()))[1]}")
    return found


def test_correct_term_proof_is_accepted(checker):
    result = checker.check("", "theorem add_zero' (n : Nat) : n + 0 = n", "rfl")
    assert result.accepted, (result.reason, result.messages)
    assert set(result.axioms) <= set(ALLOWED_AXIOMS)


def test_tactic_proof_written_at_column_0_after_by(checker):
    result = checker.check("", "theorem and_swap' (p q : Prop) (h : p ∧ q) : q ∧ p := by", "obtain ⟨hp, hq⟩ := h\nexact ⟨hq, hp⟩")
    assert result.accepted, (result.reason, result.messages)


def test_classical_axioms_are_allowed(checker):
    result = checker.check("", "theorem em' (p : Prop) : p ∨ ¬p", "Classical.em p")
    assert result.accepted, (result.reason, result.messages)
    assert "Classical.choice" in result.axioms


def test_wrong_proof_is_refused_at_the_students_line(checker):
    result = checker.check("", "theorem comm' (a b : Nat) : a + b = b + a", "by\n  intro h\n  rfl")
    assert not result.accepted
    errors = [m for m in result.messages if m.severity == "error"]
    assert errors and errors[0].part == "proof" and errors[0].line == 2
    assert "line 2 of the proof" in result.reason


def test_sorry_through_stop_is_refused(checker):
    result = checker.check("", "theorem t' (a b : Nat) : a + b = b + a", "by\n  stop\n  rfl")
    assert not result.accepted and result.reason == "Refused: the proof uses sorry."


def test_native_decide_is_refused(checker):
    result = checker.check("", "theorem four' : 2 + 2 = 4", "by native_decide")
    assert not result.accepted and "native_decide" in result.reason


def test_the_audit_accepts_a_proof_with_auxiliary_declarations(checker):
    # `match` and `let rec` make auxiliary definitions that the audit must re-check too.
    proof = "by\n  intro n\n  match n with\n  | 0 => rfl\n  | k + 1 => rfl"
    result = checker.check("", "theorem z' : ∀ n : Nat, n * 0 = 0", proof)
    assert result.accepted, (result.reason, result.messages)


def test_header_with_open_and_unknown_identifier(checker):
    ok = checker.check("open Nat", "theorem s' (n : Nat) : succ n = n + 1", "rfl")
    assert ok.accepted, (ok.reason, ok.messages)
    bad = checker.check("", "theorem u' : True", "by\n  exact no_such_lemma")
    assert not bad.accepted and bad.messages[0].line == 2


def test_cli_with_real_lean(checker, tmp_path):
    (tmp_path / "S.lean").write_text("theorem add_zero'' (n : Nat) : n + 0 = n")
    (tmp_path / "P.lean").write_text("rfl")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k",
                      "INSTANCE_DIR": str(tmp_path), **_config()})
    result = app.test_cli_runner().invoke(
        lean_check_command,
        ["--statement-file", str(tmp_path / "S.lean"), "--proof-file", str(tmp_path / "P.lean"), "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["accepted"] is True
