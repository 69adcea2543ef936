"""The main flows in a real browser, through the real forms (CSRF on), on each database backend."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest

from support import PASSWORD

from .helpers import log_in, seed_classroom, unique

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect

STATEMENT = r"Each ticket costs \$6. What do $n = 28$ students pay, that is $6 \cdot n = \,?$"
EXPLANATION = r"Step 2 claims $28 \times 6 = 158$, but $28 \times 6 = 168$."


def assert_healthy(*pages):
    for page in pages:
        assert not page.watch.page_errors, page.watch.page_errors
        assert not page.watch.server_errors, page.watch.server_errors


def sign_up(page, name: str, email: str) -> None:
    page.goto("/signup")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def test_course_to_gradebook(new_page, live_server):
    from classroom.services import accounts

    teacher = new_page()
    student = new_page()
    admin = new_page()
    code = unique("ALG").upper()
    student_email = f"{unique('sam')}@example.test"
    admin_email = f"{unique('root')}@example.test"
    with live_server.session() as s:
        accounts.create_user(s, email=admin_email, name="Ada Admin", password=PASSWORD, role="admin")

    # The instructor signs up (as everyone does, a student account), asks for instructor access,
    # an administrator approves it, and the instructor creates a course, a problem with LaTeX and an assignment.
    sign_up(teacher, "Tess Teacher", f"{unique('tess')}@example.test")
    expect(teacher).to_have_url(re.compile(r"/learn/$"))
    teacher.get_by_role("link", name=re.compile("^Tess Teacher")).click()
    teacher.get_by_label("What you teach, and where").fill("Algebra at Northside High")
    teacher.get_by_role("button", name="Ask for instructor access").click()
    expect(teacher.locator(".flash.success")).to_contain_text("Your request is sent")
    log_in(admin, admin_email)
    admin.get_by_role("link", name="Admin", exact=True).click()
    row = admin.get_by_role("row", name=re.compile("Tess Teacher"))
    expect(row).to_contain_text("Algebra at Northside High")
    row.get_by_role("button", name="Approve").click()
    expect(admin.locator(".flash.success")).to_contain_text("now has instructor access")
    teacher.goto("/")
    expect(teacher).to_have_url(re.compile(r"/teach/$"))
    teacher.get_by_label("Course title").fill("Algebra in the browser")
    teacher.get_by_label(re.compile(r"^Course code")).fill(code)
    teacher.get_by_role("button", name="Create course").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Algebra in the browser")
    expect(teacher.locator(".code-chip")).to_have_text(code)

    teacher.get_by_role("link", name="New problem", exact=True).click()
    teacher.get_by_label("Title", exact=True).fill("Tickets")
    teacher.get_by_label("Problem statement (Markdown and LaTeX)").fill(STATEMENT)
    expect(teacher.locator("#statement-preview .katex").first).to_be_visible()
    teacher.get_by_label("Reference solution").fill(r"$28 \times 6 = 168$")
    teacher.get_by_label("Reference final answer (checked exactly)").fill("168")
    teacher.get_by_label("Step 1", exact=True).fill("There are $28$ students at \\$6 each.")
    teacher.get_by_label("Step 2", exact=True).fill(r"So they pay $28 \times 6 = 158$.")
    teacher.get_by_label("Step 3", exact=True).fill("The answer is \\$158.")
    teacher.get_by_label("Final answer of the flawed solution").fill("158")
    teacher.get_by_label("First wrong step (number)").fill("2")
    teacher.get_by_label("Kind of error").select_option("arithmetic")
    teacher.get_by_label(re.compile(r"^Why that step is wrong")).fill(r"$28 \times 6 = 168$.")
    teacher.get_by_role("button", name="Save problem").click()
    expect(teacher.locator(".flash.success")).to_have_text("Problem saved.")
    expect(teacher.locator(".statement .katex").first).to_be_visible()

    teacher.locator(".crumbs a").click()
    teacher.get_by_role("link", name="New assignment", exact=True).click()
    teacher.get_by_label("Title", exact=True).fill("Week 1")
    now = datetime.now()
    teacher.get_by_label("Opens").fill((now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    teacher.get_by_label("Due").fill((now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    teacher.get_by_label("Tickets").check()
    teacher.get_by_role("button", name="Save assignment").click()
    expect(teacher.locator(".flash.success")).to_have_text("Assignment created.")
    assignment_url = teacher.url

    # The student signs up, joins with the code and answers.
    sign_up(student, "Sam Student", student_email)
    expect(student).to_have_url(re.compile(r"/learn/$"))
    student.get_by_label("Course code").fill(code.lower())  # codes are not case-sensitive
    student.get_by_role("button", name="Join").click()
    expect(student.locator(".flash.success")).to_contain_text("You joined Algebra in the browser")
    student.get_by_role("link", name="Week 1").click()
    student.get_by_role("link", name="Tickets").click()
    expect(student.locator(".statement .katex").first).to_be_visible()
    expect(student.locator("ol.steps .katex").first).to_be_visible()
    expect(student.locator(".katex-error")).to_have_count(0)

    student.locator(".step-choices label", has_text="Step 2").click()
    expect(student.get_by_role("radio", name="Step 2")).to_be_checked()
    student.get_by_label(re.compile(r"^What is wrong with that step")).fill(EXPLANATION)
    preview = student.locator("#explanation-preview")
    expect(preview.locator(".katex").first).to_be_visible()
    expect(preview).to_contain_text("168")
    expect(preview.locator(".katex-error")).to_have_count(0)
    student.get_by_label("Your corrected solution from that step on").fill(r"They pay $28 \times 6 = 168$ dollars.")
    student.get_by_label("Your final answer").fill("168")
    student.get_by_role("button", name="Submit").click()
    expect(student).to_have_url(re.compile(r"/learn/submissions/\d+$"))
    # The step and the answer are checked; the explanation and correction wait for the instructor.
    expect(student.locator("[data-grading-state]")).to_have_text("Waiting for review (2)")
    expect(student.locator(".rendered .katex").first).to_be_visible()
    student_submission_url = student.url

    # The instructor scores the explanation from the review queue with one click ...
    teacher.goto(assignment_url)
    teacher.locator(".crumbs a").click()
    teacher.get_by_role("link", name=re.compile(r"^Review queue \(2\)")).click()
    section = teacher.get_by_role("region", name=re.compile(r"^Explanations, Tickets"))
    card = section.get_by_role("article").first
    expect(card.locator(".katex").first).to_be_visible()
    card.get_by_role("button", name="Full credit").first.click()
    expect(teacher.locator("#undo-toast")).to_contain_text("Scored 1 critique at 100%.")
    expect(card).to_be_hidden()

    # ... and overrides the written correction with a comment on the submission page.
    teacher.get_by_role("link", name="whole submission").click()
    component = teacher.locator(".component", has=teacher.get_by_role("heading", name=re.compile("^Written correction")))
    component.get_by_text("Other score or a comment").click()
    component.get_by_label("Score (percent)").fill("75")
    component.get_by_label("Comment for the student").fill("Right answer; show the multiplication.")
    component.get_by_role("button", name="Save score").click()
    expect(teacher.locator(".flash.success")).to_contain_text("Score saved")
    expect(component).to_contain_text("75% (instructor)")
    expect(component).to_contain_text("Right answer; show the multiplication.")
    # location 30 + explanation 40 + final answer 15 + written correction 15 × 75% = 96.25
    expect(teacher.get_by_text("96.25 / 100 points")).to_be_visible()

    # Release and download the gradebook.
    teacher.goto(assignment_url)
    # The assignment is still open, so the app asks on a page of its own (no script dialog) why
    # releasing now gives the key away, and releases only when asked again.
    teacher.get_by_role("button", name="Release grades").click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text("Release grades while students can still answer?")
    assert not teacher.watch.dialogs, teacher.watch.dialogs
    teacher.get_by_role("button", name="Release now anyway").click()
    expect(teacher.locator(".flash.success")).to_contain_text("Grades released")
    teacher.locator(".crumbs a").click()
    teacher.get_by_role("link", name="Gradebook", exact=True).click()
    expect(teacher.locator("tbody tr", has_text=student_email)).to_contain_text("96.25")
    with teacher.expect_download() as info:
        teacher.get_by_role("link", name=re.compile(r"^Download CSV \(all")).click()
    download = info.value
    assert download.suggested_filename == f"{code}-gradebook-plain.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    row = next(r for r in rows if r["Email"] == student_email)
    assert row["Student"] == "Sam Student"
    assert row["Week 1 (100 pts)"] == "96.25"
    assert row["Total"] == "96.25"
    assert row["Awaiting review"] == ""

    # The student now sees the score and the comment.
    student.goto(student_submission_url)
    expect(student.get_by_text("96.25 / 100 points")).to_be_visible()
    expect(student.locator(".component", has_text="Written correction")).to_contain_text(
        "Right answer; show the multiplication.")
    assert_healthy(teacher, student)


def test_submit_form_works_from_the_keyboard(new_page, live_server):
    room = seed_classroom(live_server)
    page = new_page()
    log_in(page, room.student_email)
    page.goto(f"/learn/assignments/{room.assignment_id}/problems/{room.problem_id}")

    # Tab from the top of the page reaches the first step pill (the radio itself, not hidden from focus).
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "error_step":
            break
    else:
        pytest.fail("Tab never reached the step choices")
    assert page.evaluate("document.activeElement.id") == "error_step-0"
    outline = page.locator("label[for=error_step-0]").evaluate("l => getComputedStyle(l).outlineStyle")
    assert outline != "none", "the focused step pill shows no focus ring"

    page.keyboard.press("Space")
    expect(page.get_by_role("radio", name="Step 1")).to_be_checked()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("radio", name="Step 2")).to_be_checked()
    expect(page.get_by_role("radio", name="Step 2")).to_be_focused()

    page.keyboard.press("Tab")
    expect(page.locator("#explanation")).to_be_focused()
    page.keyboard.type("The product $28 \\times 6$ is 168.")
    expect(page.locator("#explanation-preview .katex").first).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#correction")).to_be_focused()
    page.keyboard.type("They pay 168 dollars.")
    page.keyboard.press("Tab")
    expect(page.locator("#final_answer")).to_be_focused()
    page.keyboard.type("168")
    page.keyboard.press("Enter")  # implicit submission from a text field
    expect(page).to_have_url(re.compile(r"/learn/submissions/\d+$"))
    expect(page.get_by_text("First wrong step: step 2")).to_be_visible()
    assert_healthy(page)


UNLABELLED = """() => {
  const named = el => {
    if (el.labels && Array.from(el.labels).some(l => l.textContent.trim())) return true;
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    return ids.some(id => { const t = document.getElementById(id); return t && t.textContent.trim(); });
  };
  const fields = Array.from(document.querySelectorAll('input, textarea, select'))
    .filter(el => el.type !== 'hidden' && !named(el));
  const buttons = Array.from(document.querySelectorAll('button, [role=button]'))
    .filter(b => !b.textContent.trim() && !(b.getAttribute('aria-label') || '').trim());
  return fields.concat(buttons).map(el => el.outerHTML.slice(0, 160));
}"""


def test_every_form_control_has_a_label(new_page, live_server):
    room = seed_classroom(live_server, submit=True)
    anonymous = new_page()
    for path in ("/login", "/signup"):
        anonymous.goto(path)
        assert anonymous.evaluate(UNLABELLED) == [], path

    teacher = new_page()
    log_in(teacher, room.teacher_email)
    with live_server.session() as s:
        from classroom.services import submissions
        grade_ids = [g.id for g in submissions.grades_of(s, room.submission_id)]
    assert grade_ids
    pages = ["/teach/", f"/teach/courses/{room.code}", f"/teach/courses/{room.code}/problems/new",
             f"/teach/problems/{room.problem_id}/edit", f"/teach/courses/{room.code}/assignments/new",
             f"/teach/assignments/{room.assignment_id}/edit", f"/teach/assignments/{room.assignment_id}",
             f"/teach/submissions/{room.submission_id}", f"/teach/courses/{room.code}/review",
             f"/teach/courses/{room.code}/gradebook"]
    for path in pages:
        teacher.goto(path)
        assert teacher.evaluate(UNLABELLED) == [], path
    # The step editor's "Add a step" box is labelled too.
    teacher.goto(f"/teach/courses/{room.code}/problems/new")
    teacher.get_by_role("button", name="Add a step").click()
    expect(teacher.get_by_label("Step 5", exact=True)).to_be_focused()
    assert teacher.evaluate(UNLABELLED) == []

    student = new_page()
    log_in(student, room.student_email)
    for path in ("/learn/", f"/learn/assignments/{room.assignment_id}/problems/{room.problem_id}",
                 f"/learn/submissions/{room.submission_id}"):
        student.goto(path)
        assert student.evaluate(UNLABELLED) == [], path
    assert_healthy(anonymous, teacher, student)
