"""Grouped review in Chromium: the keyboard with scripts on, and the same work as plain forms without."""
from __future__ import annotations

import uuid
from datetime import timedelta

from playwright.sync_api import expect

from .helpers import PASSWORD, log_in

# Two reasons said twice each and one said once: three groups of explanations on the same facts.
EXPLANATIONS = [r"They multiplied $28 \times 6$ wrong: it is 168, not 158.",
                r"Step 2 multiplies 28 by 6 wrongly; 168 is the product.",
                "The students should pay per ticket, the count of students is wrong.",
                "The number of students counted is wrong, students pay per ticket.",
                "I am not sure."]


def _seed(server):
    from classroom import jobs
    from classroom.models import ROLE_INSTRUCTOR, utcnow
    from classroom.services import accounts, assignments, courses, problems, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft

    tag = uuid.uuid4().hex[:8]
    with server.session() as s:
        teacher = accounts.create_user(s, email=f"t-{tag}@example.test", name="Tess Teacher", password=PASSWORD,
                                       role=ROLE_INSTRUCTOR)
        course = courses.create_course(s, teacher, title="Algebra I", code=f"GRP-{tag}".upper())
        problem = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Tickets", statement="Tickets cost \\$6 each. What do $28$ students pay?",
            reference_solution=r"$28 \times 6 = 168$", reference_answer="168",
            steps=["Each of the 28 students pays \\$6.", r"$28 \times 6 = 158$.", "They pay \\$158."],
            flawed_final_answer="158", first_wrong_step=2, reason=r"$28 \times 6 = 168$, not $158$.",
            error_kind="arithmetic"))
        now = utcnow()
        assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Week 1", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=7),
            problem_ids=[problem.id]))
        grade_ids = []
        for i, text in enumerate(EXPLANATIONS):
            student = accounts.create_user(s, email=f"s{i}-{tag}@example.test", name=f"Student {i + 1}",
                                           password=PASSWORD)
            courses.join_course(s, student, course.code)
            sub, job = submissions.submit(s, student, assignment.id, problem.id, CritiqueDraft(
                error_step=2, explanation=text, correction=r"$28 \times 6 = 168$", final_answer="168"))
            jobs.run_job(job.id)
            grade_ids.append({g.component: g.id for g in submissions.grades_of(s, sub.id)}["explanation"])
    return teacher.email, course.code, grade_ids


def _overrides(server, grade_ids):
    from classroom.models import Grade
    with server.session() as s:
        return [s.get(Grade, i).override_score for i in grade_ids]


def test_grouped_review_with_the_keyboard_without_reloading(new_page, live_server):
    email, code, grade_ids = _seed(live_server)
    page = new_page()
    log_in(page, email)
    page.goto(f"/teach/courses/{code}/review?component=explanation")
    counts = page.locator(".review-section .counts").first
    expect(counts).to_have_text("5 waiting, 0 done")
    groups = page.locator(".review-group")
    expect(groups).to_have_count(3)
    first = groups.first
    expect(first.locator("h4")).to_contain_text("2 critiques: marked step 2")
    expect(first.locator(".gist .katex").first).to_be_visible()  # the gist's math is typeset
    page.evaluate("window.notReloaded = true")

    page.keyboard.press("j")
    expect(first).to_have_class("card review-group current")
    page.keyboard.press("x")  # opens the group's list, on its first critique
    member = first.locator(".review-member").first
    expect(member).to_have_class("review-card review-member current")
    page.keyboard.press("x")  # ... and takes it out
    expect(member.get_by_label("Take out of the group")).to_be_checked()
    page.keyboard.press("k")
    page.keyboard.press("1")
    toast = page.locator("#undo-toast")
    expect(toast).to_contain_text("Scored 1 critique at 100%.")
    expect(first.locator(".review-member").nth(1)).to_be_hidden()
    expect(first).to_be_visible()
    expect(member).to_be_visible()
    expect(counts).to_have_text("4 waiting, 1 done")

    page.keyboard.press("u")
    expect(toast).to_contain_text("Undone: 1 critique is as before.")
    expect(first.locator(".review-member").nth(1)).to_be_visible()
    expect(counts).to_have_text("5 waiting, 0 done")

    page.keyboard.press("3")  # the whole group now, and it disappears; the next group is current
    expect(first).to_be_hidden()
    expect(toast).to_contain_text("Scored 2 critiques at 0%.")
    expect(groups.nth(1)).to_have_class("card review-group current")
    expect(counts).to_have_text("3 waiting, 2 done")
    assert page.evaluate("window.notReloaded") is True
    scores = _overrides(live_server, grade_ids)
    assert sorted(s for s in scores if s is not None) == [0.0, 0.0] and scores.count(None) == 3
    assert not page.watch.page_errors


def test_grouped_review_as_plain_forms_without_javascript(new_page, live_server):
    email, code, grade_ids = _seed(live_server)
    page = new_page(java_script_enabled=False, width=390, height=844)
    log_in(page, email)
    page.goto(f"/teach/courses/{code}/review")
    section = page.locator(".review-section").first
    first = section.locator(".review-group").first
    first.get_by_text("Every critique in this group").click()
    first.locator(".review-member").first.get_by_label("Take out of the group").check()
    first.get_by_role("button", name="Full credit for all 2").click()
    expect(page.locator(".flash.success")).to_have_text("Scored 1 critique at 100%.")
    expect(page.locator(".review-section .counts").first).to_have_text("4 waiting, 1 done")
    page.locator(".undo-bar").get_by_role("button", name="Undo").click()
    expect(page.locator(".flash.success")).to_have_text("Undone: 1 critique is as before.")
    expect(page.locator(".review-section .counts").first).to_have_text("5 waiting, 0 done")
    assert _overrides(live_server, grade_ids) == [None] * 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
