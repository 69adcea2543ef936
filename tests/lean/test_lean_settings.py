"""Every LEAN_* setting is read once by classroom/config.py, validated, with errors naming the variable."""
from __future__ import annotations

from pathlib import Path

import pytest

from classroom import create_app
from classroom.config import LEAN_VARIABLES, LeanConfigError, lean_settings, load_config
from classroom.lean.settings import LeanSettings

LEAN_PACKAGE = Path(__file__).resolve().parents[2] / "classroom" / "lean"


def test_defaults():
    lean = lean_settings({})
    assert (lean.cmd, lean.timeout, lean.memory_mb, lean.backend) == (None, 60.0, 4096, "local")
    assert (lean.sandbox, lean.sandbox_user, lean.isolate_network) == ("bubblewrap", None, True)
    assert lean.lean_argv() == ("lean",)
    assert lean.limits().cpu_seconds == 120.0


def test_values_are_parsed():
    lean = lean_settings({"LEAN_CMD": "/opt/lean --threads 1", "LEAN_TIMEOUT": "12", "LEAN_MEMORY_MB": 2048,
                          "LEAN_ISOLATE_NETWORK": "off", "LEAN_SANDBOX": "None", "LEAN_SANDBOX_USER": "classroom-lean",
                          "LEAN_SANDBOX_PATHS": "/opt/elan:/opt/mathlib", "LEAN_PROJECT_DIR": "  ",
                          "LEAN_REPL_POOL": "3"})
    assert lean.cmd == ("/opt/lean", "--threads", "1")
    assert lean.timeout == 12.0 and lean.memory_mb == 2048 and lean.limits().cpu_seconds == 24.0
    assert lean.isolate_network is False and lean.sandbox == "none" and lean.sandbox_user == "classroom-lean"
    assert lean.sandbox_paths == ("/opt/elan", "/opt/mathlib") and lean.project_dir is None and lean.repl_pool == 3


@pytest.mark.parametrize(
    "name, value",
    [
        ("LEAN_TIMEOUT", "soon"), ("LEAN_TIMEOUT", "0"), ("LEAN_TIMEOUT", "-5"), ("LEAN_TIMEOUT", "nan"),
        ("LEAN_MEMORY_MB", "4GB"), ("LEAN_MEMORY_MB", "1.5"), ("LEAN_CPU_SECONDS", "-1"),
        ("LEAN_MAX_PROCESSES", "many"), ("LEAN_MAX_FILE_MB", "0"), ("LEAN_MAX_OUTPUT_KB", "x"),
        ("LEAN_REPL_POOL", "0"), ("LEAN_REPL_MAX_CHECKS", "1e999"), ("LEAN_ISOLATE_NETWORK", "maybe"),
        ("LEAN_BACKEND", "cloud"), ("LEAN_SANDBOX", "docker"), ("LEAN_CMD", 'lean "unclosed'),
        ("LEAN_REPL_CMD", "repl 'x"), ("LEAN_SANDBOX_PATHS", "relative/path"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(name, value):
    with pytest.raises(LeanConfigError) as caught:
        lean_settings({name: value})
    assert str(caught.value).startswith(name + " ") and repr(value) in str(caught.value)


def test_the_environment_is_read_once_at_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("LEAN_TIMEOUT", "12")
    monkeypatch.setenv("LEAN_SANDBOX_USER", "classroom-lean")
    monkeypatch.setenv("ELAN_HOME", "/opt/elan")
    monkeypatch.setenv("CLASSROOM_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config(tmp_path)
    assert set(LEAN_VARIABLES) <= set(config)
    lean = lean_settings(config)
    assert lean.timeout == 12.0 and lean.sandbox_user == "classroom-lean"
    assert lean.env["ELAN_HOME"] == "/opt/elan" and "SECRET_KEY" not in lean.env
    # The app's secrets are what the sandbox must never mount.
    assert str(tmp_path) in lean.private_paths and str(tmp_path / "classroom.sqlite3") in lean.private_paths
    monkeypatch.setenv("LEAN_TIMEOUT", "99")  # a later change of the environment changes nothing
    assert lean_settings(config).timeout == 12.0


def test_the_app_will_not_start_with_a_bad_value(monkeypatch, tmp_path):
    monkeypatch.setenv("LEAN_MEMORY_MB", "lots")
    monkeypatch.setenv("CLASSROOM_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(LeanConfigError, match="LEAN_MEMORY_MB must be a whole number"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k"})


def test_the_app_keeps_one_settings_value(monkeypatch, tmp_path):
    monkeypatch.setenv("CLASSROOM_INSTANCE_DIR", str(tmp_path))
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "SECRET_KEY": "k", "LEAN_TIMEOUT": "7"})
    assert isinstance(app.config["LEAN"], LeanSettings) and app.config["LEAN"].timeout == 7.0
    app.extensions["db_engine"].dispose()


def test_the_lean_package_never_reads_the_environment():
    for path in LEAN_PACKAGE.glob("*.py"):
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path.name
