"""The demo course DEMO101: written for this project, safe to run twice."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from ..models import ROLE_INSTRUCTOR, Assignment, Course, Enrollment, Problem, Submission, User, utcnow
from . import accounts, assignments, courses, problems, reviews, submissions
from .assignments import AssignmentDraft
from .problems import ProblemDraft
from .submissions import CritiqueDraft

DEMO_CODE = "DEMO101"
DEMO_PASSWORD = "demo-password"
TEACHER = ("teacher@demo.test", "Dana Okafor")
STUDENTS = [("student1@demo.test", "Sam Lee"), ("student2@demo.test", "Ria Patel"),
            ("student3@demo.test", "Tom Berg")]

PROBLEMS = [
    ProblemDraft(
        title="Field trip tickets",
        statement="A class of 28 students and 4 teachers goes to a museum. A student ticket costs \\$6 and a "
                  "teacher ticket costs \\$9. How much do the tickets cost altogether?",
        reference_solution="Students: $28 \\times 6 = 168$. Teachers: $4 \\times 9 = 36$. "
                           "Total: $168 + 36 = 204$ dollars.",
        reference_answer="204",
        steps=["The students' tickets cost $28 \\times 6 = 168$ dollars.",
               "The teachers' tickets cost $4 \\times 9 = 32$ dollars.",
               "Altogether the tickets cost $168 + 32 = 200$ dollars."],
        flawed_final_answer="200",
        first_wrong_step=2,
        reason="4 × 9 is 36, not 32: an arithmetic slip that carries into the total.",
        error_kind="arithmetic",
    ),
    ProblemDraft(
        title="A linear equation",
        statement="Solve for $x$: $$3(x - 4) = 2x + 5.$$",
        reference_solution="Expand: $3x - 12 = 2x + 5$. Subtract $2x$: $x - 12 = 5$. Add 12: $x = 17$.",
        reference_answer="17",
        steps=["Expand the left side: $3x - 12 = 2x + 5$.",
               "Subtract $2x$ from both sides: $x - 12 = 5$.",
               "Subtract 12 from both sides: $x = 5 - 12 = -7$."],
        flawed_final_answer="-7",
        first_wrong_step=3,
        reason="To undo − 12 one adds 12 to both sides; subtracting it flips the sign of the correction. x = 17.",
        error_kind="sign",
    ),
    ProblemDraft(
        title="Up 25%, then down 25%",
        statement="A jacket costs \\$80. The shop raises the price by 25%, and a month later lowers the new "
                  "price by 25%. What does the jacket cost now?",
        reference_solution="After the rise: $80 \\times 1.25 = 100$. After the cut: $100 \\times 0.75 = 75$ dollars.",
        reference_answer="75",
        steps=["After the 25% rise the price is $80 \\times 1.25 = 100$ dollars.",
               "Lowering by 25% undoes raising by 25%, so the price goes back to 80 dollars.",
               "The jacket costs 80 dollars now."],
        flawed_final_answer="80",
        first_wrong_step=2,
        reason="The 25% cut is taken of the new price (100), not the old one: 25% of 100 is 25, so the price "
               "is 75. Equal percentage changes up and down do not cancel.",
        error_kind="logical_gap",
    ),
    ProblemDraft(
        title="Gauss's sum",
        statement="Compute $\\displaystyle\\sum_{k=1}^{100} k$.",
        reference_solution="Pair $k$ with $101-k$: each of the 50 pairs sums to 101, so the total is "
                           "$50 \\times 101 = 5050$.",
        reference_answer="5050",
        steps=["Pair the first and last terms: $1 + 100 = 101$, $2 + 99 = 101$, and so on.",
               "Every pair sums to $101$, and there are $100$ pairs.",
               "So the sum is $100 \\times 101 = 10100$."],
        flawed_final_answer="10100",
        first_wrong_step=2,
        reason="100 terms make 50 pairs, not 100: each number is used once. The sum is 50 × 101 = 5050.",
        error_kind="off_by_one",
    ),
    # A correct solution: critics must learn not to raise false alarms (students are not told which).
    ProblemDraft(
        title="Average speed",
        statement="A train covers 150 km in 2.5 hours at a steady pace. What is its average speed in km/h?",
        reference_solution="Speed is distance over time: $150 \\div 2.5 = 60$ km/h.",
        reference_answer="60",
        steps=["Average speed is the distance divided by the time taken.",
               "So the speed is $150 \\div 2.5$ km/h.",
               "$150 \\div 2.5 = 1500 \\div 25 = 60$, so the train averages 60 km/h."],
        flawed_final_answer="60",
        first_wrong_step=None,
        correct=True,
        reason="Every step is right: multiplying both numbers by 10 gives 1500 ÷ 25 = 60.",
    ),
    # Teach mode: the student talks the model out of this one (docs/teach.md).
    ProblemDraft(
        title="Two pipes",
        statement="Pipe A fills a tank in 3 hours and pipe B fills it in 6 hours. How many hours do they take "
                  "to fill the empty tank together?",
        reference_solution="A fills $\\frac13$ of the tank per hour and B $\\frac16$; together "
                           "$\\frac13 + \\frac16 = \\frac12$ per hour, so 2 hours.",
        reference_answer="2",
        steps=["Pipe A needs 3 hours and pipe B needs 6 hours.",
               "Working together, the time is the average of their times: $\\frac{3 + 6}{2} = 4.5$ hours.",
               "So together they fill the tank in 4.5 hours."],
        flawed_final_answer="4.5",
        first_wrong_step=2,
        reason="Rates add, not times: A fills 1/3 of the tank per hour and B 1/6, together 1/2 per hour, so "
               "2 hours. Two pipes together cannot be slower than A alone.",
        error_kind="logical_gap",
    ),
]
TEACH_TITLES = ("Two pipes",)

# (student index, problem index, step, explanation, correction, final answer)
DEMO_SUBMISSIONS = [
    (0, 0, 2, "Step 2 multiplies wrongly: $4 \\times 9 = 36$, not 32.",
     "Teachers: $4 \\times 9 = 36$. Total: $168 + 36 = 204$.", "$204"),
    (1, 0, 3, "The total in step 3 is added wrong.", "168 + 32 = 200 is right, so the answer is 200.", "200"),
    (0, 1, 3, "Subtracting 12 is the wrong move: to isolate $x$ we add 12 to both sides.",
     "$x - 12 = 5 \\Rightarrow x = 17$.", "17"),
    # On the correct solution: one student rightly finds nothing wrong, another raises a false alarm.
    (0, 4, None, "No step is wrong: $2.5 \\times 60 = 150$, so 60 km/h is right.", "", "60"),
    (1, 4, 3, "Step 3 divides wrongly: $150 \\div 2.5$ is $375$.", "$150 \\div 2.5 = 375$ km/h.", "375"),
]


def _user(s: Session, email: str, name: str, role: str) -> User:
    user = accounts.find_user(s, email)
    if user is None:
        user = accounts.create_user(s, email=email, name=name, password=DEMO_PASSWORD, role=role)
    return user


def seed(s: Session) -> str:
    from .. import jobs

    teacher = _user(s, *TEACHER, role=ROLE_INSTRUCTOR)
    students = [_user(s, email, name, role="student") for email, name in STUDENTS]
    course = s.exec(select(Course).where(Course.code == DEMO_CODE)).first()
    if course is None:
        course = courses.create_course(s, teacher, title="Demo: Critiquing AI solutions", code=DEMO_CODE)
    if not courses.is_instructor_of(s, teacher, course.id):
        s.add(Enrollment(course_id=course.id, user_id=teacher.id, role=ROLE_INSTRUCTOR))
        s.commit()
    for student in students:
        courses.join_course(s, student, DEMO_CODE)

    existing = {p.title: p for p in s.exec(select(Problem).where(Problem.course_id == course.id))}
    made = [existing.get(d.title) or problems.create_problem(s, teacher, course, d) for d in PROBLEMS]

    title = "Week 1: Find the first wrong step"
    assignment = s.exec(select(Assignment).where(Assignment.course_id == course.id,
                                                 Assignment.title == title)).first()
    if assignment is None:
        now = utcnow()
        assignment = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title=title, instructions="For each solution, mark the **first** wrong step, say what is wrong, "
                                      "and correct the solution from there. Not every solution is wrong: "
                                      "if none of its steps is, choose *No step is wrong* and say why it holds. "
                                      "In *Two pipes*, talk the model out of its answer instead.",
            opens_at=now - timedelta(days=1), due_at=now + timedelta(days=14),
            problem_ids=[p.id for p in made], allow_late=True, late_penalty_percent=10,
            problem_modes={p.id: {"mode": "teach"} for p in made if p.title in TEACH_TITLES}))

    already = s.exec(select(Submission.id).where(Submission.assignment_id == assignment.id)).first()
    if already is None:
        for si, pi, step, explanation, correction, answer in DEMO_SUBMISSIONS:
            _sub, job = submissions.submit(s, students[si], assignment.id, made[pi].id,
                                           CritiqueDraft(step, explanation, correction, answer))
            jobs.run_job(job.id)  # graded right away so the demo has scores to show
        # The teacher has reviewed the first critique.
        first = submissions.latest_for_assignment(s, assignment.id, students[0].id)
        for sub in first:
            if sub.problem_id == made[0].id:
                for g in submissions.grades_of(s, sub.id):
                    if g.component in ("explanation", "correction") and g.effective_score is None:
                        reviews.set_score(s, teacher, g.id, 1.0, "Exactly right: you found the slip and fixed it.")
    lines = [
        f"Demo course {DEMO_CODE} is ready: {course.title}",
        "Demo logins (demo only; the password is public, do not use it for real accounts):",
        f"  instructor  {TEACHER[0]} / {DEMO_PASSWORD}",
    ]
    lines += [f"  student     {email} / {DEMO_PASSWORD}" for email, _ in STUDENTS]
    return "\n".join(lines)
