"""A screenshot tour of the app, for a person to look at (not a test), and the README's pictures.

    python tests/browser/screenshots.py [OUT_DIR] [--only NAME,...] every page (or those named NAME), full
                                                      length, at 1280 and 390 px
                                                      (default OUT_DIR /tmp/shots)
    python tests/browser/screenshots.py --readme      the README's pictures, into docs/screenshots/
                                                      (with --only, just those pictures)

Starts the app on a temporary SQLite file with the demo course (plus a problem full of wide content, a
released assignment and forms sent back with errors), logs in as the demo teacher and a demo student, and
saves PNGs. The tour prints any page that is wider than the viewport (sideways scrolling), has math KaTeX
could not typeset, asked for something that is not there (404), or logged a console error or CSP message.
--readme saves the main pages as the first screenful (1280×800 desktop, 390×844 phone), reduced to a
256-colour palette with Pillow so the repository stays small.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path[:0] = [str(ROOT), str(HERE.parent)]

from browser.helpers import CHROMIUM, CHROMIUM_ARGS, missing_browser, start_live_server  # noqa: E402

WIDTHS = (1280, 390)
README_DIR = ROOT / "docs" / "screenshots"
README_SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
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

PROGRAM = [
    "total_council_members = 33",
    "# As per the question, twice as many votes in favor as against",
    "",
    "total_votes_in_favor = total_council_members // 3",
    "share = total_votes_in_favor * 2 * 1  # a*b*c stays code, never italics; // stays floor division",
    "print(total_votes_in_favor)",
]

COMMENT = ("Exactly right: $4 \\times 9 = 36$, so the total is $168 + 36 = 204$. Next time, say *why* the "
           "slip carries into step 3.")


@dataclass
class Scene:
    code: str
    assignment_id: int
    submission_id: int
    problem_id: int
    student_email: str
    stress_assignment: int
    stress_problem: int
    released_assignment: int
    released_submission: int
    released_problem: int
    program_assignment: int
    program_problem: int
    program_submission: int
    teach_problem: int = 0
    conversation: int = 0
    imported_draft: int = 0  # a ProcessBench draft whose key waits for its reason
    proposed_draft: int = 0  # one whose reason the model proposed, waiting for approval
    grouped_assignment: int = 0
    pilot_assignment: int = 0
    class_code: str = ""
    class_assignment: int = 0
    roster_code: str = ""
    new_invite_token: str = ""
    existing_invite_token: str = ""
    lab: tuple = ()  # (lab id, group id, run id, a wrong attempt id, a harvested one): the AI lab's pages
    lms_code: str = ""  # a course opened from an LMS (the test LMS of tests/lti_platform.py on loopback)
    lms_assignment: int = 0  # its released assignment: scores sent, failed and not sent to the LMS


TUTEE_REPLY = ("Hmm, I used the average because the two pipes work at the same time, so the time should be "
               "somewhere between $3$ and $6$ hours. Why would the average be wrong here?\n\nFINAL ANSWER: 4.5")


def add_conversation(server, sc: Scene) -> None:
    """A teach-mode conversation of the demo student on "Two pipes", one exchange in, with the loopback
    model server (tests/openai_server.py) answering as the tutee."""
    from sqlmodel import select

    from classroom.models import Problem, User
    from classroom.services import conversations
    with server.session() as s:
        student = s.exec(select(User).where(User.email == sc.student_email)).one()
        pipes = s.exec(select(Problem).where(Problem.title == "Two pipes")).one()
        t = conversations.start(s, student, sc.assignment_id, pipes.id, server.app.config)
        _t, reply = conversations.post_message(s, student, t.conversation.id,
                                               "Together they fill it faster than either alone, so the answer "
                                               "must be less than $3$ hours. Look at step 2 again.",
                                               server.app.config)
        conversations.write_reply(s, reply.id, server.app.config)
        sc.teach_problem, sc.conversation = pipes.id, t.conversation.id


def seed(server) -> Scene:
    """The demo course; a problem full of wide content in its own assignment; a released assignment with
    a reviewed, commented answer and a resubmission after the release."""
    from datetime import timedelta

    from sqlmodel import select

    from classroom import jobs
    from classroom.models import Assignment, Course, Submission, User, utcnow
    from classroom.services import assignments, courses, demo, problems, reviews, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft
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
        # Last week's quiz: answered, reviewed with a comment, released; then one student resubmitted.
        quiz_problems = [p for p in problems.problems_of(s, course.id) if p.title in ("Field trip tickets",
                                                                                      "Gauss's sum")]
        quiz = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Quiz 0: warm-up", opens_at=now - timedelta(days=9), due_at=now + timedelta(days=1),
            problem_ids=[p.id for p in quiz_problems], points=20))
        released = None
        for who, (step, answer) in zip(demo.STUDENTS, ((2, "204"), (2, "204"), (3, "200"))):
            pupil = s.exec(select(User).where(User.email == who[0])).one()
            done, job = submissions.submit(s, pupil, quiz.id, quiz_problems[0].id, CritiqueDraft(
                step, "Step 2 says $4 \\times 9 = 32$; it is $36$.", "Teachers pay $36$, so $168 + 36 = 204$.",
                answer))
            jobs.run_job(job.id)
            for g in submissions.grades_of(s, done.id):
                if g.effective_score is None:
                    reviews.set_score(s, teacher, g.id, 1.0 if g.component == "explanation" else 0.75, COMMENT)
            released = released or done
        assignments.release_grades(s, teacher, quiz, confirmed=True)
        pupil = s.exec(select(User).where(User.email == demo.STUDENTS[2][0])).one()
        again, job = submissions.submit(s, pupil, quiz.id, quiz_problems[0].id, CritiqueDraft(
            2, "Step 2 multiplies wrongly: $4 \\times 9 = 36$.", "$168 + 36 = 204$", "204"))
        jobs.run_job(job.id)
        # A program as the model's solution (MR-GSM8K's program of thought): comments, a*b, //, a blank
        # line kept as a step, and one long line that must scroll inside its box on a phone.
        program = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Council vote, as a program", statement="A council of 33 voted; twice as many voted in favor "
            "as against. How many voted in favor?", reference_solution="Against: $33 / 3 = 11$; in favor: $22$.",
            reference_answer="22", steps=PROGRAM, solution_format="python", flawed_final_answer="11",
            first_wrong_step=4, reason="Two thirds voted in favor, not one third.", error_kind="wrong_formula"))
        program_work = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Programs", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=3),
            problem_ids=[program.id]))
        program_sub, job = submissions.submit(s, student, program_work.id, program.id, CritiqueDraft(
            4, "Line 4 divides by 3, giving the votes against; in favor is *twice* that.",
            "in_favor = total_council_members * 2 // 3\n\n# two of every three voted in favor\nprint(in_favor)",
            "22"))
        jobs.run_job(job.id)
        lab_ids = seed_lab(s, teacher, course)
        imported, proposed = seed_processbench(s, teacher, course)
        grouped = _grouped_review(s, teacher, course, quiz_problems[0], now)
        pilot_work = _pilot_scene(server, s, teacher, course, quiz_problems[0])
        # A class of 24 over a term, for the analysis pages' charts (the demo student is in it too).
        from browser.analysis_class import seed_class
        big = seed_class(s, teacher, student)
        # A second course whose roster invited a new address and the demo student (who has an account).
        geometry = courses.create_course(s, teacher, title="Geometry", code="GEO101")
        roster = courses.import_roster(s, teacher, geometry, f"email,name\nnewcomer@demo.test,Nia Newcomer\n"
                                       f"{student.email},Student One (roster)\n")
        tokens = {r.email: r.token for r in roster.rows}
        return Scene(course.code, assignment.id, sub.id, sub.problem_id, student.email, extra.id, stress.id,
                     quiz.id, released.id, quiz_problems[0].id, program_work.id, program.id, program_sub.id,
                     imported_draft=imported, proposed_draft=proposed, grouped_assignment=grouped.id,
                     pilot_assignment=pilot_work, class_code=big["code"],
                     class_assignment=big["assignments"][-1], roster_code=geometry.code,
                     new_invite_token=tokens["newcomer@demo.test"], existing_invite_token=tokens[student.email], lab=lab_ids)


def seed_processbench(s, teacher, course) -> tuple[int, int]:
    """Two ProcessBench lines imported as drafts; the second's reason as the model would propose it (written
    here directly: the tour runs without a model)."""
    import json

    from sqlmodel import select

    from classroom.models import AnswerKey, FlawedSolution, Problem
    from classroom.services import banks
    lines = [{"id": f"pb-{n}", "generator": "Qwen2-7B-Instruct", "problem": problem, "steps": steps,
              "final_answer_correct": False, "label": 1} for n, (problem, steps) in enumerate((
                  ("Ann buys 3 pens at \\$2 each and a book at \\$5. How much does she pay?",
                   ["The pens cost $3 \\times 2 = 6$ dollars.", "With the book: $6 + 5 = 12$ dollars.",
                    "So she pays $\\boxed{12}$."]),
                  ("A train covers 120 km in 1.5 hours. What is its average speed?",
                   ["Speed is distance over time.", "$120 / 1.5 = 90$ km/h.", "The answer is $\\boxed{90}$."])))]
    banks.import_bank(s, teacher, course, "".join(json.dumps(line) + "\n" for line in lines), "processbench")
    drafts = []
    for external_id in ("pb-0", "pb-1"):
        drafts.append(s.exec(select(FlawedSolution).join(Problem, Problem.id == FlawedSolution.problem_id)
                             .where(Problem.course_id == course.id, Problem.external_id == external_id)).one())
    key = s.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == drafts[1].id)).one()
    key.reason, key.error_kind, key.reason_model = ("Step 2 divides wrongly: $120 / 1.5 = 80$, not 90.",
                                                    "arithmetic", "qwen2.5:14b")
    s.add(key)
    s.commit()
    return drafts[0].id, drafts[1].id


# A homework answered by eleven more students, for the grouped review queue: the same slip said in several
# ways, a different reason, a false step, a wrong answer, and one student who is unsure.
GROUPED = [
    (2, "Step 2 says $4 \\times 9 = 32$; it is $36$.", "204"),
    (2, "$4 \\times 9$ is 36, not 32, so the teachers pay 36.", "204"),
    (2, "The teachers' tickets: 4 times 9 is 36 not 32.", "204"),
    (2, "4 × 9 = 36, the solution wrote 32.", "204"),
    (2, "Multiplication slip in step 2: $4 \\cdot 9 = 36$.", "204"),
    (2, "They used the student price for the teachers: it should be \\$9 each.", "204"),
    (2, "Teachers pay \\$9, and the step used the wrong price for a teacher ticket.", "204"),
    (3, "168 + 32 is 200 but the total should include the teachers properly.", "204"),
    (2, "4 times 9 is 36, so the total is 168 + 36 = 194.", "194"),
    (2, "Step 2 is wrong, $4 \\times 9 = 36$, which makes the total 194.", "194"),
    (1, "I am not sure, maybe the students cost more.", "200"),
]


def _grouped_review(s, teacher, course, problem, now):
    from datetime import timedelta

    from classroom import jobs
    from classroom.models import ROLE_STUDENT
    from classroom.services import accounts, assignments, courses, review_groups, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.submissions import CritiqueDraft
    homework = assignments.create_assignment(s, teacher, course, AssignmentDraft(
        title="Homework 2", opens_at=now - timedelta(days=2), due_at=now + timedelta(days=2),
        problem_ids=[problem.id]))
    names = ["Ada Lovelace", "Ben Okri", "Chen Wei", "Dara Singh", "Eva Novak", "Femi Adeyemi", "Gita Rao",
             "Hugo Laurent", "Ines Moreno", "Jon Berg", "Kira Tanaka"]
    price_group = []
    for i, (name, (step, reason, answer)) in enumerate(zip(names, GROUPED)):
        pupil = accounts.create_user(s, email=f"hw{i}@demo.test", name=name, password="demo-password",
                                     role=ROLE_STUDENT)
        courses.join_course(s, pupil, course.code)
        done, job = submissions.submit(s, pupil, homework.id, problem.id, CritiqueDraft(
            step, reason, f"Teachers pay $4 \\times 9 = 36$, so the total is ${answer}$.", answer))
        jobs.run_job(job.id)
        if "price" in reason:  # the group about the price is already scored: the progress bars move
            price_group += [g.id for g in submissions.grades_of(s, done.id) if g.component == "explanation"]
    review_groups.score_group(s, teacher, course, price_group, "0")
    return homework


def _pilot_scene(server, s, teacher, course, problem) -> int:
    """An assignment held for the grader's pilot, a sample of 3 graded by the loopback model (one below the
    confidence threshold: a suggestion in the review queue), one overridden with a comment; 5 still held."""
    from datetime import timedelta

    from openai_server import FakeOpenAIServer

    from classroom.models import utcnow
    from classroom.services import accounts, assignments, courses, pilot, reviews, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.demo import DEMO_PASSWORD
    from classroom.services.submissions import CritiqueDraft
    now = utcnow()
    work = assignments.create_assignment(s, teacher, course, AssignmentDraft(
        title="Pilot: tickets again", opens_at=now - timedelta(days=1), due_at=now + timedelta(days=3),
        problem_ids=[problem.id], hold_for_pilot=True, confidence_percent=60))
    explanations = ["Step 2 says $4 \\times 9 = 32$; it is $36$.", "The teachers' total is wrong.",
                    "Step 2 multiplies wrongly.", "I think step 3 adds wrongly.", "Step 2: 4 × 9 is 36, not 32.",
                    "The price for teachers was misread.", "Step 2 is off by four.", "Nothing is wrong."]
    subs = []
    for i, text in enumerate(explanations):
        pupil = accounts.create_user(s, email=f"pilot{i}@demo.test", name=f"Pilot Student {i + 1}",
                                     password=DEMO_PASSWORD)
        courses.join_course(s, pupil, course.code)
        subs.append(submissions.submit(s, pupil, work.id, problem.id, CritiqueDraft(
            2, text, "$168 + 36 = 204$", "204"))[0])
    model = FakeOpenAIServer().start()
    replies = iter([(1.0, 0.95), (0.5, 0.45), (1.0, 0.9)])

    def reply(_req):
        score, confidence = next(replies, (1.0, 0.9))
        return {"location_correct": True, "explanation_verdict": "correct" if score == 1 else "partially_correct",
                "explanation_score": score, "correction_verdict": "correct", "correction_score": 1.0,
                "feedback": "You found the slip in step 2.", "flags": [], "confidence": confidence}
    model.responder = reply
    settings = ("GRADER_MODEL", "OPENAI_BASE_URL", "GRADER_MAX_ATTEMPTS")
    before = {name: server.app.config.get(name) for name in settings}
    server.app.config.update(GRADER_MODEL="demo-grader", OPENAI_BASE_URL=model.base_url, GRADER_MAX_ATTEMPTS=1)
    try:
        chosen = pilot.grade_sample(s, teacher, work, 3)
    finally:
        server.app.config.update(before)  # the tour's other model roles keep their own endpoint
        model.stop()
    graded = [g for sid in chosen for g in submissions.grades_of(s, sid)
              if g.component == "explanation" and g.score is not None]
    if graded:
        reviews.set_score(s, teacher, graded[0].id, 0.5, "Names the step but not the slip: half credit.")
    return work.id


def seed_lab(s, teacher, course) -> tuple:
    """The AI lab: a group the teacher filled (with the demo student) and an open one; a lab whose first group
    wrote a synthetic problem and two strategy versions, with finished runs stored as the run job leaves them
    (the tour has no model to call)."""
    from sqlmodel import select

    from classroom.models import LabAttempt, LabRun
    from classroom.services import courses, groups, lab, problems
    pupils = courses.students_of(s, course.id)
    placed = groups.create_group(s, teacher, course, name="Euler", max_size=3)
    for pupil in pupils[:2]:
        groups.add_member(s, teacher, placed.id, pupil.id)
    groups.create_group(s, teacher, course, name="Noether", max_size=3, open_to_join=True)
    exam = problems.problems_of(s, course.id)[:2]
    the_lab = lab.create_lab(s, teacher, course, lab.LabDraft(
        title="Lab 1: make the model pass the quiz", instructions="Write **two** variants of each exam problem, "
        "then a strategy. Run it on your set first, then on the exam.", exam_problem_ids=[p.id for p in exam],
        leaderboard_visible=True))
    author = pupils[0]
    synthetic = lab.create_synthetic(s, author, the_lab.id, lab.SyntheticDraft(
        exam_problem_id=exam[0].id, title="Museum tickets", statement="A museum ticket costs \\$7 for each of "
        "$24$ students and \\$11 for each of $3$ teachers. What is the total?",
        reference_solution="$24 \\times 7 = 168$ and $3 \\times 11 = 33$, so $201$.", reference_answer="201",
        answer_tests="$201 -> correct\n200 -> incorrect"))
    runs = []
    for version, prompt, right in ((1, "Solve step by step and box the answer.", (1, 1, 0, 1, 0, 0)),
                                   (2, "Solve step by step. Check every product twice, then box the answer.",
                                    (1, 1, 1, 1, 1, 0))):
        strategy = lab.save_strategy(s, author, the_lab.id, prompt, [synthetic.id] if version == 2 else [])
        items = [["exam", p.id] for p in exam]
        run = LabRun(lab_id=the_lab.id, group_id=placed.id, strategy_id=strategy.id, target="exam", samples=3,
                     items=items, total=6, completed=6, correct=sum(right), model="demo-solver", state="done",
                     tokens_in=2400, tokens_out=1900, started_by_id=author.id)
        s.add(run)
        s.flush()
        for n, ok in enumerate(right):
            # each attempt answers its own problem: the reference when right, a near miss when wrong
            problem = exam[n // 3]
            if n // 3 == 0:  # the field trip, whose wrong attempts the harvest below marks at step 2
                answer = "204" if ok else "200"
                text = (f"Students: $28 \\times 6 = 168$.\nTeachers: $4 \\times 9 = {36 if ok else 32}$.\n"
                        f"Total: \\boxed{{{answer}}}")
            else:
                answer = problem.reference_answer if ok else f"{problem.reference_answer}0"
                text = f"Working through it step by step.\nSo the answer is $\\boxed{{{answer}}}$."
            s.add(LabAttempt(run_id=run.id, item=n // 3, sample_index=n % 3, problem_id=items[n // 3][1],
                             text=text, final_answer=answer,
                             verdict="correct" if ok else "incorrect", model="demo-solver", strategy_id=strategy.id,
                             tokens_in=400, tokens_out=316, latency_ms=1200))
        runs.append(run)
    s.commit()
    from classroom.services import harvest
    wrong = s.exec(select(LabAttempt).where(LabAttempt.run_id == runs[0].id, LabAttempt.verdict == "incorrect")
                   .order_by(LabAttempt.id)).all()
    harvest.submit_harvest(s, author, wrong[0].id, first_wrong_step=2, reason="Teachers pay $4 \\times 9 = 36$, "
                           "not $32$.", error_kind="arithmetic")
    from classroom.services import lab_grades
    criteria = [lab_grades.add_criterion(s, teacher, the_lab.id, title, 10) for title in (
        "Synthetic problems: correct and varied", "Strategy versions and what each changed",
        "Harvested failures with a clear first wrong step")]
    lab_grades.grade_group(s, teacher, the_lab.id, placed.id, lab_grades.GroupGradeDraft(
        points=dict(zip([c.id for c in criteria], ("8", "9", "7.5"))), adjustments={pupils[1].id: "-2"},
        reasons={pupils[1].id: "Missed two of the three lab sessions."}))
    lab_grades.set_released(s, teacher, the_lab.id, True)
    return the_lab.id, placed.id, runs[-1].id, wrong[-1].id, wrong[0].id  # the last: submitted, harvested


def add_lms_course(server, sc: Scene):
    """A course opened from an LMS (the test LMS of tests/lti_platform.py, serving its roster on loopback)
    whose released assignment's scores were sent: one sent, one failed with the LMS's answer, one student
    without an LMS account. Returns the LMS (to close)."""
    import json
    from datetime import timedelta
    from urllib.request import urlopen

    from sqlmodel import select

    from classroom.models import (SCORE_FAILED, SCORE_SENT, SCORE_SKIPPED, Enrollment, LtiAccount, LtiContext,
                                  LtiResourceLink, LtiScoreSend, User, utcnow)
    from classroom.services import accounts, assignments, courses, lti, lti_sync, problems
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.demo import TEACHER
    from classroom.services.problems import ProblemDraft
    from lti_platform import AGS_SCOPES, DEPLOYMENT, INSTRUCTOR, LEARNER, FakePlatform

    lms = FakePlatform(tool_jwks=lambda: json.loads(urlopen(server.url + "/lti/jwks").read()))
    with server.session() as s:
        teacher = s.exec(select(User).where(User.email == TEACHER[0])).one()
        platform, _new = lti.add_platform(s, issuer=lms.issuer, client_id=lms.client_id,
                                          auth_login_url=lms.base + "/auth", auth_token_url=lms.token_url,
                                          key_set_url=lms.base + "/jwks", deployment_id=DEPLOYMENT)
        course = courses.create_course(s, teacher, title="Algebra (from the LMS)", code="LMS101")
        context = LtiContext(platform_id=platform.id, context_id="lms-course-9", course_id=course.id)
        s.add(context)
        s.flush()
        s.add(LtiResourceLink(context_id=context.id, resource_link_id="link-1", ags_scopes=list(AGS_SCOPES),
                              lineitems_url=lms.context_url("lms-course-9") + "/lineitems",
                              memberships_url=lms.context_url("lms-course-9") + "/memberships"))
        people = []
        for n, name in enumerate(("Bo Learner", "Cy Learner", "Dee Local")):
            user = accounts.create_user(s, email=f"lms{n}@demo.test", name=name, password="not-used-1234")
            s.add(Enrollment(course_id=course.id, user_id=user.id, role="student"))
            if name != "Dee Local":
                s.add(LtiAccount(platform_id=platform.id, sub=f"lms-user-{n + 2}", user_id=user.id))
            people.append(user)
        s.add(LtiAccount(platform_id=platform.id, sub="lms-user-1", user_id=teacher.id))
        problem = problems.create_problem(s, teacher, course, ProblemDraft(
            title="Tickets", statement="Tickets cost \\$6 each for $n=28$ students.", reference_solution="28 × 6 = 168",
            reference_answer="168", steps=["Multiply $28 \\times 6$.", "That is $158$."], flawed_final_answer="158",
            first_wrong_step=2, reason="28 × 6 = 168, not 158.", error_kind="arithmetic"))
        now = utcnow()
        work = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title="Week 1 from the LMS", opens_at=now - timedelta(days=9), due_at=now - timedelta(days=1),
            problem_ids=[problem.id], points=40))
        work.released_at = now
        s.add(work)
        rows = [(SCORE_SENT, 30.0, None, now), (SCORE_FAILED, 0.0, "Try 5: The LMS answered HTTP 503 Service "
                                                "Unavailable: {\"error\": \"the gradebook is busy\"}", None),
                (SCORE_SKIPPED, 40.0, lti_sync.NO_ACCOUNT, None)]
        for user, (state, score, error, sent_at) in zip(people, rows):
            s.add(LtiScoreSend(assignment_id=work.id, context_id=context.id, user_id=user.id, state=state,
                               sub=None if state == SCORE_SKIPPED else "lms-user", score_given=score,
                               score_maximum=40.0, attempts=5 if state == SCORE_FAILED else 1, error=error,
                               sent_at=sent_at, activity_progress="Completed"))
        s.commit()
        sc.lms_code, sc.lms_assignment = course.code, work.id
    lms.set_roster("lms-course-9", [
        {"user_id": "lms-user-1", "roles": [INSTRUCTOR], "name": "Demo Teacher"},
        {"user_id": "lms-user-2", "roles": [LEARNER], "name": "Bo Learner"},
        {"user_id": "lms-user-5", "roles": [LEARNER], "name": "Eve Newcomer"},
        {"user_id": "lms-user-6", "roles": [LEARNER], "name": "Fay Gone", "status": "Inactive"},
        {"user_id": "lms-user-7", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"],
         "name": "Gus Mentor"}])
    return lms


def teacher_tour(sc: Scene) -> dict:
    """name -> path, or (path, action) where action(page) runs before the picture."""
    return {
        "teacher-dashboard": "/teach/",
        "teacher-course": f"/teach/courses/{sc.code}",
        "teacher-assignment": f"/teach/assignments/{sc.assignment_id}",
        "teacher-assignment-released": f"/teach/assignments/{sc.released_assignment}",
        "teacher-submission": f"/teach/submissions/{sc.submission_id}",
        "review-queue": f"/teach/courses/{sc.code}/review",
        "review-grouped": (f"/teach/courses/{sc.code}/review?assignment={sc.grouped_assignment}"
                           "&component=explanation", _open_first_group),
        "gradebook": f"/teach/courses/{sc.code}/gradebook",
        "gradebook-search": f"/teach/courses/{sc.code}/gradebook?q=a",
        "audit-log": f"/teach/courses/{sc.code}/audit",
        "bank-format": "/teach/help/bank-format",
        "teacher-problem": f"/teach/problems/{sc.problem_id}",
        "generate": f"/teach/problems/{sc.problem_id}/generate",
        "problem-form": f"/teach/problems/{sc.problem_id}/edit",
        "problem-form-errors": (f"/teach/courses/{sc.code}/problems/new",
                                lambda page: page.get_by_role("button", name="Save problem").last.click()),
        "assignment-form-errors": (f"/teach/courses/{sc.code}/assignments/new",
                                   lambda page: page.get_by_role("button", name="Save assignment").click()),
        "teacher-problem-wide": f"/teach/problems/{sc.stress_problem}",
        "teacher-problem-program": f"/teach/problems/{sc.program_problem}",
        "teacher-preview-program": f"/teach/problems/{sc.program_problem}/preview",
        "teacher-submission-program": f"/teach/submissions/{sc.program_submission}",
        "problem-form-program": f"/teach/problems/{sc.program_problem}/edit",
        "generate-program": f"/teach/problems/{sc.program_problem}/generate",
        "teacher-draft-imported": f"/teach/solutions/{sc.imported_draft}",
        "teacher-draft-proposed": f"/teach/solutions/{sc.proposed_draft}",
        "lab-groups": f"/teach/courses/{sc.code}/groups",
        "assignment-form": f"/teach/assignments/{sc.assignment_id}/edit",
        "teacher-conversation": f"/teach/conversations/{sc.conversation}",
        "teacher-assignment-pilot": f"/teach/assignments/{sc.pilot_assignment}",
        "assignment-form-pilot": f"/teach/assignments/{sc.pilot_assignment}/edit",
        "item-analysis": f"/teach/assignments/{sc.class_assignment}/analysis",
        "item-analysis-empty": f"/teach/assignments/{sc.stress_assignment}/analysis",
        "class-progress": f"/teach/courses/{sc.class_code}/progress?sort=average&order=asc&below=50",
        "teacher-course-invited": f"/teach/courses/{sc.roster_code}",
        "roster-result": (f"/teach/courses/{sc.code}", _upload_roster),
        "teacher-assignment-lms": f"/teach/assignments/{sc.lms_assignment}",
        "teacher-course-lms": (f"/teach/courses/{sc.lms_code}",
                               lambda page: page.locator("#lms-roster").scroll_into_view_if_needed()),
        "lms-roster-result": (f"/teach/courses/{sc.lms_code}",
                              lambda page: page.get_by_role("button", name="Sync roster from the LMS").click()),
        "lab-overview": f"/teach/labs/{sc.lab[0]}",
        "lab-group-work": f"/teach/labs/{sc.lab[0]}/groups/{sc.lab[1]}",
        "lab-run": f"/teach/runs/{sc.lab[2]}",
        "lab-harvests": f"/teach/labs/{sc.lab[0]}/harvests",
        "lab-leaderboard": f"/teach/labs/{sc.lab[0]}/leaderboard",
        "lab-grades": f"/teach/labs/{sc.lab[0]}/grades",
        "lab-grades-errors": (f"/teach/labs/{sc.lab[0]}/grades",
                              lambda page: (page.locator("input[name^=adjust-]").first.fill("+3"),
                                            page.get_by_role("button", name="Save Euler's grade").click())),
        "lab-form-errors": (f"/teach/courses/{sc.code}/labs/new",
                            lambda page: page.get_by_role("button", name="Create lab").click()),
    }


def _upload_roster(page) -> None:
    page.set_input_files("#roster", files=[{"name": "roster.csv", "mimeType": "text/csv",
                                            "buffer": b"email,name\nsam@demo.test,Sam Roster\n"
                                                      b"student2@demo.test,Student Two\n"}])
    page.get_by_role("button", name="Import", exact=True).click()


def visitor_tour(sc: Scene | None = None) -> dict:
    """Pages before logging in, and the sign-up form sent back with every problem named."""
    def wrong_signup(page):
        page.get_by_label("Email").fill("not-an-email")
        page.get_by_label("Password (at least 8 characters)").fill("short")
        page.get_by_role("button", name="Create account").click()

    pages = {"landing": "/", "login": "/login", "signup": "/signup", "signup-errors": ("/signup", wrong_signup)}
    if sc is not None:
        pages["invitation-new-address"] = f"/invite/{sc.new_invite_token}"
        pages["invitation-log-in"] = f"/invite/{sc.existing_invite_token}"
    return pages


def _open_first_group(page) -> None:
    """The first group's members open and a critique taken out, as an instructor would see it mid-review."""
    group = page.locator(".review-group").first
    group.locator("details.members > summary").click()
    group.locator(".review-member").nth(1).get_by_label("Take out of the group").check()
    page.locator(".review-assignment h2").first.evaluate("el => el.scrollIntoView()")


def _preview_math(page) -> None:
    page.locator("#explanation").fill(r"Step 2 is wrong: $4 \times 9 = 36$, not $32$, so the total is "
                                      r"$$168 + 36 = 204.$$")
    page.locator("#explanation-preview .katex-display").first.wait_for()


def _to_progress(page) -> None:
    page.evaluate("document.getElementById('your-progress').scrollIntoView()")


def student_tour(sc: Scene) -> dict:
    return {
        "student-dashboard": "/learn/",
        "student-progress": ("/learn/", _to_progress),
        "student-assignment": f"/learn/assignments/{sc.released_assignment}",
        "student-problem": (f"/learn/assignments/{sc.assignment_id}/problems/{sc.problem_id}", _preview_math),
        "student-submission": f"/learn/submissions/{sc.released_submission}",
        "student-resubmit-warning": f"/learn/assignments/{sc.released_assignment}/problems/{sc.released_problem}",
        "student-problem-wide": f"/learn/assignments/{sc.stress_assignment}/problems/{sc.stress_problem}",
        "student-problem-program": f"/learn/assignments/{sc.program_assignment}/problems/{sc.program_problem}",
        "student-submission-program": f"/learn/submissions/{sc.program_submission}",
        "student-lab-groups": f"/learn/courses/{sc.code}/groups",
        "student-teach-problem": f"/learn/assignments/{sc.assignment_id}/problems/{sc.teach_problem}",
        "student-conversation": f"/learn/conversations/{sc.conversation}",
        "student-invitation": f"/invite/{sc.existing_invite_token}",
        "student-lab": f"/learn/labs/{sc.lab[0]}",
        "student-lab-run": f"/learn/runs/{sc.lab[2]}",
        "student-lab-leaderboard": f"/learn/labs/{sc.lab[0]}/leaderboard",
        "student-lab-harvest": f"/learn/attempts/{sc.lab[4]}/harvest",
        "student-lab-harvest-errors": (f"/learn/attempts/{sc.lab[3]}/harvest",
                                lambda page: page.get_by_role("button", name="Submit to the instructor").click()),
    }


ADMIN_EMAIL = "admin@demo.test"


def admin_tour(server, password: str) -> dict:
    """The administrator's pages: an administrator of the demo's password, and a registered LMS (Canvas's
    addresses) for the LTI page."""
    from classroom.services import accounts, lti
    with server.session() as s:
        accounts.create_user(s, email=ADMIN_EMAIL, name="Ada Admin", password=password, role="admin")
        lti.add_platform(s, issuer="https://canvas.instructure.com", client_id="10000000000042",
                         auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
                         auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
                         key_set_url="https://sso.canvaslms.com/api/lti/security/jwks", deployment_id="7:8a1c3e")
        # A second deployment, switched off; a placeholder LTI account to link to a local one.
        from sqlmodel import select

        from classroom.models import Course, Enrollment, LtiAccount, LtiDeployment, User, utcnow
        canvas, _new = lti.add_platform(s, issuer="https://canvas.instructure.com", client_id="10000000000042",
                                        auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect",
                                        auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
                                        key_set_url="https://sso.canvaslms.com/api/lti/security/jwks",
                                        deployment_id="9:old-term")
        old = s.exec(select(LtiDeployment).where(LtiDeployment.deployment_id == "9:old-term")).one()
        old.disabled_at = utcnow()
        placeholder = User(email="lti-5f2a9c0d1e7b3a6c4d8e2f10@lti.invalid", name="Grace Hopper", password_hash="")
        s.add_all([old, placeholder])
        s.flush()
        s.add(LtiAccount(platform_id=canvas.id, sub="c6a1f3e2-8d4b-4c1e-9f7a-2b5d8e0c4a19", user_id=placeholder.id,
                         name_claim="Grace Hopper", email_claim="ghopper@school.edu"))
        lms_course = s.exec(select(Course).where(Course.code == "LMS101")).first()
        if lms_course is not None:
            s.add(Enrollment(course_id=lms_course.id, user_id=placeholder.id, role="student"))
        accounts.create_user(s, email="grace.hopper@demo.test", name="Grace Hopper", password=password)
        s.commit()
        account_id = s.exec(select(LtiAccount.id).where(LtiAccount.user_id == placeholder.id)).one()
    server.app.config["PUBLIC_URL"] = server.app.config.get("PUBLIC_URL") or server.url  # the tool's addresses

    def wrong_platform(page):
        page.get_by_label("Issuer (Platform ID)").fill("canvas")
        page.get_by_role("button", name="Register").click()

    def check_link(page):
        page.get_by_label("E-mail address of the local account").fill("grace.hopper@demo.test")
        page.get_by_role("button", name="Check").click()

    link = f"/admin/lti/accounts/{account_id}/link"
    return {"admin-dashboard": "/admin/", "admin-lti": "/admin/lti", "admin-lti-errors": ("/admin/lti", wrong_platform),
            "admin-lti-accounts": "/admin/lti/accounts", "admin-lti-link": (link, check_link)}


# The README's pictures: (file name, who, page name in the tour, desktop or phone).
README_SHOTS = [
    ("teacher-assignment", "teacher", "teacher-assignment", "desktop"),
    ("review-queue", "teacher", "review-grouped", "desktop"),
    ("teacher-submission", "teacher", "teacher-submission", "desktop"),
    ("student-problem", "student", "student-problem", "desktop"),
    ("student-problem-phone", "student", "student-problem", "phone"),
    ("student-submission-phone", "student", "student-submission", "phone"),
    ("gradebook", "teacher", "gradebook", "desktop"),
    ("item-analysis", "teacher", "item-analysis", "desktop"),
    ("class-progress", "teacher", "class-progress", "desktop"),
    ("student-progress-phone", "student", "student-progress", "phone"),
]


def _log_in(page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _visit(page, target) -> None:
    path, action = target if isinstance(target, tuple) else (target, None)
    page.goto(path)
    if action:
        action(page)
        page.wait_for_load_state("networkidle")
    page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in pictures


def optimise_png(path: Path) -> None:
    """A 256-colour palette PNG: screenshots of flat UI lose nothing visible and shrink several times."""
    from PIL import Image

    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


def main(out: Path | None, readme: bool, only: str | None = None) -> int:
    reason = missing_browser()
    if reason:
        print(reason)
        return 1
    from playwright.sync_api import sync_playwright

    from classroom.services.demo import DEMO_PASSWORD, TEACHER
    from openai_server import FakeOpenAIServer
    server = start_live_server("sqlite", Path(tempfile.mkdtemp(prefix="shots-")))
    tutee = FakeOpenAIServer().start()
    tutee.responder = lambda req: TUTEE_REPLY
    server.app.config.update(TUTEE_MODEL="demo-tutee", OPENAI_BASE_URL=tutee.base_url)
    try:
        sc = seed(server)
        add_conversation(server, sc)
        lms = add_lms_course(server, sc)
        tours = {"visitor": (None, visitor_tour(sc)), "teacher": (TEACHER[0], teacher_tour(sc)),
                 "student": (sc.student_email, student_tour(sc)),
                 "admin": (ADMIN_EMAIL, admin_tour(server, DEMO_PASSWORD))}
        if only:  # just the pages whose name holds this text
            tours = {who: (email, {name: t for name, t in pages.items() if any(o in name for o in only.split(","))})
                     for who, (email, pages) in tours.items()}
            tours = {who: tour for who, tour in tours.items() if tour[1]}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            if readme:
                _readme_pictures(browser, server, tours, DEMO_PASSWORD)
            else:
                _tour(browser, server, tours, DEMO_PASSWORD, out)
            browser.close()
    finally:
        server.stop()
        tutee.stop()
        if "lms" in locals():
            lms.close()
    return 0


def _tour(browser, server, tours, password, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for email, pages in tours.values():
        for width in WIDTHS:
            ctx = browser.new_context(base_url=server.url, viewport={"width": width, "height": 900})
            page = ctx.new_page()
            notes: list[str] = []
            page.on("console", lambda m, notes=notes: m.type in ("error", "warning") and notes.append(m.text[:160]))
            page.on("response", lambda r, notes=notes: r.status == 404 and notes.append(f"404 {r.url}"))
            if email:
                _log_in(page, email, password)
            for name, target in pages.items():
                notes.clear()
                _visit(page, target)
                info = page.evaluate(OVERFLOW)
                file = out / f"{name}-{width}.png"
                page.screenshot(path=str(file), full_page=True)
                flags = []
                if info["wide"]:
                    flags.append(f"wider than the viewport: {info['culprits']}")
                if info["katexErrors"]:
                    flags.append(f"{info['katexErrors']} math errors")
                # A form sent back with its errors answers 400 on purpose; Chromium logs that.
                flags += [f"console: {n}" for n in notes if not (name.endswith("-errors") and "status of 400" in n)]
                print(f"{file}  {'; '.join(flags) or 'ok'}")
            ctx.close()


def _readme_pictures(browser, server, tours, password) -> None:
    README_DIR.mkdir(parents=True, exist_ok=True)
    for file_name, who, page_name, kind in README_SHOTS:
        if page_name not in tours.get(who, (None, {}))[1]:
            continue  # left out by --only: that picture stays as it is
        email, pages = tours[who]
        width, height = README_SIZES[kind]
        ctx = browser.new_context(base_url=server.url, viewport={"width": width, "height": height},
                                  device_scale_factor=1)
        page = ctx.new_page()
        _log_in(page, email, password)
        _visit(page, pages[page_name])
        file = README_DIR / f"{file_name}.png"
        page.screenshot(path=str(file))
        optimise_png(file)
        print(f"{file.relative_to(ROOT)}  {file.stat().st_size // 1024} KB")
        ctx.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", default="/tmp/shots", type=Path, help="folder for the tour's pictures")
    parser.add_argument("--readme", action="store_true", help="write the README's pictures to docs/screenshots/")
    parser.add_argument("--only", help="only the pages whose name contains this text, e.g. program")
    args = parser.parse_args()
    sys.exit(main(args.out, args.readme, args.only))
