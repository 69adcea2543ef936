"""Hostile input on every page that shows it, loaded in Chromium: no payload may run.

Every payload is stored in every kind of user text (problem statement, flawed steps, key
reason, reference solution, explanations, corrections, final answers, instructor comments,
titles, course titles and user names), then the pages that show them are loaded with a
canary installed before any page script. The strict sweep turns the Content-Security-Policy
off, so escaping alone must hold (CSP is the second wall, not the first); another sweep runs
with the real CSP, where blocked-inline console messages are tolerated but execution is not.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from support import PASSWORD

from .conftest import BACKENDS, TIMEOUT_MS
from .helpers import missing_browser

pytestmark = pytest.mark.browser

# Each payload calls alert/confirm/prompt, pushes to window.__xss, or sets the title to contain
# "xss-ran" (written as 'x'+'ss-ran' so the escaped text itself never contains it).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<img src=x onerror=\"document.title='x'+'ss-ran'\">",
    "<svg onload=alert(1)><circle r=9 /></svg>",
    "<iframe srcdoc=\"<script>parent.alert(1)</script>\"></iframe>",
    "<a href=\"javascript:alert(1)\">click me</a>",
    "<a href=\"vbscript:msgbox(1)\">vb link</a>",
    "<div onmouseover=\"alert(1)\" style=\"position:fixed;inset:0\">hover</div>",
    "<details open ontoggle=alert(1)><summary>s</summary></details>",
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<form action=\"javascript:alert(1)\"><button>go</button></form><object data=\"javascript:alert(1)\"></object>",
    "<base href=\"javascript:alert(1)//\"><meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<style>body{background:url('javascript:alert(1)')}</style>",
    "<div style=\"width:expression(alert(1));background:url(javascript:alert(1))\">css</div>",
    "[markdown link](javascript:alert(1)) and [mixed case](JaVaScRiPt:alert(1))",
    "<javascript:alert(1)> and <vbscript:msgbox(1)>",
    "![image](javascript:alert(1)) ![svg](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[reference link][r]\n\n[r]: javascript:alert(1)",
    "[entity link](&#106;avascript:alert(1)) [colon](javascript&colon;alert(1)) [tab](<java\tscript:alert(1)>)",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[title breakout](http://example.invalid \"t\\\" onmouseover=alert(1) x=\\\"\")",
    "<http://example.invalid/\"onmouseover=alert(1)>",
    "$\\href{javascript:alert(1)}{click}$",
    "$\\url{javascript:alert(1)}$",
    "$\\htmlId{x}{y}$ $\\htmlClass{x}{y}$ $\\htmlStyle{background:url(javascript:alert(1))}{y}$ $\\htmlData{a=b}{y}$",
    "$\\includegraphics[height=1em]{javascript:alert(1)}$",
    "$\\unicode{60}script\\unicode{62}alert(1)$",
    "$</span><script>alert(1)</script>$",
    "$$\n</div><img src=x onerror=alert(1)>\n$$",
    "$\\text{<img src=x onerror=alert(1)>}$ $\\textcolor{red;background:url(javascript:alert(1))}{x}$",
    "```html\n<script>alert(1)</script>\n```",
    "</textarea><script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "{{ 7*7 }} {{ config.SECRET_KEY }} {% print(7 * 7) %}",  # one bare * so Markdown adds no emphasis
]
TEMPLATE = "{{ 7*7 }}"
SECRET = "browser-test-secret"  # the live server's SECRET_KEY: must never reach a page

CANARY = """
window.__xss = [];
(function () {
  function hit(kind) {
    return function () {
      var what = kind + ':' + Array.prototype.map.call(arguments, String).join(',');
      window.__xss.push(what);
      try { window.__xssHit(what, String(location.href)); } catch (e) {}
      return kind === 'confirm' ? false : null;
    };
  }
  window.alert = hit('alert'); window.confirm = hit('confirm'); window.prompt = hit('prompt');
  window.print = hit('print');
})();
"""

DOM_CHECK = r"""() => {
  const bad = [];
  const ours = ['/static/vendor/katex/katex.min.js', '/static/js/math.js', '/static/js/app.js', '/static/js/review.js',
                '/static/js/teach.js', '/static/js/lab.js', '/static/js/lti-return.js'];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'background', 'poster', 'srcset'];
  for (const el of document.querySelectorAll('*')) {
    for (const a of Array.from(el.attributes)) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on')) bad.push(`${el.tagName} has ${name}="${a.value}"`);
      if (name === 'srcdoc') bad.push(`${el.tagName} has srcdoc`);
      if (!urlAttrs.includes(name)) continue;
      let proto = '';
      try { proto = new URL(a.value.trim(), document.baseURI).protocol; } catch (e) { continue; }
      if (proto === 'javascript:' || proto === 'vbscript:') bad.push(`${el.tagName} ${name}=${a.value}`);
      if (proto === 'data:' && !(el.tagName === 'IMG' && /^data:image\/(png|gif|jpeg|webp);/i.test(a.value.trim())))
        bad.push(`${el.tagName} ${name}=${a.value.slice(0, 60)}`);
    }
  }
  for (const a of document.querySelectorAll('a[href^="javascript:" i], a[href^="vbscript:" i]'))
    bad.push(`clickable ${a.getAttribute('href')}`);
  for (const s of document.querySelectorAll('script'))
    if (!s.src || !ours.includes(new URL(s.src).pathname)) bad.push(`script ${s.src || s.textContent.slice(0, 60)}`);
  const linkOk = 'link:not([rel=stylesheet]):not([rel=icon]):not([rel=apple-touch-icon])';  // ours, checked below
  for (const el of document.querySelectorAll(`iframe, frame, object, embed, applet, base, style, meta[http-equiv], ${linkOk}`))
    bad.push(`element ${el.outerHTML.slice(0, 80)}`);
  for (const el of document.querySelectorAll('link[rel=stylesheet], link[rel=icon], link[rel=apple-touch-icon], form'))
    if (new URL(el.getAttribute('href') || el.getAttribute('action') || location.href, location.href).origin !== location.origin)
      bad.push(`foreign ${el.outerHTML.slice(0, 80)}`);
  // User text is rendered inside .rendered; there only KaTeX may produce styles, SVG and MathML.
  for (const el of document.querySelectorAll('.rendered [style], .rendered svg, .rendered math, .rendered form, .rendered input, .rendered button, .rendered textarea'))
    if (!el.closest('.katex, .katex-error')) bad.push(`user markup ${el.outerHTML.slice(0, 80)}`);
  if (document.title.includes('xss-ran')) bad.push('title changed by a payload');
  if ((window.__xss || []).length) bad.push('canary: ' + window.__xss.join(' | '));
  return bad;
}"""


@dataclass
class Site:
    server: object
    teacher_email: str
    student_email: str
    code: str
    teacher_pages: list = field(default_factory=list)
    student_pages: list = field(default_factory=list)
    problem_ids: list = field(default_factory=list)
    assignment_id: int = 0
    template_problem_id: int = 0


def _groups(size: int = 6) -> list[list[str]]:
    """Payloads in groups: one problem (and one submission) per group keeps the page count low,
    while each flawed step and each grade comment still holds a single payload on its own."""
    return [PAYLOADS[i:i + size] for i in range(0, len(PAYLOADS), size)]


def _build(server) -> Site:
    """Stores every payload in every kind of user text, through the services."""
    from classroom import jobs
    from classroom.models import ROLE_INSTRUCTOR, utcnow
    from classroom.services import accounts, assignments, courses, problems, reviews, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft

    tag = uuid.uuid4().hex[:6].upper()
    with server.session() as s:
        teacher = accounts.create_user(s, email=f"xss-teacher-{tag}@example.test", role=ROLE_INSTRUCTOR,
                                       name="<img src=x onerror=alert(1)> " + TEMPLATE, password=PASSWORD)
        student = accounts.create_user(s, email=f"xss-student-{tag}@example.test",
                                       name="<svg onload=alert(1)> " + TEMPLATE, password=PASSWORD)
        course = courses.create_course(s, teacher, code=f"XSS-{tag}",
                                       title="<script>alert(1)</script> " + TEMPLATE)
        courses.join_course(s, student, course.code)
        for i, payload in enumerate(PAYLOADS):
            # Course titles show on both dashboards; names in tables, the review queue and the gradebook.
            extra = courses.create_course(s, teacher, code=f"X{i}-{tag}", title=payload[:200])
            courses.join_course(s, student, extra.code)
            other = accounts.create_user(s, email=f"xss-{i}-{tag}@example.test", name=payload[:120],
                                         password=PASSWORD)
            courses.join_course(s, other, course.code)

        made = []
        for g, group in enumerate(_groups()):
            text = "\n\n".join(group)
            made.append(problems.create_problem(s, teacher, course, ProblemDraft(
                title=f"P{g} {group[0]}"[:200], statement=text, reference_solution=text, reference_answer="168",
                steps=group + ["A plain step with $x^2$."], flawed_final_answer=group[-1][:200],
                first_wrong_step=2, reason=text, error_kind="other")))
        now = utcnow()
        assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="\"><img src=x onerror=alert(1)> " + TEMPLATE, instructions="\n\n".join(PAYLOADS),
            opens_at=now - timedelta(days=1), due_at=now + timedelta(days=7), problem_ids=[p.id for p in made]))

        sub_ids = []
        for g, (group, p) in enumerate(zip(_groups(), made)):
            sub, job = submissions.submit(s, student, assignment.id, p.id, CritiqueDraft(
                error_step=1 + g % 3, explanation="\n\n".join(group), correction="\n\n".join(reversed(group)),
                final_answer=group[0][:200]))
            jobs.run_job(job.id)
            sub_ids.append(sub.id)
            # Comments on the exact components; explanation and correction stay in the review queue.
            grades = [gr for gr in submissions.grades_of(s, sub.id) if gr.component in ("location", "final_answer")]
            for grade, payload in zip(grades, group):
                reviews.set_score(s, teacher, grade.id, 0.5, payload)
        assignments.release_grades(s, teacher, assignment, release=True, confirmed=True)

    template_group = next(g for g, group in enumerate(_groups()) if any(x.startswith(TEMPLATE) for x in group))
    site = Site(server, teacher.email, student.email, course.code, problem_ids=[p.id for p in made],
                assignment_id=assignment.id, template_problem_id=made[template_group].id)
    site.teacher_pages = [
        "/teach/", f"/teach/courses/{course.code}", f"/teach/courses/{course.code}/review",
        f"/teach/courses/{course.code}/gradebook", f"/teach/courses/{course.code}/audit",
        f"/teach/assignments/{assignment.id}", f"/teach/assignments/{assignment.id}/edit",
    ]
    for p, sub_id in zip(made, sub_ids):
        site.teacher_pages += [f"/teach/problems/{p.id}", f"/teach/problems/{p.id}/edit", f"/teach/submissions/{sub_id}"]
    site.student_pages = ["/learn/", f"/learn/courses/{course.code}", f"/learn/assignments/{assignment.id}"]
    for p, sub_id in zip(made, sub_ids):
        site.student_pages += [f"/learn/assignments/{assignment.id}/problems/{p.id}", f"/learn/submissions/{sub_id}"]
    return site


@pytest.fixture(scope="module")
def site(_servers):
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    server = _servers(BACKENDS[-1])  # PostgreSQL when there is one: what production runs
    seen = len(server.errors)
    built = _build(server)
    yield built
    assert not server.errors[seen:], f"the server raised: {server.errors[seen:]}"


class Visitor:
    """A logged-in browser context with the canary installed before every page's own scripts."""

    def __init__(self, browser, site: Site, email: str, *, bypass_csp: bool):
        self.hits: list[str] = []
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.csp_messages: list[str] = []
        self.ctx = browser.new_context(base_url=site.server.url, bypass_csp=bypass_csp,
                                       viewport={"width": 1280, "height": 900})
        self.ctx.set_default_timeout(TIMEOUT_MS)
        # Survives navigation, so a payload that fires late is still caught.
        self.ctx.expose_function("__xssHit", lambda what, url: self.hits.append(f"{what} at {url}"))
        self.ctx.add_init_script(CANARY)
        self.page = self.ctx.new_page()
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        self.page.on("console", self._console)
        self.page.goto("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(lambda url: "/login" not in url)

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message} at {self.page.url}")
        dialog.dismiss()

    def _console(self, msg):
        if "Content Security Policy" in msg.text:
            self.csp_messages.append(msg.text)

    def sweep(self, paths) -> dict[str, list[str]]:
        problems = {}
        for path in paths:
            response = self.page.goto(path)
            found = []
            if response is None or response.status != 200:
                found.append(f"status {response.status if response else 'none'}")
            found += self.page.evaluate(DOM_CHECK)
            if SECRET in self.page.content():
                found.append("the SECRET_KEY is on the page")
            if found:
                problems[path] = found
        return problems

    def close(self):
        self.ctx.close()


@pytest.fixture
def visitor(browser, site):
    made = []

    def _make(role: str, *, bypass_csp: bool) -> Visitor:
        email = site.teacher_email if role == "teacher" else site.student_email
        v = Visitor(browser, site, email, bypass_csp=bypass_csp)
        made.append(v)
        return v

    yield _make
    for v in made:
        v.close()


def _assert_clean(v: Visitor, problems: dict) -> None:
    # CSP messages alone are no failure (the CSP did its job); they are shown to explain one.
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items()) + (
        f"\nCSP console messages: {v.csp_messages[:5]}" if v.csp_messages else "")
    assert not v.hits, v.hits
    assert not v.dialogs, v.dialogs
    assert not v.page_errors, v.page_errors


def test_the_corpus_covers_the_classic_vectors():
    joined = "\n".join(PAYLOADS).lower()
    assert len(PAYLOADS) >= 25
    for needle in ("<script>", "onerror=", "<svg onload", "<iframe srcdoc", "](javascript:", "<javascript:",
                   "![image](javascript:", "[r]: javascript:", "&#106;avascript:", "data:text/html", "vbscript:",
                   "\\href{javascript:", "\\url{", "\\htmlid", "\\includegraphics", "\\unicode", "$</span><script>",
                   "<style>", "expression(", "{{ 7*7 }}"):
        assert needle in joined, needle


@pytest.mark.parametrize("role", ["teacher", "student"])
def test_escaping_alone_stops_every_payload(site, visitor, role):
    """CSP off: if any payload ran here, only the CSP would be stopping it in production."""
    v = visitor(role, bypass_csp=True)
    pages = site.teacher_pages if role == "teacher" else site.student_pages
    _assert_clean(v, v.sweep(pages))


@pytest.mark.parametrize("role", ["teacher", "student"])
def test_nothing_runs_under_the_real_csp(site, visitor, role):
    v = visitor(role, bypass_csp=False)
    pages = site.teacher_pages if role == "teacher" else site.student_pages
    headers = v.page.goto(pages[0]).headers
    assert "script-src 'self'" in headers.get("content-security-policy", "")
    # CSP console messages would be acceptable; a payload that runs is not.
    _assert_clean(v, v.sweep(pages))


def test_live_preview_keeps_payloads_inert(site, visitor):
    """The preview puts server HTML in with innerHTML: the one place the browser parses it late."""
    v = visitor("student", bypass_csp=True)
    page = v.page
    page.clock.install()  # so the preview's 300 ms typing pause can be skipped, not waited out
    page.goto(f"/learn/assignments/{site.assignment_id}/problems/{site.problem_ids[0]}")
    preview = page.locator("#explanation-preview")
    for i, payload in enumerate(PAYLOADS + ["\n\n".join(PAYLOADS)]):
        marker = f"preview-marker-{i}"
        page.locator("#explanation").fill(f"{payload}\n\n{marker}")
        page.clock.run_for(400)
        preview.get_by_text(marker).wait_for()
        page.wait_for_function("document.querySelectorAll('#explanation-preview .math:not([data-typeset])').length === 0")
        found = page.evaluate(DOM_CHECK)
        assert not found, (payload, found)
    _assert_clean(v, {})


def test_template_syntax_is_shown_literally(site, visitor):
    teacher = visitor("teacher", bypass_csp=False)
    page = teacher.page
    page.goto(f"/teach/problems/{site.template_problem_id}")
    assert TEMPLATE in page.locator(".statement").inner_text()
    assert TEMPLATE in page.locator("h1").inner_text()
    assert "{{ config.SECRET_KEY }}" in page.locator(".statement").inner_text()
    assert "{% print(7 * 7) %}" in page.locator(".statement").inner_text()
    assert "49" not in page.locator(".statement").inner_text()
    page.goto("/teach/")
    assert f"<script>alert(1)</script> {TEMPLATE}" in page.locator("main").inner_text()
    assert TEMPLATE in page.locator("header").inner_text()  # the teacher's own name
    student = visitor("student", bypass_csp=False)
    student.page.goto(f"/learn/assignments/{site.assignment_id}")
    assert TEMPLATE in student.page.locator("h1").inner_text()
    assert "49" not in student.page.locator("h1").inner_text()
