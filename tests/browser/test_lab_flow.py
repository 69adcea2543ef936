"""One group's path through the AI lab in Chromium: the lab page, a synthetic problem, a strategy, a model
run against the loopback OpenAI-compatible server, its results and an attempt's text."""
from __future__ import annotations

import re

import pytest

from .helpers import log_in, seed_classroom

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect


def solver(req):
    """Right on the tickets, wrong on the synthetic pens problem."""
    asked = req.contents("user")[-1]
    return "5 × 2 = 12.\nThe answer is 12." if "pens" in asked else "28 × 6 = 168.\n\\boxed{168}"


# One browser pass is enough (tests/test_lab.py runs the lab on PostgreSQL too): the test is
# parametrized over SQLite only, so no skipped PostgreSQL item is reported.
@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_a_group_runs_the_model_in_the_lab(new_page, live_server):
    from openai_server import FakeOpenAIServer

    from classroom.services import groups, lab
    room = seed_classroom(live_server)
    with live_server.session() as s:
        from classroom.services import accounts, courses
        teacher = accounts.find_user(s, room.teacher_email)
        course = courses.get_course(s, room.code)
        student = accounts.find_user(s, room.student_email)
        group = groups.create_group(s, teacher, course, name="Euler")
        groups.add_member(s, teacher, group.id, student.id)
        lab.create_lab(s, teacher, course, lab.LabDraft(title="Lab 1", exam_problem_ids=[room.problem_id],
                                                        samples=2))
    server = FakeOpenAIServer().start()
    server.responder = solver
    saved = {k: live_server.app.config.get(k) for k in ("SOLVER_MODEL", "OPENAI_BASE_URL", "GRADER_MAX_ATTEMPTS")}
    live_server.app.config.update(SOLVER_MODEL="browser-solver", OPENAI_BASE_URL=server.base_url,
                                  GRADER_MAX_ATTEMPTS=1)
    try:
        page = new_page(width=390, height=844)
        log_in(page, room.student_email)
        page.goto(f"/learn/courses/{room.code}")
        page.get_by_role("link", name="AI lab").click()
        page.get_by_role("link", name="Lab 1").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Euler")
        expect(page.locator(".exam .katex").first).to_be_visible()  # the visible exam, typeset

        page.get_by_text("Write a synthetic problem").click()
        page.get_by_label("Imitates the exam problem").select_option(label="1. Tickets")
        page.get_by_label("Title", exact=True).fill("Pens")
        page.get_by_label("Statement (Markdown and LaTeX)").fill("How much do 5 pens at $2$ dollars cost?")
        page.get_by_label("Reference solution").fill("$5 \\times 2 = 10$")
        page.get_by_label("Reference answer (checked exactly)").fill("10")
        page.get_by_role("button", name="Save problem").click()
        expect(page.locator(".flash.success")).to_contain_text("Pens")

        page.get_by_label("System prompt").fill("Multiply carefully and box the answer.")
        page.get_by_label("Pens").check()
        page.get_by_role("button", name="Save as version 1").click()
        expect(page.locator(".flash.success")).to_contain_text("Strategy version 1 saved")

        page.get_by_label("Run the model on").select_option("synthetic")
        # The run's job runs inside the request here; a fresh answer-checking worker first imports SymPy.
        page.get_by_role("button", name=re.compile("Run the model")).click(timeout=60_000)
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"Run \d+"))
        expect(page.locator("[data-progress-state]")).to_have_text("done")
        expect(page.locator(".lead")).to_contain_text("0.0% (0 of 2 attempts correct)")
        page.get_by_text("Sample 1:").click()
        expect(page.locator(".attempt-text").first).to_contain_text("The answer is 12.")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

        page.get_by_role("link", name="Lab 1").click()
        page.get_by_label("Run the model on").select_option("exam")
        page.get_by_role("button", name=re.compile("Run the model")).click(timeout=60_000)
        expect(page.locator(".lead")).to_contain_text("100.0% (2 of 2 attempts correct)")
        page.get_by_role("link", name="Lab 1").click()
        expect(page.locator("svg.chart .mark")).to_have_count(4)  # one mark per target, two more in the legend
        assert not page.watch.page_errors and not page.watch.server_errors
        assert len(server.chat_requests) == 4
    finally:
        live_server.app.config.update(saved)
        server.stop()
