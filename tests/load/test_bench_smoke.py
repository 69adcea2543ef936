"""The gradebook and grading benchmarks run end to end with tiny numbers (their figures are for the
README, not asserted here): the shared set-up of bench/harness.py makes and removes their scratch
database and queue."""
from __future__ import annotations

import json
import subprocess
import sys

from support import PROJECT_ROOT, REDIS_URL


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_gradebook_bench_runs_on_sqlite():
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "gradebook.py"), "--students", "12", "--assignments", "3",
         "--repeat", "1", "--admin-url", "", "--json"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    last = _last_json(result.stdout)
    assert last["students"] == 12 and last["assignments"] == 3
    assert last["export_seconds"] > 0 and last["page_seconds"] > 0
    assert "logs kept" not in result.stderr  # cleaned up after itself


def test_grading_throughput_bench_grades_every_submission():
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "grading_throughput.py"), "--submissions", "4", "--workers", "2",
         "--model-seconds", "0.1", "--admin-url", "", "--redis-url", REDIS_URL or "", "--json"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    # Exit status 1 only says the 1.2 x ideal target was missed, which tiny numbers on a busy machine may do.
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    last = _last_json(result.stdout)
    assert last["jobs"] == {"done": 4} and last["max_in_flight"] >= 1
