"""Query budgets (issue 13): how many SQL statements the busiest requests send, counted on the
engine itself, on SQLite and PostgreSQL. A budget that holds for a small course and for a bigger
one holds whatever the number of students, assignments and problems."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from classroom.services import accounts, submissions
from classroom.services.submissions import CritiqueDraft



class Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def n(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return f"{self.n} statements:\n" + "\n".join(" ".join(s.split())[:160] for s in self.statements)


@pytest.fixture
def count_queries(app):
    """`with count_queries() as c:` counts every statement the app's engine sends meanwhile."""
    engine = app.extensions["db_engine"]

    @contextmanager
    def counting():
        counter = Counter()

        def record(_conn, _cursor, statement, *_args):
            counter.statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


def _course(world, *, n_assignments: int, n_problems: int, n_students: int, graded: bool = True):
    """A course whose students each answered every problem (a third of them twice)."""
    teacher = world.instructor()
    course = world.course(teacher)
    problem_sets = [[world.problem(teacher, course, title=f"P{a}.{k}") for k in range(n_problems)]
                    for a in range(n_assignments)]
    work = [world.assignment(teacher, course, probs, title=f"Week {a}") for a, probs in enumerate(problem_sets)]
    students = [world.student(course) for _ in range(n_students)]
    if graded:
        with world.app.app_context():
            for i, student in enumerate(students):
                for a, probs in zip(work, problem_sets):
                    for p in probs:
                        for _version in range(2 if i % 3 == 0 else 1):
                            submissions.submit(world.s, student, a.id, p.id, CritiqueDraft(
                                error_step=2 if i % 2 else 1, explanation="Step 2 is wrong.",
                                correction="28 × 6 = 168", final_answer="168"))
    return dict(teacher=teacher, course=course, assignments=work, problems=problem_sets, students=students)


def _token(world, user) -> dict:
    with world.app.app_context():
        return {"Authorization": f"Bearer {accounts.create_token(world.s, user.email, 'budget')}"}


def test_student_assignment_listing_is_at_most_three_queries(world, make_client, count_queries):
    small = _course(world, n_assignments=1, n_problems=1, n_students=1, graded=False)
    big = _course(world, n_assignments=4, n_problems=3, n_students=3, graded=True)
    for setup in (small, big):
        student = setup["students"][0]
        headers = _token(world, student)
        api = make_client()
        api.get(f"/api/v1/courses/{setup['course'].code}/assignments", headers=headers)  # token touched once
        with count_queries() as c:
            resp = api.get(f"/api/v1/courses/{setup['course'].code}/assignments", headers=headers)
        assert resp.status_code == 200
        assert len(resp.get_json()["assignments"]) == len(setup["assignments"])
        assert c.n <= 3, str(c)

        browser = make_client(student)
        with count_queries() as c:
            resp = browser.get(f"/learn/courses/{setup['course'].code}")
        assert resp.status_code == 200 and b"Week 0" in resp.data
        assert c.n <= 3, str(c)


def test_student_assignment_listing_counts_what_the_student_did(world, make_client):
    """The one-query listing still says how many problems each student answered."""
    setup = _course(world, n_assignments=1, n_problems=3, n_students=2, graded=False)
    a, probs = setup["assignments"][0], setup["problems"][0]
    first, second = setup["students"]
    with world.app.app_context():
        for p in probs[:2]:
            for _ in range(2):  # two versions of one answer count once
                submissions.submit(world.s, first, a.id, p.id, CritiqueDraft(error_step=2, explanation="Step 2."))
    page = make_client(first).get(f"/learn/courses/{setup['course'].code}").get_data(as_text=True)
    assert "2 of 3 answered" in page
    page = make_client(second).get(f"/learn/courses/{setup['course'].code}").get_data(as_text=True)
    assert "0 of 3 answered" in page


@pytest.mark.real_queue  # the job waits in the queue: the request's own statements are counted
def test_a_submission_is_at_most_five_queries(world, make_client, count_queries):
    setup = _course(world, n_assignments=2, n_problems=2, n_students=2, graded=False)
    a, p = setup["assignments"][1], setup["problems"][1][1]
    student = setup["students"][0]
    headers = _token(world, student)
    api = make_client()
    api.get(f"/api/v1/courses/{setup['course'].code}/assignments", headers=headers)
    for version in (1, 2):
        with count_queries() as c:
            resp = api.post(f"/api/v1/assignments/{a.id}/problems/{p.id}/submissions", headers=headers, json={
                "error_step": 2, "explanation": "28 × 6 is 168.", "correction": "168", "final_answer": "168"})
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["version"] == version and resp.get_json()["state"] == "queued"
        assert c.n <= 5, str(c)

    browser = make_client(student)
    with count_queries() as c:
        resp = browser.post(f"/learn/assignments/{a.id}/problems/{p.id}", data={
            "error_step": "2", "explanation": "28 × 6 is 168.", "correction": "168", "final_answer": "168"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    assert c.n <= 5, str(c)
    with world.app.app_context():
        assert [s.version for s in submissions.versions(world.s, a.id, p.id, student.id)] == [3, 2, 1]


def _teacher_pages(setup) -> dict[str, str]:
    code = setup["course"].code
    return {"assignment page": f"/teach/assignments/{setup['assignments'][0].id}",
            "gradebook page": f"/teach/courses/{code}/gradebook",
            "CSV export": f"/teach/courses/{code}/gradebook.csv",
            "Canvas export": f"/teach/courses/{code}/gradebook.csv?format=canvas"}


def test_teacher_pages_cost_the_same_queries_whatever_the_number_of_students(world, make_client, count_queries):
    small = _course(world, n_assignments=2, n_problems=2, n_students=1)
    big = _course(world, n_assignments=2, n_problems=2, n_students=6)
    counts = {}
    for size, setup in (("small", small), ("big", big)):
        teacher = make_client(setup["teacher"])
        for page, path in _teacher_pages(setup).items():
            with count_queries() as c:
                resp = teacher.get(path)
            assert resp.status_code == 200, path
            counts[(size, page)] = c
        api = make_client()
        headers = _token(world, setup["teacher"])
        api.get(f"/api/v1/courses/{setup['course'].code}/gradebook.csv", headers=headers)  # token touched once
        with count_queries() as c:
            resp = api.get(f"/api/v1/courses/{setup['course'].code}/gradebook.csv", headers=headers)
        assert resp.status_code == 200 and resp.data.count(b"\n") == len(setup["students"]) + 1
        counts[(size, "API export")] = c
    for (size, page), c in counts.items():
        if size == "big":
            assert c.n == counts[("small", page)].n, f"{page}: {counts[('small', page)].n} -> {c}"
    print({page: c.n for (size, page), c in counts.items() if size == "big"})


def test_gradebook_queries_do_not_grow_with_assignments(world, make_client, count_queries):
    few = _course(world, n_assignments=1, n_problems=1, n_students=2)
    many = _course(world, n_assignments=5, n_problems=2, n_students=2)
    seen = []
    for setup in (few, many):
        teacher = make_client(setup["teacher"])
        with count_queries() as c:
            assert teacher.get(f"/teach/courses/{setup['course'].code}/gradebook.csv").status_code == 200
        seen.append(c.n)
    assert seen[0] == seen[1], seen


def test_the_assignment_listing_answers_304_to_a_client_that_has_it(world, make_client):
    """Students of one course share one listing: its ETag is the same for all of them, and a
    client sending it back gets 304 without a body until something changes."""
    setup = _course(world, n_assignments=1, n_problems=2, n_students=2, graded=False)
    path = f"/api/v1/courses/{setup['course'].code}/assignments"
    first, second = (_token(world, student) for student in setup["students"])
    api = make_client()
    resp = api.get(path, headers=first)
    etag = resp.headers["ETag"]
    assert resp.status_code == 200 and "no-cache" in resp.headers["Cache-Control"]
    assert "Authorization" in resp.headers["Vary"]
    again = api.get(path, headers={**second, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    world.assignment(setup["teacher"], setup["course"], setup["problems"][0], title="Week 9")
    changed = api.get(path, headers={**second, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [a["title"] for a in changed.get_json()["assignments"]][-1] == "Week 9"


@pytest.mark.real_queue  # the job waits in the queue (a worker's grading keeps its transactions)
def test_the_busy_api_routes_send_no_begin_or_commit_on_postgresql(world, make_client, backend):
    """The listing and a submission run each statement in autocommit on PostgreSQL (db.autocommit): no
    BEGIN, COMMIT or ROLLBACK round trips, and the submission with its job is one statement, so it is
    saved whole or not at all. On SQLite the same requests keep their transactions."""
    setup = _course(world, n_assignments=1, n_problems=1, n_students=1, graded=False)
    a, p, student = setup["assignments"][0], setup["problems"][0][0], setup["students"][0]
    headers = _token(world, student)
    api = make_client()
    modes: list[tuple[bool, str]] = []

    def record(conn, _cursor, statement, *_args):
        modes.append((conn.connection.dbapi_connection.autocommit
                      if backend == "postgresql" else conn.connection.dbapi_connection.isolation_level is None,
                      " ".join(statement.split())))

    engine = world.app.extensions["db_engine"]
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert api.get(f"/api/v1/courses/{setup['course'].code}/assignments", headers=headers).status_code == 200
        resp = api.post(f"/api/v1/assignments/{a.id}/problems/{p.id}/submissions", headers=headers, json={
            "error_step": 2, "explanation": "28 × 6 is 168.", "correction": "168", "final_answer": "168"})
        assert resp.status_code == 201, resp.get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert modes
    if backend == "postgresql":
        assert all(auto for auto, _s in modes), modes
        inserts = [s for _a, s in modes if "INSERT" in s]
        assert len(inserts) == 1 and "grading_job" in inserts[0], inserts
    else:
        assert not any(auto for auto, _s in modes), modes
    with world.app.app_context():
        sub = submissions.versions(world.s, a.id, p.id, student.id)[0]
        assert submissions.job_of(world.s, sub.id) is not None
