"""Screenshots of the key pages at desktop and phone widths, for a person to look at (not a test).

    python tests/browser/screenshots.py [OUT_DIR]      (default /tmp/shots)

Starts the app on a temporary SQLite file with the demo course, saves full-page PNGs at
1280 and 390 px, and prints any page that is wider than the viewport (sideways scrolling),
has math KaTeX could not typeset, or logged a console error or CSP message.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE.parent)]

from browser.helpers import CHROMIUM, CHROMIUM_ARGS, missing_browser, start_live_server  # noqa: E402

WIDTHS = (1280, 390)
OVERFLOW = """() => {
  const wide = document.documentElement.scrollWidth > window.innerWidth + 1;
  const culprits = [];
  if (wide) for (const el of document.querySelectorAll('main *')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && !el.closest('.table-wrap, .katex-display, pre'))
      culprits.push(el.tagName.toLowerCase() + '.' + el.className);
  }
  return {wide, culprits: culprits.slice(0, 5), katexErrors: document.querySelectorAll('.katex-error').length};
}"""


# What a real class will paste: wide tables, code, long formulas and links. On a phone these
# must scroll inside their own box, never push the whole page sideways.
STRESS = "\n\n".join([
    "A long formula: $\\left(\\frac{a_1 + a_2 + a_3 + a_4 + a_5 + a_6 + a_7 + a_8}{b_1 + b_2 + b_3 + b_4 + b_5 + b_6}"
    "\\right)^{2} = \\left(\\frac{x}{y}\\right)$ inline.",
    "$$\\int_0^1 \\frac{x^4 (1-x)^4}{1+x^2}\\,dx = \\frac{22}{7} - \\pi + 0 \\cdot \\sum_{k=0}^{\\infty} "
    "\\binom{2k}{k} \\frac{(-1)^k}{4^k (2k+1)} + \\lim_{n\\to\\infty} \\left(1 + \\frac{1}{n}\\right)^n - e$$",
    "| year | students | teachers | tickets | price | total | note |\n|---|---|---|---|---|---|---|\n"
    "| 2024 | 28 | 4 | 32 | 6 and 9 | 204 | a long note that goes on and on |",
    "```\nfor student in range(28): total = total + ticket_price_for_students_and_teachers(student) * 1\n```",
    "See https://example.org/a/very/long/path/that/never/breaks/anywhere/at/all/because/it/has/no/spaces.",
])


def seed(server):
    """The demo course, plus a problem full of wide content in its own assignment."""
    from datetime import timedelta

    from sqlmodel import select

    from classroom.models import Assignment, Course, Submission, User, utcnow
    from classroom.services import assignments, demo, problems
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    with server.session() as s:
        demo.seed(s)
        course = s.exec(select(Course).where(Course.code == demo.DEMO_CODE)).one()
        assignment = s.exec(select(Assignment).where(Assignment.course_id == course.id)).first()
        sub = s.exec(select(Submission).where(Submission.assignment_id == assignment.id)
                     .order_by(Submission.id)).first()
        student = s.get(User, sub.student_id)
        teacher = s.exec(select(User).where(User.email == demo.TEACHER[0])).one()
        stress = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Wide content", statement=STRESS, reference_solution=STRESS, reference_answer="204",
            steps=[STRESS, "Then $x = 1$."], flawed_final_answer="200", first_wrong_step=1, reason=STRESS))
        now = utcnow()
        extra = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Wide content", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=3),
            problem_ids=[stress.id]))
        return course.code, assignment.id, sub, student.email, (extra.id, stress.id)


def main(out: Path) -> int:
    reason = missing_browser()
    if reason:
        print(reason)
        return 1
    from playwright.sync_api import sync_playwright

    from classroom.services.demo import DEMO_PASSWORD, TEACHER
    out.mkdir(parents=True, exist_ok=True)
    server = start_live_server("sqlite", Path(tempfile.mkdtemp(prefix="shots-")))
    try:
        code, assignment_id, sub, student_email, (stress_assignment, stress_problem) = seed(server)
        teacher_pages = {
            "teacher-dashboard": "/teach/",
            "teacher-course": f"/teach/courses/{code}",
            "teacher-assignment": f"/teach/assignments/{assignment_id}",
            "teacher-submission": f"/teach/submissions/{sub.id}",
            "review-queue": f"/teach/courses/{code}/review",
            "gradebook": f"/teach/courses/{code}/gradebook",
            "problem-form": f"/teach/problems/{sub.problem_id}/edit",
            "teacher-problem-wide": f"/teach/problems/{stress_problem}",
        }
        student_pages = {
            "student-dashboard": "/learn/",
            "student-problem": f"/learn/assignments/{assignment_id}/problems/{sub.problem_id}",
            "student-submission": f"/learn/submissions/{sub.id}",
            "student-problem-wide": f"/learn/assignments/{stress_assignment}/problems/{stress_problem}",
        }
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for email, pages in ((TEACHER[0], teacher_pages), (student_email, student_pages)):
                for width in WIDTHS:
                    ctx = browser.new_context(base_url=server.url, viewport={"width": width, "height": 900})
                    page = ctx.new_page()
                    notes = []
                    page.on("console", lambda m, notes=notes: m.type in ("error", "warning") and notes.append(m.text[:160]))
                    page.goto("/login")
                    page.get_by_label("Email").fill(email)
                    page.get_by_label("Password").fill(DEMO_PASSWORD)
                    page.get_by_role("button", name="Log in").click()
                    page.wait_for_url(lambda url: "/login" not in url)
                    for name, path in pages.items():
                        notes.clear()
                        page.goto(path)
                        if name == "student-problem":  # show the live preview with math
                            page.locator("#explanation").fill(r"Step 2 is wrong: $\frac{3}{4} \cdot 8 = 6$, "
                                                              r"not $5$, and $$\sum_{k=1}^{n} k = \frac{n(n+1)}{2}$$")
                            page.locator("#explanation-preview .katex-display").first.wait_for()
                        info = page.evaluate(OVERFLOW)
                        file = out / f"{name}-{width}.png"
                        page.screenshot(path=str(file), full_page=True)
                        flags = []
                        if info["wide"]:
                            flags.append(f"wider than the viewport: {info['culprits']}")
                        if info["katexErrors"]:
                            flags.append(f"{info['katexErrors']} math errors")
                        flags += [f"console: {n}" for n in notes]
                        print(f"{file}  {'; '.join(flags) or 'ok'}")
                    ctx.close()
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/shots")))
