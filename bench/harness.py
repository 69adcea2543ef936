"""What every benchmark here does before and after it measures: a scratch PostgreSQL database (or a
SQLite file), the schema, a scratch Redis queue name, child processes started and stopped as a
group, a loopback-only check on every server address, and the cleaning up afterwards.

    with Scratch("gradebook", admin_url, redis_url) as scratch:
        app = scratch.app()                      # the real app on the scratch database
        proc = scratch.start([...], "worker")    # logs in scratch.workdir, stopped at the end
        ...
        scratch.ok = True                        # keep the logs only when something failed
"""
from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # every benchmark stays on loopback
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def default_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1/postgres"


def default_redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_loopback(parser, *urls: Optional[str]) -> None:
    """Refuse (as an argparse error) any server address that is not on this machine."""
    for url in urls:
        if url and urlsplit(url).hostname not in LOOPBACK:
            parser.error(f"the benchmark only talks to servers on loopback, not {urlsplit(url).hostname}")


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- processes -------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def stop(proc: Optional[subprocess.Popen]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it."""
    if proc is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            pass


def wait_http(port: int, timeout: float, proc: subprocess.Popen, log: Path, path: str = "/healthz") -> None:
    """Until GET path answers 200; the log's tail if the server died or never answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


def wait_for_line(log: Path, text: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{text!r} never appeared:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


# -- the scratch setting ---------------------------------------------------------------------------

class Scratch:
    """A fresh database and queue name for one benchmark run, all removed on exit.

    admin_url: a PostgreSQL URL allowed to CREATE DATABASE, or "" for a SQLite file in the work
    folder. redis_url: a scratch Redis for the job queue (only this run's keys are deleted), or ""
    for the SQLite queue."""

    def __init__(self, prefix: str, admin_url: str, redis_url: str = "") -> None:
        self.prefix, self.admin_url, self.redis_url = prefix, admin_url, redis_url
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{prefix}-bench-"))
        self.queue_name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.secret_key = uuid.uuid4().hex
        self.db_name: Optional[str] = None
        self.db_url = ""
        self.processes: list[subprocess.Popen] = []
        self.engines: list = []
        self.ok = False  # set by the benchmark when every check passed: then the logs go too

    @property
    def backend(self) -> str:
        return "PostgreSQL" if self.admin_url else "SQLite"

    def __enter__(self) -> "Scratch":
        if self.admin_url:
            import psycopg

            self.db_name = f"classroom_{self.prefix.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(libpq(self.admin_url), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            self.db_url = urlsplit(self.admin_url)._replace(path="/" + self.db_name).geturl()
        else:
            self.db_url = f"sqlite:///{self.workdir / 'bench.sqlite3'}"
        return self

    def migrate(self) -> None:
        """The schema, by Alembic (as `flask --app app init-db` builds it)."""
        from classroom.migrate import upgrade_to_head

        upgrade_to_head(self.db_url)

    def config(self, **extra) -> dict:
        """create_app overrides for an app on the scratch database and queue."""
        return {"DATABASE_URL": self.db_url, "INSTANCE_DIR": str(self.workdir), "SECRET_KEY": self.secret_key,
                "REDIS_URL": self.redis_url or None, "JOB_QUEUE_NAME": self.queue_name,
                "HUEY_SQLITE_PATH": str(self.workdir / "jobs.sqlite3"), **extra}

    def app(self, **extra):
        """The real app on the scratch database (its engine disposed of on exit)."""
        from classroom import create_app

        app = create_app(self.config(**extra))
        self.engines.append(app.extensions["db_engine"])
        return app

    def env(self, **extra: str) -> dict:
        """The environment for child processes (gunicorn, `flask worker`) on the same database and queue."""
        env = {k: v for k, v in os.environ.items()
               if k not in ("FLASK_APP", "DATABASE_URL", "REDIS_URL", "GRADER_MODEL", "OPENAI_BASE_URL")}
        env.update(DATABASE_URL=self.db_url, CLASSROOM_INSTANCE_DIR=str(self.workdir), SECRET_KEY=self.secret_key,
                   REDIS_URL=self.redis_url or "", JOB_QUEUE_NAME=self.queue_name,
                   HUEY_SQLITE_PATH=str(self.workdir / "jobs.sqlite3"), PYTHONUNBUFFERED="1", **extra)
        return env

    def start(self, args: list[str], name: str, env: dict, cwd: Path = ROOT) -> subprocess.Popen:
        """A child process in a session of its own (so stop() ends its children too), logged to
        workdir/<name>.log and stopped on exit."""
        with open(self.log(name), "ab") as fh:
            proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(proc)
        return proc

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start_worker(self, env: dict, workers: int) -> subprocess.Popen:
        """One `flask --app app worker`, waited for until it says it started."""
        proc = self.start([sys.executable, "-m", "flask", "--app", "app", "worker", "--workers", str(workers)],
                          "worker", env)
        wait_for_line(self.log("worker"), "Grading worker started", proc)
        time.sleep(0.5)  # the consumer's threads start right after that line
        return proc

    def __exit__(self, *_exc) -> None:
        for proc in reversed(self.processes):
            stop(proc)
        for engine in self.engines:
            engine.dispose()
        if self.db_name:
            try:
                import psycopg

                with psycopg.connect(libpq(self.admin_url), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - report, then go on cleaning
                print(f"could not drop database {self.db_name}: {exc}", file=sys.stderr)
        if self.redis_url:
            try:
                import redis

                client = redis.Redis.from_url(self.redis_url)
                keys = list(client.scan_iter(match=f"*{self.queue_name}*"))
                if keys:
                    client.delete(*keys)
                client.close()
            except Exception as exc:  # noqa: BLE001
                print(f"could not delete the queue's Redis keys: {exc}", file=sys.stderr)
        if self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print(f"logs kept in {self.workdir}", file=sys.stderr)


# -- the course the load benchmarks use ------------------------------------------------------------

def open_assignment_course(s, students: int, name: str, code: str):
    """Through the services: an instructor, a course, the tickets problem with its flawed solution,
    an assignment open since yesterday and due tomorrow, and N enrolled students (inserted in bulk
    with one shared password hash, to be fast). Returns (teacher, course, problem, assignment, students)."""
    from datetime import timedelta

    from werkzeug.security import generate_password_hash

    from classroom.models import User, utcnow
    from classroom.services import accounts, assignments, courses, problems
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft

    domain = f"{name}.test"
    teacher = accounts.create_user(s, email=f"teacher@{domain}", name=f"{name.title()} Teacher",
                                   password=f"{name}-password", role="instructor")
    course = courses.create_course(s, teacher, title=f"{name.title()} bench", code=code)
    problem = problems.create_problem(s, teacher, course, ProblemDraft(
        title="Tickets", statement="Tickets cost \\$6 each for $n=28$ students. What is the total?",
        reference_solution="28 × 6 = 168", reference_answer="168",
        steps=["Multiply $28 \\times 6$.", "That is $158$.", "So the total is 158 dollars."],
        flawed_final_answer="158", first_wrong_step=2, reason="28 × 6 = 168, not 158.", error_kind="arithmetic"))
    now = utcnow()
    assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
        title="Due tonight", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=1),
        problem_ids=[problem.id]))
    shared_hash = generate_password_hash(f"{name}-password")
    users = [User(email=f"s{n:04d}@{domain}", name=f"Student {n:04d}", role="student", password_hash=shared_hash)
             for n in range(students)]
    s.add_all(users)
    s.commit()
    for u in users:
        courses.join_course(s, u, course.code)
    return teacher, course, problem, assignment, users
