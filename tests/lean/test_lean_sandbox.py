"""The limits every Lean run gets: timeout, memory, CPU, processes, file size, output, env, network.

These run without the bubblewrap jail (run_limited's default), so they test the limits
alone; the jail is tested through the checkers (test_lean_local_checker, test_lean_repl)
and below.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from classroom.lean.sandbox import (
    Limits,
    PrivateTempDir,
    clean_env,
    looks_out_of_memory,
    network_isolation,
    run_limited,
)

PY = sys.executable


def run_py(code: str, tmp_path: Path, **limits) -> object:
    limits.setdefault("timeout", 5)
    return run_limited([PY, "-c", code], limits=Limits(**limits), cwd=str(tmp_path), env=clean_env(str(tmp_path), os.environ))


def test_output_and_exit_status_are_returned(tmp_path):
    result = run_py("import sys; print('hello'); print('oops', file=sys.stderr); sys.exit(3)", tmp_path)
    assert result.stdout == "hello\n" and result.stderr == "oops\n"
    assert result.returncode == 3
    assert not (result.timed_out or result.out_of_memory or result.truncated or result.cpu_exceeded)


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie waiting for init is dead too


def test_timeout_kills_the_whole_process_group(tmp_path):
    code = (
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '60'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    result = run_py(code, tmp_path, timeout=1)
    assert time.monotonic() - started < 4
    assert result.timed_out and not result.out_of_memory
    grandchild = int(result.stdout.split()[0])
    deadline = time.monotonic() + 2
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild), "the child's own child survived the timeout"


def test_memory_limit_reports_out_of_memory(tmp_path):
    code = "hog = []\nwhile True:\n    hog.append(bytearray(32 * 1024 * 1024))\n"
    result = run_py(code, tmp_path, memory_mb=256)
    assert result.out_of_memory and not result.timed_out
    assert "MemoryError" in result.stderr


def test_cpu_limit_stops_a_busy_loop(tmp_path):
    result = run_py("while True:\n    pass\n", tmp_path, timeout=10, cpu_seconds=1)
    assert result.cpu_exceeded and not result.timed_out
    assert result.duration_ms < 6000


def test_file_size_limit(tmp_path):
    code = "with open('big', 'wb') as fh:\n    fh.write(b'0' * (3 * 1024 * 1024))\n"
    result = run_py(code, tmp_path, max_file_mb=1)
    assert result.file_too_large
    assert (tmp_path / "big").stat().st_size <= 1024 * 1024


def test_output_is_cut_at_the_limit(tmp_path):
    result = run_py("import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 10000)\n", tmp_path, max_output_bytes=1000)
    assert result.truncated
    assert result.stdout == "x" * 1000
    assert result.returncode == 0  # the rest was read and dropped, not left to block the child


def test_rlimits_are_set_in_the_child(tmp_path):
    code = (
        "import json, resource\n"
        "print(json.dumps({n: resource.getrlimit(getattr(resource, n)) for n in "
        "('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_CORE')}))\n"
    )
    result = run_py(code, tmp_path, memory_mb=300, cpu_seconds=7, max_processes=50, max_file_mb=3)
    limits = json.loads(result.stdout)
    assert limits["RLIMIT_AS"] == [300 * 2**20] * 2
    assert limits["RLIMIT_CPU"] == [7, 9]
    assert limits["RLIMIT_NPROC"] == [50, 50]
    assert limits["RLIMIT_FSIZE"] == [3 * 2**20] * 2
    assert limits["RLIMIT_CORE"] == [0, 0]


def test_environment_is_emptied_and_home_is_private(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgresql://user:pw@db/x")
    with PrivateTempDir() as home:
        assert oct(os.stat(home).st_mode & 0o777) == "0o700"
        result = run_limited(
            [PY, "-c", "import json, os; print(json.dumps(dict(os.environ)))"],
            limits=Limits(timeout=5),
            cwd=home,
            env=clean_env(home, os.environ),
        )
    assert not os.path.exists(home)
    env = json.loads(result.stdout)
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env
    assert env["HOME"] == home and env["TMPDIR"] == home
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "ELAN_HOME", "LEAN_PATH", "LEAN_SYSROOT",
                        "LEAN_SRC_PATH", "ELAN_TOOLCHAIN", "LAKE_HOME", "LC_CTYPE"}


def test_clean_env_passes_lean_variables_and_elan_home(tmp_path):
    elan = tmp_path / "elan"
    elan.mkdir()
    env = clean_env("/tmp/h", base={"PATH": "/bin", "LEAN_PATH": "/lib/lean", "ELAN_HOME": str(elan), "AWS_SECRET": "x"})
    assert env == {"PATH": "/bin", "HOME": "/tmp/h", "TMPDIR": "/tmp/h", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                   "LEAN_PATH": "/lib/lean", "ELAN_HOME": str(elan)}


def test_network_is_cut_when_the_os_allows():
    prefix = network_isolation()
    if not prefix:
        pytest.skip("no network isolation here: neither `unshare -n` nor `unshare -rn` is permitted")
    with PrivateTempDir() as home:
        result = run_limited(
            [PY, "-c", "print(open('/proc/self/net/dev').read())"], limits=Limits(timeout=5), cwd=home, env=clean_env(home, os.environ)
        )
    interfaces = [line.split(":")[0].strip() for line in result.stdout.splitlines()[2:] if ":" in line]
    assert interfaces == ["lo"]
    assert result.network_isolated


def test_isolation_can_be_turned_off(tmp_path):
    result = run_py("print('ok')", tmp_path, isolate_network=False)
    assert result.stdout == "ok\n" and not result.network_isolated


def test_missing_program_is_a_start_error(tmp_path):
    result = run_limited(["/nonexistent/lean"], limits=Limits(timeout=5), cwd=str(tmp_path), env=clean_env(str(tmp_path), os.environ))
    assert result.start_error and "not found" in result.start_error


@pytest.mark.parametrize(
    "returncode, stderr, expected",
    [
        (1, "INTERNAL PANIC: out of memory\n", True),
        (134, "terminate called after throwing an instance of 'std::bad_alloc'", True),
        (1, "Traceback ...\nMemoryError\n", True),
        (-9, "", True),  # SIGKILL we did not send: an OOM killer
        (1, "error: unknown identifier", False),
        (0, "out of memory", False),
        (134, "Stack overflow detected. Aborting.", False),
    ],
)
def test_out_of_memory_heuristic(returncode, stderr, expected):
    assert looks_out_of_memory(returncode, stderr) is expected
