"""Forms name every problem at once, beside its field, and keep what was typed; and the small things a first
afternoon with the app turned up (issue 10): help texts, links, instructions, copy targets, resubmission
after release, the generate button without a model, init-db's words, the favicon."""
import html
import io
import json
import re
import pytest
from sqlmodel import select

from classroom.models import Problem, Submission
from classroom.services import banks, submissions
from classroom.services.submissions import CritiqueDraft


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _error_beside(page: str, field_id: str) -> str:
    """The message shown beside one field, after checking its control points at it with aria-describedby."""
    control = re.search(rf'<(?:input|textarea|select)[^>]*\bid="{re.escape(field_id)}"[^>]*>', page)
    assert control, f"no control with id {field_id}"
    tag = control.group(0)
    described = re.search(r'aria-describedby="([^"]*)"', tag)
    assert described and f"{field_id}-error" in described.group(1).split(), tag
    assert 'aria-invalid="true"' in tag, tag
    block = re.search(rf'<div class="field-error" id="{re.escape(field_id)}-error">(.*?)</div>', page, re.S)
    assert block, f"no error block for {field_id}"
    return _text(block.group(1)).strip()


def test_empty_problem_form_names_every_missing_field_at_once(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "", "statement": "", "reference_answer": "42", "steps-0": "", "steps-1": "", "first_wrong_step": "",
        "reason": "", "error_kind": "other", "flawed_final_answer": "kept answer"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert _error_beside(page, "title")
    assert _error_beside(page, "statement")
    assert _error_beside(page, "first_wrong_step")
    assert _error_beside(page, "reason")
    # The missing steps are named too, beside the step list, and every step box points at that message.
    assert re.search(r'<div class="field-error" id="steps-error"><p>A flawed solution needs at least one step.',
                     page)
    assert re.search(r'<textarea[^>]*aria-describedby="steps-hint steps-error"[^>]*id="steps-0"', page) or \
        re.search(r'<textarea[^>]*id="steps-0"[^>]*aria-describedby="steps-hint steps-error"', page)
    # The statement's error sits under the statement box, not under its preview.
    statement = page[page.index('id="statement"'):]
    assert statement.index('id="statement-error"') < statement.index('id="statement-preview"')
    # One summary at the top lists them all, each linked to its field; what was typed stays.
    summary = page[page.index('id="error-summary"'):page.index("</ul>", page.index('id="error-summary"'))]
    for target in ("#title", "#statement", "#steps-0", "#first_wrong_step", "#reason"):
        assert f'href="{target}"' in summary, target
    assert 'value="42"' in page and 'value="kept answer"' in page
    assert "flash error" not in page  # no banner, one message at a time


def test_a_too_long_step_is_named_beside_its_own_box(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "T", "statement": "S", "steps-0": "fine", "steps-1": "x" * 5001, "first_wrong_step": "1",
        "reason": "R", "error_kind": "other"})
    assert resp.status_code == 400
    assert "Too long" in _error_beside(resp.get_data(as_text=True), "steps-1")


def test_assignment_form_shows_all_errors_and_keeps_the_title(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    world.problem(teacher, course)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/assignments/new", data={
        "title": "Week 3", "opens_at": "", "due_at": "someday", "points": "100", "weight_location": "0",
        "weight_explanation": "0", "weight_correction": "0", "weight_lean": "0", "late_penalty_percent": "0"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert _error_beside(page, "opens_at") == "The opening date is required."
    assert "not a date we can read" in _error_beside(page, "due_at")
    assert _error_beside(page, "weight_location") == "At least one component needs a weight above zero."
    assert '<div class="field-error" id="problem_ids-error"><p>Choose at least one problem' in page
    assert 'value="Week 3"' in page
    assert page.count("<li><a href=") >= 4  # the summary lists the four


def test_signup_names_every_problem_at_once(client, world):
    taken = world.student()
    resp = client.post("/signup", data={"name": "", "email": taken.email, "password": "short", "role": "student"})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert _error_beside(page, "name")
    assert _error_beside(page, "email").startswith("An account with that email already exists. Log in instead")
    assert "8" in _error_beside(page, "password")
    assert f'value="{taken.email}"' in page


def test_login_failure_is_said_once_in_the_form(client, world):
    teacher = world.instructor()
    resp = client.post("/login", data={"email": teacher.email, "password": "wrong-password"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'id="error-summary"' in page
    assert "That email and password do not match an account." in page and f'value="{teacher.email}"' in page
    resp = client.post("/login", data={"email": "", "password": ""})
    page = resp.get_data(as_text=True)
    assert _error_beside(page, "email") == "Type your email address."
    assert _error_beside(page, "password") == "Type your password."


def test_course_code_error_beside_the_code(make_client, world):
    resp = make_client(world.instructor()).post("/teach/courses", data={"title": "", "code": "x!"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert _error_beside(page, "title") and "3 to 20 letters" in _error_beside(page, "code")
    assert 'value="x!"' in page


def test_join_code_error_beside_the_code_and_kept(make_client, world):
    resp = make_client(world.student()).post("/learn/join", data={"code": "NOPE99"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "No course has the code NOPE99" in _error_beside(page, "code") and 'value="NOPE99"' in page


def test_critique_form_names_the_step_and_the_explanation_together(make_client, world, dbs):
    w = world.classroom()
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    resp = make_client(w["alice"]).post(url, data={"explanation": " ", "correction": "my careful correction"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Mark the first wrong step, or choose" in page
    assert 'aria-describedby="error_step-error"' in page and '<div class="field-error" id="error_step-error">' in page
    assert _error_beside(page, "explanation") == "Explain what is wrong, or why nothing is."
    assert "my careful correction" in page
    resp = make_client(w["alice"]).post(url, data={"error_step": "9", "explanation": "e"})
    assert "Choose a step between 1 and 3" in resp.get_data(as_text=True)
    assert dbs.exec(select(Submission)).all() == []


def test_refused_override_keeps_the_comment_beside_its_error(make_client, world, dbs):
    from classroom import jobs
    from classroom.models import Grade
    w = world.classroom()
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, "It multiplies wrong.", "fixed", "168"))
        jobs.run_job(job.id)
    grade = dbs.exec(select(Grade).where(Grade.submission_id == sub.id, Grade.component == "explanation")).one()
    resp = make_client(w["teacher"]).post(f"/teach/grades/{grade.id}/score",
                                          data={"score": "150", "comment": "A long, careful comment."})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "between 0 and 100" in _error_beside(page, f"score-{grade.id}")
    assert "A long, careful comment.</textarea>" in page
    assert re.search(r'<details open><summary class="small">Other score or a comment</summary>', page)


def test_roster_errors_are_listed_beside_the_file_input(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/roster",
                                     data={"roster": (io.BytesIO(b"email,name\nnot-an-email,Bad\n"), "r.csv")},
                                     content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    beside = _error_beside(page, "roster")
    assert "Nothing was imported" in beside and "Row 2:" in beside
    assert "each error is listed with its row number" in page and "each problem is listed" not in page


def test_bank_help_page_shows_the_format_and_its_example_imports(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    client = make_client(teacher)
    course_page = client.get(f"/teach/courses/{course.code}").get_data(as_text=True)
    assert 'href="/teach/help/bank-format"' in course_page and "README" not in course_page
    page = client.get("/teach/help/bank-format").get_data(as_text=True)
    for name in banks.BANK_FIELDS + banks.OPTIONAL_FIELDS:
        assert f"<code>{name}</code>" in page
    example = html.unescape(re.search(r'<pre class="raw example-line">(.*?)</pre>', page, re.S).group(1))
    assert json.loads(example)["first_error_step"] == 2
    with world.app.app_context():
        result = banks.import_bank(dbs, teacher, course, example + "\n")
    assert result.imported == 1
    assert dbs.exec(select(Problem).where(Problem.course_id == course.id)).one().title == "Field trip tickets"


def test_copy_offers_only_other_courses(make_client, world):
    w = world.classroom()
    client = make_client(w["teacher"])
    page = client.get(f"/teach/problems/{w['problem'].id}").get_data(as_text=True)
    assert "You teach no other course to copy this problem to." in page and 'name="course"' not in page
    second = world.course(w["teacher"], title="Geometry")
    page = client.get(f"/teach/problems/{w['problem'].id}").get_data(as_text=True)
    options = re.findall(r'<option[^>]*value="([^"]+)"', page[page.index('id="copy"'):])
    assert options == [second.code]


def test_generate_is_disabled_with_the_reason_when_no_model_is_configured(make_client, world):
    w = world.classroom()
    client = make_client(w["teacher"])
    for url in (f"/teach/problems/{w['problem'].id}", f"/teach/courses/{w['course'].code}"):
        page = client.get(url).get_data(as_text=True)
        button = re.search(r'<button type="button" class="secondary" disabled aria-describedby="([^"]+)">', page)
        assert button, url
        assert re.search(rf'id="{button.group(1)}">Needs a grader model, and none is configured.', page)
    page = client.get(f"/teach/problems/{w['problem'].id}/generate").get_data(as_text=True)
    assert '<button type="submit" disabled aria-describedby="generate-off">Generate</button>' in page


def test_generate_links_stay_active_with_a_model(app, make_client, world):
    app.config.update(GRADER_MODEL="m", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    w = world.classroom()
    page = make_client(w["teacher"]).get(f"/teach/problems/{w['problem'].id}").get_data(as_text=True)
    assert f'<a class="button secondary" href="/teach/problems/{w["problem"].id}/generate">' in page
    assert "disabled" not in page.split("Generate a flawed solution")[0][-200:]


def test_teacher_assignment_page_shows_the_instructions(make_client, world):
    w = world.classroom()
    a = world.assignment(w["teacher"], w["course"], [w["problem"]], title="With words",
                         instructions="Read **every** step; $x^2$ counts.")
    page = make_client(w["teacher"]).get(f"/teach/assignments/{a.id}").get_data(as_text=True)
    assert "Instructions for students" in page
    assert "<strong>every</strong>" in page and '<span class="math inline">x^2</span>' in page


def _run(world, dbs, w, student, **kw):
    from classroom import jobs
    draft = CritiqueDraft(kw.get("step", 2), "It multiplies wrong.", "fixed", "168")
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, w["assignment"].id, w["problem"].id, draft)
        jobs.run_job(job.id)
    return sub


def test_resubmitting_after_release_warns_the_student_and_shows_the_instructor(make_client, world, dbs):
    w = world.classroom()
    first = _run(world, dbs, w, w["alice"])
    tc, sc = make_client(w["teacher"]), make_client(w["alice"])
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    assert "resubmit-warning" not in sc.get(url).get_data(as_text=True)  # not released yet
    tc.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "release", "confirm": "yes"})
    page = sc.get(url).get_data(as_text=True)
    warning = _text(page[page.index('id="resubmit-warning"'):page.index("</div>", page.index('id="resubmit-warning"'))])
    # location 30 + final answer 15 of 100 are decided: 45 points released
    assert "Your grade for this problem is released: 45 / 100 points (version 1)." in warning
    assert "A new version replaces it" in warning
    assert 'data-confirm="Send a new version? It replaces your released score of 45 / 100' in page
    assert "resubmit-warning" not in tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert 'id="reopened"' not in tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)

    dbs.expire_all()
    second = _run(world, dbs, w, w["alice"], step=3)
    page = tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    card = _text(page[page.index('id="reopened"'):page.index("</table>", page.index('id="reopened"'))])
    assert "Sent after you released grades (1)" in card
    assert re.search(r"Alice Adams Tickets v1 ?: 45 / 100 v2", card) and "Waiting for review (2)" in card
    assert f'href="/teach/submissions/{first.id}"' in page and f'href="/teach/submissions/{second.id}"' in page
    # Bob's first answer also came after the release: listed, with nothing released before it.
    _run(world, dbs, w, w["bob"])
    dbs.expire_all()
    page = tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    card = _text(page[page.index('id="reopened"'):page.index("</table>", page.index('id="reopened"'))])
    assert "Sent after you released grades (2)" in card and "Bob Brown Tickets not answered" in card


def test_init_db_says_it_created_then_upgraded_then_nothing(tmp_path):
    from test_cli import _flask

    from classroom.migrate import alembic_config
    r = _flask(tmp_path, "init-db")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Created the database schema (version ") and "classroom.sqlite3" in r.stdout
    r = _flask(tmp_path, "init-db")
    assert "is up to date (version " in r.stdout
    from alembic import command
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0001")
    r = _flask(tmp_path, "init-db", env_extra={"DATABASE_URL": url})
    assert r.returncode == 0, r.stderr
    assert re.match(r"Upgraded the database schema in sqlite:///.*old\.sqlite3 from version 0001 to \S+\.", r.stdout)


def test_every_page_links_its_icon_and_the_icons_exist(client):
    page = client.get("/").get_data(as_text=True)
    icons = re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', page)
    assert len(icons) == 3
    for href in icons:
        resp = client.get(href)
        assert resp.status_code == 200 and resp.mimetype in ("image/svg+xml", "image/png"), href


@pytest.mark.parametrize("path", ["README.md"])
def test_readme_says_serve_takes_host_and_port(path):
    from support import PROJECT_ROOT
    text = (PROJECT_ROOT / path).read_text()
    assert "serve [--host ADDRESS] [--port N]" in text and "--host 0.0.0.0" in text


def test_student_result_page_links_to_the_assignment(make_client, world, dbs):
    w = world.classroom()
    sub = _run(world, dbs, w, w["alice"])
    page = make_client(w["alice"]).get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    crumbs = page[page.index('class="crumbs"'):page.index("</p>", page.index('class="crumbs"'))]
    assert f'href="/learn/assignments/{w["assignment"].id}">Week 1</a>' in crumbs
    assert f'href="/learn/assignments/{w["assignment"].id}/problems/{w["problem"].id}">Tickets</a>' in crumbs


def test_a_refused_split_is_said_beside_the_paste_box(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/problems/new",
                                     data={"title": "Kept title", "split": "1", "paste": "   "})
    page = resp.get_data(as_text=True)
    assert "Paste the whole answer into the box first" in _error_beside(page, "paste")
    assert '<details class="paste-box" open>' in page and 'value="Kept title"' in page


def test_api_names_every_wrong_field_at_once(client, world, dbs):
    from classroom.services import accounts
    w = world.classroom()
    with world.app.app_context():
        token = accounts.create_token(dbs, w["alice"].email)
    resp = client.post(f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/submissions",
                       json={"error_step": 9, "explanation": "", "final_answer": "x" * 300},
                       headers={"Authorization": f"Bearer {token}"})
    error = resp.get_json()["error"]
    assert resp.status_code == 400 and error["field"] == "error_step"
    assert error["message"] == "Choose a step between 1 and 3; step 9 is not in the solution."
    assert set(error["fields"]) == {"error_step", "explanation", "final_answer"}
    assert error["fields"]["explanation"] == ["Your explanation cannot be empty."]
