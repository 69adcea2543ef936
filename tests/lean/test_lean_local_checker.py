"""LocalLeanChecker end to end, with tests/lean/fake_lean.py standing in for `lean --json`.

Every check here runs the fake inside the real bubblewrap sandbox, twice (compile,
then audit), as the app would.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from lean_test_support import (  # noqa: F401
    FAKE_LAKE,
    FAKE_LEAN,
    HEADER,
    HERE,
    PYTHON,
    STATEMENT,
    clean_lean_env,
    fake_cmd,
    local_settings,
    skip_without_sandbox,
    settings,
    tool_env,
)

from classroom.lean import LeanResult, get_checker, lean_status
from classroom.lean.checker import HOW_TO_TURN_ON
from classroom.lean.local import LocalLeanChecker, read_compiled

pytestmark = pytest.mark.usefixtures("clean_lean_env")


@pytest.fixture(autouse=True)
def sandbox_here():
    skip_without_sandbox(local_settings())


@pytest.fixture
def shared_dir():
    """A directory any user may enter (pytest's own tmp_path is 0700 root's), so that what
    the sandbox blocks is blocked by the sandbox, not by file permissions."""
    path = tempfile.mkdtemp(prefix="lean-test-")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def check(proof: str, **values) -> LeanResult:
    checker = get_checker(local_settings(**values))
    assert isinstance(checker, LocalLeanChecker), lean_status(local_settings(**values))
    return checker.check(HEADER, STATEMENT, proof)


def test_accepted_proof():
    result = check("by\n  simp")
    assert result.accepted and result.status == "accepted"
    assert result.reason == "Accepted: Lean checked the proof."
    assert result.axioms == ["propext"]
    assert result.backend == "local" and result.duration_ms >= 0
    assert result.sandbox.startswith("bubblewrap sandbox as user nobody")


def test_error_is_shown_at_the_students_line():
    result = check("by\n  intro h\n  simp -- fake: error unsolved goals")
    assert not result.accepted and result.status == "refused"
    assert result.reason == "Refused: Lean reported an error at line 3 of the proof: unsolved goals"
    (message,) = result.messages
    assert (message.part, message.line, message.column, message.severity) == ("proof", 3, 7, "error")


def test_added_axiom_is_refused_and_named_by_the_audit():
    result = check("by\n  exact cheat _ -- fake: axiom cheat")
    assert not result.accepted
    assert result.axioms == ["propext", "cheat"]
    assert "cheat" in result.reason


def test_compiler_trust_found_by_the_audit_is_refused_with_the_reason():
    # A proof that gets Lean.ofReduceBool in without naming it (the fake's `native`).
    result = check("by\n  simp -- fake: native")
    assert not result.accepted and "native_decide" in result.reason and "Lean.ofReduceBool" in result.reason


@pytest.mark.parametrize(
    "proof, word",
    [
        ("by native_decide -- fake: crash", "native_decide"),
        ("by decide +native -- fake: crash", "native"),
        ("by\n  exact Lean.ofReduceBool _ _ rfl -- fake: crash", "ofReduceBool"),
        ("by\n  exact (Lean.trustCompiler) -- fake: crash", "trustCompiler"),
        ("by\n  have : (IO.println \"x\" : IO Unit) = pure () := rfl -- fake: crash", "IO"),
        ("by plausible -- fake: crash", "plausible"),
    ],
)
def test_native_evaluation_is_refused_before_lean_runs(proof, word):
    # Were Lean run, the fake would crash (status "error"); it must not be reached.
    result = check(proof)
    assert not result.accepted and result.status == "refused"
    assert f"`{word}`" in result.reason and "run code" in result.reason


def test_sorry_reported_by_lean_is_refused():
    result = check("by\n  stop -- fake: sorry")
    assert not result.accepted and result.reason == "Refused: the proof uses sorry."


def test_extra_commands_are_refused_without_running_lean():
    # Were Lean run, the fake would crash (status "error"); it must not be reached.
    result = check("by simp -- fake: crash\n\ntheorem bar : False := by simp")
    assert not result.accepted and result.status == "refused"
    assert "`theorem` (line 3)" in result.reason
    assert result.messages[0].line == 3


# ---------------------------------------------------------------- forgeries


def test_printed_verdict_and_exit_0_are_not_believed():
    # Code running inside Lean prints a clean `#print axioms` answer at the real line,
    # something shaped like an audit verdict, and exits 0 before Lean says more.
    result = check("by\n  exact cheat _ -- fake: axiom cheat\n  -- fake: forge-verdict")
    assert not result.accepted and result.status == "refused"
    assert "could not be audited" in result.reason


def test_a_compiled_proof_the_kernel_rejects_is_refused():
    result = check("by\n  simp -- fake: kernel-reject")
    assert not result.accepted and result.status == "refused" and "kernel" in result.reason


def test_a_compiled_file_that_is_a_link_is_not_followed(shared_dir):
    secret = shared_dir / "secret_key"
    secret.write_text("TOP-SECRET-KEY")
    secret.chmod(0o644)
    result = check(f"by\n  simp -- fake: link-olean {secret}")
    assert not result.accepted and "could not be audited" in result.reason
    assert "TOP-SECRET-KEY" not in json.dumps(result.to_dict())


def test_read_compiled_takes_only_a_regular_file(tmp_path):
    (tmp_path / "ok.olean").write_bytes(b"olean")
    (tmp_path / "link.olean").symlink_to(tmp_path / "ok.olean")
    (tmp_path / "dir.olean").mkdir()
    assert read_compiled(str(tmp_path / "ok.olean"), 100) == b"olean"
    assert read_compiled(str(tmp_path / "ok.olean"), 3) is None  # over the size limit
    assert read_compiled(str(tmp_path / "link.olean"), 100) is None
    assert read_compiled(str(tmp_path / "dir.olean"), 100) is None
    assert read_compiled(str(tmp_path / "missing.olean"), 100) is None


# ---------------------------------------------------------------- the sandbox


def test_a_proof_that_runs_code_reaches_nothing_of_the_app(shared_dir):
    instance = shared_dir / "instance"
    instance.mkdir(mode=0o755)
    (instance / "secret_key").write_text("TOP-SECRET-KEY")
    (instance / "classroom.sqlite3").write_text("SQLite format 3")
    for item in instance.iterdir():
        item.chmod(0o644)
    unix_path = shared_dir / "db.sock"
    unix_server = __import__("socket").socket(__import__("socket").AF_UNIX)
    unix_server.bind(str(unix_path))
    unix_path.chmod(0o777)
    unix_server.listen()
    tcp_server = __import__("socket").create_server(("127.0.0.1", 0))
    outside, in_toolchain = shared_dir / "pwned.txt", HERE / "pwned.txt"
    actions = {
        "read": [str(instance / "secret_key"), str(instance / "classroom.sqlite3"), "/etc/shadow", "/root/.bashrc"],
        "write": [str(outside), str(in_toolchain), "/usr/pwned.txt"],
        "unix": [str(unix_path)],
        "tcp": [tcp_server.getsockname()[1]],
    }
    try:
        result = check("by\n  simp -- fake: escape " + json.dumps(actions))
    finally:
        unix_server.close()
        tcp_server.close()
    report = json.loads(result.messages[0].text)
    assert all(v.startswith("blocked") for v in report["read"].values()), report["read"]
    assert all(v.startswith("blocked") for v in report["write"].values()), report["write"]
    assert not outside.exists() and not in_toolchain.exists() and not Path("/usr/pwned.txt").exists()
    assert report["unix"] == {str(unix_path): "blocked: FileNotFoundError"}
    assert list(report["tcp"].values())[0].startswith("blocked")


def test_lean_runs_as_its_own_unprivileged_user(shared_dir):
    """What Lean writes is owned, on the host, by the sandbox's user (nobody), not by the worker."""
    from classroom.lean.sandbox import Mounts, clean_env, run_limited
    from classroom.lean.toolchain import make_jail

    lean_settings = local_settings()
    jail = make_jail(lean_settings)
    scratch = shared_dir / "scratch"
    scratch.mkdir()
    jail.own(str(scratch))
    run = run_limited(["/usr/bin/touch", str(scratch / "made-by-lean")], limits=lean_settings.limits(),
                      cwd=str(scratch), env=clean_env(str(scratch), lean_settings.env), jail=jail,
                      mounts=Mounts(writable=(str(scratch),)))
    assert run.returncode == 0, run.stderr
    owner = (scratch / "made-by-lean").stat()
    if os.geteuid() == 0:
        import pwd

        assert (owner.st_uid, owner.st_gid) == (pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    else:
        assert owner.st_uid == os.geteuid()  # a worker that is not root cannot switch (docs/lean.md)


def test_lean_runs_with_a_clean_env_private_dir_and_limits(monkeypatch):
    result = check("by\n  simp -- fake: probe", LEAN_MEMORY_MB=777, LEAN_TIMEOUT=3,
                   LEAN_TOOL_ENV=tool_env(SECRET_KEY="do-not-leak"))
    probe = json.loads(result.messages[0].text)
    assert "SECRET_KEY" not in probe["env"]
    assert probe["env"]["HOME"] == probe["cwd"]
    assert Path(probe["cwd"]).name.startswith("lean-check-")
    assert not Path(probe["cwd"]).exists(), "the scratch directory is removed after the check"
    assert probe["limits"]["RLIMIT_AS"] == [777 * 2**20] * 2
    assert probe["limits"]["RLIMIT_CPU"][0] == 6  # default: twice the timeout
    assert probe["interfaces"] == ["lo"] and probe["network"].startswith("blocked")


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


def test_lake_projects_search_path_reaches_lean(shared_dir):
    (shared_dir / "lakefile.toml").write_text('name = "proj"\n')
    (shared_dir / ".lake/build/lib").mkdir(parents=True)
    result = check("by\n  simp -- fake: probe", LEAN_PROJECT_DIR=str(shared_dir), LEAN_LAKE_CMD=fake_cmd(FAKE_LAKE))
    assert result.accepted, result.reason
    probe = json.loads(result.messages[0].text)
    assert probe["env"]["LEAN_PATH"] == str(shared_dir / ".lake/build/lib")


def test_lake_env_in_the_repl_command_is_dropped():
    values = {"LEAN_BACKEND": "repl", "LEAN_REPL_CMD": "lake env /opt/repl/.lake/build/bin/repl --x"}
    assert settings(**values).repl_argv() == ("/opt/repl/.lake/build/bin/repl", "--x")
    assert settings(LEAN_REPL_CMD="/opt/repl/bin/repl").repl_argv() == ("/opt/repl/bin/repl",)


def test_bad_statement_is_not_checked():
    checker = get_checker(local_settings())
    result = checker.check(HEADER, "example : True", "trivial")
    assert not result.accepted and result.status == "error" and result.reason.startswith("Not checked:")


# ---------------------------------------------------------------- status and availability


def test_off_without_lean(tmp_path):
    lonely = settings(LEAN_TOOL_ENV=(("PATH", str(tmp_path)),))  # no `lean` anywhere
    assert get_checker(lonely) is None
    assert lean_status(lonely) == (False, HOW_TO_TURN_ON)
    assert HOW_TO_TURN_ON == "Lean checking is off: install Lean 4 (elan) and set LEAN_CMD or put `lean` on PATH."


def test_off_when_lean_cmd_is_missing_or_project_dir_is_wrong(tmp_path):
    enabled, line = lean_status(settings(LEAN_CMD="/nonexistent/lean"))
    assert not enabled and "/nonexistent/lean" in line
    assert get_checker(settings(LEAN_CMD="/nonexistent/lean")) is None
    enabled, line = lean_status(local_settings(LEAN_PROJECT_DIR=str(tmp_path / "nope"), LEAN_LAKE_CMD="true"))
    assert not enabled and "LEAN_PROJECT_DIR" in line


def test_on_says_what_is_used_and_how_it_is_confined():
    enabled, line = lean_status(local_settings())
    assert enabled and line.startswith("Lean checking is on:") and "fake_lean.py" in line and "timeout 5 s" in line
    assert "bubblewrap sandbox as user nobody (uid 65534), no network" in line


def test_lean_on_path_is_found(shared_dir):
    lean = shared_dir / "lean"
    lean.write_text(f"#!/bin/sh\nexec {PYTHON} {FAKE_LEAN} \"$@\"\n")
    lean.chmod(0o755)
    found = settings(LEAN_TIMEOUT=5, LEAN_SANDBOX_PATHS=str(HERE),
                     LEAN_TOOL_ENV=tool_env(PATH=f"{shared_dir}{os.pathsep}{os.environ['PATH']}"))
    checker = get_checker(found)
    assert checker is not None, lean_status(found)
    assert checker.check(HEADER, STATEMENT, "by simp").accepted
