"""What a first afternoon with the app turned up (issue 10), checked in Chromium where it is visual:
states and rounding on both sides, rendered math in the review queue and in comments, controls
beside their labels, errors beside their fields."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest

from support import PASSWORD

from .helpers import log_in

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect

KEY_REASON = r"The area of a triangle is $\frac{1}{2} b h$, not $b h$."
COMMENT = "Right idea; write the unit: $30\\,\\text{cm}^2$, and say *why* it halves."


@dataclass
class Room:
    teacher_email: str
    student_email: str
    code: str
    assignment_id: int
    submission_id: int
    grade_ids: dict


def _seed_four_problems(server) -> Room:
    """Four problems in one 100-point assignment (25 points each); the student answered the first with
    the right step and final answer, so 45% of 25 = 11.25 points are decided and two components wait."""
    from classroom import jobs
    from classroom.models import ROLE_INSTRUCTOR, utcnow
    from classroom.services import accounts, assignments, courses, problems, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft

    tag = uuid.uuid4().hex[:8]
    with server.session() as s:
        teacher = accounts.create_user(s, email=f"t-{tag}@example.test", name="Dana Okafor", password=PASSWORD,
                                       role=ROLE_INSTRUCTOR)
        student = accounts.create_user(s, email=f"s-{tag}@example.test", name="Ria Patel", password=PASSWORD)
        course = courses.create_course(s, teacher, title="Geometry", code=f"GEO-{tag}".upper())
        courses.join_course(s, student, course.code)
        made = [problems.create_problem(s, teacher, course, ProblemDraft(
            title=f"Triangle {i + 1}", statement="A triangle has base $6$ cm and height $10$ cm. Its area?",
            reference_solution=r"$\frac{1}{2} \cdot 6 \cdot 10 = 30$", reference_answer="30",
            steps=["The area is base times height.", r"$6 \cdot 10 = 60$.", "So the area is 60 cm²."],
            flawed_final_answer="60", first_wrong_step=1, reason=KEY_REASON, error_kind="wrong_formula"))
            for i in range(4)]
        now = utcnow()
        assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Areas", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=7),
            problem_ids=[p.id for p in made]))
        sub, job = submissions.submit(s, student, assignment.id, made[0].id, CritiqueDraft(
            error_step=1, explanation=r"A triangle is half a rectangle: $A = \frac{1}{2} b h$.",
            correction=r"$A = \frac{1}{2} \cdot 6 \cdot 10 = 30$", final_answer="30"))
        jobs.run_job(job.id)
        grade_ids = {g.component: g.id for g in submissions.grades_of(s, sub.id)}
        return Room(teacher.email, student.email, course.code, assignment.id, sub.id, grade_ids)


def test_states_rounding_and_rendered_math_on_both_sides(new_page, live_server):
    room = _seed_four_problems(live_server)
    teacher = new_page()
    log_in(teacher, room.teacher_email)

    # The assignment grid: two decimals where a fraction exists, and the true state.
    teacher.goto(f"/teach/assignments/{room.assignment_id}")
    cell = teacher.locator("td", has=teacher.get_by_role("link", name="v1: step 1"))
    expect(cell).to_contain_text("11.25 / 25")
    expect(cell.locator("[data-grading-state]")).to_have_text("Waiting for review (2)")

    # The review queue: the key's reason is typeset above the explanations, the corrections' section shows
    # the reference answer, a critique its final answer.
    teacher.goto(f"/teach/courses/{room.code}/review")
    explanation = teacher.locator(f"#grade-{room.grade_ids['explanation']}")
    explanations = teacher.locator(".review-section", has=explanation)
    expect(explanations.locator(".key-reason .katex").first).to_be_visible()
    expect(explanations.locator(".key-reason")).not_to_contain_text("$")
    expect(explanation).not_to_contain_text("Waiting for your instructor")
    correction = teacher.locator(f"#grade-{room.grade_ids['correction']}")
    expect(correction.locator(".answer-pair")).to_have_text("Final answer: 30")
    corrections = teacher.locator(".review-section", has=correction)
    expect(corrections.locator(".key-box .answer-pair")).to_have_text("Reference answer: 30")
    explanation.get_by_role("button", name="Full credit").click()
    expect(teacher.locator("#undo-toast")).to_contain_text("Scored 1 critique at 100%.")
    expect(explanation).to_be_hidden()

    # The submission page: still one component waiting; an override comment with math is typeset.
    teacher.goto(f"/teach/submissions/{room.submission_id}")
    expect(teacher.locator("h1 + p [data-grading-state]")).to_have_text("Waiting for review (1)")
    expect(teacher.locator(".key-reason .katex").first).to_be_visible()
    component = teacher.locator(f"#grade-{room.grade_ids['correction']}")
    component.get_by_text("Other score or a comment").click()
    component.get_by_label("Score (percent)").fill("75")
    component.get_by_label("Comment for the student").fill(COMMENT)
    component.get_by_role("button", name="Save score").click()
    expect(teacher.locator(".flash.success")).to_contain_text("Score saved")
    expect(teacher.locator("h1 + p [data-grading-state]")).to_have_text("Graded")
    # 30 + 40 + 15 + 15 × 75% = 96.25% of 25 = 24.0625 → 24.06
    expect(teacher.get_by_text("24.06 / 25 points")).to_be_visible()
    comment = teacher.locator(f"#grade-{room.grade_ids['correction']} .comment")
    expect(comment.locator(".katex").first).to_be_visible()
    expect(comment.locator("em")).to_have_text("why")

    teacher.goto(f"/teach/assignments/{room.assignment_id}")
    expect(cell).to_contain_text("24.06 / 25")
    expect(cell.locator("[data-grading-state]")).to_have_count(0)  # graded cells carry no badge
    teacher.get_by_role("button", name="Release grades").click()
    teacher.get_by_role("button", name="Release now anyway").click()  # still open: the app asks first
    expect(teacher.locator(".flash.success")).to_contain_text("Grades released")

    # The student: the same numbers and states, the instructor's score without a waiting note.
    student = new_page()
    log_in(student, room.student_email)
    student.goto(f"/learn/assignments/{room.assignment_id}")
    row = student.locator("tr", has_text="Triangle 1")
    expect(row).to_contain_text("24.06 / 25")
    expect(row.locator("[data-grading-state]")).to_have_text("Graded")
    student.get_by_role("link", name="version 1").click()
    expect(student.get_by_text("24.06 / 25 points")).to_be_visible()
    explanation_row = student.locator(".component", has_text="Explanation:")
    expect(explanation_row).to_contain_text("100% (instructor)")
    expect(explanation_row).not_to_contain_text("Waiting")
    correction_row = student.locator(".component", has_text="Written correction:")
    expect(correction_row).to_contain_text("75% (instructor)")
    expect(correction_row.locator(".katex").first).to_be_visible()
    expect(correction_row).not_to_contain_text("$30")
    expect(student.locator(".katex-error")).to_have_count(0)
    # The result page leads back to the assignment as well as to the problem.
    expect(student.locator(".crumbs").get_by_role("link", name="Areas")).to_be_visible()
    for page in (teacher, student):
        assert not page.watch.page_errors and not page.watch.server_errors
    assert not re.search(r"\d\.\d /", student.locator("main").inner_text())


BESIDE = """(selector) => Array.from(document.querySelectorAll(selector)).map(input => {
  const label = input.labels && input.labels[0];
  if (!label) return {id: input.id, label: null};
  const a = input.getBoundingClientRect(), b = label.getBoundingClientRect();
  return {id: input.id, label: label.textContent.trim(), top: Math.abs(a.top - b.top), gap: b.left - a.right,
          weight: getComputedStyle(label).fontWeight};
})"""


def _assert_beside(page, selector):
    found = page.evaluate(BESIDE, selector)
    assert found, f"nothing matches {selector}"
    for item in found:
        assert item["label"], item
        # On the same line, just right of the box, in normal weight (a choice, not a field's title).
        assert item["top"] < 10 and 0 <= item["gap"] < 24 and int(item["weight"]) < 600, item


@pytest.mark.parametrize("width", [1280, 390])
def test_checkboxes_and_radios_sit_beside_their_own_labels(new_page, live_server, width):
    from .helpers import seed_classroom
    room = seed_classroom(live_server)
    page = new_page(width=width)
    log_in(page, room.teacher_email)
    page.goto(f"/teach/courses/{room.code}/assignments/new")
    _assert_beside(page, "input[type=checkbox][name=problem_ids]")
    _assert_beside(page, "input[type=checkbox][name=allow_late]")
    # Opens and Due line up, whatever sits under them.
    opens = page.get_by_label("Opens").bounding_box()
    due = page.get_by_label("Due").bounding_box()
    if width > 600:  # side by side
        assert abs(opens["y"] - due["y"]) < 1 and abs(opens["height"] - due["height"]) < 1, (opens, due)
    else:  # stacked, same width
        assert abs(opens["x"] - due["x"]) < 1 and abs(opens["width"] - due["width"]) < 1, (opens, due)
    assert page.get_by_label("Opens").get_attribute("aria-describedby") == "dates-hint"


def test_errors_show_beside_their_fields_and_focus_goes_to_the_summary(new_page, live_server):
    from .helpers import seed_classroom
    room = seed_classroom(live_server)
    page = new_page()
    log_in(page, room.teacher_email)
    page.goto(f"/teach/courses/{room.code}/problems/new")
    page.get_by_label("Reference final answer (checked exactly)").fill("168")
    page.get_by_role("button", name="Save problem").last.click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.locator("li")).to_have_count(5)  # title, statement, steps, first wrong step, reason
    for field_id in ("title", "statement", "first_wrong_step", "reason"):
        control = page.locator(f"#{field_id}")
        error = page.locator(f"#{field_id}-error")
        expect(error).to_be_visible()
        expect(control).to_have_attribute("aria-invalid", "true")
        box, err = control.bounding_box(), error.bounding_box()
        assert 0 <= err["y"] - (box["y"] + box["height"]) < 30, (field_id, box, err)  # right under its box
    expect(page.locator("#steps-error")).to_contain_text("A flawed solution needs at least one step.")
    expect(page.get_by_label("Reference final answer (checked exactly)")).to_have_value("168")
    # A link in the summary takes the keyboard to the field.
    summary.get_by_role("link", name=re.compile("^Why the step is wrong")).click()
    expect(page.locator("#reason")).to_be_focused()
    assert not page.watch.page_errors and not page.watch.server_errors


def test_generate_without_a_model_is_disabled_with_its_reason_beside_it(new_page, live_server):
    from .helpers import seed_classroom
    room = seed_classroom(live_server)
    page = new_page(width=390)
    log_in(page, room.teacher_email)
    page.goto(f"/teach/problems/{room.problem_id}")
    button = page.get_by_role("button", name="Generate a flawed solution")
    expect(button).to_be_disabled()
    reason = page.locator(f"#{button.get_attribute('aria-describedby')}")
    expect(reason).to_contain_text("Needs a grader model")
    b, r = button.bounding_box(), reason.bounding_box()
    assert r["y"] < b["y"] + b["height"] + 40, (b, r)  # beside it, or just under it on a phone
    reason.get_by_role("link", name="How to set one up").click()
    expect(page.get_by_role("heading", name="No grader model is configured")).to_be_visible()
    expect(page.get_by_role("button", name="Generate", exact=True)).to_be_disabled()


def test_pages_have_an_icon_and_never_ask_for_a_missing_one(new_page, live_server):
    page = new_page()
    missing = []
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    page.goto("/")
    page.goto("/login")
    page.wait_for_load_state("networkidle")
    assert not missing, missing
    icon = page.evaluate("fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)")
    assert icon == 200
