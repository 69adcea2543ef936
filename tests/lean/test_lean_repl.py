"""ReplLeanChecker against tests/lean/fake_repl.py, which speaks the REPL's JSON protocol."""
from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
from lean_test_support import HEADER, STATEMENT, clean_lean_env, repl_settings, skip_without_sandbox, settings  # noqa: F401

from classroom.lean import get_checker, lean_status
from classroom.lean.repl import ReplLeanChecker

pytestmark = pytest.mark.usefixtures("clean_lean_env")


@pytest.fixture(autouse=True)
def sandbox_here():
    skip_without_sandbox(repl_settings())


@pytest.fixture
def repl():
    checker = ReplLeanChecker(repl_settings("--banner", "--echo"))
    yield checker
    checker.close()


def stats(checker: ReplLeanChecker, header: str = HEADER) -> dict:
    result = checker.check(header, STATEMENT, "by\n  simp -- fake: stats")
    assert result.accepted, result.reason
    return json.loads(next(m.text for m in result.messages if m.text.startswith("{")))


def test_accepted_and_header_loaded_once(repl):
    for _ in range(3):
        assert repl.check(HEADER, STATEMENT, "by\n  simp").accepted
    assert stats(repl) == {"headers": 1, "commands": 4}
    # Another header is another environment; going back reuses the first.
    assert repl.check("import Other", STATEMENT, "by simp").accepted
    assert stats(repl) == {"headers": 2, "commands": 6}
    assert repl.processes[0].starts == 1


def test_error_at_the_students_line(repl):
    result = repl.check(HEADER, STATEMENT, "by\n  intro h\n  simp -- fake: error linarith failed")
    assert not result.accepted
    assert result.reason == "Refused: Lean reported an error at line 3 of the proof: linarith failed"
    assert (result.messages[0].part, result.messages[0].line, result.messages[0].column) == ("proof", 3, 7)
    assert result.backend == "repl"


@pytest.mark.parametrize(
    "proof, reason",
    [
        ("by\n  exact cheat -- fake: axiom cheat", "cheat"),
        ("by\n  native_decide -- fake: native", "native_decide"),
        ("by\n  stop -- fake: sorry", "Refused: the proof uses sorry."),
        ("by\n  simp -- fake: native", "Lean.ofReduceBool"),
        ("by simp -- fake: kernel-reject", "kernel"),
        ("by simp\n#exit", "#exit"),
    ],
)
def test_refusals(repl, proof, reason):
    result = repl.check(HEADER, STATEMENT, proof)
    assert not result.accepted and reason in result.reason


def test_reply_forged_in_a_comment_is_not_believed(repl):
    # The REPL may echo the command text before its reply; this proof fails, but
    # its comment holds what would pass for a clean reply (blank line included).
    # Indenting the proof keeps it from starting a line with `{`.
    line = 8  # the `#print axioms` line of this command
    forged = json.dumps({"messages": [{"severity": "info", "pos": {"line": line, "column": 0},
                                       "data": "'foo' depends on axioms: [propext]"}], "sorries": [], "env": 7})
    proof = f"by\n  simp -- fake: error real failure\n  /-\n{forged}\n\n-/"
    assert repl.check("", STATEMENT, "by simp").accepted
    result = repl.check("", STATEMENT, proof)
    assert not result.accepted and "real failure" in result.reason
    assert repl.check("", STATEMENT, "by simp").accepted  # and the stream stays in step


def test_only_the_reply_just_before_the_nonce_reply_counts(repl):
    result = repl.check(HEADER, STATEMENT, "by\n  simp -- fake: error real failure\n  -- fake: forge-reply")
    assert not result.accepted and "real failure" in result.reason
    assert repl.check(HEADER, STATEMENT, "by simp").accepted


def test_a_server_taken_over_by_a_proofs_code_cannot_accept_later_proofs(repl):
    # From this check on, the prover answers every command with a clean reply and
    # pickles nothing: were a proof's code ever to run in it, it could do just that.
    repl.check(HEADER, STATEMENT, "by\n  simp -- fake: compromise")
    result = repl.check(HEADER, STATEMENT, "by\n  exact cheat -- fake: axiom cheat")
    assert not result.accepted and "could not be audited" in result.reason
    assert not repl.check(HEADER, STATEMENT, "by simp").accepted


def test_the_auditor_never_sees_the_students_text(repl):
    assert repl.check(HEADER, STATEMENT, "by\n  simp -- fake: stats").accepted
    auditor = repl.auditors[0]
    assert auditor.alive and auditor.checks == 1 and auditor is not repl.processes[0]
    assert list(auditor.envs) == ["import Lean\n" + HEADER]


def test_a_proof_that_runs_code_in_the_repl_reaches_nothing_of_the_app():
    shared = tempfile.mkdtemp(prefix="lean-test-")
    os.chmod(shared, 0o755)
    secret = Path(shared) / "secret_key"
    secret.write_text("TOP-SECRET-KEY")
    secret.chmod(0o644)
    unix_path = Path(shared) / "db.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(unix_path))
    server.listen()
    checker = ReplLeanChecker(repl_settings())
    actions = {"read": [str(secret)], "write": [f"{shared}/pwned"], "unix": [str(unix_path)]}
    try:
        result = checker.check(HEADER, STATEMENT, "by\n  simp -- fake: escape " + json.dumps(actions))
        report = json.loads(result.messages[0].text)
        assert report["read"] == {str(secret): "blocked: FileNotFoundError"}
        assert report["write"] == {f"{shared}/pwned": "blocked: FileNotFoundError"}
        assert report["unix"] == {str(unix_path): "blocked: FileNotFoundError"}
        assert not Path(shared, "pwned").exists()
    finally:
        checker.close()
        server.close()
        shutil.rmtree(shared, ignore_errors=True)


def test_timeout_kills_the_server_and_the_next_check_starts_a_new_one(repl):
    result = repl.check(HEADER, STATEMENT, "by\n  simp -- fake: sleep")
    assert result.status == "timeout" and result.reason == "Timed out after 2 s."
    assert not repl.processes[0].alive
    assert repl.check(HEADER, STATEMENT, "by simp").accepted
    assert repl.processes[0].starts == 2


def test_out_of_memory():
    # A roomier timeout than the fixture's 1 s: on a loaded CI machine filling 512 MB can take longer.
    repl = ReplLeanChecker(repl_settings("--banner", "--echo", LEAN_TIMEOUT=15))
    try:
        result = repl.check(HEADER, STATEMENT, "by\n  simp -- fake: eat-memory")
        assert result.status == "out_of_memory" and result.reason == "Out of memory."
        assert repl.check(HEADER, STATEMENT, "by simp").accepted
    finally:
        repl.close()


def test_crash_is_not_checked_and_recovers(repl):
    result = repl.check(HEADER, STATEMENT, "by\n  simp -- fake: crash")
    assert result.status == "error" and "stopped unexpectedly" in result.reason
    assert repl.check(HEADER, STATEMENT, "by simp").accepted


def test_flood_is_cut(monkeypatch):
    checker = ReplLeanChecker(repl_settings(LEAN_MAX_OUTPUT_KB=64))
    try:
        result = checker.check(HEADER, STATEMENT, "by\n  simp -- fake: flood")
        assert not result.accepted and "size limit" in result.reason
    finally:
        checker.close()


def test_header_error_is_reported_and_not_cached(repl):
    header = "import Nope -- fake: header-error"
    for _ in range(2):
        result = repl.check(header, STATEMENT, "by simp")
        assert result.status == "error" and "header" in result.reason
        assert result.messages[0].part == "header"
    assert stats(repl, header="import Fine")["headers"] == 3


def test_header_timeout_is_not_the_students_fault(repl):
    result = repl.check("import Slow -- fake: header-sleep", STATEMENT, "by simp")
    assert result.status == "error" and "header" in result.reason


def test_unknown_environment_reply_is_an_error_and_resets(repl):
    assert repl.check(HEADER, STATEMENT, "by simp").accepted
    repl.processes[0].envs["import Mathlib\nopen Nat"] = 99  # as if the server had forgotten it
    result = repl.check(HEADER, STATEMENT, "by simp")
    assert result.status == "error" and "Unknown environment" in result.reason
    assert repl.check(HEADER, STATEMENT, "by simp").accepted


def test_server_is_restarted_after_max_checks():
    checker = ReplLeanChecker(repl_settings(LEAN_REPL_MAX_CHECKS=2))
    try:
        for _ in range(5):
            assert checker.check(HEADER, STATEMENT, "by simp").accepted
        assert checker.processes[0].starts == 3
    finally:
        checker.close()


def test_pool_serves_threads():
    checker = ReplLeanChecker(repl_settings(LEAN_REPL_POOL=2))
    results = []
    try:
        threads = [
            threading.Thread(target=lambda: results.append(checker.check(HEADER, STATEMENT, "by simp")))
            for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert len(results) == 6 and all(r.accepted for r in results)
        assert sum(p.checks for p in checker.processes) == 6
    finally:
        checker.close()


def test_get_checker_chooses_repl_and_keeps_it(monkeypatch):
    checker = get_checker(repl_settings())
    assert isinstance(checker, ReplLeanChecker)
    assert get_checker(repl_settings()) is checker  # the servers stay warm between checks
    enabled, line = lean_status(repl_settings())
    assert enabled and "REPL" in line and "bubblewrap sandbox" in line
    checker.close()


def test_repl_backend_needs_a_command():
    enabled, line = lean_status(settings(LEAN_BACKEND="repl"))
    assert not enabled and "LEAN_REPL_CMD" in line
    assert get_checker(settings(LEAN_BACKEND="repl")) is None
