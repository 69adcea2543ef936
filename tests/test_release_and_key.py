"""Releasing grades gives the key's step away (issue 9, section 3): releasing while students can still
answer asks first and says why, and feedback on a problem that another, unreleased assignment still
asks waits until that one stops taking answers."""
from __future__ import annotations

from datetime import timedelta

import pytest

from classroom import jobs
from classroom.models import Assignment
from classroom.services import accounts, assignments, reviews, submissions
from classroom.services.submissions import CritiqueDraft


def test_releasing_an_open_assignment_asks_first(world, dbs, make_client):
    w = world.classroom()
    tc = make_client(w["teacher"])
    url = f"/teach/assignments/{w['assignment'].id}/release"
    page = tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert 'data-confirm="Release grades?' not in page  # the server asks, with the reason

    resp = tc.post(url, data={"action": "release"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "still accepts answers" in body and "first wrong one" in body and 'name="confirm" value="yes"' in body
    dbs.expire_all()
    assert dbs.get(Assignment, w["assignment"].id).released_at is None

    assert tc.post(url, data={"action": "release", "confirm": "yes"}).status_code == 302
    dbs.expire_all()
    assert dbs.get(Assignment, w["assignment"].id).released_at is not None


def test_releasing_a_closed_assignment_needs_no_second_question(world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course)
    done = world.assignment(teacher, course, [problem], opens_in=timedelta(days=-9), due_in=timedelta(days=-1))
    resp = make_client(teacher).post(f"/teach/assignments/{done.id}/release", data={"action": "release"})
    assert resp.status_code == 302
    with world.app.app_context():
        assert assignments.release_warning(done) is None


def test_the_service_refuses_an_unconfirmed_early_release(world, dbs):
    w = world.classroom()
    with world.app.app_context(), pytest.raises(assignments.ReleaseNeedsConfirmation) as refused:
        assignments.release_grades(dbs, w["teacher"], w["assignment"])
    assert "still accepts answers" in refused.value.message


def test_feedback_waits_while_another_assignment_still_asks_the_problem(world, dbs, make_client):
    w = world.classroom()
    closed = world.assignment(w["teacher"], w["course"], [w["problem"]], title="Last week",
                              opens_in=timedelta(days=-9), due_in=timedelta(days=-1))
    # Alice answered last week's (closed) assignment; this week's (open) one asks the same problem.
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], closed.id, w["problem"].id,
                                      CritiqueDraft(3, "Step 3 is wrong.", "", "158"), now=closed.due_at - timedelta(hours=1))
        jobs.run_job(job.id)
        for g in submissions.grades_of(dbs, sub.id):
            if g.effective_score is None:
                reviews.set_score(dbs, w["teacher"], g.id, 0.5, "Look again at where the total is computed.")
        assignments.release_grades(dbs, w["teacher"], closed)
        token = accounts.create_token(dbs, w["alice"].email)

    student = make_client(w["alice"])
    page = student.get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert "not the first wrong step" not in page and "where the total is computed" not in page
    assert "appear once Week 1 stops taking answers" in page
    listing = student.get(f"/learn/assignments/{closed.id}").get_data(as_text=True)
    assert "score once Week 1 closes" in listing
    body = make_client().get(f"/api/v1/submissions/{sub.id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert "scores" not in body and "points" not in body and "Week 1" in body["withheld"]
    # The instructor sees everything meanwhile.
    assert "not the first wrong step" in make_client(w["teacher"]).get(f"/teach/submissions/{sub.id}").get_data(
        as_text=True)

    # Once this week's grades are released too, last week's feedback shows.
    with world.app.app_context():
        assignments.release_grades(dbs, w["teacher"], dbs.get(Assignment, w["assignment"].id), confirmed=True)
    page = student.get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert "not the first wrong step" in page and "where the total is computed" in page
    body = make_client().get(f"/api/v1/submissions/{sub.id}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert "withheld" not in body and body["scores"]["location"]["score"] == 0.0
