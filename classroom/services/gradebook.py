"""Per-student totals and the gradebook CSV (plain, or Canvas's import layout)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import case, func
from sqlmodel import Session, select

from ..models import (
    COMPONENTS, ROLE_STUDENT, Assignment, AssignmentProblem, Course, Enrollment, Grade, GradingJob, Problem, Submission,
    User,
)
from . import assignments as assignment_service
from . import accounts, courses, lab_grades, submissions
from .scoring import (
    GradingState, SubmissionScore, format_points, grading_state, round_points, score_components, score_submission,
)


@dataclass
class StudentRow:
    student: "courses.CourseStudent"  # as the course lists them (the roster's name)
    points: dict[int, float] = field(default_factory=dict)  # assignment id -> points
    pending: dict[int, int] = field(default_factory=dict)  # assignment id -> undecided components

    @property
    def total(self) -> float:
        return round_points(sum(self.points.values()))

    def cells(self, assignment_ids: list[int]) -> list[tuple[str, int]]:
        """(points as written, undecided components) per assignment, in the given order."""
        return [(format_points(self.points.get(i, 0.0)), self.pending.get(i, 0)) for i in assignment_ids]


def _latest_with_grades(db: Session, assignment: Assignment, student_id: Optional[int] = None
                        ) -> tuple[int, list[Submission], dict[int, list[Grade]]]:
    """The number of problems, the counting versions and their grades, in three queries."""
    n_problems = len(assignment_service.problems_in(db, assignment.id))
    latest = submissions.latest_for_assignment(db, assignment.id, student_id)
    grades_by_sub: dict[int, list[Grade]] = {}
    if latest:
        for g in db.exec(select(Grade).where(Grade.submission_id.in_([s.id for s in latest])).order_by(Grade.id)):
            grades_by_sub.setdefault(g.submission_id, []).append(g)
    return n_problems, latest, grades_by_sub


@dataclass
class Cell:
    """One student's counting answer to one problem, as the assignment page shows it."""
    submission: Submission
    score: SubmissionScore
    grades: dict[str, Grade]  # component -> grade
    state: GradingState


def assignment_cells(db: Session, assignment: Assignment, student_id: Optional[int] = None,
                     for_student: bool = False) -> dict[tuple[int, int], Cell]:
    """(student id, problem id) -> Cell, with the grading state, for everyone or one student; a fixed
    number of queries. `for_student`: the states in the words a student reads (never "failed")."""
    n_problems, latest, grades_by_sub = _latest_with_grades(db, assignment, student_id)
    job_states = {}
    if latest:
        job_states = dict(db.exec(select(GradingJob.submission_id, GradingJob.state)
                                  .where(GradingJob.submission_id.in_([s.id for s in latest]))).all())
    cells = {}
    for s in latest:
        grades = grades_by_sub.get(s.id, [])
        score = score_submission(assignment, n_problems, s, grades)
        cells[(s.student_id, s.problem_id)] = Cell(s, score, {g.component: g for g in grades},
                                                   grading_state(job_states.get(s.id), score, for_student))
    return cells


GRADEBOOK_PAGE_SIZE = 50  # students on one page of the gradebook; the CSV always has them all


@dataclass
class GradebookPage:
    """One page of the gradebook: the students `first`..`last` (1-based) of `matching`, by name."""
    assignments: list[Assignment]
    rows: list[StudentRow]
    page: int
    pages: int
    matching: int  # students matching the search (all of them without one)
    students: int  # students in the course
    search: str

    @property
    def first(self) -> int:
        return (self.page - 1) * GRADEBOOK_PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def page(db: Session, actor: User, course: Course, number: int = 1, search: str = "") -> GradebookPage:
    """A page of GRADEBOOK_PAGE_SIZE students by name (those whose name or email contains `search`),
    with their points: the database reduces only this page's students' versions, so a page costs
    the same whatever the size of the course. A page past the last shows the last."""
    courses.require_instructor(db, actor, course)
    search = search.strip()[:100]
    # Students go by the name the course lists them under: the roster's, else their own.
    shown_name = func.coalesce(Enrollment.roster_name, User.name)
    in_course = (Enrollment.user_id == User.id) & (Enrollment.course_id == course.id)
    enrolled = (select(User.id).join(Enrollment, in_course).where(Enrollment.role == ROLE_STUDENT))
    students = db.exec(select(func.count()).select_from(enrolled.subquery())).one()
    matching_q = enrolled
    if search:
        # icontains escapes % and _ in what the teacher typed (autoescape): they match themselves.
        matching_q = enrolled.where(shown_name.icontains(search, autoescape=True)
                                    | User.email.icontains(search, autoescape=True))
    matching = students if not search else db.exec(select(func.count()).select_from(matching_q.subquery())).one()
    pages = max(1, -(-matching // GRADEBOOK_PAGE_SIZE))
    number = min(max(1, number), pages)
    shown = [courses.listed(u, roster_name) for u, roster_name in db.exec(
        select(User, Enrollment.roster_name).join(Enrollment, in_course)
        .where(User.id.in_(matching_q.scalar_subquery()))
        .order_by(shown_name, User.email, User.id)
        .offset((number - 1) * GRADEBOOK_PAGE_SIZE).limit(GRADEBOOK_PAGE_SIZE))]
    assignments, rows = _points(db, course, shown)
    return GradebookPage(assignments, rows, number, pages, matching, students, search)


def build(db: Session, actor: User, course: Course) -> tuple[list[Assignment], list[StudentRow]]:
    """Every student's points per assignment, in four queries whatever the size of the course: the
    assignments (with their problem counts), the students, and the counting versions with their
    components' effective scores already reduced to one row per version by the database."""
    courses.require_instructor(db, actor, course)
    return _points(db, course, courses.students_of(db, course.id), every_student=True)


def _points(db: Session, course: Course, students: list[courses.CourseStudent], every_student: bool = False
            ) -> tuple[list[Assignment], list[StudentRow]]:
    """The course's assignments and one row of points per given student (in their order); the
    versions are read for those students only, unless `every_student` says they are the whole course."""
    n_problems = (select(func.count(AssignmentProblem.id)).where(AssignmentProblem.assignment_id == Assignment.id)
                  .scalar_subquery())
    listed = list(db.exec(select(Assignment, n_problems).where(Assignment.course_id == course.id)
                          .order_by(Assignment.due_at, Assignment.id)))
    assignments = [a for a, _n in listed]
    by_id = {a.id: (a, n) for a, n in listed}
    ids = list(by_id)
    rows = {u.id: StudentRow(u, points=dict.fromkeys(ids, 0.0)) for u in students}
    # Labs graded with a rubric are columns too, after the assignments (services/lab_grades.py).
    labs, lab_points = lab_grades.gradebook_columns(db, course.id, None if every_student else list(rows))
    for row in rows.values():
        mine = lab_points.get(row.student.id, {})
        row.points.update({c.id: mine.get(c.id, 0.0) for c in labs})
    if not rows:
        return assignments + labs, []
    memo: dict[tuple, SubmissionScore] = {}  # versions scored alike share one computation
    # Plain rows through the Core connection: the ORM's per-row bookkeeping is not needed here.
    for student_id, assignment_id, is_late, penalty, *components in db.connection().execute(
            _counting_versions(course.id, None if every_student else list(rows))).all():
        row = rows.get(student_id)
        if row is None:  # a student who left the course
            continue
        key = (assignment_id, is_late, penalty, *components)
        score = memo.get(key)
        if score is None:
            a, n = by_id[assignment_id]
            effective = {name: components[2 * i + 1] for i, name in enumerate(COMPONENTS) if components[2 * i]}
            score = memo[key] = score_components(a, n, is_late, penalty, effective)
        row.points[assignment_id] = round_points(row.points[assignment_id] + score.points)
        if score.pending:
            row.pending[assignment_id] = row.pending.get(assignment_id, 0) + len(score.pending)
    return assignments + labs, list(rows.values())


def _counting_versions(course_id: int, student_ids: Optional[list[int]] = None):
    """One row per counting (latest) version in the course (of the given students, else everyone's):
    student, assignment, late flag, penalty, then for each component whether it has a grade and its
    effective score (override, else machine)."""
    latest = (select(Submission.assignment_id, Submission.problem_id, Submission.student_id,
                     func.max(Submission.version).label("v"))
              .join(Assignment, Assignment.id == Submission.assignment_id)
              .where(Assignment.course_id == course_id))
    if student_ids is not None:
        latest = latest.where(Submission.student_id.in_(student_ids))
    latest = latest.group_by(Submission.assignment_id, Submission.problem_id, Submission.student_id).subquery()
    per_component = []
    for name in COMPONENTS:
        per_component += [func.sum(case((Grade.component == name, 1), else_=0)),
                          func.max(case((Grade.component == name,
                                         func.coalesce(Grade.override_score, Grade.score)), else_=None))]
    return (select(Submission.student_id, Submission.assignment_id, Submission.is_late,
                   Submission.late_penalty_percent, *per_component)
            .join(latest, (Submission.assignment_id == latest.c.assignment_id)
                  & (Submission.problem_id == latest.c.problem_id)
                  & (Submission.student_id == latest.c.student_id) & (Submission.version == latest.c.v))
            .outerjoin(Grade, Grade.submission_id == Submission.id)
            .group_by(Submission.id, Submission.student_id, Submission.assignment_id, Submission.is_late,
                      Submission.late_penalty_percent))


def _text(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab, CR) would make it a
    formula that runs when the instructor opens the file, so such a cell gets a leading '."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(assignments: list[Assignment], rows: list[StudentRow], fmt: str = "plain") -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    ids = [a.id for a in assignments]  # read once: thousands of rows use them
    if fmt == "canvas":
        # Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then
        # one column per assignment; the second row gives points possible.
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
                   + [_text(f"{a.title} ({a.id})") for a in assignments])
        w.writerow(["    Points Possible", "", "", "", ""] + [str(a.points) for a in assignments])
        for r in rows:
            w.writerow([_text(_sortable_name(r.student.name)), "", "", _text(accounts.exported_email(r.student.email)), ""]
                       + [text for text, _waiting in r.cells(ids)])
        return out.getvalue()
    titles = [a.title for a in assignments]
    w.writerow(["Student", "Email"] + [_text(f"{a.title} ({a.points} pts)") for a in assignments]
               + ["Total", "Awaiting review"])
    for r in rows:
        cells = r.cells(ids)
        notes = "; ".join(f"{title}: {waiting} undecided" for title, (_text_, waiting) in zip(titles, cells) if waiting)
        w.writerow([_text(r.student.name), _text(accounts.exported_email(r.student.email))] + [text for text, _waiting in cells]
                   + [format_points(r.total), _text(notes)])
    return out.getvalue()


def _sortable_name(name: str) -> str:
    parts = name.strip().split()
    if len(parts) < 2:
        return name
    return f"{parts[-1]}, {' '.join(parts[:-1])}"


def export_csv(db: Session, actor: User, course: Course, fmt: str = "plain") -> str:
    if fmt not in ("plain", "canvas"):
        from .errors import InvalidInput
        raise InvalidInput("The gradebook format is plain or canvas.")
    assignments, rows = build(db, actor, course)
    return to_csv(assignments, rows, fmt)


@dataclass
class Reopened:
    """A student's answer sent after grades were released: the released version's score is no longer
    the one that counts, and the new version may wait for grading or review."""
    student: "courses.CourseStudent"
    problem: Problem
    released: Optional[Submission]  # the version that counted at release; None if there was none
    released_score: Optional[SubmissionScore]
    current: Cell


def reopened_after_release(db: Session, assignment: Assignment,
                           cells: dict[tuple[int, int], Cell]) -> list[Reopened]:
    """Counting versions sent after the grades were released, with what was released before them;
    `cells` are the assignment's (assignment_cells). A fixed number of queries."""
    if assignment.released_at is None or not cells:
        return []
    after = set(db.exec(select(Submission.id).where(
        Submission.assignment_id == assignment.id, Submission.created_at > assignment.released_at,
        Submission.id.in_([c.submission.id for c in cells.values()]))))
    fresh = [c for c in cells.values() if c.submission.id in after]
    if not fresh:
        return []
    student_ids = sorted({c.submission.student_id for c in fresh})
    released: dict[tuple[int, int], Submission] = {}
    for s in db.exec(select(Submission).where(
            Submission.assignment_id == assignment.id, Submission.student_id.in_(student_ids),
            Submission.created_at <= assignment.released_at)):
        key = (s.student_id, s.problem_id)
        if key not in released or s.version > released[key].version:
            released[key] = s
    grades: dict[int, list[Grade]] = {}
    if released:
        for g in db.exec(select(Grade).where(Grade.submission_id.in_([s.id for s in released.values()]))):
            grades.setdefault(g.submission_id, []).append(g)
    problems = {p.id: p for p in assignment_service.problems_in(db, assignment.id)}
    students = courses.listed_people(db, assignment.course_id, student_ids)
    rows = []
    for cell in sorted(fresh, key=lambda c: c.submission.created_at):
        sub = cell.submission
        before = released.get((sub.student_id, sub.problem_id))
        score = score_submission(assignment, len(problems), before, grades.get(before.id, [])) if before else None
        if sub.problem_id in problems:
            rows.append(Reopened(students[sub.student_id], problems[sub.problem_id], before, score, cell))
    return rows


def counting_score(db: Session, assignment: Assignment, submission: Submission) -> SubmissionScore:
    """The score of one version, as the gradebook counts it."""
    return score_submission(assignment, len(assignment_service.problems_in(db, assignment.id)), submission,
                            submissions.grades_of(db, submission.id))
