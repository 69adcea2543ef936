"""Settings, read once from the environment when the app is created, and checked there.

Every variable here is listed in the README's configuration table. A value that cannot be
used stops the start with ConfigError, whose message names the variable and says what it
must be; nothing else in the package reads the environment.
"""
from __future__ import annotations

import math
import os
import re
import secrets
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .lean.settings import SANDBOX_KINDS, LeanSettings
from .mail import SECURITY_KINDS, MailSettings

if TYPE_CHECKING:  # the client module imports openai; load it only where a model is used
    from .llm.client import ModelSettings


class ConfigError(RuntimeError):
    """A setting's value cannot be used; the message names the variable and what it must be."""


def _raw(name: str) -> Optional[str]:
    raw = os.environ.get(name)
    return None if raw is None or raw.strip() == "" else raw.strip()


def _text(name: str, default: Optional[str] = None) -> Optional[str]:
    return _raw(name) or default


def _int(name: str, default: int, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        bounds = (f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}")
        raise ConfigError(f"{name} must be a whole number {bounds}, got {raw!r}")
    return value


def _niceness(name: str, default: Union[int, str]) -> Union[int, str]:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() == "idle":
        return "idle"
    if not raw.isdigit() or int(raw) > 19:
        raise ConfigError(f"{name} must be idle or a whole number from 0 to 19, got {raw!r}")
    return int(raw)


def _float(name: str, default: float, minimum: Optional[float] = None, above: Optional[float] = None) -> float:
    """A number; `minimum` allows the bound itself, `above` does not."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    if above is not None and value <= above:
        raise ConfigError(f"{name} must be more than {above:g}, got {raw!r}")
    return value


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _bool(name: str, default: bool) -> bool:
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (or true/false, yes/no), got {raw!r}")


def _url(name: str, schemes: tuple[str, ...], example: str) -> Optional[str]:
    raw = _raw(name)
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme.lower() not in schemes or not (parts.netloc or parts.path.strip("/")):
        raise ConfigError(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)} "
                          f"(for example {example}), got {raw!r}")
    return raw


def _database_url(default: str) -> str:
    raw = _raw("DATABASE_URL")
    if raw is None:
        return default
    scheme = raw.split(":", 1)[0].lower()
    if not (scheme.startswith("sqlite") or scheme.startswith("postgres")) or "://" not in raw:
        raise ConfigError("DATABASE_URL must be a SQLAlchemy URL for SQLite or PostgreSQL, for example "
                          f"sqlite:///instance/classroom.sqlite3 or postgresql://user@host/db, got {raw!r}")
    return raw


def _timezone() -> str:
    name = _raw("CLASSROOM_TIMEZONE") or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CLASSROOM_TIMEZONE must be a time zone name such as Europe/Berlin or "
                          f"America/New_York, got {name!r}") from None
    return name


def _queue_name() -> str:
    name = _raw("JOB_QUEUE_NAME") or "classroom"
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", name):
        raise ConfigError(f"JOB_QUEUE_NAME may use letters, digits and _ . : - (at most 100), got {name!r}")
    return name


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
        "DATABASE_URL": _database_url(default_db),
        "REDIS_URL": _url("REDIS_URL", ("redis", "rediss", "unix"), "redis://127.0.0.1:6379/0"),
        "HUEY_SQLITE_PATH": _text("HUEY_SQLITE_PATH") or str(instance_dir / "jobs.sqlite3"),
        "CLASSROOM_TIMEZONE": _timezone(),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", 2 * 1024 * 1024, minimum=1024),
        # Model endpoint (any OpenAI-compatible chat-completions API); unset GRADER_MODEL = no model.
        "OPENAI_BASE_URL": _url("OPENAI_BASE_URL", ("http", "https"), "http://localhost:11434/v1"),
        "OPENAI_API_KEY": _text("OPENAI_API_KEY"),
        "GRADER_MODEL": _text("GRADER_MODEL"),
        # The model that plays a flawed solution's author in teach mode (unset: GRADER_MODEL's model).
        "TUTEE_MODEL": _text("TUTEE_MODEL"),
        # Teach mode's limits: tutee tokens one course may spend (0 = no limit) and messages one student
        # may send per hour.
        "TUTEE_COURSE_TOKEN_BUDGET": _int("TUTEE_COURSE_TOKEN_BUDGET", 2_000_000, minimum=0),
        "TUTEE_MESSAGES_PER_HOUR": _int("TUTEE_MESSAGES_PER_HOUR", 60, minimum=1, maximum=10_000),
        # The model that solves in the AI lab and run-benchmark; unset = GRADER_MODEL.
        "SOLVER_MODEL": _text("SOLVER_MODEL"),
        "GRADER_TIMEOUT": _float("GRADER_TIMEOUT", 60.0, above=0),
        "GRADER_MAX_ATTEMPTS": _int("GRADER_MAX_ATTEMPTS", 4, minimum=1, maximum=20),
        "GRADER_BACKOFF_BASE": _float("GRADER_BACKOFF_BASE", 1.0, minimum=0),
        # How many of the instructor's latest corrections on a problem the grader sees as worked examples
        # (0 = none): each makes every later prompt of that problem longer.
        "GRADER_CALIBRATION_EXAMPLES": _int("GRADER_CALIBRATION_EXAMPLES", 3, minimum=0, maximum=20),
        # Lean (optional): the raw LEAN_* values; create_app turns them into app.config["LEAN"]
        # with lean_settings() once overrides are applied, so a bad value stops the start-up.
        **{name: os.environ.get(name) for name in LEAN_VARIABLES},
        "LEAN_TOOL_ENV": tuple((name, os.environ[name]) for name in LEAN_TOOL_VARIABLES if os.environ.get(name)),
        # Grading jobs one worker process runs at once (threads; a job mostly waits for the model).
        "WORKER_CONCURRENCY": _int("WORKER_CONCURRENCY", 8, minimum=1, maximum=64),
        # How much a grading worker lowers its own CPU priority: on a machine it shares with the web server,
        # requests (people waiting) come first and grading catches up after a rush. 0-19: a nice value;
        # "idle" (Linux's SCHED_IDLE): only CPU time nothing else wants, so a server kept busy all the time
        # would leave grading waiting.
        "WORKER_NICENESS": _niceness("WORKER_NICENESS", 10),
        # A job whose worker died is taken up again after this many seconds.
        "JOB_LEASE_SECONDS": _int("JOB_LEASE_SECONDS", 300, minimum=1),
        # How often each worker looks for such jobs (and for queue messages that were lost).
        "JOB_RECOVERY_SECONDS": _float("JOB_RECOVERY_SECONDS", 60.0, above=0),
        # The queue's name in Redis, so several installations can share one Redis.
        "JOB_QUEUE_NAME": _queue_name(),
        # Proxies in front of the app that set X-Forwarded-For/-Proto (0 = none: the headers are ignored,
        # so nobody can fake their address to dodge the per-address login limit).
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0, minimum=0, maximum=10),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": _int("CSRF_TIME_LIMIT_SECONDS", 8 * 3600, minimum=60),
        # Accounts: where links in e-mails and invitation lists point, and how long those links last.
        "PUBLIC_URL": _url("PUBLIC_URL", ("http", "https"), "https://classroom.school.edu"),
        # LTI 1.3: the tool's RSA private key (PEM), generated on first use and kept like the secret key;
        # unset, create_app puts it in the instance directory as lti_private_key.pem.
        "LTI_PRIVATE_KEY_FILE": _text("LTI_PRIVATE_KEY_FILE"),
        # Grades back to the LMS: tries per score while the LMS fails (5xx, 429, unreachable), waiting this
        # many seconds after the first failure and twice as long after each further one.
        "LTI_SCORE_ATTEMPTS": _int("LTI_SCORE_ATTEMPTS", 5, minimum=1, maximum=20),
        "LTI_SCORE_RETRY_SECONDS": _float("LTI_SCORE_RETRY_SECONDS", 10.0, minimum=0),
        "INVITATION_DAYS": _int("INVITATION_DAYS", 14, minimum=1, maximum=365),
        "PASSWORD_RESET_MINUTES": _int("PASSWORD_RESET_MINUTES", 60, minimum=5, maximum=7 * 24 * 60),
        # E-mail (optional): the raw SMTP_* values; create_app checks them with mail_settings().
        **{name: os.environ.get(name) for name in MAIL_VARIABLES},
    }


# ---------------------------------------------------------------- e-mail

MAIL_VARIABLES = ("SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_SECURITY", "MAIL_FROM")


def mail_settings(config: Mapping[str, Any]) -> Optional[MailSettings]:
    """The SMTP settings from the app's config, checked; None when SMTP_HOST is unset (no e-mail)."""
    def raw(name):
        value = config.get(name)
        value = value.strip() if isinstance(value, str) else value
        return None if value in (None, "") else value

    host = raw("SMTP_HOST")
    if host is None:
        return None
    port_raw = raw("SMTP_PORT")
    security = str(raw("SMTP_SECURITY") or "starttls").lower()
    if security not in SECURITY_KINDS:
        raise ConfigError(f"SMTP_SECURITY must be one of {', '.join(SECURITY_KINDS)}, got {security!r}")
    try:
        port = int(port_raw) if port_raw is not None else (465 if security == "ssl" else 587)
        if not 1 <= port <= 65535:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(f"SMTP_PORT must be a port number from 1 to 65535, got {port_raw!r}") from None
    sender = raw("MAIL_FROM")
    if sender is None or not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+|[^<>]*<[^@\s<>]+@[^@\s<>]+>", str(sender)):
        raise ConfigError(f"MAIL_FROM must be the address e-mails come from, like classroom@school.edu "
                          f"or 'Critique classroom <classroom@school.edu>', got {sender!r}")
    # Links in e-mails are built from PUBLIC_URL, never from the request's Host header, which a
    # sender of a "forgot password" request controls (and would point the victim's link at itself).
    if not raw("PUBLIC_URL"):
        raise ConfigError("SMTP_HOST is set, so PUBLIC_URL must be too: the address people open the "
                          "classroom at (for example https://classroom.school.edu), used in e-mailed links")
    return MailSettings(host=str(host), port=port, sender=str(sender), username=raw("SMTP_USERNAME"),
                        password=raw("SMTP_PASSWORD"), security=security)


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


class LeanConfigError(ConfigError):
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


# ---------------------------------------------------------------- models

def model_settings(config: Mapping, model_variable: str = "GRADER_MODEL") -> Optional["ModelSettings"]:
    """The endpoint settings for the model named by `model_variable`; None when it is unset.

    Every model role uses the same endpoint (OPENAI_BASE_URL, OPENAI_API_KEY) and the same
    patience (GRADER_TIMEOUT, GRADER_MAX_ATTEMPTS, GRADER_BACKOFF_BASE); a role's own model
    variable (e.g. a tutee's) falls back to GRADER_MODEL when unset."""
    from .llm.client import ModelSettings

    model = (config.get(model_variable) or config.get("GRADER_MODEL") or "").strip()
    if not model:
        return None
    return ModelSettings(
        model=model,
        base_url=config.get("OPENAI_BASE_URL") or None,
        api_key=config.get("OPENAI_API_KEY") or None,
        timeout=float(config.get("GRADER_TIMEOUT") or 60.0),
        max_attempts=int(config.get("GRADER_MAX_ATTEMPTS") or 4),
        backoff_base=float(config.get("GRADER_BACKOFF_BASE") if config.get("GRADER_BACKOFF_BASE") is not None
                           else 1.0),
        model_variable=model_variable if config.get(model_variable) else "GRADER_MODEL",
    )
