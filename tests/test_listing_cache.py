"""The API's assignment listing is cached per version of the course (api/listing_cache.py, keyed by
the stamp the database's triggers bump: listing_stamp.py). Each test lists once to fill the cache,
changes something, and checks that the very next listing shows it, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from classroom.models import utcnow
from classroom.services import accounts, assignments, problems
from classroom.services.assignments import AssignmentDraft
from classroom.services.problems import ProblemDraft


def _headers(world, user) -> dict:
    with world.app.app_context():
        return {"Authorization": f"Bearer {accounts.create_token(world.s, user.email, 'cache')}"}


def _listing(client, course, headers) -> dict:
    resp = client.get(f"/api/v1/courses/{course.code}/assignments", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _titles(body) -> list[str]:
    return [a["title"] for a in body["assignments"]]


def _setup(world):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course)
    work = world.assignment(teacher, course, [problem], title="Week 1")
    student = world.student(course)
    return teacher, course, problem, work, student


def test_an_edited_assignment_is_in_the_next_listing(world, make_client):
    teacher, course, problem, work, student = _setup(world)
    api, headers = make_client(), _headers(world, student)
    first = _listing(api, course, headers)
    assert _titles(first) == ["Week 1"]
    with world.app.app_context():
        assignments.update_assignment(world.s, teacher, work, AssignmentDraft(
            title="Week 1, revised", opens_at=work.opens_at, due_at=work.due_at, problem_ids=[problem.id]))
    assert _titles(_listing(api, course, headers)) == ["Week 1, revised"]
    with world.app.app_context():
        assignments.release_grades(world.s, teacher, work, confirmed=True)
    assert _listing(api, course, headers)["assignments"][0]["grades_released"] is True


def test_a_new_assignment_and_an_edited_problem_are_in_the_next_listing(world, make_client):
    teacher, course, problem, work, student = _setup(world)
    api, headers = make_client(), _headers(world, student)
    etag = api.get(f"/api/v1/courses/{course.code}/assignments", headers=headers).headers["ETag"]
    other = world.problem(teacher, course, title="Train fares")
    world.assignment(teacher, course, [other], title="Week 2", due_in=timedelta(days=8))
    resp = api.get(f"/api/v1/courses/{course.code}/assignments", headers={**headers, "If-None-Match": etag})
    assert resp.status_code == 200 and _titles(resp.get_json()) == ["Week 1", "Week 2"]
    assert resp.headers["ETag"] != etag

    with world.app.app_context():
        problems.update_problem(world.s, teacher, problem, ProblemDraft(
            title="Tickets (new wording)", statement="Each ticket costs \\$6; $n=28$ students go.",
            reference_solution="28 × 6 = 168", reference_answer="168",
            steps=["Multiply $28 \\times 6$.", "That is $158$.", "So 159 dollars."],
            flawed_final_answer="159", first_wrong_step=2, reason="28 × 6 = 168.", error_kind="arithmetic"))
    shown = _listing(api, course, headers)["assignments"][0]["problems"][0]
    assert shown["title"] == "Tickets (new wording)"
    assert shown["steps"][2]["text"] == "So 159 dollars." and shown["flawed_final_answer"] == "159"


def test_a_write_outside_the_services_is_seen_too(world, make_client):
    """The stamp is bumped by triggers, so even a hand-typed UPDATE reaches the next listing."""
    _teacher, course, problem, _work, student = _setup(world)
    api, headers = make_client(), _headers(world, student)
    _listing(api, course, headers)
    with world.app.extensions["db_engine"].begin() as conn:
        conn.execute(text("UPDATE problem SET title = 'Renamed by hand' WHERE id = :id"), {"id": problem.id})
    assert _listing(api, course, headers)["assignments"][0]["problems"][0]["title"] == "Renamed by hand"
    with world.app.extensions["db_engine"].begin() as conn:
        conn.execute(text("DELETE FROM assignment_problem WHERE problem_id = :id"), {"id": problem.id})
    assert _listing(api, course, headers)["assignments"][0]["problems"] == []


def test_students_never_get_the_instructors_listing_or_another_course(world, make_client):
    teacher, course, problem, _work, student = _setup(world)
    world.assignment(teacher, course, [problem], title="Next week", opens_in=timedelta(days=2),
                     due_in=timedelta(days=9))
    other_course = world.course(teacher, title=course.title)  # same title, its own assignments
    other_problem = world.problem(teacher, other_course, title="Elsewhere")
    world.assignment(teacher, other_course, [other_problem], title="Other course's week")
    outsider = world.student(other_course)
    api = make_client()
    # The instructor's listing (with the assignment not open yet) is built and cached first.
    assert _titles(_listing(api, course, _headers(world, teacher))) == ["Week 1", "Next week"]
    assert _titles(_listing(api, course, _headers(world, student))) == ["Week 1"]
    assert _titles(_listing(api, other_course, _headers(world, outsider))) == ["Other course's week"]
    resp = api.get(f"/api/v1/courses/{course.code}/assignments", headers=_headers(world, outsider))
    assert resp.status_code == 404
    assert "Week 1" not in resp.get_data(as_text=True)


def test_an_assignment_appears_in_the_cached_listing_when_it_opens(world, make_client, monkeypatch):
    teacher, course, problem, _work, student = _setup(world)
    world.assignment(teacher, course, [problem], title="Opens soon", opens_in=timedelta(hours=1),
                     due_in=timedelta(days=9))
    api, headers = make_client(), _headers(world, student)
    assert _titles(_listing(api, course, headers)) == ["Week 1"]
    assert _titles(_listing(api, course, headers)) == ["Week 1"]  # from the cache, still closed
    later = utcnow() + timedelta(hours=2)
    from classroom.api import listing_cache
    monkeypatch.setattr(listing_cache, "utcnow", lambda: later)
    monkeypatch.setattr(assignments, "utcnow", lambda: later)
    assert _titles(_listing(api, course, headers)) == ["Week 1", "Opens soon"]
