"""Real subprocesses for tests: flask commands in their own process group, bounded waits.

Every process started here runs in a new session, so the test can kill it and
all its children with one signal to the group, and always does (in finally).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

from support import PROJECT_ROOT

# Settings a developer's shell may hold that must not leak into a test's subprocess.
_SCRUB = ("DATABASE_URL", "REDIS_URL", "HUEY_SQLITE_PATH", "GRADER_MODEL", "OPENAI_BASE_URL", "OPENAI_API_KEY",
          "JOB_LEASE_SECONDS", "JOB_RECOVERY_SECONDS", "JOB_QUEUE_NAME", "SECRET_KEY", "CLASSROOM_INSTANCE_DIR",
          "FLASK_APP", "FLASK_DEBUG")


def app_env(config: dict, **extra) -> dict:
    """The environment for a flask subprocess that shares `config`'s database and queue."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update({
        "CLASSROOM_INSTANCE_DIR": str(config["INSTANCE_DIR"]),
        "DATABASE_URL": config["DATABASE_URL"],
        "SECRET_KEY": config.get("SECRET_KEY") or "test-secret",
        "PYTHONUNBUFFERED": "1",
    })
    for key in ("REDIS_URL", "HUEY_SQLITE_PATH", "JOB_QUEUE_NAME", "JOB_LEASE_SECONDS", "JOB_RECOVERY_SECONDS"):
        if config.get(key) is not None:
            env[key] = str(config[key])
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left."""
    if proc.poll() is None:
        kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    kill_group(proc, signal.SIGKILL)  # children that outlived their parent, too
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
        pass


def start(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")
    try:
        return subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    finally:
        log.close()  # the child holds its own descriptor


def flask_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "app", *args]


@contextmanager
def running(args: list[str], env: dict, log_path: Path) -> Iterator[subprocess.Popen]:
    proc = start(args, env, log_path)
    try:
        yield proc
    finally:
        stop(proc)


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.1,
             log_path: Optional[Path] = None, proc: Optional[subprocess.Popen] = None):
    """Poll until predicate() is truthy; fail with `what` (and the process log) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}) while waiting for {what}\n"
                                 + (tail(log_path) if log_path else ""))
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                 + (tail(log_path) if log_path else ""))
        time.sleep(interval)


def delete_redis_keys(url: str, needle: str) -> int:
    """Delete only the keys whose name contains `needle` (a test's unique name)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"*{needle}*", count=500))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()
