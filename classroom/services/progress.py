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
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import case, func
from sqlmodel import Session, select

from ..models import COMPONENTS, Assignment, AssignmentProblem, Course, Enrollment, Grade, Submission, User, utcnow
from . import accounts, courses, lab_grades
from .errors import NotFound
from .item_analysis import (
    CHART_COMPONENTS, HourFigures, KindFigures, counted_error_kinds, histogram, hours_from_due, keys_of,
)
from .scoring import LABELS, round_points, score_components

SORTS = ("name", "average", "latest", "trend")
DEFAULT_THRESHOLD = 60
PAGE_SIZE = 50  # students on one page of the progress table, as the gradebook; the CSV has them all
UNDECIDED = -1.0  # in the reduced rows: the component is there but waits for a decision


@dataclass
class StudentProgress:
    student: User
    percents: dict[int, float] = field(default_factory=dict)  # assignment id -> score %
    component_sums: dict[str, float] = field(default_factory=dict)
    component_counts: dict[str, int] = field(default_factory=dict)
    _summary: Optional[tuple] = field(default=None, repr=False)

    def series(self, assignments: list[Assignment]) -> list[float]:
        return [self.percents.get(a.id, 0.0) for a in assignments]

    def _figures(self, assignments: list[Assignment]) -> tuple:
        """(average, latest, trend) over these assignments, worked out once per list."""
        if self._summary is None or self._summary[0] is not assignments:
            s = self.series(assignments)
            average = round_points(sum(s) / len(s)) if s else None
            latest = s[-1] if s else None
            trend = round_points(s[-1] - sum(s[:-1]) / (len(s) - 1)) if len(s) >= 2 else None
            self._summary = (assignments, average, latest, trend)
        return self._summary[1:]

    def average(self, assignments: list[Assignment]) -> Optional[float]:
        return self._figures(assignments)[0]

    def latest(self, assignments: list[Assignment]) -> Optional[float]:
        return self._figures(assignments)[1]

    def trend(self, assignments: list[Assignment]) -> Optional[float]:
        """The last score less the mean of the ones before it (points of percentage); None with one."""
        return self._figures(assignments)[2]

    def component(self, name: str) -> Optional[float]:
        n = self.component_counts.get(name, 0)
        return round(self.component_sums[name] / n, 4) if n else None


@dataclass
class ProgressPage:
    """One page of the progress table: students `first`..`last` (1-based) of `matching`, in the chosen order."""
    rows: list[StudentProgress]
    page: int
    pages: int
    matching: int  # students matching the search (and the "only below" choice)
    students: int  # in the course
    search: str
    below: int  # students in the course whose average is below the threshold

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


@dataclass
class Completion:
    """One assignment's students by how far they got: every problem answered on time, every problem
    answered with at least one answer late, some problems answered, nothing answered."""
    assignment: Assignment
    problems: int
    on_time: int
    late: int
    partly: int
    nothing: int

    @property
    def students(self) -> int:
        return self.on_time + self.late + self.partly + self.nothing

    def as_row(self) -> dict:
        return {"assignment_id": self.assignment.id, "title": self.assignment.title, "problems": self.problems,
                "complete_on_time": self.on_time, "complete_some_late": self.late, "partly": self.partly,
                "nothing": self.nothing}


@dataclass
class CourseProgress:
    course: Course
    assignments: list[Assignment]
    students: list[StudentProgress]
    error_kinds: list[KindFigures]
    completion: list[Completion] = field(default_factory=list)
    timeline: list[HourFigures] = field(default_factory=list)

    def average_histogram(self) -> list[dict]:
        """Students by their average over the term, in bins of 10 % (as the assignment's histogram)."""
        averages = [s.average(self.assignments) for s in self.students]
        return histogram([a for a in averages if a is not None])

    def is_below(self, s: StudentProgress, threshold: float) -> bool:
        average = s.average(self.assignments)
        return average is not None and average < threshold

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
        sign = -1 if descending else 1  # ties by name, A to Z, either way
        present.sort(key=lambda s: (sign * value(s, self.assignments), s.student.name.casefold(), s.student.email))
        return present + missing  # no figure: last, whichever the direction

    def page(self, sort: str = "name", descending: bool = False, search: str = "", number: int = 1,
             threshold: float = DEFAULT_THRESHOLD, only_below: bool = False) -> ProgressPage:
        """PAGE_SIZE students in the chosen order, those whose name or e-mail contains `search` (and, with
        only_below, whose average is below the threshold). A page past the last shows the last."""
        search = search.strip()[:100]
        wanted = search.casefold()
        ordered = self.sorted_students(sort, descending)
        if wanted:
            ordered = [s for s in ordered if wanted in s.student.name.casefold() or wanted in s.student.email.casefold()]
        if only_below:
            ordered = [s for s in ordered if self.is_below(s, threshold)]
        pages = max(1, -(-len(ordered) // PAGE_SIZE))
        number = min(max(1, number), pages)
        rows = ordered[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]
        below = sum(1 for s in self.students if self.is_below(s, threshold))
        return ProgressPage(rows, number, pages, len(ordered), len(self.students), search, below)


def _assignments(db: Session, course_ids: list[int], *, released_only: bool) -> dict[int, tuple[Assignment, int]]:
    """Assignment id -> (assignment, problems in it): one query, in term order."""
    if not course_ids:
        return {}
    n_problems = (select(func.count(AssignmentProblem.id)).where(AssignmentProblem.assignment_id == Assignment.id)
                  .scalar_subquery())
    q = select(Assignment, n_problems).where(Assignment.course_id.in_(course_ids))
    q = q.where(Assignment.released_at.is_not(None)) if released_only else q.where(Assignment.opens_at <= utcnow())
    return {a.id: (a, n) for a, n in db.exec(q.order_by(Assignment.due_at, Assignment.id))}


def reduced_rows(db: Session, assignment_ids: list[int], student_id: Optional[int] = None) -> list[tuple]:
    """The counting (latest) versions of these assignments, as narrow as a score needs, one query:
    (student, assignment, problem, solution, marked step, late, penalty, sent at, then per component of
    models.COMPONENTS its effective score, UNDECIDED while it waits, None when the version has none).
    The gradebook's reduction, with a component's presence and score folded into one column."""
    if not assignment_ids:
        return []
    latest = (select(Submission.assignment_id, Submission.problem_id, Submission.student_id,
                     func.max(Submission.version).label("v"))
              .where(Submission.assignment_id.in_(assignment_ids)))
    if student_id is not None:
        latest = latest.where(Submission.student_id == student_id)
    latest = latest.group_by(Submission.assignment_id, Submission.problem_id, Submission.student_id).subquery()
    per_component = [func.max(case((Grade.component == name,
                                    func.coalesce(Grade.override_score, Grade.score, UNDECIDED)), else_=None))
                     for name in COMPONENTS]
    q = (select(Submission.student_id, Submission.assignment_id, Submission.problem_id, Submission.flawed_solution_id,
                Submission.error_step, Submission.is_late, Submission.late_penalty_percent, Submission.created_at,
                *per_component)
         .join(latest, (Submission.assignment_id == latest.c.assignment_id)
               & (Submission.problem_id == latest.c.problem_id)
               & (Submission.student_id == latest.c.student_id) & (Submission.version == latest.c.v))
         .outerjoin(Grade, Grade.submission_id == Submission.id)
         .group_by(Submission.id, Submission.student_id, Submission.assignment_id, Submission.problem_id,
                   Submission.flawed_solution_id, Submission.error_step, Submission.is_late,
                   Submission.late_penalty_percent, Submission.created_at))
    return db.connection().execute(q).all()


@dataclass
class Tally:
    """What _fill counts besides the scores: how often each (solution, marked step) was answered (for the
    kinds of error), and per (student, assignment) the problems answered and whether any answer was late."""
    answered: Counter = field(default_factory=Counter)
    problems: Counter = field(default_factory=Counter)
    late: set = field(default_factory=set)
    sent: list = field(default_factory=list)  # (student, assignment, sent at, late) per counting version


def _fill(students: dict[int, StudentProgress], assignments: dict[int, tuple[Assignment, int]], rows) -> Tally:
    """Each student's percentage per assignment and component means, from reduced_rows, and the Tally.
    Versions scored alike are scored once."""
    points: dict[tuple[int, int], float] = {}
    tally = Tally()
    memo: dict = {}
    chart_at = [COMPONENTS.index(c) for c in CHART_COMPONENTS]
    for sid, aid, _problem, solution, step, late, penalty, sent_at, *values in rows:
        sp = students.get(sid)
        if sp is None or aid not in assignments:
            continue
        tally.answered[(solution, step)] += 1
        tally.problems[(sid, aid)] += 1
        tally.sent.append((sid, aid, sent_at, bool(late)))
        if late:
            tally.late.add((sid, aid))
        key = (aid, late, penalty, *values)
        known = memo.get(key)
        if known is None:
            effective = {c: (None if v is None or v < 0 else float(v)) for c, v in zip(COMPONENTS, values)
                         if v is not None}
            a, n = assignments[aid]
            score = score_components(a, n, bool(late), penalty or 0, effective)
            decided = [(CHART_COMPONENTS[i], float(values[at])) for i, at in enumerate(chart_at)
                       if values[at] is not None and values[at] >= 0]
            known = memo[key] = (score.points, decided)
        points[(sid, aid)] = points.get((sid, aid), 0.0) + known[0]
        for c, v in known[1]:
            sp.component_sums[c] = sp.component_sums.get(c, 0.0) + v
            sp.component_counts[c] = sp.component_counts.get(c, 0) + 1
    for (sid, aid), p in points.items():
        a, _n = assignments[aid]
        students[sid].percents[aid] = round_points(100 * p / a.points) if a.points else 0.0
    return tally


def course_progress(db: Session, actor: User, course: Course) -> CourseProgress:
    """Every student's scores over the term, in a constant number of queries (the course's instructors,
    the assignments, the students, the counting versions reduced, the keys)."""
    courses.require_instructor(db, actor, course)
    assignments = _assignments(db, [course.id], released_only=False)
    students = {u.id: StudentProgress(u) for u in courses.students_of(db, course.id)}
    rows = reduced_rows(db, list(assignments))
    tally = _fill(students, assignments, rows)
    keys = keys_of(db, sorted({r[2] for r in rows}))
    return CourseProgress(course, [a for a, _n in assignments.values()], list(students.values()),
                          counted_error_kinds(tally.answered, keys), _completion(assignments, students, tally),
                          _timeline(assignments, tally))


def _completion(assignments: dict[int, tuple[Assignment, int]], students: dict, tally: Tally) -> list[Completion]:
    out = []
    for aid, (a, n) in assignments.items():
        c = Completion(a, n, 0, 0, 0, 0)
        for sid in students:
            got = tally.problems.get((sid, aid), 0)
            if not got:
                c.nothing += 1
            elif got < n:
                c.partly += 1
            elif (sid, aid) in tally.late:
                c.late += 1
            else:
                c.on_time += 1
        out.append(c)
    return out


def _timeline(assignments: dict[int, tuple[Assignment, int]], tally: Tally) -> list[HourFigures]:
    """Every counting version by the hour it arrived, counted from its own assignment's deadline, over
    the course; "started" counts (student, assignment) pairs with an answer by the end of each hour."""
    due = {aid: _utc(a.due_at) for aid, (a, _n) in assignments.items()}
    return hours_from_due([((sid, aid), _utc(t) - due[aid], late) for sid, aid, t, late in tally.sent])


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)



@dataclass
class OwnProgress:
    course: Course
    assignments: list[Assignment]
    progress: StudentProgress


def own_progress(db: Session, student: User) -> list[OwnProgress]:
    """The student's released scores, per course they take: three queries whatever their number."""
    course_list = list(db.exec(select(Course).join(Enrollment, Enrollment.course_id == Course.id)
                               .where(Enrollment.user_id == student.id, Enrollment.role == "student")
                               .order_by(Course.created_at.desc())))
    assignments = _assignments(db, [c.id for c in course_list], released_only=True)
    # Released lab grades (services/lab_grades.py) follow a course's assignments, as in the gradebook.
    labs = lab_grades.released_for_student(db, student.id, [c.id for c in course_list])
    if not assignments and not labs:
        return []
    mine = {student.id: StudentProgress(student)}
    if assignments:
        _fill(mine, assignments, reduced_rows(db, list(assignments), student_id=student.id))  # one query
    for column, points in labs:
        mine[student.id].percents[column.id] = round_points(100 * points / column.points) if column.points else 0.0
    out = []
    for c in course_list:
        listed = [a for a, _n in assignments.values() if a.course_id == c.id]
        listed += [column for column, _points in labs if column.lab.course_id == c.id]
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
        w.writerow([_text(s.student.name), _text(accounts.exported_email(s.student.email))] + [_num(v) for v in s.series(report.assignments)]
                   + [_num(s.average(report.assignments)), _num(s.trend(report.assignments))]
                   + [_num(s.component(c)) for c in CHART_COMPONENTS])
    return out.getvalue()


def own_csv(items: list[OwnProgress]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Course", "Assignment", "Due", "Score (%)"])
    for item in items:
        for a, v in zip(item.assignments, item.progress.series(item.assignments)):
            due = a.due_at.date().isoformat() if getattr(a, "due_at", None) else ""  # a lab has no deadline
            w.writerow([_text(item.course.title), _text(a.title), due, _num(v)])
    return out.getvalue()


COURSE_CHARTS = ("averages", "completion", "timeline", "error-kinds")


def require_course_chart(chart: str) -> None:
    if chart not in COURSE_CHARTS:
        raise NotFound(f"There is no chart called {chart[:40]!r} to download; the charts are "
                       f"{', '.join(COURSE_CHARTS)}.")


def course_chart_csv(report: CourseProgress, chart: str) -> str:
    """The numbers behind one of the progress page's course-wide charts."""
    require_course_chart(chart)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if chart == "averages":
        w.writerow(["from_percent", "to_percent", "students"])
        for b in report.average_histogram():
            w.writerow([b["from"], b["to"], b["count"]])
    elif chart == "completion":
        w.writerow(["assignment_id", "title", "due_utc", "problems", "complete_on_time", "complete_some_late",
                    "partly", "nothing"])
        for c in report.completion:
            w.writerow([c.assignment.id, _text(c.assignment.title), _utc(c.assignment.due_at).isoformat(), c.problems,
                        c.on_time, c.late, c.partly, c.nothing])
    elif chart == "timeline":
        w.writerow(["hours_to_due", "earlier", "on_time", "late", "answered_so_far"])
        for h in report.timeline:
            w.writerow([h.hours_to_due, "yes" if h.earlier else "no", h.on_time, h.late, h.started])
    else:
        w.writerow(["error_kind", "label", "answered", "caught", "caught_share"])
        for k in report.error_kinds:
            w.writerow([k.error_kind, k.label, k.answered, k.caught, _num(k.caught_share)])
    return out.getvalue()
