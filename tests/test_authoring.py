"""Authoring: the step splitter, the problem form's split button, drafts (students never see them),
approve and discard, preview as a student, and copying problems between courses."""
import pytest
from sqlmodel import select

from classroom.models import AnswerKey, AssignmentProblem, FlawedSolution, Problem
from classroom.services import accounts, authoring, problems
from classroom.services.errors import InvalidInput

KEY = "28 × 6 = 168, not 158."


# --------------------------------------------------------------------------- the splitter

@pytest.mark.parametrize("text, steps", [
    ("1. Add 2 and 3.\n2. That is 5.\n3. So the answer is 5.", ["Add 2 and 3.", "That is 5.", "So the answer is 5."]),
    ("1) first\n2) second", ["first", "second"]),
    ("(1) first\n(2) second", ["first", "second"]),
    ("Step 1: first\nStep 2: second\nStep 3. third", ["first", "second", "third"]),
    ("**Step 1:** first\n**Step 2:** second", ["first", "second"]),
    # Lines under a number belong to it; text before step 1 is a step of its own.
    ("Let's solve it.\n1. First line\n   continued\n2. Second", ["Let's solve it.", "First line\n   continued", "Second"]),
    # A number that is not the next one (a year) continues the step.
    ("1. In the year\n2021. the price rose\n2. Then it fell", ["In the year\n2021. the price rose", "Then it fell"]),
    # Paragraphs when there are no numbered lines.
    ("First paragraph\nstill first.\n\nSecond paragraph.\n\n\nThird.", ["First paragraph\nstill first.",
                                                                        "Second paragraph.", "Third."]),
    # A display formula with blank lines inside is not cut in two.
    ("We have\n\n$$\nx = 1\n\ny = 2\n$$\n\nDone.", ["We have", "$$\nx = 1\n\ny = 2\n$$", "Done."]),
    # One paragraph of several lines: one step per line (GSM8K style).
    ("3 * 4 = 12\n12 - 5 = 7\n#### 7", ["3 * 4 = 12", "12 - 5 = 7", "#### 7"]),
    ("Only one step.", ["Only one step."]),
    ("1. Only one numbered step\nand more", ["1. Only one numbered step", "and more"]),
    ("a\r\n\r\nb", ["a", "b"]),
])
def test_split_steps(text, steps):
    assert authoring.split_steps(text) == steps


def test_split_refuses_empty_and_oversized():
    with pytest.raises(InvalidInput, match="Paste the whole answer"):
        authoring.split_steps("   \n ")
    with pytest.raises(InvalidInput, match="too long"):
        authoring.split_steps("x" * (authoring.PASTE_LIMIT + 1))
    with pytest.raises(InvalidInput, match="at most 60"):
        authoring.split_steps("\n\n".join(f"step {i}" for i in range(61)))
    with pytest.raises(InvalidInput, match="Step 2 of the pasted answer is too long"):
        authoring.split_steps("short\n\n" + "y" * 5001)


def test_strip_step_number():
    assert authoring.strip_step_number("Step 3: x = 2") == "x = 2"
    assert authoring.strip_step_number("2. y") == "y"
    assert authoring.strip_step_number("3.5 is the price") == "3.5 is the price"
    assert authoring.strip_step_number("Step 4:") == "Step 4:"


# --------------------------------------------------------------------------- the problem form

def _form(**overrides):
    data = {"title": "Tickets", "statement": "Costs \\$6 each for 28 students.", "reference_solution": "28 × 6 = 168",
            "reference_answer": "168", "flawed_final_answer": "158", "first_wrong_step": "2",
            "reason": "wrong product", "error_kind": "arithmetic", "lean_header": "", "lean_statement": "",
            "steps-0": "", "steps-1": "", "steps-2": "", "steps-3": "", "paste": ""}
    data.update(overrides)
    return data


def test_split_button_fills_the_step_boxes_and_saves_nothing(world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    client = make_client(teacher)
    url = f"/teach/courses/{course.code}/problems/new"
    resp = client.post(url, data=_form(split="1", paste="1. Multiply 28 by 6.\n2. That is 158.\n3. So 158 dollars."))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Split into 3 steps" in body
    assert "Multiply 28 by 6.</textarea>" in body and "That is 158.</textarea>" in body
    assert 'name="steps-3"' in body and 'name="steps-4"' not in body  # one empty box to add more
    assert 'value="Tickets"' in body  # the rest of the form is kept
    assert dbs.exec(select(Problem)).first() is None

    resp = client.post(url, data=_form(split="1", paste="  "))
    assert resp.status_code == 200 and "Paste the whole answer" in resp.get_data(as_text=True)

    # Saving the split steps works as any other save.
    resp = client.post(url, data=_form(**{"steps-0": "Multiply 28 by 6.", "steps-1": "That is 158.",
                                          "steps-2": "So 158 dollars."}))
    assert resp.status_code == 302
    p = dbs.exec(select(Problem)).one()
    assert problems.current_solution(dbs, p.id).steps == ["Multiply 28 by 6.", "That is 158.", "So 158 dollars."]


def test_split_on_the_edit_form(world, dbs, make_client):
    w = world.classroom()
    client = make_client(w["teacher"])
    url = f"/teach/problems/{w['problem'].id}/edit"
    resp = client.post(url, data=_form(split="1", paste="First.\n\nSecond.\n\nThird."))
    assert resp.status_code == 200 and "Second.</textarea>" in resp.get_data(as_text=True)
    dbs.expire_all()
    assert problems.current_solution(dbs, w["problem"].id).steps[0] == "Multiply $28 \\times 6$."


def test_step_editor_markup_works_without_javascript(world, make_client):
    w = world.classroom()
    body = make_client(w["teacher"]).get(f"/teach/problems/{w['problem'].id}/edit").get_data(as_text=True)
    assert "data-step-editor" in body and 'class="step-tools" hidden' in body  # buttons only once JS runs
    assert '<label for="steps-0">Step 1</label>' in body
    assert 'aria-label="Move step 2 up"' in body and 'aria-label="Remove step 3"' in body
    assert 'id="steps-0-preview"' in body and 'data-preview="steps-0-preview"' in body
    assert "Split into steps" in body and "onclick" not in body and "<script>" not in body


# --------------------------------------------------------------------------- drafts and students

def _draft(dbs, app, problem, steps=("Draft step one.", "Draft step two."), reason="Draft reason."):
    with app.app_context():
        d = authoring.add_draft(dbs, problem, list(steps), "7", 2, reason, "sign", "test-model")
        dbs.commit()
    return d


def _draft_only_problem(world, dbs, app, w):
    """A problem whose only solution is a draft, put into the open assignment directly."""
    p = Problem(course_id=w["course"].id, title="Draft only", statement="What is 3 + 4?",
                reference_solution="3 + 4 = 7", reference_answer="7")
    dbs.add(p)
    dbs.commit()
    _draft(dbs, app, p)
    dbs.add(AssignmentProblem(assignment_id=w["assignment"].id, problem_id=p.id, position=1))
    dbs.commit()
    return p


def test_a_problem_with_only_a_draft_does_not_break_student_pages(app, world, dbs, make_client):
    w = world.classroom()
    p = _draft_only_problem(world, dbs, app, w)
    student = make_client(w["alice"])
    page = student.get(f"/learn/assignments/{w['assignment'].id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Draft only" in body and "not ready yet" in body
    assert f"/problems/{p.id}\"" not in body  # no link to it
    resp = student.get(f"/learn/assignments/{w['assignment'].id}/problems/{p.id}")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "no approved flawed solution yet" in text and "Draft step one" not in text
    # The API lists only problems students can open.
    with app.app_context():
        token = accounts.create_token(dbs, w["alice"].email)
    data = make_client().get(f"/api/v1/courses/{w['course'].code}/assignments",
                             headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [x["title"] for x in data["assignments"][0]["problems"]] == ["Tickets"]
    # The other problem still works.
    assert student.get(f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}").status_code == 200
    # The instructor's pages say what is missing.
    teacher = make_client(w["teacher"])
    page = teacher.get(f"/teach/problems/{p.id}").get_data(as_text=True)
    assert "No approved flawed solution yet" in page and "Drafts waiting for your review (1)" in page
    assert "not ready for students" in teacher.get(f"/teach/courses/{w['course'].code}").get_data(as_text=True)


def test_draft_key_never_reaches_students(app, world, dbs, make_client):
    w = world.classroom()
    _draft(dbs, app, w["problem"])
    body = make_client(w["alice"]).get(
        f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}").get_data(as_text=True)
    assert "Draft step one" not in body and "Draft reason" not in body and "Multiply" in body


def test_editing_a_draft_only_problem_writes_an_approved_solution(app, world, dbs, make_client):
    w = world.classroom()
    p = _draft_only_problem(world, dbs, app, w)
    teacher = make_client(w["teacher"])
    assert teacher.get(f"/teach/problems/{p.id}/edit").status_code == 200
    resp = teacher.post(f"/teach/problems/{p.id}/edit", data=_form(**{"steps-0": "3 + 4 = 8", "steps-1": "So 8."}))
    assert resp.status_code == 302
    dbs.expire_all()
    solution, key = problems.current_solution_with_key(dbs, p.id)
    assert solution.steps == ["3 + 4 = 8", "So 8."] and key.origin == "hand"
    assert len(authoring.drafts_of(dbs, p.id)) == 1  # the draft is still there to review


def test_approve_wins_over_a_newer_approved_solution(app, world, dbs, make_client):
    w = world.classroom()
    draft = _draft(dbs, app, w["problem"])
    # Students answered the current solution, then the instructor edited it: a newer approved solution.
    from classroom.services import submissions
    from classroom.services.submissions import CritiqueDraft
    with app.app_context():
        submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id, CritiqueDraft(2, "x"))
    teacher = make_client(w["teacher"])
    teacher.post(f"/teach/problems/{w['problem'].id}/edit", data=_form(**{"steps-0": "Edited one.",
                                                                         "steps-1": "Edited two."}))
    dbs.expire_all()
    assert problems.current_solution(dbs, w["problem"].id).steps[0] == "Edited one."
    resp = teacher.post(f"/teach/solutions/{draft.id}/approve")
    assert resp.status_code == 302
    dbs.expire_all()
    current, key = problems.current_solution_with_key(dbs, w["problem"].id)
    assert current.steps == ["Draft step one.", "Draft step two."] and key.origin == "model"
    assert key.origin_model == "test-model"
    assert authoring.drafts_of(dbs, w["problem"].id) == []


def test_discard_and_double_approve(app, world, dbs, make_client):
    w = world.classroom()
    draft = _draft(dbs, app, w["problem"])
    draft_id = draft.id
    teacher = make_client(w["teacher"])
    page = teacher.get(f"/teach/solutions/{draft_id}").get_data(as_text=True)
    assert "Draft flawed solution" in page and "Draft reason." in page
    resp = teacher.post(f"/teach/solutions/{draft_id}/discard")
    assert resp.status_code == 302
    dbs.expire_all()
    assert dbs.get(FlawedSolution, draft_id) is None
    assert dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == draft_id)).first() is None
    assert teacher.get(f"/teach/solutions/{draft_id}").status_code == 404
    current = problems.current_solution(dbs, w["problem"].id)
    resp = teacher.post(f"/teach/solutions/{current.id}/discard", follow_redirects=True)
    assert "An approved solution is kept" in resp.get_data(as_text=True)
    resp = teacher.post(f"/teach/solutions/{current.id}/approve", follow_redirects=True)
    assert "already approved" in resp.get_data(as_text=True)


# --------------------------------------------------------------------------- preview

def test_preview_shows_what_students_see_without_the_key(app, world, dbs, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    resp = teacher.get(f"/teach/problems/{w['problem'].id}/preview")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Preview as a student" in body and "The model's solution" in body
    assert "Multiply" in body and "Step 3" in body and "The model's final answer:</strong> 158" in body
    assert KEY not in body and "First wrong step:" not in body and 'class="key"' not in body
    assert "Answer key" not in body and "arithmetic" not in body.lower().split("<main")[1].split("</main>")[0]
    assert "disabled" in body  # the answer form is for looking only
    # Same steps as the student's own page.
    student_body = make_client(w["alice"]).get(
        f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}").get_data(as_text=True)
    for step in ("Multiply", "That is", "So 158 dollars."):
        assert step in student_body and step in body
    # A draft, as it will look once approved.
    draft = _draft(dbs, app, w["problem"])
    body = teacher.get(f"/teach/problems/{w['problem'].id}/preview?solution={draft.id}").get_data(as_text=True)
    assert "Draft step one." in body and "Draft reason." not in body
    other = world.classroom()
    other_draft = _draft(dbs, app, other["problem"])
    assert teacher.get(f"/teach/problems/{w['problem'].id}/preview?solution={other_draft.id}").status_code == 404


# --------------------------------------------------------------------------- copying

def test_copy_to_another_course_i_teach(app, world, dbs, make_client):
    w = world.classroom()
    second = world.course(w["teacher"], title="Algebra II")
    _draft(dbs, app, w["problem"])
    teacher = make_client(w["teacher"])
    page = teacher.get(f"/teach/problems/{w['problem'].id}").get_data(as_text=True)
    assert "Copy to a course" in page and f"Algebra II ({second.code})" in page
    resp = teacher.post(f"/teach/problems/{w['problem'].id}/copy", data={"course": second.code})
    assert resp.status_code == 302
    copy = dbs.exec(select(Problem).where(Problem.course_id == second.id)).one()
    assert resp.headers["Location"].endswith(f"/teach/problems/{copy.id}")
    solution, key = problems.current_solution_with_key(dbs, copy.id)
    assert copy.title == "Tickets" and solution.steps[0] == "Multiply $28 \\times 6$."
    assert key.reason == KEY and key.first_wrong_step == 2 and key.origin == "hand"
    assert authoring.drafts_of(dbs, copy.id) == []  # drafts stay behind
    # Into the same course: a copy to vary.
    resp = teacher.post(f"/teach/problems/{w['problem'].id}/copy", data={"course": w["course"].code})
    assert resp.status_code == 302
    assert dbs.exec(select(Problem).where(Problem.title == "Tickets (copy)")).one().course_id == w["course"].id


def test_copy_refuses_a_course_i_do_not_teach(app, world, dbs, make_client):
    w = world.classroom()
    stranger = world.instructor()
    theirs = world.course(stranger, title="Not mine")
    teacher = make_client(w["teacher"])
    for code in (theirs.code, "NOSUCH"):
        resp = teacher.post(f"/teach/problems/{w['problem'].id}/copy", data={"course": code}, follow_redirects=True)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and ("You do not teach a course with that code" in body
                                            or "No course has that code" in body)
    assert dbs.exec(select(Problem).where(Problem.course_id == theirs.id)).first() is None
    # And someone else cannot copy my problem into their course.
    resp = make_client(stranger).post(f"/teach/problems/{w['problem'].id}/copy", data={"course": theirs.code})
    assert resp.status_code == 404
    assert dbs.exec(select(Problem).where(Problem.course_id == theirs.id)).first() is None


def test_copy_of_a_bank_problem_keeps_its_id_once(app, world, dbs, make_client):
    from classroom.services import banks
    teacher = world.instructor()
    a = world.course(teacher, code="COPYA")
    b = world.course(teacher, code="COPYB")
    line = ('{"id": "q1", "question_type": "reversed", "question": "2 + 2?", "reference_solution": "4", '
            '"reference_answer": 4, "flawed_steps": ["2 + 2 = 5", "5"], "first_error_step": 1, "error_reason": "4"}\n')
    with app.app_context():
        banks.import_bank(dbs, teacher, a, line)
    p = dbs.exec(select(Problem).where(Problem.course_id == a.id)).one()
    client = make_client(teacher)
    assert client.post(f"/teach/problems/{p.id}/copy", data={"course": "COPYB"}).status_code == 302
    copy = dbs.exec(select(Problem).where(Problem.course_id == b.id)).one()
    assert copy.external_id == "q1" and copy.question_type == "reversed"
    resp = client.post(f"/teach/problems/{p.id}/copy", data={"course": "COPYB"}, follow_redirects=True)
    assert "already has this problem" in resp.get_data(as_text=True)
    with app.app_context():  # importing the bank into the target later adds nothing either
        assert banks.import_bank(dbs, teacher, b, line).imported == 0


def _columns(row, leave_out=()):
    return {c.key: getattr(row, c.key) for c in type(row).__table__.columns if c.key not in leave_out}


def test_a_copy_keeps_every_field_of_the_problem_its_solution_and_key(app, world, dbs, make_client):
    """Every column but the copy's own id, course and creation time: a column added to Problem later and
    left out of copy_problem fails here (give it a value below that is not its default)."""
    teacher = world.instructor()
    a = world.course(teacher, code="KEEPA")
    b = world.course(teacher, code="KEEPB")
    fields = dict(title="Mean speed", statement="A car drives $120$ km in $1.5$ h. Its mean speed?",
                  reference_solution="$120 / 1.5 = 80$", reference_answer="80",
                  lean_header="import Mathlib", lean_statement="theorem t : (120 : ℚ) / 1.5 = 80 := by norm_num",
                  external_id="speed-1", question_type="reversed", answer_mode="numeric", answer_tolerance="2%",
                  answer_tests=[{"answer": "80.5", "correct": True}, {"answer": "90", "correct": False}],
                  answer_tests_failed=1, grader_notes="Accept km/h written out.",
                  origin_strategy_sha256="ab" * 32, origin_sample_index=3)
    not_set = set(_columns(Problem(course_id=a.id, title="", statement=""), ("id", "course_id", "created_at")))
    assert not_set == set(fields), f"give the new Problem column(s) {sorted(not_set ^ set(fields))} a value here"
    p = Problem(course_id=a.id, **fields)
    dbs.add(p)
    dbs.commit()
    solution = FlawedSolution(problem_id=p.id, steps=["x = 1", "print(x + 1)"], final_answer="80",
                              solution_format="python")
    dbs.add(solution)
    dbs.flush()
    dbs.add(AnswerKey(flawed_solution_id=solution.id, first_wrong_step=2, reason="It prints 2.",
                      error_kind="arithmetic", origin="planted", origin_model="some-model", reason_model="other"))
    dbs.commit()

    assert make_client(teacher).post(f"/teach/problems/{p.id}/copy", data={"course": b.code}).status_code == 302
    dbs.expire_all()
    copy = dbs.exec(select(Problem).where(Problem.course_id == b.id)).one()
    assert copy.id != p.id
    own = ("id", "course_id", "created_at")
    assert _columns(copy, own) == _columns(p, own) == fields
    copied_solution, copied_key = problems.current_solution_with_key(dbs, copy.id)
    assert copied_solution.id != solution.id
    assert _columns(copied_solution, own + ("problem_id",)) == _columns(solution, own + ("problem_id",))
    original_key = problems.key_for(dbs, solution.id)
    assert _columns(copied_key, ("id", "flawed_solution_id")) == _columns(original_key, ("id", "flawed_solution_id"))
    # The copy's answer tests are its own: changing them leaves the original's alone.
    copy.answer_tests.append({"answer": "70", "correct": False})
    assert len(p.answer_tests) == 2
