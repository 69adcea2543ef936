"""The problem form's step editor in a real browser: move, remove, add, mark the first wrong step,
per-step previews, splitting a pasted answer, and the saved order; plus the draft's preview page."""
from __future__ import annotations

import re

import pytest

from .helpers import log_in, seed_classroom

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect


def test_step_editor_reorders_marks_and_saves(new_page, live_server):
    room = seed_classroom(live_server)
    page = new_page()
    log_in(page, room.teacher_email)
    page.goto(f"/teach/problems/{room.problem_id}/edit")
    # Each step has its own typeset preview; the key's step is highlighted.
    expect(page.locator("#steps-1-preview .katex").first).to_be_visible()
    expect(page.get_by_role("button", name="Mark step 2 as the first wrong step")).to_have_attribute(
        "aria-pressed", "true")

    # Move the wrong step up: the labels renumber and the key's number follows it.
    page.get_by_role("button", name="Move step 2 up").click()
    expect(page.get_by_label("Step 1", exact=True)).to_have_value(re.compile(r"^So the total is"))
    expect(page.get_by_label("First wrong step (number)")).to_have_value("1")
    expect(page.get_by_role("button", name="Move step 1 up")).to_be_focused()
    expect(page.locator("#step-status")).to_have_text("Step 2 is now step 1.")

    # Remove the empty fourth box, add one, type in it, mark step 3 from the number field.
    page.get_by_role("button", name="Remove step 4").click()
    page.get_by_role("button", name="Add a step").click()
    new = page.get_by_label("Step 4", exact=True)
    expect(new).to_be_focused()
    new.fill("A last remark with $x^2$.")
    expect(page.locator("#steps-3-preview .katex").first).to_be_visible()
    page.get_by_label("First wrong step (number)").fill("3")
    expect(page.get_by_role("button", name="Mark step 3 as the first wrong step")).to_have_attribute(
        "aria-pressed", "true")
    page.get_by_role("button", name="Save problem").click()
    expect(page.locator(".flash.success")).to_have_text("Problem updated.")

    with live_server.session() as s:
        from classroom.services import problems
        solution, key = problems.current_solution_with_key(s, room.problem_id)
    assert solution.steps[0].startswith("So the total is") and solution.steps[1].startswith("There are")
    assert solution.steps[3] == "A last remark with $x^2$." and key.first_wrong_step == 3
    assert not page.watch.page_errors and not page.watch.server_errors


def test_split_a_pasted_answer(new_page, live_server):
    room = seed_classroom(live_server)
    page = new_page(width=390, height=844)
    log_in(page, room.teacher_email)
    page.goto(f"/teach/courses/{room.code}/problems/new")
    page.locator("summary", has_text="Paste a whole answer").click()
    page.get_by_label(re.compile(r"^Paste a whole answer")).fill("1. First $2 + 3 = 5$.\n2. Then $2 \\times 5 = 12$.")
    page.get_by_role("button", name="Split into steps").click()
    expect(page.locator(".flash.success")).to_contain_text("Split into 2 steps")
    expect(page.get_by_label("Step 2", exact=True)).to_have_value("Then $2 \\times 5 = 12$.")
    expect(page.locator("#steps-1-preview .katex").first).to_be_visible()
    # Nothing fits wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not page.watch.page_errors and not page.watch.server_errors
