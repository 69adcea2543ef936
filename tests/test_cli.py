"""The commands other tools rely on, run as a person runs them."""
import csv
import io
import os
import subprocess
import sys

import pytest

from support import PROJECT_ROOT


def _flask(tmp_path, *args, env_extra=None):
    env = {**os.environ, "CLASSROOM_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "",
           "REDIS_URL": "", "GRADER_MODEL": "", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_init_seed_export_and_token(tmp_path):
    r = _flask(tmp_path, "init-db")
    assert r.returncode == 0, r.stderr
    r = _flask(tmp_path, "seed-demo")
    assert r.returncode == 0, r.stderr
    assert "teacher@demo.test / demo-password" in r.stdout and "student3@demo.test" in r.stdout
    assert "demo only" in r.stdout
    first = _flask(tmp_path, "export-gradebook", "--course", "DEMO101").stdout
    r = _flask(tmp_path, "seed-demo")  # twice: nothing duplicated
    assert r.returncode == 0, r.stderr
    second = _flask(tmp_path, "export-gradebook", "--course", "DEMO101").stdout
    assert first == second
    rows = list(csv.reader(io.StringIO(second)))
    assert rows[0][:2] == ["Student", "Email"] and rows[0][-2] == "Total"
    assert sorted(r[1] for r in rows[1:]) == ["student1@demo.test", "student2@demo.test", "student3@demo.test"]
    sam = next(r for r in rows[1:] if r[1] == "student1@demo.test")
    assert float(sam[-2]) > 0  # graded work in the demo
    canvas = _flask(tmp_path, "export-gradebook", "--course", "DEMO101", "--format", "canvas").stdout
    assert canvas.startswith("Student,ID,SIS User ID,SIS Login ID,Section,")
    r = _flask(tmp_path, "create-token", "student1@demo.test")
    assert r.returncode == 0
    token = r.stdout.strip().splitlines()[-1]
    assert token.startswith("cc_") and len(token) > 30


def test_commands_fail_clearly(tmp_path):
    _flask(tmp_path, "init-db")
    r = _flask(tmp_path, "export-gradebook", "--course", "NOPE")
    assert r.returncode != 0 and "No course has that code" in r.stderr
    r = _flask(tmp_path, "create-token", "nobody@x.test")
    assert r.returncode != 0 and "No account" in r.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_demo_pages_render(tmp_path, backend):
    _flask(tmp_path, "init-db")
    _flask(tmp_path, "seed-demo")
    env = {"CLASSROOM_INSTANCE_DIR": str(tmp_path)}
    code = ("from classroom import create_app\n"
            "app = create_app({'WTF_CSRF_ENABLED': False})\n"
            "c = app.test_client()\n"
            "r = c.post('/login', data={'email': 'teacher@demo.test', 'password': 'demo-password'})\n"
            "assert r.status_code == 302, r.status_code\n"
            "for url in ['/teach/', '/teach/courses/DEMO101', '/teach/courses/DEMO101/review',"
            " '/teach/courses/DEMO101/gradebook', '/teach/assignments/1', '/teach/submissions/1']:\n"
            "    r = c.get(url); assert r.status_code == 200, (url, r.status_code)\n"
            "print('ok')\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env={**os.environ, **env, "DATABASE_URL": ""},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr
