"""An instructor's day one, through the web pages."""
import re

from sqlmodel import select

from classroom.models import AnswerKey, Assignment, Course, FlawedSolution, Problem


def test_signup_creates_hashed_password_and_logs_in_a_student(client, dbs):
    # A role sent anyway is ignored: sign-up makes students only (instructors are approved by an administrator).
    resp = client.post("/signup", data={"name": "Dana Okafor", "email": "Dana@School.test",
                                        "password": "long-enough-pw", "role": "instructor"})
    assert resp.status_code == 302
    from classroom.services.accounts import find_user
    user = find_user(dbs, "dana@school.test")
    assert not user.is_instructor and not user.is_admin and user.password_hash != "long-enough-pw"
    assert "long-enough-pw" not in user.password_hash
    assert client.get("/teach/").status_code == 403
    assert client.get("/learn/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, world):
    teacher = world.instructor()
    resp = client.post("/login", data={"email": teacher.email, "password": "nope-nope"})
    assert resp.status_code == 400
    assert b"do not match an account" in resp.data


def test_create_course_problem_and_assignment(make_client, world, dbs):
    teacher = world.instructor()
    c = make_client(teacher)
    resp = c.post("/teach/courses", data={"title": "Calculus", "code": "calc-1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/teach/courses/CALC-1")
    page = c.get("/teach/courses/CALC-1").get_data(as_text=True)
    assert "CALC-1" in page and "Calculus" in page

    resp = c.post("/teach/courses/CALC-1/problems/new", data={
        "title": "Chain rule", "statement": "Differentiate $\\sin(x^2)$.", "reference_solution": "2x cos(x^2)",
        "reference_answer": "", "steps-0": "Let $u = x^2$.", "steps-1": "Then $\\frac{d}{dx}\\sin u = \\cos u$.",
        "steps-2": "So the derivative is $\\cos(x^2)$.", "steps-3": "", "flawed_final_answer": "cos(x^2)",
        "first_wrong_step": "2", "reason": "Forgot the inner derivative u' = 2x.", "error_kind": "wrong_formula"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    problem = dbs.exec(select(Problem).where(Problem.title == "Chain rule")).one()
    solution = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == problem.id)).one()
    assert solution.steps == ["Let $u = x^2$.", "Then $\\frac{d}{dx}\\sin u = \\cos u$.",
                              "So the derivative is $\\cos(x^2)$."]
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution.id)).one()
    assert key.first_wrong_step == 2 and key.origin == "hand" and key.error_kind == "wrong_formula"

    page = c.get(f"/teach/problems/{problem.id}").get_data(as_text=True)
    assert "Forgot the inner derivative" in page

    resp = c.post("/teach/courses/CALC-1/assignments/new", data={
        "title": "Week 2", "opens_at": "2026-01-05T09:00", "due_at": "2030-01-12T17:00",
        "problem_ids": [str(problem.id)], "points": "50", "weight_location": "30",
        "weight_explanation": "40", "weight_correction": "30", "weight_lean": "0", "late_penalty_percent": "0"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    a = dbs.exec(select(Assignment).where(Assignment.title == "Week 2")).one()
    assert (a.points, a.weight_location, a.weight_explanation, a.weight_correction) == (50, 30, 40, 30)
    assert c.get(f"/teach/assignments/{a.id}").status_code == 200


def test_new_assignment_form_defaults_to_30_40_30(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    page = make_client(teacher).get(f"/teach/courses/{course.code}/assignments/new").get_data(as_text=True)
    for name, value in (("weight_location", 30), ("weight_explanation", 40), ("weight_correction", 30)):
        assert re.search(rf'id="{name}"[^>]*value="{value}"', page) or re.search(
            rf'value="{value}"[^>]*id="{name}"', page), name


def test_duplicate_course_code_is_refused_and_first_course_kept(make_client, world, dbs):
    teacher = world.instructor()
    world.course(teacher, code="MATH101", title="Original")
    resp = make_client(teacher).post("/teach/courses", data={"title": "Copy", "code": "math101"})
    assert resp.status_code == 400
    assert b"is taken" in resp.data
    rows = dbs.exec(select(Course).where(Course.code == "MATH101")).all()
    assert [c.title for c in rows] == ["Original"]


def test_first_wrong_step_outside_the_steps_is_refused(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "T", "statement": "S", "steps-0": "one", "steps-1": "two", "first_wrong_step": "5",
        "reason": "r", "error_kind": "arithmetic"})
    assert resp.status_code == 400
    assert b"must be one of the steps, 1 to 2" in resp.data
    assert b"one" in resp.data  # what was typed is still in the form
    assert dbs.exec(select(Problem)).all() == []


def test_malformed_date_and_due_before_open(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course)
    c = make_client(teacher)
    base = {"title": "W", "problem_ids": [str(problem.id)], "points": "10", "weight_location": "30",
            "weight_explanation": "40", "weight_correction": "30", "weight_lean": "0", "late_penalty_percent": "0"}
    resp = c.post(f"/teach/courses/{course.code}/assignments/new",
                  data={**base, "opens_at": "next tuesday", "due_at": "2030-01-01T10:00"})
    assert resp.status_code == 400 and b"is not a date we can read" in resp.data
    resp = c.post(f"/teach/courses/{course.code}/assignments/new",
                  data={**base, "opens_at": "2030-01-02T10:00", "due_at": "2030-01-01T10:00"})
    assert resp.status_code == 400 and b"must come after the opening date" in resp.data


def test_oversized_statement_is_refused(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "T", "statement": "x" * 20_001, "steps-0": "one", "first_wrong_step": "1", "reason": "r",
        "error_kind": "other"})
    assert resp.status_code == 400
    assert b"20000" in resp.data or b"20,000" in resp.data


def test_editing_an_answered_problem_keeps_old_step_numbers(make_client, world, dbs):
    from classroom.services import submissions
    w = world.classroom()
    from classroom.services.submissions import CritiqueDraft
    with world.app.app_context():
        submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id, CritiqueDraft(2, "slip"))
    c = make_client(w["teacher"])
    resp = c.post(f"/teach/problems/{w['problem'].id}/edit", data={
        "title": "Tickets", "statement": "New wording", "steps-0": "A new first step", "steps-1": "Second",
        "first_wrong_step": "1", "reason": "changed", "error_kind": "other"})
    assert resp.status_code == 302
    solutions = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == w["problem"].id)
                         .order_by(FlawedSolution.id)).all()
    assert len(solutions) == 2
    assert solutions[0].steps[0] == "Multiply $28 \\times 6$."
    assert solutions[1].steps == ["A new first step", "Second"]
