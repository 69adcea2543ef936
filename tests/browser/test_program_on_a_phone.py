"""A solution written as a program, on a phone (390 px) in Chromium: the program scrolls sideways inside its own
box while the page does not; its line numbers are the step numbers and every line, the blank one included,
chooses its step; a comment stays a comment; the correction box is monospace and Tab inserts spaces (Esc then
Tab leaves it); the sent correction comes back as highlighted code, still without sideways scrolling."""
from __future__ import annotations

import uuid
from datetime import timedelta

from .helpers import PASSWORD, log_in

LONG = ("in_favor_of_the_motion = total_council_members * 2 // 3  "
        "# two of every three members voted in favor, the rest against, none abstained")
PROGRAM = ["# total votes in favor", "total_council_members = 33", "", "against = total_council_members // 3",
           LONG, "answer = a*b*c if False else against", "print(answer)"]


def _seed(server):
    from classroom.models import ROLE_INSTRUCTOR, utcnow
    from classroom.services import accounts, assignments, courses, problems
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft

    tag = uuid.uuid4().hex[:8]
    with server.session() as s:
        teacher = accounts.create_user(s, email=f"t-{tag}@example.test", name="Tess Teacher", password=PASSWORD,
                                       role=ROLE_INSTRUCTOR)
        student = accounts.create_user(s, email=f"s-{tag}@example.test", name="Sam Student", password=PASSWORD)
        course = courses.create_course(s, teacher, title="Programs", code=f"PRG-{tag}".upper())
        courses.join_course(s, student, course.code)
        problem = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Council vote", statement="A council of 33 voted; twice as many in favor as against. How many "
            "voted in favor?", reference_solution="Against: 11; in favor: 22.", reference_answer="22",
            steps=PROGRAM, solution_format="python", flawed_final_answer="11", first_wrong_step=4,
            reason="The votes in favor are two thirds, not one third.", error_kind="wrong_formula"))
        now = utcnow()
        assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Week 1", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=7),
            problem_ids=[problem.id]))
        return student.email, assignment.id, problem.id


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_a_program_on_a_phone(new_page, live_server):
    email, assignment_id, problem_id = _seed(live_server)
    page = new_page(width=390, height=844)
    log_in(page, email)
    page.goto(f"/learn/assignments/{assignment_id}/problems/{problem_id}")

    # The page fits the phone; the program's box is narrower than its longest line and scrolls by itself.
    assert _page_width(page) <= 390
    box = page.locator(".program")
    assert box.evaluate("e => getComputedStyle(e).overflowX") in ("auto", "scroll")
    assert box.evaluate("e => e.scrollWidth > e.clientWidth + 100")
    box.evaluate("e => { e.scrollLeft = 200; }")
    assert box.evaluate("e => e.scrollLeft") > 0 and page.evaluate("window.scrollX") == 0
    assert box.evaluate("e => e.getBoundingClientRect().right") <= 390

    # Line numbers are the step numbers, in monospace, and a comment is a comment (never a heading).
    lines = page.locator(".program .code-lines > li")
    assert lines.count() == len(PROGRAM)
    numbers = page.locator(".program .step-no").all_text_contents()
    assert [n.replace("Step", "").strip() for n in numbers] == [str(i) for i in range(1, len(PROGRAM) + 1)]
    assert "monospace" in lines.first.locator("code").evaluate("e => getComputedStyle(e).fontFamily")
    assert page.locator(".program h1, .program em").count() == 0
    assert "# total votes in favor" in page.locator(".program .c1").first.inner_text()
    assert "a*b*c" in lines.nth(5).inner_text()

    # Every line chooses its step: tapping a line number checks that step's choice (the blank line 3 too).
    for number in range(1, len(PROGRAM) + 1):
        page.locator(".program .step-no").nth(number - 1).click()
        assert page.locator("input[name=error_step]:checked").get_attribute("value") == str(number)
    assert page.get_by_label("No step is wrong", exact=True).count() == 1

    # The correction box: monospace; Tab inserts four spaces and keeps the focus; Esc then Tab leaves.
    box = page.get_by_label("Your corrected program, from the wrong line on")
    assert "monospace" in box.evaluate("e => getComputedStyle(e).fontFamily")
    box.click()
    page.keyboard.type("if True:")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.type("in_favor = total_council_members * 2 // 3")
    assert box.input_value() == "if True:\n    in_favor = total_council_members * 2 // 3"
    assert page.evaluate("document.activeElement.id") == "correction"
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") != "correction"

    # Sent, the correction comes back as highlighted code and the page still fits the phone.
    page.locator(".program .step-no").nth(4).click()
    page.get_by_label("What is wrong with that step?").fill("Line 4 takes one third of the votes, not two thirds.")
    page.get_by_label("Your final answer").fill("22")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url("**/learn/submissions/**")
    assert page.locator(".highlight").count() >= 2  # the correction and the program
    assert any("    in_favor = total_council_members * 2 // 3" in text
               for text in page.locator(".highlight").all_inner_texts())
    assert _page_width(page) <= 390
