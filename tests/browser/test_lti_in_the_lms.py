"""The tool inside an LMS page, in Chromium: the LMS (tests/lti_platform.py, its pages served to the browser
through Playwright's routing at the platform's own origin) frames the tool and runs the OIDC login in the
frame; its authorisation endpoint answers with the auto-posting form a real platform sends (form_post).
The launch lands inside the frame, the deep-linking choice is posted back to the LMS by static/js/lti-return.js
under the real CSP, and a page outside an LTI session refuses to be framed."""
from __future__ import annotations

import threading
import uuid
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from lti_platform import CLAIM, DEPLOYMENT, FakePlatform, cli

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api", reason="browser tests skipped: playwright is not installed").expect

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"


class LmsPages:
    """The LMS's web pages on a loopback server of their own (the platform in tests/lti_platform.py is its
    services: keys and JWKS). /course frames the tool's login initiation; /auth is the authorisation
    endpoint, answering with the auto-posting form a real platform sends (form_post), which carries the
    signed launch back to the tool inside the frame; /deep-link-return records what the tool posts."""

    def __init__(self, lms: FakePlatform, tool_url: str):
        self.lms, self.tool_url = lms, tool_url
        self.claims: dict = {}
        self.received: list[dict] = []
        self.sub, self.context_id = f"teacher-{uuid.uuid4().hex[:8]}", f"lms-course-{uuid.uuid4().hex[:8]}"
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def _html(self, body: str):
                data = ("<!doctype html><html lang=en><title>LMS</title>" + body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/course":
                    return self._html(f'<h1>LMS course</h1><iframe name="tool" title="The classroom" '
                                      f'src="{escape(pages.login_url)}" width="900" height="700"></iframe>')
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/frame":  # any page of the tool, framed
                    return self._html(f'<iframe name="tool" title="The classroom" src="{escape(q["src"])}"></iframe>')
                if parts.path != "/auth":
                    self.send_response(404)
                    self.end_headers()
                    return
                token = pages.lms.id_token(q["nonce"], sub=pages.sub, context_id=pages.context_id, **pages.claims)
                return self._html(f'<form method="post" action="{escape(q["redirect_uri"])}">'
                                  f'<input type="hidden" name="state" value="{escape(q["state"])}">'
                                  f'<input type="hidden" name="id_token" value="{escape(token)}"></form>'
                                  f'<script>document.forms[0].submit()</script>')

            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                pages.received.append({k: v[0] for k, v in parse_qs(raw).items()})
                return self._html("<p>The LMS added the link.</p>")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def login_url(self) -> str:
        return self.tool_url + "/lti/login?" + urlencode({
            "iss": self.lms.issuer, "login_hint": self.sub, "client_id": self.lms.client_id,
            "target_link_uri": self.tool_url + "/lti/launch"})

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def lms_pages(live_server):
    """An LMS registered with the live server (whose PUBLIC_URL is its own address for the test); its
    authorisation URL is on its web pages' host, so that host is one of the registered platform's."""
    app = live_server.app
    before = app.config.get("PUBLIC_URL")
    app.config["PUBLIC_URL"] = live_server.url
    lms = FakePlatform(tool_jwks=lambda: app.test_client().get("/lti/jwks").get_json(),
                       client_id=f"tool-{uuid.uuid4().hex[:8]}")
    pages = LmsPages(lms, live_server.url)
    result = cli(app, "lti-add-platform", "--issuer", lms.issuer, "--client-id", lms.client_id, "--auth-login-url",
                 pages.base + "/auth", "--auth-token-url", lms.token_url, "--key-set-url", lms.base + "/jwks",
                 "--deployment-id", DEPLOYMENT)
    assert result.exit_code == 0, result.output
    yield pages
    pages.close()
    lms.close()
    app.config["PUBLIC_URL"] = before


def _seed_assignment(live_server, context_id: str) -> tuple[int, str]:
    from sqlmodel import select

    from classroom.models import Course, LtiContext, User, utcnow
    from classroom.services import assignments, problems
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from datetime import timedelta

    with live_server.session() as s:
        link = s.exec(select(LtiContext).where(LtiContext.context_id == context_id)).one()
        course = s.get(Course, link.course_id)
        teacher = s.get(User, course.created_by_id)
        problem = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Tickets", statement="Costs \\$6 each for $n=28$ students.", reference_solution="28 × 6 = 168",
            reference_answer="168", steps=["Multiply $28 \\times 6$.", "That is $158$.", "So 158 dollars."],
            flawed_final_answer="158", first_wrong_step=2, reason="28 × 6 = 168, not 158.", error_kind="arithmetic"))
        now = utcnow()
        a = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Critique week 3", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=7),
            problem_ids=[problem.id], points=30))
        return a.id, course.code


def test_the_tool_opens_and_deep_links_inside_the_lms_frame(new_page, live_server, lms_pages):
    lms = lms_pages.lms
    page = new_page()
    # 1. A resource launch in the frame: the instructor lands on the new course's page, framed by the LMS.
    page.goto(lms_pages.base + "/course")
    tool = page.frame_locator("iframe[name=tool]")
    expect(tool.get_by_role("heading", name="Algebra from the LMS")).to_be_visible()
    assignment_id, _code = _seed_assignment(live_server, lms_pages.context_id)

    # 2. The "add external tool" dialog: a deep-linking launch in the frame, the choice, and the signed answer
    #    posted to the LMS by the page's script (no click on its button).
    lms_pages.claims.update({
        CLAIM + "message_type": "LtiDeepLinkingRequest",
        DL_CLAIM + "deep_linking_settings": {"deep_link_return_url": lms_pages.base + "/deep-link-return",
                                             "accept_types": ["ltiResourceLink"],
                                             "accept_presentation_document_targets": ["iframe"]}})
    page.goto(lms_pages.base + "/course")
    tool.get_by_label("Critique week 3").check()
    tool.get_by_role("button", name="Add to the LMS").click()
    expect(tool.get_by_text("The LMS added the link.")).to_be_visible()
    (form,) = lms_pages.received
    claims = jwt.decode(form["JWT"], jwt.PyJWKSet.from_dict(lms.tool_jwks()).keys[0].key, algorithms=["RS256"],
                        audience=lms.issuer, issuer=lms.client_id)
    assert claims[CLAIM + "deployment_id"] == DEPLOYMENT
    (item,) = claims[DL_CLAIM + "content_items"]
    assert item["custom"] == {"classroom_assignment_id": str(assignment_id)}
    assert item["lineItem"]["scoreMaximum"] == 30 and item["lineItem"]["label"] == "Critique week 3"
    assert not page.watch.page_errors and not [c for c in page.watch.console if "Content Security Policy" in c]


def test_a_page_outside_an_lti_session_refuses_the_lms_frame(new_page, live_server, lms_pages):
    page = new_page()
    page.goto(lms_pages.base + "/frame?" + urlencode({"src": live_server.url + "/login"}))
    expect(page.locator("iframe[name=tool]")).to_be_attached()
    page.wait_for_timeout(1000)
    assert any("frame-ancestors 'none'" in c for c in page.watch.console), page.watch.console
    # The same LMS page framing the tool's login initiation is let through (an /lti/ page), and the launch's
    # session pages then too.
    page.goto(lms_pages.base + "/course")
    expect(page.frame_locator("iframe[name=tool]").get_by_role("heading", name="Algebra from the LMS")).to_be_visible()
