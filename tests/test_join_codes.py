"""Probing and guessing course codes (issue 9, section 4): joining is rate limited per account and per
address, a missing course and somebody else's course read the same, and generated codes are random
and easy to read out (7KQ-M3X) while an instructor may still choose a readable one."""
from __future__ import annotations

import re

import pytest

from classroom.services import accounts

GENERATED = re.compile(r"^[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}$")  # no 0/O, no 1/I


@pytest.fixture
def app_config(app_config):
    app_config.update(RATELIMIT_ENABLED=True)
    return app_config


def _join(client, code, addr="10.0.0.1"):
    return client.post("/learn/join", data={"code": code}, environ_base={"REMOTE_ADDR": addr})


def test_the_eleventh_wrong_code_from_one_account_waits(world, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    client = make_client(world.student())
    for n in range(10):
        assert _join(client, f"NOPE{n:02d}", addr=f"10.0.1.{n}").status_code == 400, n
    resp = _join(client, course.code, addr="10.0.2.1")  # even the right code waits now
    assert resp.status_code == 429
    assert "Too many course codes tried from this account" in resp.get_data(as_text=True)
    # Another account on the same network is not held back.
    other = make_client(world.student())
    assert _join(other, course.code, addr="10.0.2.1").status_code == 302


def test_wrong_codes_from_one_address_are_limited(world, make_client):
    clients = [make_client(world.student()) for _ in range(4)]
    for n in range(30):
        assert _join(clients[n % 4], f"NOPE{n:02d}").status_code == 400, n
    resp = _join(clients[0], "NOPE99")
    assert resp.status_code == 429 and "from your network" in resp.get_data(as_text=True)
    teacher = world.instructor()
    course = world.course(teacher)
    assert _join(clients[1], course.code, addr="10.9.9.9").status_code == 302


def test_a_class_joining_together_is_not_limited(world, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    for n in range(35):
        assert _join(make_client(world.student()), course.code).status_code == 302, n


def _message(resp) -> str:
    body = resp.get_json() if resp.is_json else None
    if body:
        return body["error"]["message"]
    m = re.search(r'<div class="card">\s*<p>(.*?)</p>', resp.get_data(as_text=True), re.S)
    return m.group(1) if m else resp.get_data(as_text=True)


def test_missing_and_not_yours_read_the_same(world, dbs, make_client):
    w = world.classroom()
    outsider = world.student()
    other_teacher = world.instructor()
    with world.app.app_context():
        token = accounts.create_token(dbs, outsider.email)
    student, teacher = make_client(outsider), make_client(other_teacher)
    api = make_client()
    auth = {"Authorization": f"Bearer {token}"}
    code = w["course"].code
    pairs = [
        (student.get(f"/learn/courses/{code}"), student.get("/learn/courses/ZZZ-ZZZ")),
        (teacher.get(f"/teach/courses/{code}"), teacher.get("/teach/courses/ZZZ-ZZZ")),
        (api.get(f"/api/v1/courses/{code}/assignments", headers=auth),
         api.get("/api/v1/courses/ZZZ-ZZZ/assignments", headers=auth)),
        (student.get(f"/learn/assignments/{w['assignment'].id}"), student.get("/learn/assignments/999999")),
        (teacher.get(f"/teach/assignments/{w['assignment'].id}"), teacher.get("/teach/assignments/999999")),
        (teacher.get(f"/teach/problems/{w['problem'].id}"), teacher.get("/teach/problems/999999")),
    ]
    for theirs, missing in pairs:
        assert theirs.status_code == missing.status_code == 404
        assert _message(theirs) == _message(missing), (_message(theirs), _message(missing))


def test_generated_codes_are_random_and_readable(world, make_client):
    teacher = world.instructor()
    codes = {world.course(teacher, title=f"Course {n}").code for n in range(12)}
    assert len(codes) == 12 and all(GENERATED.match(c) for c in codes), codes
    chosen = world.course(teacher, code="math101")
    assert chosen.code == "MATH101"  # an instructor may still choose a readable code

    course = world.course(teacher, title="Typed loosely")
    loose = course.code.replace("-", " ").lower()  # "7kq m3x", as read out in class
    assert _join(make_client(world.student()), loose).status_code == 302
    assert _join(make_client(world.student()), course.code.replace("-", "")).status_code == 302
