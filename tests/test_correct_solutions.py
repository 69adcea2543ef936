"""Correct solutions: a key may say no step is wrong. The problem form's "This solution is correct", a bank's
"first_error_step": null, the student's "No step is wrong" (the API's "error_step": null, which must be
present), and grading with and without the loopback grader model."""
import json
import re

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import AnswerKey, Grade, Problem
from classroom.services import banks, problems, submissions
from classroom.services.errors import InvalidInput
from classroom.services.scoring import score_submission
from classroom.services.submissions import CritiqueDraft

RIGHT = dict(title="Right tickets", steps=["Multiply $28 \\times 6$.", "That is $168$.", "So 168 dollars."],
             flawed_final_answer="168", first_wrong_step=None, correct=True,
             reason="Every product is right: $28 \\times 6 = 168$.")


def _grades(dbs, sub_id) -> dict:
    dbs.expire_all()
    return {g.component: g for g in dbs.exec(select(Grade).where(Grade.submission_id == sub_id))}


def _submit(world, dbs, student, assignment, problem, step, explanation="It adds up: 28 × 6 = 168.",
            correction="", answer=""):
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, assignment.id, problem.id,
                                      CritiqueDraft(step, explanation, correction, answer))
        jobs.run_job(job.id)
    return sub


# --------------------------------------------------------------------------- the key

def test_problem_form_saves_a_correct_solution(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    c = make_client(teacher)
    assert "This solution is correct (no step is wrong)" in c.get(
        f"/teach/courses/{course.code}/problems/new").get_data(as_text=True)
    resp = c.post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "Right", "statement": "What is 28 × 6?", "reference_answer": "168", "steps-0": "28 × 6 = 168",
        "steps-1": "#### 168", "correct": "y", "first_wrong_step": "", "reason": "", "error_kind": "other"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    problem = dbs.exec(select(Problem).where(Problem.title == "Right")).one()
    solution, key = problems.current_solution_with_key(dbs, problem.id)
    assert key.first_wrong_step is None and key.reason == ""
    page = c.get(f"/teach/problems/{problem.id}").get_data(as_text=True)
    assert "This solution is correct:</strong> no step is wrong." in page
    edit = c.get(f"/teach/problems/{problem.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]* checked [^>]*id="correct"', edit)

    # Without the box, a step is needed, and the message says both ways out.
    refused = c.post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "Flawed", "statement": "S", "steps-0": "one", "first_wrong_step": "", "reason": "",
        "error_kind": "other"})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "or tick “This solution is correct”" in text and "Why the step is wrong cannot be empty" in text


def test_bank_null_step_is_a_correct_solution_and_round_trips(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="RIGHT1")
    lines = [
        {"id": "r-1", "question_type": "original", "question": "What is 2 + 2?", "reference_solution": "4",
         "reference_answer": "4", "flawed_steps": ["2 + 2 = 4", "#### 4"], "first_error_step": None,
         "error_reason": "Both steps are right."},
        # error_reason may be left out of a correct solution, but never out of a flawed one.
        {"id": "r-2", "question_type": "original", "question": "What is 3 + 3?", "reference_solution": "6",
         "reference_answer": "6", "flawed_steps": ["3 + 3 = 6"], "first_error_step": None},
    ]
    raw = "".join(json.dumps(r) + "\n" for r in lines)
    with app.app_context():
        assert banks.import_bank(dbs, teacher, course, raw).imported == 2
        exported = banks.export_bank(dbs, teacher, course)
    out = {r["id"]: r for r in map(json.loads, exported.text.splitlines())}
    assert out["r-1"]["first_error_step"] is None and out["r-1"]["error_reason"] == "Both steps are right."
    assert out["r-2"]["first_error_step"] is None and out["r-2"]["error_reason"] == ""
    keys = dbs.exec(select(AnswerKey)).all()
    assert [k.first_wrong_step for k in keys] == [None, None]

    missing = dict(lines[1], id="r-3", first_error_step=1)
    with app.app_context(), pytest.raises(banks.BankInvalid) as err:
        banks.import_bank(dbs, teacher, course, json.dumps(missing) + "\n")
    assert err.value.errors == ["line 1: field error_reason: is missing"]


# --------------------------------------------------------------------------- the student's choice

def test_no_step_is_wrong_is_offered_on_every_critique(world, make_client):
    w = world.classroom()  # a flawed solution: the choice is there all the same
    page = make_client(w["alice"]).get(
        f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}").get_data(as_text=True)
    assert 'value="none"' in page and "No step is wrong" in page
    assert "correct" not in page.split("<main", 1)[1].split("No step is wrong")[0].lower().replace(
        "corrected", "")  # nothing before the choice hints which solutions are right


def test_web_and_api_answers_of_no_step(world, dbs, make_client):
    from test_api import _h, _token

    teacher = world.instructor()
    course = world.course(teacher)
    right = world.problem(teacher, course, **RIGHT)
    assignment = world.assignment(teacher, course, [right])
    alice = world.student(course)
    c = make_client(alice)
    url = f"/learn/assignments/{assignment.id}/problems/{right.id}"
    resp = c.post(url, data={"error_step": "none", "explanation": "Each step checks out: 28 × 6 = 168."})
    assert resp.status_code == 302
    sub = dbs.exec(select(submissions.Submission)).one()
    assert sub.error_step is None
    assert "no step is wrong" in c.get(resp.headers["Location"]).get_data(as_text=True)
    # Opening the problem again starts from that answer.
    assert re.search(r'<input checked id="error_step-3" [^>]*value="none">',
                     c.get(url).get_data(as_text=True))

    api = make_client()
    headers = _h(_token(world, dbs, alice))
    path = f"/api/v1/assignments/{assignment.id}/problems/{right.id}/submissions"
    made = api.post(path, json={"error_step": None, "explanation": "Nothing is wrong."}, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert api.get(f"/api/v1/submissions/{made.get_json()['id']}", headers=headers).get_json()["error_step"] is None
    missing = api.post(path, json={"explanation": "Forgot the step."}, headers=headers)
    assert missing.status_code == 400
    assert missing.get_json()["error"]["field"] == "error_step"
    assert "error_step: null" in missing.get_json()["error"]["message"]


# --------------------------------------------------------------------------- grading without a model

def test_grading_a_correct_solution_without_a_model(world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    right = world.problem(teacher, course, **RIGHT)
    flawed = world.problem(teacher, course)
    assignment = world.assignment(teacher, course, [right, flawed])
    alice = world.student(course)
    bob = world.student(course)

    said_right = _submit(world, dbs, alice, assignment, right, None)
    g = _grades(dbs, said_right.id)
    assert set(g) == {"location", "explanation"}  # no correction, no final answer: nothing to correct
    assert g["location"].score == 1.0 and g["location"].feedback == "Right: no step of this solution is wrong."
    assert g["explanation"].status == "needs_review"
    # The correction's weight moved to location and explanation (30 + 40 of 100): location is 30/70.
    g["explanation"].override_score = 0.0
    score = score_submission(assignment, 2, said_right, list(g.values()))
    assert score.fraction == pytest.approx(30 / 70) and not score.pending

    false_alarm = _submit(world, dbs, bob, assignment, right, 2, "Step 2 is wrong.", "28 × 6 = 158", "158")
    g = _grades(dbs, false_alarm.id)
    assert g["location"].score == 0.0 and "false alarm" in g["location"].feedback
    assert set(g) == {"location", "explanation"}

    missed = _submit(world, dbs, alice, assignment, flawed, None, "All fine.")
    g = _grades(dbs, missed.id)
    assert g["location"].score == 0.0 and g["location"].feedback == "This solution does have a wrong step."
    assert {"correction", "final_answer"} <= set(g)

    page = make_client(teacher).get(f"/teach/courses/{course.code}/review").get_data(as_text=True)
    assert "false alarm: the solution is correct" in page and "This solution is correct:" in page


def test_submitted_step_outside_the_solution_is_still_refused(world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    right = world.problem(teacher, course, **RIGHT)
    assignment = world.assignment(teacher, course, [right])
    alice = world.student(course)
    with world.app.app_context(), pytest.raises(InvalidInput) as err:
        submissions.submit(dbs, alice, assignment.id, right.id, CritiqueDraft(7, "x"))
    assert err.value.field == "error_step"


# --------------------------------------------------------------------------- false alarms, mixing in, the demo

def test_item_analysis_counts_false_alarms_apart_from_misses(world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    right = world.problem(teacher, course, **RIGHT)
    flawed = world.problem(teacher, course)  # key: step 2
    assignment = world.assignment(teacher, course, [right, flawed])
    alice, bob, carol = (world.student(course) for _ in range(3))
    _submit(world, dbs, alice, assignment, right, None)  # found: nothing wrong
    _submit(world, dbs, bob, assignment, right, 2, "Step 2 is wrong.")  # false alarm
    _submit(world, dbs, alice, assignment, flawed, 3, "Step 3.")  # missed
    _submit(world, dbs, bob, assignment, flawed, 2, "Step 2: 28 × 6 = 168.")  # found
    _submit(world, dbs, carol, assignment, flawed, None, "All fine.")  # missed
    _submit(world, dbs, carol, assignment, right, 3, "Step 3.")  # false alarm
    _submit(world, dbs, carol, assignment, right, None, "On second thought, all fine.")  # latest counts: found

    page = make_client(teacher).get(f"/teach/assignments/{assignment.id}").get_data(as_text=True)
    table = page.split("<h2>Item analysis</h2>")[1].split("</table>")[0]
    rows = [re.sub(r"<[^>]+>", " ", row).split() for row in table.split("<tr>")[2:]]
    assert rows[0][:2] == ["Right", "tickets"] and rows[0][2:] == ["correct", "3", "2", "(67%)", "—", "1"]
    assert rows[1] == ["Tickets", "flawed", "3", "1", "(33%)", "2", "—"]
    assert "v2: no step is wrong" in page


def test_assignment_mixes_in_correct_solutions(world, dbs, make_client):
    from classroom.services import assignments

    teacher = world.instructor()
    course = world.course(teacher)
    flawed = world.problem(teacher, course)
    right_a = world.problem(teacher, course, **RIGHT)
    right_b = world.problem(teacher, course, **dict(RIGHT, title="Also right"))
    made = world.assignment(teacher, course, [flawed], correct_solutions=1)
    assert [p.id for p in assignments.problems_in(dbs, made.id)] == [flawed.id, right_a.id]
    assert made.correct_solutions == 1
    # A chosen correct solution counts: nothing more is added.
    again = world.assignment(teacher, course, [flawed, right_b], correct_solutions=1, title="Week 2")
    assert [p.id for p in assignments.problems_in(dbs, again.id)] == [flawed.id, right_b.id]

    c = make_client(teacher)
    form = c.get(f"/teach/courses/{course.code}/assignments/new").get_data(as_text=True)
    assert "Also right (correct solution)" in form and 'id="correct_solutions"' in form
    refused = c.post(f"/teach/courses/{course.code}/assignments/new", data={
        "title": "Too many", "opens_at": "2026-01-01 09:00", "due_at": "2030-01-01 09:00",
        "problem_ids": [str(flawed.id)], "points": "10", "weight_location": "30", "weight_explanation": "40",
        "weight_correction": "30", "weight_lean": "0", "late_penalty_percent": "0", "correct_solutions": "3"})
    assert refused.status_code == 400
    assert "You asked for 3 correct solutions, but this course has only 2" in refused.get_data(as_text=True)


def test_demo_open_assignment_has_a_correct_solution(app, dbs):
    from classroom.models import Assignment
    from classroom.services import assignments, demo

    with app.app_context():
        demo.seed(dbs)
        week1 = dbs.exec(select(Assignment).where(Assignment.title.startswith("Week 1"))).one()
        keys = [problems.current_solution_with_key(dbs, p.id)[1] for p in assignments.problems_in(dbs, week1.id)]
    assert [k.first_wrong_step for k in keys].count(None) == 1
    assert "No step is wrong" in week1.instructions
