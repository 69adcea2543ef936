"""The analysis page in Chromium: reached from the assignment, its charts are images with names (under
the CSP, no inline style), a phone does not scroll sideways, and a chart's numbers download as CSV."""
from __future__ import annotations

import csv
import io

import pytest

from .helpers import log_in, seed_classroom

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect


def test_teacher_reads_what_the_class_missed(new_page, live_server):
    room = seed_classroom(live_server, submit=True)
    page = new_page(width=390, height=844)
    log_in(page, room.teacher_email)
    page.goto(f"/teach/assignments/{room.assignment_id}")
    page.get_by_role("link", name="What the class missed").first.click()
    chart = page.get_by_role("img", name="Where students pointed: Tickets")
    expect(chart).to_be_visible()
    expect(chart.locator("text.note")).to_have_text("key")  # the key's column says so, not only its colour
    expect(page.get_by_role("img", name="Score distribution")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not [m for m in page.watch.console if "Content Security Policy" in m], page.watch.console
    with page.expect_download() as download:
        page.get_by_role("link", name="Steps marked (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(r["marked"], r["students"], r["is_key"]) for r in rows] == [
        ("1", "0", "no"), ("2", "1", "yes"), ("3", "0", "no"), ("none", "0", "no")]


def test_teacher_finds_a_student_on_the_progress_page_from_a_phone(new_page, live_server):
    room = seed_classroom(live_server, submit=True)
    page = new_page(width=390, height=844)
    log_in(page, room.teacher_email)
    page.goto(f"/teach/courses/{room.code}")
    page.get_by_role("link", name="Progress", exact=True).click()
    expect(page.get_by_role("heading", name="Progress over the term")).to_be_visible()
    expect(page.get_by_role("row", name="Sam Student")).to_be_visible()
    # The search and the threshold by keyboard: type, tick "Only those below", press Enter.
    page.get_by_label("Find a student by name or e-mail").fill("nobody")
    page.get_by_label("Find a student by name or e-mail").press("Enter")
    expect(page.locator("#progress-count")).to_contain_text("No student's name or e-mail contains “nobody”")
    page.get_by_role("link", name="Show every student").click()
    page.get_by_label("Highlight students whose average is below (%)").fill("100")
    page.get_by_label("Only those below").check()
    page.get_by_label("Highlight students whose average is below (%)").press("Enter")
    expect(page.get_by_role("row", name="Sam Student")).to_contain_text("below 100%")
    expect(page.locator("#progress-count")).to_contain_text("1 of 1 student is below 100% on average.")
    expect(page.get_by_role("img", name="Completion and lateness, assignment by assignment")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert not [m for m in page.watch.console if "Content Security Policy" in m], page.watch.console
