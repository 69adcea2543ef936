"""A problem with a Lean statement, assigned, answered with a proof and checked in the grading job."""

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.config import lean_settings
from classroom.models import Grade
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft
from lean_test_support import FAKE_LEAN, fake_cmd

HEADER = "open Nat"
STATEMENT = "theorem add_comm' (a b : Nat) : a + b = b + a"


@pytest.fixture
def app_config(app_config):
    app_config.update({"LEAN_CMD": fake_cmd(FAKE_LEAN), "LEAN_TIMEOUT": 5, "LEAN_MEMORY_MB": 512})
    return app_config


@pytest.fixture
def lean_class(world):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course, lean_header=HEADER, lean_statement=STATEMENT)
    assignment = world.assignment(teacher, course, [problem], weight_lean=20)
    student = world.student(course)
    return teacher, problem, assignment, student


def _submit(world, dbs, lean_class, proof):
    _teacher, problem, assignment, student = lean_class
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, assignment.id, problem.id,
                                      CritiqueDraft(2, "28 × 6 is 168", "168", "168", lean_proof=proof))
        assert jobs.run_job(job.id) == "done"
    dbs.expire_all()
    return dbs.exec(select(Grade).where(Grade.submission_id == sub.id, Grade.component == "lean")).one()


def test_accepted_proof_scores_full(world, dbs, lean_class):
    g = _submit(world, dbs, lean_class, "exact Nat.add_comm a b")
    assert (g.score, g.decided_by, g.status) == (1.0, "lean", "graded")
    assert "Accepted" in g.feedback


def test_proof_with_an_error_scores_zero_with_lean_message(world, dbs, lean_class, make_client):
    g = _submit(world, dbs, lean_class, "simp\n-- fake: error unsolved goals")
    assert g.score == 0.0 and "unsolved goals" in (g.raw_reply or "")
    teacher = lean_class[0]
    page = make_client(teacher).get(f"/teach/submissions/{g.submission_id}").get_data(as_text=True)
    assert "Lean proof" in page and "unsolved goals" in page


def test_sorry_and_extra_commands_are_refused(world, dbs, lean_class):
    assert _submit(world, dbs, lean_class, "sorry").score == 0.0
    g = _submit(world, dbs, lean_class, "rfl\n\ntheorem cheat : False := by sorry")
    assert g.score == 0.0 and "theorem" in g.feedback


def test_override_of_the_lean_component(world, dbs, lean_class, make_client):
    g = _submit(world, dbs, lean_class, "-- fake: error nope\nrfl")
    tc = make_client(lean_class[0])
    tc.post(f"/teach/grades/{g.id}/score", data={"score": "100", "comment": "Fine on paper."})
    dbs.expire_all()
    g = dbs.get(Grade, g.id)
    assert (g.score, g.override_score) == (0.0, 1.0)


def _relean(app, **values):
    """Start-up again with other LEAN_* values (the settings are built once, at start-up)."""
    app.config.update(values)
    app.config["LEAN"] = lean_settings(app.config)


def test_without_lean_the_proof_waits_for_review_and_the_page_says_lean_is_off(world, dbs, lean_class, app,
                                                                                  make_client):
    _relean(app, LEAN_CMD="/nonexistent/lean")
    g = _submit(world, dbs, lean_class, "rfl")
    assert g.status == "needs_review" and g.score is None
    _teacher, problem, assignment, student = lean_class
    page = make_client(student).get(f"/learn/assignments/{assignment.id}/problems/{problem.id}").get_data(as_text=True)
    assert "Lean checking is off" in page


def test_student_sees_lean_messages_at_their_line(world, dbs, lean_class, make_client):
    g = _submit(world, dbs, lean_class, "simp\n-- fake: error unsolved goals")
    _teacher, _problem, _assignment, student = lean_class
    page = make_client(student).get(f"/learn/submissions/{g.submission_id}").get_data(as_text=True)
    assert "Not accepted" in page and "unsolved goals" in page and "at line 2" in page


def test_without_a_usable_sandbox_lean_does_not_run_and_the_teacher_is_told_why(world, dbs, lean_class, app,
                                                                                make_client):
    _relean(app, LEAN_BWRAP_CMD="/nonexistent/bwrap")
    g = _submit(world, dbs, lean_class, "rfl -- fake: crash")
    assert g.status == "needs_review" and g.score is None and "sandbox cannot run here" in g.feedback
    teacher, problem, _assignment, _student = lean_class
    page = make_client(teacher).get(f"/teach/problems/{problem.id}").get_data(as_text=True)
    assert "Lean checking is off: the sandbox cannot run here" in page and "apt-get install bubblewrap" in page


def test_running_without_a_sandbox_is_shown_as_a_warning(world, dbs, lean_class, app, make_client):
    _relean(app, LEAN_SANDBOX="none")
    g = _submit(world, dbs, lean_class, "exact Nat.add_comm a b")
    assert g.score == 1.0 and '"sandbox": "NO SANDBOX' in g.raw_reply
    teacher, problem, _assignment, _student = lean_class
    page = make_client(teacher).get(f"/teach/problems/{problem.id}").get_data(as_text=True)
    assert 'class="hint flash warning"' in page and "NO SANDBOX (LEAN_SANDBOX=none)" in page
