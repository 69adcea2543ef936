"""When the sandbox cannot be used, Lean checking refuses to run (LEAN_SANDBOX=bubblewrap, the
default) or runs with a loud warning wherever its status is shown (LEAN_SANDBOX=none)."""
from __future__ import annotations

import pytest
from lean_test_support import HERE, HEADER, STATEMENT, clean_lean_env, local_settings  # noqa: F401

from classroom.lean import get_checker, lean_status
from classroom.lean.bubblewrap import check_private_paths, resolve_user

pytestmark = pytest.mark.usefixtures("clean_lean_env")


@pytest.mark.parametrize(
    "values, words",
    [
        ({"LEAN_BWRAP_CMD": "/nonexistent/bwrap"}, "bubblewrap (`bwrap`) is not installed"),
        ({"LEAN_SANDBOX_USER": "no-such-user-here"}, "LEAN_SANDBOX_USER names no user"),
        ({"LEAN_SANDBOX_USER": "root"}, "must not be root"),
        ({"LEAN_SANDBOX_USER": "0"}, "must not be root"),
        ({"LEAN_SANDBOX_PATHS": "/nonexistent-toolchain-dir"}, None),  # a missing extra path is skipped
    ],
)
def test_without_a_usable_sandbox_lean_checking_is_off_and_says_why(values, words):
    lean = local_settings(**values)
    enabled, line = lean_status(lean)
    if words is None:
        assert enabled, line
        return
    assert not enabled and line.startswith("Lean checking is off: the sandbox cannot run here:") and words in line
    assert "LEAN_SANDBOX=none" in line
    assert get_checker(lean) is None


def test_a_mount_holding_the_apps_secrets_turns_lean_off(tmp_path):
    instance = HERE / "instance-for-test"  # as if the instance directory were inside the toolchain
    lean = local_settings(INSTANCE_DIR=str(instance))
    enabled, line = lean_status(lean)
    assert not enabled and "holds the app's private" in line and str(instance) in line
    assert check_private_paths(["/usr"], ["/usr/local/classroom/instance"])
    assert check_private_paths(["/opt/app/instance/lean"], ["/opt/app/instance"])
    assert check_private_paths(["/opt/lean"], ["/srv/classroom/instance"]) is None


def test_no_sandbox_is_loud():
    lean = local_settings(LEAN_SANDBOX="none")
    enabled, line = lean_status(lean)
    assert enabled and line.startswith("Warning: Lean checking is on:") and "NO SANDBOX (LEAN_SANDBOX=none)" in line
    result = get_checker(lean).check(HEADER, STATEMENT, "by simp")
    assert result.accepted and result.sandbox.startswith("NO SANDBOX") and result.to_dict()["sandbox"] == result.sandbox


def test_the_sandbox_user_defaults_to_nobody_for_root_and_to_itself_otherwise(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    user, problem = resolve_user(None)
    assert problem is None and user.name == "nobody" and user.switch
    monkeypatch.setattr("os.geteuid", lambda: 65534)
    user, problem = resolve_user(None)
    assert problem is None and user.uid == 65534 and not user.switch
