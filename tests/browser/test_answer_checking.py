"""Final answers in Chromium: the student sees how the answer is read as they type (on a phone too),
and the instructor's answer mode and answer tests on the problem form."""
from __future__ import annotations

import pytest

from .helpers import log_in, seed_classroom

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect


@pytest.mark.parametrize("width", [1280, 390])
def test_the_student_sees_how_the_final_answer_is_read(new_page, live_server, width):
    room = seed_classroom(live_server)
    page = new_page(width=width, height=900)
    log_in(page, room.student_email)
    page.goto(f"/learn/assignments/{room.assignment_id}/problems/{room.problem_id}")
    answer = page.get_by_label("Your final answer")
    reading = page.locator("#final_answer-reading")
    expect(answer).to_have_attribute("aria-describedby", "final_answer-hint final_answer-reading")

    answer.fill("2 1/2")
    expect(reading).to_contain_text("Read as")
    expect(reading.locator(".katex .mfrac")).to_be_visible()  # 5/2, typeset as a fraction

    answer.fill("$1,680 dollars")
    expect(reading.locator(".katex")).to_contain_text("1680")

    answer.fill("twelve")
    expect(reading).to_contain_text("write it with digits")
    expect(reading).to_have_class("answer-reading unreadable")

    answer.fill("9^9^9^9")
    expect(reading).to_contain_text("towers")
    box = reading.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width  # the note wraps on a phone
    assert not page.watch.page_errors and not page.watch.server_errors


def test_answer_mode_and_tests_on_the_problem_form(new_page, live_server):
    room = seed_classroom(live_server)
    page = new_page()
    log_in(page, room.teacher_email)
    page.goto(f"/teach/problems/{room.problem_id}/edit")
    page.get_by_label("How final answers are compared").select_option("numeric")
    page.get_by_label("Tolerance (numeric mode only)").fill("1%")
    page.get_by_label("Answer tests (optional)").fill("169 -> correct\n$168 -> correct\n150 -> correct\n150 -> incorrect")
    page.get_by_role("button", name="Save problem").first.click()
    expect(page.locator(".flash.error")).to_have_count(1)
    expect(page.locator(".flash.error")).to_contain_text("Answer test “150” should be correct")

    page.goto(f"/teach/courses/{room.code}")
    expect(page.get_by_text("1 answer test failing")).to_be_visible()

    # A tolerance without the numeric mode is named beside its field, with what was typed kept.
    page.goto(f"/teach/problems/{room.problem_id}/edit")
    expect(page.get_by_label("Answer tests (optional)")).to_have_value(
        "169 -> correct\n$168 -> correct\n150 -> correct\n150 -> incorrect")
    page.get_by_label("How final answers are compared").select_option("auto")
    page.get_by_role("button", name="Save problem").first.click()
    error = page.locator("#answer_tolerance-error")
    expect(error).to_contain_text("only to the numeric answer mode")
    expect(page.get_by_label("Tolerance (numeric mode only)")).to_have_value("1%")
    assert not page.watch.page_errors and not page.watch.server_errors


def test_a_new_reference_answer_rechecks_what_was_sent(new_page, live_server):
    room = seed_classroom(live_server, submit=True)  # the student answered 168, the reference
    page = new_page()
    log_in(page, room.teacher_email)
    page.goto(f"/teach/problems/{room.problem_id}/edit")
    page.get_by_label("Reference final answer (checked exactly)").fill("170")
    page.get_by_role("button", name="Save problem").first.click()
    expect(page.locator(".flash.info")).to_contain_text("checked again")
    expect(page.get_by_text("Answers compared: Automatic")).to_be_visible()
    page.goto(f"/teach/courses/{room.code}/audit")
    entry = page.get_by_text("Checking again after the problem's reference answer or answer mode changed moved")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("Sam Student's final answer on Tickets (version 1)")
    assert not page.watch.page_errors and not page.watch.server_errors
