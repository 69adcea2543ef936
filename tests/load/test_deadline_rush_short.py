"""The deadline-rush benchmark in its short form (40 students in 10 s): gunicorn on PostgreSQL,
one real worker, the queue in Redis when TEST_REDIS_URL is set (else SQLite)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from support import PG_URL, PROJECT_ROOT, REDIS_URL


@pytest.mark.skipif(not PG_URL, reason="deadline rush skipped: it needs PostgreSQL; set TEST_DATABASE_URL "
                                       "(e.g. postgresql://postgres@127.0.0.1/test)")
def test_deadline_rush_short(tmp_path):
    out = tmp_path / "rush.json"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "deadline_rush.py"), "--short", "--admin-url", PG_URL,
         "--redis-url", REDIS_URL or "", "--json", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    print(result.stdout)  # the latency table, shown with -s or on failure
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    checks = report["checks"]
    assert report["ok"] and report["errors"] == 0
    assert checks["accepted"] == report["submissions_sent"] >= 40
    assert checks["in_database"] == checks["accepted"] and checks["not_exactly_once"] == 0
    assert checks["job_states"] == {"done": checks["accepted"]}
    assert report["gradebook_exports"] >= 5
    for route in ("POST .../submissions", "GET /api/v1/courses/<code>/assignments",
                  "GET /api/v1/courses/<code>/gradebook.csv"):
        assert report["routes"][route]["count"] > 0 and report["routes"][route]["p99_ms"] > 0


@pytest.mark.skipif(not PG_URL, reason="deadline rush skipped: it needs PostgreSQL; set TEST_DATABASE_URL "
                                       "(e.g. postgresql://postgres@127.0.0.1/test)")
def test_saturation_pauses_the_worker_and_its_backlog_is_graded(tmp_path):
    """The saturation phase, one second a window: each route and the ceiling get a figure, and the
    submissions sent while the worker was paused are all graded once it goes on."""
    out = tmp_path / "rush.json"
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "deadline_rush.py"), "--short", "--saturate-seconds", "1",
         "--admin-url", PG_URL, "--redis-url", REDIS_URL or "", "--json", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    print(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sat = json.loads(out.read_text())["saturation"]
    assert sat["ceiling"]["requests_per_s"] > 0
    assert set(sat["routes"]) == {"GET /api/v1/courses/<code>/assignments", "POST .../submissions",
                                  "POST .../submissions, worker paused"}
    for route in sat["routes"].values():
        assert route["requests"] > 0 and route["errors"] == 0 and route["share_of_ceiling_percent"] > 0
    assert sat["backlog_graded_after_s"] is not None
    assert "worker paused" in result.stdout and "% of the ceiling" in result.stdout
