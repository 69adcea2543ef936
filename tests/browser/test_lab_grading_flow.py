"""The instructor's side of a lab in Chromium: the leaderboard shown to the class, a rubric written and a group
graded from the keyboard, the model's math typeset on the harvest page; then the student's view of both, and the approved harvest in a
critique assignment, its math typeset for the student on a laptop and on a phone."""
from __future__ import annotations

import pytest

from .helpers import log_in, seed_classroom

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect


@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_an_instructor_grades_a_lab_and_opens_its_leaderboard(new_page, live_server):
    from classroom.models import LabAttempt, LabRun
    from classroom.services import accounts, courses, groups, harvest, lab
    room = seed_classroom(live_server)
    with live_server.session() as s:
        teacher = accounts.find_user(s, room.teacher_email)
        course = courses.get_course(s, room.code)
        student = accounts.find_user(s, room.student_email)
        group = groups.create_group(s, teacher, course, name="Euler")
        groups.add_member(s, teacher, group.id, student.id)
        the_lab = lab.create_lab(s, teacher, course, lab.LabDraft(title="Lab 1", exam_problem_ids=[room.problem_id],
                                                                  samples=2))
        strategy = lab.save_strategy(s, student, the_lab.id, "Box the answer.", [])
        run = LabRun(lab_id=the_lab.id, group_id=group.id, strategy_id=strategy.id, target="exam", samples=2,
                     items=[["exam", room.problem_id]], total=2, completed=2, correct=1, model="m", state="done",
                     started_by_id=student.id)
        s.add(run)
        s.commit()
        wrong = LabAttempt(run_id=run.id, item=0, sample_index=1, problem_id=room.problem_id, verdict="incorrect",
                           text="Students: \\(28 \\times 6 = 158\\).\nTotal: \\boxed{194}", final_answer="194",
                           model="m", strategy_id=strategy.id)
        s.add(wrong)
        s.commit()
        harvested = harvest.submit_harvest(s, student, wrong.id, first_wrong_step=1,
                                           reason="$28 \\times 6$ is $168$.", error_kind="arithmetic")
        lab_id = the_lab.id

    page = new_page(width=390, height=844)
    log_in(page, room.teacher_email)
    page.goto(f"/teach/labs/{lab_id}")
    page.get_by_role("link", name="Harvested failures").click()
    expect(page.locator(".steps .katex")).to_have_count(2)  # \( \) and the bare \boxed, typeset
    expect(page.locator(".rendered .katex").last).to_be_visible()  # the group's reason too
    page.goto(f"/teach/labs/{lab_id}")
    page.get_by_role("link", name="Leaderboard").click()
    expect(page.locator("table.leaderboard tbody tr").first).to_contain_text("50.0%")
    page.get_by_role("button", name="Show it to the class").click()
    expect(page.locator(".flash.success")).to_contain_text("The class now sees the leaderboard")

    page.goto(f"/teach/labs/{lab_id}/grades")
    page.get_by_label("Criterion").fill("Strategy and runs")
    page.get_by_label("Points", exact=True).fill("20")
    page.get_by_label("Points", exact=True).press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("Strategy and runs")
    page.get_by_label("Strategy and runs (0 to 20)").fill("30")
    page.get_by_role("button", name="Save Euler's grade").click()
    expect(page.locator(".field-error")).to_contain_text("must be between 0 and 20")
    page.get_by_label("Strategy and runs (0 to 20)").fill("17.5")
    page.get_by_role("button", name="Save Euler's grade").click()
    expect(page.locator("#group-h-" + str(group.id))).to_contain_text("17.50 of 20 points")
    page.get_by_role("button", name="Release the grades").click()
    expect(page.locator(".flash.success")).to_contain_text("Grades released")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    student_page = new_page(width=390, height=844)
    log_in(student_page, room.student_email)
    student_page.goto(f"/learn/labs/{lab_id}")
    expect(student_page.get_by_role("heading", name="Your grade: 17.50 of 20 points")).to_be_visible()
    student_page.get_by_role("link", name="Leaderboard").click()
    expect(student_page.locator("tr.mine")).to_contain_text("Euler")

    from datetime import timedelta

    from classroom.models import utcnow
    from classroom.services import assignments
    with live_server.session() as s:
        teacher, course = accounts.find_user(s, room.teacher_email), courses.get_course(s, room.code)
        problem_id = harvest.decide(s, teacher, harvested.id, "approve").problem_id
        critique = assignments.create_assignment(s, teacher, course, assignments.AssignmentDraft(
            title="Real mistakes", opens_at=utcnow() - timedelta(days=1), due_at=utcnow() + timedelta(days=7),
            problem_ids=[problem_id]))
    for width, height in ((1280, 900), (390, 844)):
        student_page.set_viewport_size({"width": width, "height": height})
        student_page.goto(f"/learn/assignments/{critique.id}/problems/{problem_id}")
        expect(student_page.locator(".steps .katex")).to_have_count(2)  # the model's \\( \\) and bare \\boxed
        expect(student_page.locator(".steps")).not_to_contain_text("\\(")
        assert student_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert not page.watch.page_errors and not student_page.watch.page_errors
    assert not page.watch.server_errors and not student_page.watch.server_errors
