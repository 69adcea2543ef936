"""A class of 24 worth drawing: three assignments over a term, answers spread over the hours before each
deadline (a few late), abilities that differ, errors some kinds of which the class catches and others
it walks past. Used by the screenshot tour and the browser test of the analysis pages.

Everything goes through the real services (submit with its `now`, the grading job, the review's
scores); the randomness is seeded, so the pictures are the same each time.
"""
from __future__ import annotations

import random
from datetime import timedelta

from sqlmodel import select

CODE = "STATS24"
PASSWORD = "demo-password"

PROBLEMS = [  # title, steps, key step (None: correct), kind, reference answer, the wrong answer, catch ease
    ("Bus fares", ["Each ride costs $2.50$ dollars.", "Ten rides cost $10 \\times 2.5 = 20$ dollars.",
                   "So a week of rides costs 20 dollars."], 2, "arithmetic", "25", "20", 0.9),
    ("Even numbers below 20", ["The even numbers below 20 start at 2.", "They are 2, 4, ..., 18: nine numbers.",
                               "So there are 9 of them."], 1, "missed_case", "10", "9", 0.3),
    ("Mixing paint", ["Blue and yellow are in the ratio $2:3$.", "So 10 litres hold $10 \\times 2/5 = 4$ litres "
                      "of blue.", "The rest, 6 litres, is yellow."], None, "other", "4", "4", 0.75),
    ("Half of a half", ["Half of 60 is 30.", "Half of that is 15.", "Add the two halves: $30 + 15 = 45$.",
                        "So 45 were left."], 3, "logical_gap", "15", "45", 0.55),
    ("Negative times negative", ["$-3 \\times -4$ has two negative factors.",
                                 "So the product is $-12$.", "Then $-12 + 2 = -10$."], 2, "sign", "14", "-10", 0.7),
]
ASSIGNMENTS = [("Week 1: slips", [0, 2, 4], 20), ("Week 2: gaps", [1, 3, 2], 13), ("Week 3: mixed", [0, 1, 3, 4], 6)]
NAMES = ["Ada Brooks", "Ben Cho", "Cleo Diaz", "Dev Evans", "Eli Fox", "Fay Gomez", "Gus Hale", "Ivy Jones",
         "Jon Kaur", "Kai Lopez", "Lia Moreno", "Max Nolan", "Nia Ortiz", "Oli Price", "Pia Quinn", "Raj Shah",
         "Sia Tran", "Tim Usman", "Uma Vale", "Vic Wong", "Wen Xu", "Yan Young", "Zoe Zhou"]


def seed_class(s, teacher, extra_student=None) -> dict:
    """The course, its assignments and the answers; `extra_student` joins too (the demo's student, whose
    home page then has a progress chart). Returns ids the tour and tests use."""
    from classroom import jobs
    from classroom.models import Grade, User, utcnow
    from classroom.services import accounts, assignments, courses, problems, reviews, submissions
    from classroom.services.assignments import AssignmentDraft
    from classroom.services.problems import ProblemDraft
    from classroom.services.submissions import CritiqueDraft

    rng = random.Random(17)
    course = courses.create_course(s, teacher, title="Critique lab, period 3", code=CODE)
    made = []
    for title, steps, key, kind, reference, wrong, _ease in PROBLEMS:
        made.append(problems.create_problem(s, teacher, course, ProblemDraft(
            title=title, statement=f"{title}: find the first wrong step.", reference_solution="See the key.",
            reference_answer=reference, steps=steps, flawed_final_answer=wrong, first_wrong_step=key,
            correct=key is None, reason="Written for the screenshot class.", error_kind=kind)))
    students = []
    for i, name in enumerate(NAMES):
        email = f"s{i + 1}@stats.test"
        user = s.exec(select(User).where(User.email == email)).first() or accounts.create_user(
            s, email=email, name=name, password=PASSWORD, role="student")
        courses.join_course(s, user, CODE)
        students.append(user)
    if extra_student is not None:
        courses.join_course(s, extra_student, CODE)
        students.append(extra_student)
    ability = {u.id: 0.25 + 0.7 * rng.random() for u in students}
    if extra_student is not None:
        ability[extra_student.id] = 0.7
    now = utcnow()
    made_assignments = []
    for a_index, (title, picks, days_ago) in enumerate(ASSIGNMENTS):
        due = now - timedelta(days=days_ago)
        work = assignments.create_assignment(s, teacher, course, AssignmentDraft(
            title=title, opens_at=due - timedelta(days=6), due_at=due, problem_ids=[made[k].id for k in picks],
            allow_late=a_index == len(ASSIGNMENTS) - 1, late_penalty_percent=10))
        made_assignments.append(work)
        for u in students:
            if rng.random() < 0.08 and u is not extra_student:  # a few never answer
                continue
            hours_before = rng.choice([0.3, 0.6, 1.5, 2.5, 3.5, 5, 8, 12, 20, 30, 50, 90]) * rng.random() + 0.1
            if rng.random() < 0.08 and work.allow_late:
                hours_before = -rng.random() * 5  # late
            sent = due - timedelta(hours=hours_before)
            for k in picks:
                title_, steps, key, _kind, reference, wrong, ease = PROBLEMS[k]
                skill = ability[u.id]
                found = rng.random() < min(0.97, ease * (0.55 + skill))
                if key is None:
                    step = None if found else rng.randint(1, len(steps))
                else:
                    step = key if found else rng.choice([s_ for s_ in range(1, len(steps) + 1) if s_ != key]
                                                        + [None])
                answer = reference if found and rng.random() < 0.9 else rng.choice([wrong, wrong, str(
                    int(reference) + rng.choice([-2, -1, 1, 5]))])
                sub, job = submissions.submit(s, u, work.id, made[k].id, CritiqueDraft(
                    step, "The step I marked is where it goes wrong." if step else "Every step holds.",
                    "Corrected from there." if key else "", answer), now=sent)
                jobs.run_job(job.id)
                for g in s.exec(select(Grade).where(Grade.submission_id == sub.id)):
                    if g.effective_score is None:
                        good = found and rng.random() < 0.5 + skill / 2
                        reviews.set_score(s, teacher, g.id, 1.0 if good else rng.choice([0.0, 0.5]), "")
        if a_index < 2:
            assignments.release_grades(s, teacher, work, confirmed=True)
    return {"code": course.code, "assignments": [a.id for a in made_assignments],
            "student_email": students[0].email}
