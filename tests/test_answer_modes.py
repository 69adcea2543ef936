"""The instructor's answer modes and answer tests, the student's live reading, re-checking after
an edit, the bank fields and the check-answer(s) commands."""
from __future__ import annotations

import json

from sqlmodel import select

from classroom.models import AuditLog, Grade, Problem
from classroom.services import banks, reviews
from classroom.services.submissions import CritiqueDraft, submit

PROBLEM_FORM = {
    "title": "Half of five", "statement": "What is $5/2$?", "reference_solution": "It is 2.5.",
    "reference_answer": "5/2", "steps-0": "Five halves.", "steps-1": "That is 3.", "steps-2": "", "steps-3": "",
    "flawed_final_answer": "3", "first_wrong_step": "2", "reason": "5/2 is 2.5.", "error_kind": "arithmetic",
}


def _final_answer_grade(dbs, submission_id):
    dbs.expire_all()
    return dbs.exec(select(Grade).where(Grade.submission_id == submission_id,
                                        Grade.component == "final_answer")).one()


def test_answer_tests_run_on_save_and_failures_are_named_and_marked(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="MODE-1")
    c = make_client(teacher)
    resp = c.post("/teach/courses/MODE-1/problems/new", follow_redirects=True, data={
        **PROBLEM_FORM, "answer_mode": "auto",
        "answer_tests": "2.5 -> correct\n5/2 -> correct\n2 1/2 -> correct\n2.4 -> incorrect\n2.4 -> correct"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Problem saved." in page
    assert "Answer test “2.4” should be correct, but the checker says incorrect" in page
    assert "“2.5”" not in page  # passing tests are not listed
    problem = dbs.exec(select(Problem).where(Problem.course_id == course.id)).one()
    assert problem.answer_tests[0] == {"answer": "2.5", "correct": True}
    assert problem.answer_tests_failed == 1
    assert "1 answer test failing" in c.get("/teach/courses/MODE-1").get_data(as_text=True)

    # The edit form shows the tests as typed; fixing the wrong one clears the mark.
    form_page = c.get(f"/teach/problems/{problem.id}/edit").get_data(as_text=True)
    assert "2.4 -&gt; incorrect" in form_page
    resp = c.post(f"/teach/problems/{problem.id}/edit", follow_redirects=True, data={
        **PROBLEM_FORM, "answer_mode": "auto", "answer_tests": "2.5 -> correct\n2.4 -> incorrect"})
    assert "should be" not in resp.get_data(as_text=True)
    assert "answer test failing" not in c.get("/teach/courses/MODE-1").get_data(as_text=True)


def test_bad_mode_tolerance_and_tests_are_named_beside_their_fields(make_client, world, dbs):
    teacher = world.instructor()
    world.course(teacher, code="MODE-2")
    c = make_client(teacher)
    resp = c.post("/teach/courses/MODE-2/problems/new", data={
        **PROBLEM_FORM, "answer_mode": "numeric", "answer_tolerance": "a bit", "answer_tests": "2.5 correct"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'id="answer_tolerance-error"' in page and "not a number such as 0.01" in page
    assert 'id="answer_tests-error"' in page and "Line 1" in page
    assert dbs.exec(select(Problem)).all() == []
    resp = c.post("/teach/courses/MODE-2/problems/new", data={
        **PROBLEM_FORM, "answer_mode": "auto", "answer_tolerance": "0.1"})
    assert resp.status_code == 400 and "only to the numeric answer mode" in resp.get_data(as_text=True)


def test_grading_uses_the_problem_mode_and_tolerance(world, dbs, app):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course, reference_answer=r"\pi", answer_mode="numeric",
                            answer_tolerance="0.01")
    assignment = world.assignment(teacher, course, [problem])
    alice = world.student(course)
    with app.app_context():
        close, _ = submit(dbs, alice, assignment.id, problem.id, CritiqueDraft(
            error_step=2, explanation="wrong", correction="", final_answer="3.14"))
        far, _ = submit(dbs, alice, assignment.id, problem.id, CritiqueDraft(
            error_step=2, explanation="wrong", correction="", final_answer="3.1"))
    assert _final_answer_grade(dbs, close.id).score == 1.0
    assert _final_answer_grade(dbs, far.id).score == 0.0


def test_changing_the_reference_rechecks_answers_and_keeps_overrides(make_client, world, dbs, app):
    w = world.classroom()
    teacher, problem, assignment = w["teacher"], w["problem"], w["assignment"]
    with app.app_context():
        a_sub, _ = submit(dbs, w["alice"], assignment.id, problem.id, CritiqueDraft(
            error_step=2, explanation="e", correction="", final_answer="170"))
        b_sub, _ = submit(dbs, w["bob"], assignment.id, problem.id, CritiqueDraft(
            error_step=2, explanation="e", correction="", final_answer="168"))
    assert _final_answer_grade(dbs, a_sub.id).score == 0.0
    bob_grade = _final_answer_grade(dbs, b_sub.id)
    with app.app_context():
        reviews.set_score(dbs, teacher, bob_grade.id, 0.5, "Half: no units.")

    c = make_client(teacher)
    data = {"title": "Tickets", "statement": problem.statement, "reference_solution": "", "reference_answer": "170",
            "steps-0": "Multiply $28 \\times 6$.", "steps-1": "That is $158$.", "steps-2": "So 158 dollars.",
            "flawed_final_answer": "158", "first_wrong_step": "2", "reason": "r", "error_kind": "arithmetic",
            "answer_mode": "auto"}
    assert c.post(f"/teach/problems/{problem.id}/edit", data=data).status_code == 302

    assert _final_answer_grade(dbs, a_sub.id).score == 1.0
    bob_grade = _final_answer_grade(dbs, b_sub.id)
    assert bob_grade.score == 0.0 and bob_grade.override_score == 0.5  # the instructor's score stays
    changes = dbs.exec(select(AuditLog).where(AuditLog.action == "answer.recheck")).all()
    assert sorted(e.details["to"] for e in changes) == [0.0, 1.0]
    log = c.get(f"/teach/courses/{w['course'].code}/audit").get_data(as_text=True)
    assert "Alice Adams" in log and "from 0% to 100%" in log.replace("\u202f", "").replace(" %", "%")
    assert "own score still counts." in log

    # Saving again without changing the reference, mode or tolerance re-checks nothing.
    assert c.post(f"/teach/problems/{problem.id}/edit", data=data).status_code == 302
    assert len(dbs.exec(select(AuditLog).where(AuditLog.action == "answer.recheck")).all()) == 2


def test_live_reading_for_students_and_the_api(make_client, world, dbs, app):
    w = world.classroom()
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}/read-answer"
    c = make_client(w["alice"])
    assert c.get(url, query_string={"answer": "2 1/2"}).get_json() == {
        "readable": True, "read_as": r"\frac{5}{2}", "note": r"Read as \frac{5}{2}."}
    data = c.get(url, query_string={"answer": "twelve"}).get_json()
    assert data["readable"] is False and "digits" in data["note"]
    data = c.get(url, query_string={"answer": "30 cm^2"}).get_json()
    assert data["readable"] and data["read_as"] == "30" and "cm^2" in data["note"]
    data = c.get(url, query_string={"answer": "9^9^9^9"}).get_json()
    assert data["readable"] is False and "tower" in data["note"]
    data = c.get(url, query_string={"answer": "1" * 300}).get_json()
    assert data["readable"] is False and "too long" in data["note"]
    assert "168" not in json.dumps(c.get(url, query_string={"answer": "x"}).get_json())  # the reference stays hidden
    page = c.get(f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}").get_data(as_text=True)
    assert f'data-read-answer="{url}"' in page and 'id="final_answer-reading"' in page

    from classroom.services import accounts
    with app.app_context():
        token = accounts.create_token(dbs, w["alice"].email, "t")
    api = app.test_client()
    resp = api.get(f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/read-answer",
                   query_string={"answer": r"\dfrac{3}{4}"}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["read_as"] == r"\frac{3}{4}"


def test_banks_carry_answer_mode_tolerance_and_tests(world, dbs, app):
    teacher = world.instructor()
    course = world.course(teacher, code="BANK-M")
    line = dict(banks.EXAMPLE, id="m1", reference_answer=r"\pi", answer_mode="numeric", answer_tolerance=0.01,
                answer_tests=[{"answer": "3.14", "correct": True}, {"answer": "3", "correct": False}])
    with app.app_context():
        banks.import_bank(dbs, teacher, course, (json.dumps(line) + "\n").encode())
        p = dbs.exec(select(Problem).where(Problem.course_id == course.id)).one()
        assert (p.answer_mode, p.answer_tolerance, p.answer_tests_failed) == ("numeric", "0.01", 0)
        exported = json.loads(banks.export_bank(dbs, teacher, course).text)
    assert exported["answer_mode"] == "numeric" and exported["answer_tolerance"] == "0.01"
    assert exported["answer_tests"] == line["answer_tests"]

    for bad, field in ((dict(line, id="m2", answer_mode="fuzzy"), "answer_mode"),
                       (dict(line, id="m3", answer_tolerance="lots"), "answer_tolerance"),
                       (dict(line, id="m4", answer_tests=[{"answer": "3"}]), "answer_tests"),
                       (dict(line, id="m5", answer_tests="3 -> correct"), "answer_tests")):
        with app.app_context():
            try:
                banks.import_bank(dbs, teacher, course, (json.dumps(bad) + "\n").encode())
            except banks.BankInvalid as exc:
                assert any(field in e for e in exc.errors), exc.errors
            else:
                raise AssertionError(f"{field} was accepted")


def test_check_answers_command_writes_one_line_per_input(app, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join([
        json.dumps({"reference": "5/2", "answer": "2 1/2"}),
        json.dumps({"reference": r"\pi", "answer": "3.14", "mode": "numeric", "tolerance": "0.01"}),
        json.dumps({"reference": "3, -3", "answer": "-3, 3", "mode": "ordered"}),
        "not json",
        json.dumps({"reference": "7", "answer": "9^9^9^9"}),
        json.dumps({"reference": "7", "answer": ""}),
        json.dumps({"reference": "7", "answer": "7", "mode": "fuzzy"}),
    ]) + "\n")
    result = app.test_cli_runner().invoke(args=["check-answers", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["verdict"] for r in rows] == ["correct", "correct", "incorrect", "unreadable", "unreadable", "absent",
                                            "unreadable"]
    assert rows[0]["read_as"] == r"\frac{5}{2}" and all(set(r) == {"verdict", "read_as", "note"} for r in rows)

    result = app.test_cli_runner().invoke(args=["check-answer", "--reference", r"(-\infty, 3]",
                                                "--answer", "x <= 3"])
    assert result.exit_code == 0 and result.output.startswith("correct:")
    result = app.test_cli_runner().invoke(args=["check-answer", "--reference", "1", "--answer", "1",
                                                "--tolerance", "2%"])
    assert result.exit_code != 0 and "numeric" in result.output
