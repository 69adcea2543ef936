"""Settings, read once from the environment when the app is created.

Every variable here is listed in the README's configuration table.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


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
        # Lean (optional).
        "LEAN_CMD": os.environ.get("LEAN_CMD") or None,
        "LEAN_PROJECT_DIR": os.environ.get("LEAN_PROJECT_DIR") or None,
        "LEAN_TIMEOUT": _float("LEAN_TIMEOUT", 60.0),
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
