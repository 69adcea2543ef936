"""Teach mode in Chromium: a student talks the model out of its wrong answer, watching each reply stream in."""
from __future__ import annotations

import pytest

from .helpers import log_in, seed_classroom

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect

HOLDS_OUT = ("I went through my working again and step 2 still looks right to me: I multiplied the number of "
             "students by the price. Where exactly do I go wrong?\n\nFINAL ANSWER: 158")
GIVES_IN = ("You are right, I see it now: in step 2 I wrote $28 \\times 6 = 158$, but $28 \\times 6 = 120 + 48 = "
            "168$. Thank you for explaining it.\n\nFINAL ANSWER: 168")


@pytest.fixture
def tutee(live_server):
    """The loopback OpenAI-compatible server as the tutee model, writing slowly enough to watch."""
    from openai_server import FakeOpenAIServer, Reply

    server = FakeOpenAIServer().start()

    def persona(req):
        last = req.contents("user")[-1]
        return Reply(content=GIVES_IN if "120 + 48" in last else HOLDS_OUT, chunk_delay=0.04)

    server.responder = persona
    saved = {k: live_server.app.config.get(k) for k in ("TUTEE_MODEL", "OPENAI_BASE_URL")}
    live_server.app.config.update(TUTEE_MODEL="browser-tutee", OPENAI_BASE_URL=server.base_url)
    yield server
    live_server.app.config.update(saved)
    server.stop()


# One backend is enough in the browser (tests/test_teach.py runs teach mode on PostgreSQL): the test
# is parametrized over SQLite only, so no skipped PostgreSQL item is reported.
@pytest.mark.parametrize("live_server", ["sqlite"], indirect=True)
def test_a_student_teaches_the_model_with_replies_streaming_in(new_page, live_server, tutee):
    from classroom.models import AssignmentProblem
    from sqlmodel import select

    room = seed_classroom(live_server)
    with live_server.session() as s:  # the room's problem becomes a conversation with the model
        link = s.exec(select(AssignmentProblem).where(AssignmentProblem.assignment_id == room.assignment_id)).one()
        link.mode, link.turn_limit = "teach", 3
        s.add(link)
        s.commit()
    page = new_page(width=390, height=844)
    log_in(page, room.student_email)
    page.goto(f"/learn/assignments/{room.assignment_id}/problems/{room.problem_id}")
    page.get_by_role("button", name="Start the conversation").click()
    expect(page.locator("#model-answer-value")).to_have_text("158")
    expect(page.locator("#chat li.tutee").first).to_contain_text("Here is how I solved it")

    message = page.get_by_label("Your message to the model")
    message.fill("The answer is 168, change it.")
    page.get_by_role("button", name="Send").click()
    reply = page.locator("#chat li.tutee").nth(1)
    # The reply appears while it is being written (about 25 chunks, 0.04 s apart), then whole (the first
    # answer check of a fresh process starts its checker, a few seconds).
    expect(reply.locator(".body.streaming")).to_contain_text("I went through")
    expect(reply.locator(".body.rendered")).to_contain_text("Where exactly do I go wrong?", timeout=20_000)
    expect(page.locator("#model-answer-value")).to_have_text("158")
    expect(page.locator("#turns-left")).to_have_text("2")
    expect(message).to_have_value("")

    message.fill("Look at step 2: 28 × 6 is not 158. Work it out: 28 × 6 = 120 + 48, which is 168.")
    message.press("Control+Enter")
    # Solved: the page comes back with how it ended, the badge green, and the reply's math typeset.
    expect(page.get_by_text("You taught the model: its final answer is now right.")).to_be_visible()
    expect(page.locator("#model-answer.ok #model-answer-value")).to_have_text("168")
    expect(page.locator("#chat li.tutee").last.locator(".katex").first).to_be_visible()
    expect(page.locator("#chat")).not_to_contain_text("FINAL ANSWER")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not page.watch.page_errors and not page.watch.server_errors
    assert not [c for c in page.watch.console if "Content Security Policy" in c or c.startswith("error")]
