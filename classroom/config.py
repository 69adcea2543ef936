"""Settings, read once from the environment when the app is created.

Every variable here is listed in the README's configuration table.
"""
from __future__ import annotations

import math
import os
import secrets
import shlex
from pathlib import Path
from typing import Any, Mapping

from .lean.settings import SANDBOX_KINDS, LeanSettings


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from exc


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be a number, got {raw!r}") from exc


def _secret_key(instance_dir: Path) -> str:
    """A stable secret: from SECRET_KEY, else one generated once and kept in instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def load_config(instance_dir: Path) -> dict:
    instance_dir = Path(os.environ.get("CLASSROOM_INSTANCE_DIR", instance_dir))
    default_db = f"sqlite:///{instance_dir / 'classroom.sqlite3'}"
    return {
        "SECRET_KEY": _secret_key(instance_dir),
        "INSTANCE_DIR": str(instance_dir),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or default_db,
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "HUEY_SQLITE_PATH": os.environ.get("HUEY_SQLITE_PATH") or str(instance_dir / "jobs.sqlite3"),
        "CLASSROOM_TIMEZONE": os.environ.get("CLASSROOM_TIMEZONE", "UTC"),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 2 * 1024 * 1024),
        # Grader model (any OpenAI-compatible endpoint); unset GRADER_MODEL = no model.
        "OPENAI_BASE_URL": os.environ.get("OPENAI_BASE_URL") or None,
        "OPENAI_API_KEY": os.environ.get("OPENAI_API_KEY") or None,
        "GRADER_MODEL": os.environ.get("GRADER_MODEL") or None,
        "GRADER_TIMEOUT": _float("GRADER_TIMEOUT", 60.0),
        "GRADER_MAX_ATTEMPTS": _int("GRADER_MAX_ATTEMPTS", 4),
        "GRADER_BACKOFF_BASE": _float("GRADER_BACKOFF_BASE", 1.0),
        # Lean (optional): the raw LEAN_* values; create_app turns them into app.config["LEAN"]
        # with lean_settings() once overrides are applied, so a bad value stops the start-up.
        **{name: os.environ.get(name) for name in LEAN_VARIABLES},
        "LEAN_TOOL_ENV": tuple((name, os.environ[name]) for name in LEAN_TOOL_VARIABLES if os.environ.get(name)),
        # A job whose worker died is taken up again after this many seconds.
        "JOB_LEASE_SECONDS": _int("JOB_LEASE_SECONDS", 300),
        # How often each worker looks for such jobs (and for queue messages that were lost).
        "JOB_RECOVERY_SECONDS": _float("JOB_RECOVERY_SECONDS", 60.0),
        # The queue's name in Redis, so several installations can share one Redis.
        "JOB_QUEUE_NAME": os.environ.get("JOB_QUEUE_NAME") or "classroom",
        # Proxies in front of the app that set X-Forwarded-For/-Proto (0 = none: the headers are ignored,
        # so nobody can fake their address to dodge the per-address login limit).
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "").lower() in ("1", "true", "yes"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": _int("CSRF_TIME_LIMIT_SECONDS", 8 * 3600),
    }


# ---------------------------------------------------------------- Lean

LEAN_VARIABLES = (
    "LEAN_CMD", "LEAN_PROJECT_DIR", "LEAN_LAKE_CMD", "LEAN_TIMEOUT", "LEAN_MEMORY_MB", "LEAN_CPU_SECONDS",
    "LEAN_MAX_PROCESSES", "LEAN_MAX_FILE_MB", "LEAN_MAX_OUTPUT_KB", "LEAN_ISOLATE_NETWORK", "LEAN_BACKEND",
    "LEAN_REPL_CMD", "LEAN_REPL_POOL", "LEAN_REPL_MAX_CHECKS", "LEAN_SANDBOX", "LEAN_SANDBOX_USER",
    "LEAN_BWRAP_CMD", "LEAN_SANDBOX_PATHS",
)
# What Lean's own tools need from the environment (passed into the sandbox, nothing else is).
LEAN_TOOL_VARIABLES = ("PATH", "HOME", "ELAN_HOME", "LEAN_PATH", "LEAN_SYSROOT", "LEAN_SRC_PATH", "ELAN_TOOLCHAIN",
                       "LAKE_HOME")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class LeanConfigError(RuntimeError):
    """A LEAN_* variable has a value that cannot be used; the message names it."""


def _lean_raw(config: Mapping[str, Any], name: str) -> Any:
    value = config.get(name)
    if isinstance(value, str):
        value = value.strip()
    return None if value in (None, "") else value


def _lean_number(config: Mapping[str, Any], name: str, default: float, *, whole: bool = False,
                 minimum: float = 0, above: bool = False) -> Any:
    value = _lean_raw(config, name)
    if value is None:
        return default
    what = "a whole number" if whole else "a number"
    bound = f"greater than {minimum:g}" if above else f"at least {minimum:g}"
    try:
        number = float(value)
        if whole and number != int(number):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise LeanConfigError(f"{name} must be {what} {bound}, got {value!r}") from None
    if not math.isfinite(number) or number < minimum or (above and number == minimum):
        raise LeanConfigError(f"{name} must be {what} {bound}, got {value!r}")
    return int(number) if whole else number


def _lean_argv(config: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    value = _lean_raw(config, name)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value) or None
    try:
        return tuple(shlex.split(str(value))) or None
    except ValueError as exc:
        raise LeanConfigError(f"{name} is not a valid command line ({exc}): {value!r}") from None


def _lean_choice(config: Mapping[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = str(_lean_raw(config, name) or default).lower()
    if value not in choices:
        raise LeanConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _lean_flag(config: Mapping[str, Any], name: str, default: bool) -> bool:
    value = _lean_raw(config, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in _TRUE + _FALSE:
        raise LeanConfigError(f"{name} must be 1 or 0 (or true/false, yes/no, on/off), got {value!r}")
    return text in _TRUE


def _lean_paths(config: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = _lean_raw(config, name)
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(os.pathsep)
    paths = tuple(str(p).strip() for p in items if str(p).strip())
    for path in paths:
        if not os.path.isabs(path):
            raise LeanConfigError(f"{name} must list absolute paths separated by '{os.pathsep}', got {path!r}")
    return paths


def _private_paths(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The app's secrets on disk, which the Lean sandbox must never show: the instance
    directory (secret key), the SQLite database and the job queue's database."""
    paths = [config.get("INSTANCE_DIR"), config.get("HUEY_SQLITE_PATH")]
    url = str(config.get("DATABASE_URL") or "")
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        paths.append(url[len("sqlite:///"):].split("?")[0])
    return tuple(str(p) for p in paths if p)


def lean_settings(config: Mapping[str, Any]) -> LeanSettings:
    """Every LEAN_* setting from the app's config (read from the environment by load_config),
    validated. Raises LeanConfigError naming the variable."""
    cpu = _lean_raw(config, "LEAN_CPU_SECONDS")
    project = _lean_raw(config, "LEAN_PROJECT_DIR")
    user = _lean_raw(config, "LEAN_SANDBOX_USER")
    bwrap = _lean_raw(config, "LEAN_BWRAP_CMD")
    return LeanSettings(
        cmd=_lean_argv(config, "LEAN_CMD"),
        project_dir=str(project) if project else None,
        timeout=_lean_number(config, "LEAN_TIMEOUT", 60.0, above=True),
        backend=_lean_choice(config, "LEAN_BACKEND", ("local", "repl"), "local"),
        repl_cmd=_lean_argv(config, "LEAN_REPL_CMD"),
        memory_mb=_lean_number(config, "LEAN_MEMORY_MB", 4096, whole=True),
        cpu_seconds=_lean_number(config, "LEAN_CPU_SECONDS", 0.0) if cpu is not None else None,
        max_processes=_lean_number(config, "LEAN_MAX_PROCESSES", 512, whole=True),
        max_file_mb=_lean_number(config, "LEAN_MAX_FILE_MB", 64, whole=True, minimum=1),
        max_output_kb=_lean_number(config, "LEAN_MAX_OUTPUT_KB", 1024, whole=True, minimum=1),
        isolate_network=_lean_flag(config, "LEAN_ISOLATE_NETWORK", True),
        lake_cmd=_lean_argv(config, "LEAN_LAKE_CMD"),
        repl_pool=_lean_number(config, "LEAN_REPL_POOL", 1, whole=True, minimum=1),
        repl_max_checks=_lean_number(config, "LEAN_REPL_MAX_CHECKS", 200, whole=True, minimum=1),
        sandbox=_lean_choice(config, "LEAN_SANDBOX", SANDBOX_KINDS, SANDBOX_KINDS[0]),
        sandbox_user=str(user) if user is not None else None,
        bwrap_cmd=str(bwrap) if bwrap is not None else None,
        sandbox_paths=_lean_paths(config, "LEAN_SANDBOX_PATHS"),
        private_paths=_private_paths(config),
        tool_env=tuple(config.get("LEAN_TOOL_ENV") or ()),
    )
