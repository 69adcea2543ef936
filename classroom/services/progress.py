"""Progress over the term: each student's assignment scores and components, for the instructor's small
multiples and for the student's own chart.

An assignment's score is the student's points on it as the gradebook counts them (counting versions,
undecided components as zero, late penalties applied) as a percentage of its points. The instructor
sees every assignment that has opened; a student sees only assignments whose grades were released.
A component's figure is the mean of the student's decided scores for it over the counting versions.
A constant number of queries whatever the size of the course.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Assignment, AssignmentProblem, Course, Enrollment, User, utcnow
from . import courses
from .item_analysis import CHART_COMPONENTS, KindFigures, counting_rows, error_kinds, histogram, keys_of
from .scoring import LABELS, round_points, score_components

SORTS = ("name", "average", "latest", "trend")
DEFAULT_THRESHOLD = 60


@dataclass
class StudentProgress:
    student: User
    percents: dict[int, float] = field(default_factory=dict)  # assignment id -> score %
    component_sums: dict[str, float] = field(default_factory=dict)
    component_counts: dict[str, int] = field(default_factory=dict)

    def series(self, assignments: list[Assignment]) -> list[float]:
        return [self.percents.get(a.id, 0.0) for a in assignments]

    def average(self, assignments: list[Assignment]) -> Optional[float]:
        s = self.series(assignments)
        return round_points(sum(s) / len(s)) if s else None

    def latest(self, assignments: list[Assignment]) -> Optional[float]:
        s = self.series(assignments)
        return s[-1] if s else None

    def trend(self, assignments: list[Assignment]) -> Optional[float]:
        """The last score less the mean of the ones before it (points of percentage); None with one."""
        s = self.series(assignments)
        if len(s) < 2:
            return None
        return round_points(s[-1] - sum(s[:-1]) / (len(s) - 1))

    def component(self, name: str) -> Optional[float]:
        n = self.component_counts.get(name, 0)
        return round(self.component_sums[name] / n, 4) if n else None


@dataclass
class CourseProgress:
    course: Course
    assignments: list[Assignment]
    students: list[StudentProgress]
    error_kinds: list[KindFigures]

    def average_histogram(self) -> list[dict]:
        """Students by their average over the term, in bins of 10 % (as the assignment's histogram)."""
        averages = [s.average(self.assignments) for s in self.students]
        return histogram([a for a in averages if a is not None])

    def sorted_students(self, sort: str = "name", descending: bool = False) -> list[StudentProgress]:
        if sort not in SORTS:
            sort = "name"
        if sort == "name":
            return sorted(self.students, key=lambda s: (s.student.name.casefold(), s.student.email),
                          reverse=descending)
        value = {"average": StudentProgress.average, "latest": StudentProgress.latest,
                 "trend": StudentProgress.trend}[sort]
        present = [s for s in self.students if value(s, self.assignments) is not None]
        missing = [s for s in self.students if value(s, self.assignments) is None]
        present.sort(key=lambda s: (value(s, self.assignments), s.student.name.casefold()), reverse=descending)
        return present + missing  # no figure: last, whichever the direction


def _assignments(db: Session, course_ids: list[int], *, released_only: bool) -> dict[int, tuple[Assignment, int]]:
    """Assignment id -> (assignment, problems in it): one query, in term order."""
    if not course_ids:
        return {}
    n_problems = (select(func.count(AssignmentProblem.id)).where(AssignmentProblem.assignment_id == Assignment.id)
                  .scalar_subquery())
    q = select(Assignment, n_problems).where(Assignment.course_id.in_(course_ids))
    q = q.where(Assignment.released_at.is_not(None)) if released_only else q.where(Assignment.opens_at <= utcnow())
    return {a.id: (a, n) for a, n in db.exec(q.order_by(Assignment.due_at, Assignment.id))}


def _fill(students: dict[int, StudentProgress], assignments: dict[int, tuple[Assignment, int]], rows) -> None:
    points: dict[tuple[int, int], float] = {}
    memo: dict = {}
    for r in rows:
        sp = students.get(r.student_id)
        if sp is None or r.assignment_id not in assignments:
            continue
        a, n = assignments[r.assignment_id]
        key = (r.assignment_id, r.is_late, r.late_penalty_percent, tuple(sorted(r.effective.items())))
        score = memo.get(key)
        if score is None:
            score = memo[key] = score_components(a, n, r.is_late, r.late_penalty_percent, r.effective)
        points[(r.student_id, r.assignment_id)] = points.get((r.student_id, r.assignment_id), 0.0) + score.points
        for c in CHART_COMPONENTS:
            v = r.effective.get(c)
            if v is not None:
                sp.component_sums[c] = sp.component_sums.get(c, 0.0) + v
                sp.component_counts[c] = sp.component_counts.get(c, 0) + 1
    for (sid, aid), p in points.items():
        a, _n = assignments[aid]
        students[sid].percents[aid] = round_points(100 * p / a.points) if a.points else 0.0


def course_progress(db: Session, actor: User, course: Course) -> CourseProgress:
    courses.require_instructor(db, actor, course)
    assignments = _assignments(db, [course.id], released_only=False)
    students = {u.id: StudentProgress(u) for u in courses.students_of(db, course.id)}
    rows = counting_rows(db, course_id=course.id)
    rows = [r for r in rows if r.assignment_id in assignments]
    _fill(students, assignments, rows)
    keys = keys_of(db, sorted({r.problem_id for r in rows}))
    return CourseProgress(course, [a for a, _n in assignments.values()], list(students.values()),
                          error_kinds(rows, keys))


@dataclass
class OwnProgress:
    course: Course
    assignments: list[Assignment]
    progress: StudentProgress


def own_progress(db: Session, student: User) -> list[OwnProgress]:
    """The student's released scores, per course they take: four queries whatever their number."""
    course_list = list(db.exec(select(Course).join(Enrollment, Enrollment.course_id == Course.id)
                               .where(Enrollment.user_id == student.id, Enrollment.role == "student")
                               .order_by(Course.created_at.desc())))
    assignments = _assignments(db, [c.id for c in course_list], released_only=True)
    if not assignments:
        return []
    mine = {student.id: StudentProgress(student)}
    rows = [r for r in counting_rows(db, student_id=student.id, released_only=True) if r.assignment_id in assignments]
    _fill(mine, assignments, rows)
    out = []
    for c in course_list:
        listed = [a for a, _n in assignments.values() if a.course_id == c.id]
        if listed:
            out.append(OwnProgress(c, listed, mine[student.id]))
    return out


# --------------------------------------------------------------------------- CSV downloads

def _text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _num(value) -> str:
    return "" if value is None else str(value)


def course_csv(report: CourseProgress) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Student", "Email"] + [_text(f"{a.title} (%)") for a in report.assignments]
               + ["Average (%)", "Trend (points of %)"]
               + [f"{LABELS[c]} (mean score)" for c in CHART_COMPONENTS])
    for s in report.sorted_students("name"):
        w.writerow([_text(s.student.name), _text(s.student.email)] + [_num(v) for v in s.series(report.assignments)]
                   + [_num(s.average(report.assignments)), _num(s.trend(report.assignments))]
                   + [_num(s.component(c)) for c in CHART_COMPONENTS])
    return out.getvalue()


def own_csv(items: list[OwnProgress]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Course", "Assignment", "Due", "Score (%)"])
    for item in items:
        for a, v in zip(item.assignments, item.progress.series(item.assignments)):
            w.writerow([_text(item.course.title), _text(a.title), a.due_at.date().isoformat(), _num(v)])
    return out.getvalue()
