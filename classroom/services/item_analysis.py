"""What the class missed: item analysis of one assignment, with the numbers behind every chart.

Everything is counted over each student's counting (latest) version of each problem, once, against
the answer key of the solution that version answered. The figures:

- marked steps: how many students marked each step, and "none" (no step is wrong);
- location correct share: the key's step marked (on a correct solution: "no step is wrong");
- explanation / final answer correct share: full credit among the decided components (undecided ones,
  waiting for review, are left out of both numerator and denominator);
- difficulty: the share of versions, fully decided, that earned full credit (before any late penalty);
  per component, the share of decided components at full credit;
- discrimination: the point-biserial correlation (scipy.stats.pointbiserialr) between full credit on
  the problem (1/0) and the student's score on the rest of the assignment (the other problems'
  fractions, an unanswered problem counting 0), over the students who answered the problem. Low
  (below 0.2) or negative values are flagged: the problem does not separate the class the way the
  rest of the assignment does;
- false-alarm rate, for correct solutions mixed in: the share of answers that marked a step;
- the score histogram: each student who answered anything, their assignment points as a percentage,
  in ten bins of 10 % (numpy.histogram; the last bin includes 100 %);
- the timeline: every version sent, per hour before (and after) the deadline, on time and late, and how
  many students had started by the end of each hour;
- error kinds: the keys' kinds of error ranked by how often the class missed them.

A constant number of queries whatever the size of the class: the problems, the counting versions with
their components' effective scores reduced by the database to one row each, the solutions with their
keys, the versions' times, and the number of students.
"""
from __future__ import annotations

import csv
import io
import math
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

import numpy as np
from sqlalchemy import case, func
from sqlmodel import Session, select

from ..content import ERROR_KINDS
from ..models import (
    COMPONENTS, ROLE_STUDENT, AnswerKey, Assignment, Enrollment, FlawedSolution, Grade, Problem, Submission,
)
from . import assignments as assignment_service
from .errors import NotFound
from .scoring import LABELS, score_components

LOW_DISCRIMINATION = 0.2  # below this, an item separates strong and weak students poorly
MIN_PAIRS = 3  # fewer students than this: no correlation is reported
COMMON_ANSWERS = 5
HISTOGRAM_BINS = 10
TIMELINE_HOURS = 72  # hours before the deadline drawn one by one; earlier versions share one column
FULL = 1.0 - 1e-9
# The components a student's work is judged on, in the order charts show them.
CHART_COMPONENTS = ("location", "explanation", "final_answer", "correction")


@dataclass(frozen=True)
class VersionRow:
    """One counting version, as the database reduced it."""
    student_id: int
    assignment_id: int
    problem_id: int
    solution_id: int
    error_step: Optional[int]
    final_answer: str
    is_late: bool
    late_penalty_percent: int
    effective: dict  # component -> effective score (None while undecided), components present only


@dataclass(frozen=True)
class KeyInfo:
    solution_id: int
    problem_id: int
    approved: bool
    n_steps: int
    first_wrong_step: Optional[int]
    error_kind: str


def counting_rows(db: Session, *, assignment_id: Optional[int] = None, course_id: Optional[int] = None,
                  student_id: Optional[int] = None, released_only: bool = False) -> list[VersionRow]:
    """The counting versions of one assignment, or of a whole course (optionally one student's, optionally
    only in released assignments), one row each with the components' effective scores: one query."""
    latest = select(Submission.assignment_id, Submission.problem_id, Submission.student_id,
                    func.max(Submission.version).label("v"))
    if assignment_id is not None:
        latest = latest.where(Submission.assignment_id == assignment_id)
    if course_id is not None or released_only:
        latest = latest.join(Assignment, Assignment.id == Submission.assignment_id)
    if course_id is not None:
        latest = latest.where(Assignment.course_id == course_id)
    if released_only:
        latest = latest.where(Assignment.released_at.is_not(None))
    if student_id is not None:
        latest = latest.where(Submission.student_id == student_id)
    latest = latest.group_by(Submission.assignment_id, Submission.problem_id, Submission.student_id).subquery()
    per_component = []
    for name in COMPONENTS:
        per_component += [func.sum(case((Grade.component == name, 1), else_=0)),
                          func.max(case((Grade.component == name,
                                         func.coalesce(Grade.override_score, Grade.score)), else_=None))]
    columns = (Submission.id, Submission.student_id, Submission.assignment_id, Submission.problem_id,
               Submission.flawed_solution_id, Submission.error_step, Submission.final_answer, Submission.is_late,
               Submission.late_penalty_percent)
    q = (select(*columns, *per_component)
         .join(latest, (Submission.assignment_id == latest.c.assignment_id)
               & (Submission.problem_id == latest.c.problem_id)
               & (Submission.student_id == latest.c.student_id) & (Submission.version == latest.c.v))
         .outerjoin(Grade, Grade.submission_id == Submission.id)
         .group_by(*columns).order_by(Submission.id))
    rows = []
    for (_id, student, assignment, problem, solution, step, answer, late, penalty,
         *components) in db.connection().execute(q).all():
        effective = {name: (None if components[2 * i + 1] is None else float(components[2 * i + 1]))
                     for i, name in enumerate(COMPONENTS) if components[2 * i]}
        rows.append(VersionRow(student, assignment, problem, solution, step, answer or "", bool(late),
                               penalty or 0, effective))
    return rows


def keys_of(db: Session, problem_ids: list[int]) -> dict[int, KeyInfo]:
    """Solution id -> its key, for every solution of these problems: one query."""
    if not problem_ids:
        return {}
    q = (select(FlawedSolution.id, FlawedSolution.problem_id, FlawedSolution.approved, FlawedSolution.steps,
                AnswerKey.first_wrong_step, AnswerKey.error_kind)
         .join(AnswerKey, AnswerKey.flawed_solution_id == FlawedSolution.id)
         .where(FlawedSolution.problem_id.in_(problem_ids)))
    return {sid: KeyInfo(sid, pid, bool(approved), len(steps or []), step, kind or "other")
            for sid, pid, approved, steps, step, kind in db.connection().execute(q).all()}


def current_keys(keys: dict[int, KeyInfo]) -> dict[int, KeyInfo]:
    """Problem id -> the key of its current (newest approved) solution."""
    out: dict[int, KeyInfo] = {}
    for k in sorted(keys.values(), key=lambda k: k.solution_id):
        if k.approved:
            out[k.problem_id] = k
    return out


# --------------------------------------------------------------------------- small statistics

def share(hits: int, total: int) -> Optional[float]:
    return round(hits / total, 4) if total else None


def point_biserial(binary: list[int], continuous: list[float]) -> Optional[float]:
    """scipy's point-biserial correlation, or None where it is undefined (too few students, or either
    side the same for everyone)."""
    if len(binary) < MIN_PAIRS or len(set(binary)) < 2 or len(set(continuous)) < 2:
        return None
    from scipy.stats import pointbiserialr

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = pointbiserialr(binary, continuous).statistic
    return None if math.isnan(value) else round(float(value), 4)


def discrimination_flag(value: Optional[float]) -> Optional[str]:
    if value is None:
        return None
    if value < 0:
        return "negative"
    if value < LOW_DISCRIMINATION:
        return "low"
    return None


def histogram(percentages: list[float]) -> list[dict]:
    """Ten bins of 10 % (the last one includes 100 %), each {"from", "to", "count"}."""
    counts, edges = np.histogram(np.clip(np.asarray(percentages, dtype=float), 0, 100),
                                 bins=HISTOGRAM_BINS, range=(0, 100))
    return [{"from": int(edges[i]), "to": int(edges[i + 1]), "count": int(counts[i])} for i in range(len(counts))]


def normalised_answer(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- the report

@dataclass
class ComponentFigures:
    component: str
    decided: int
    full_credit: int
    difficulty: Optional[float]
    discrimination: Optional[float]

    @property
    def flag(self) -> Optional[str]:
        return discrimination_flag(self.discrimination)

    @property
    def label(self) -> str:
        return LABELS.get(self.component, self.component)

    def as_json(self) -> dict:
        return {"decided": self.decided, "difficulty": self.difficulty, "discrimination": self.discrimination,
                "discrimination_flag": self.flag}


@dataclass
class ProblemFigures:
    problem: Problem
    key_step: Optional[int]
    correct_solution: bool
    n_steps: int
    error_kind: Optional[str]
    submissions: int
    marked_steps: dict[str, int]  # "1", "2", ..., "none" -> students
    location_correct: int
    location_correct_share: Optional[float]
    explanation_correct_share: Optional[float]
    answer_correct_share: Optional[float]
    common_wrong_answers: list[dict]
    difficulty: Optional[float]
    discrimination: Optional[float]
    components: dict[str, ComponentFigures]
    false_alarms: int
    false_alarm_rate: Optional[float]
    explanation_groups: list["ExplanationGroup"] = field(default_factory=list)

    @property
    def discrimination_flag(self) -> Optional[str]:
        return discrimination_flag(self.discrimination)

    @property
    def grouped_explanations(self) -> int:
        return sum(g.size for g in self.explanation_groups)

    def as_json(self) -> dict:
        out = {
            "id": self.problem.id, "title": self.problem.title, "submissions": self.submissions,
            "key_step": self.key_step, "marked_steps": self.marked_steps,
            "location_correct_share": self.location_correct_share,
            "explanation_correct_share": self.explanation_correct_share,
            "answer_correct_share": self.answer_correct_share,
            "common_wrong_answers": self.common_wrong_answers,
            "difficulty": self.difficulty, "discrimination": self.discrimination,
            "discrimination_flag": self.discrimination_flag,
            "false_alarm_rate": self.false_alarm_rate, "error_kind": self.error_kind,
            "components": {c: f.as_json() for c, f in self.components.items()},
            "explanation_groups": [g.as_json() for g in self.explanation_groups],
        }
        return out


@dataclass
class KindFigures:
    error_kind: str
    answered: int
    caught: int

    @property
    def label(self) -> str:
        return ERROR_KINDS.get(self.error_kind, self.error_kind)

    @property
    def caught_share(self) -> Optional[float]:
        return share(self.caught, self.answered)

    def as_json(self) -> dict:
        return {"error_kind": self.error_kind, "label": self.label, "answered": self.answered,
                "caught": self.caught, "caught_share": self.caught_share}


@dataclass
class ExplanationGroup:
    """One group of the grouped review (services/review_groups.py) of a problem's explanations: the same
    facts (solution, marked step, the final answer's verdict and reading) and similar words."""
    rank: int  # 1 for the biggest group of the problem
    size: int
    waiting: int  # members still waiting for a decision
    full_credit: int  # decided members at full credit
    decided: int
    marked_step: Optional[int]
    answer_verdict: str
    answer_read_as: str
    words: list[str]
    example: str  # the member closest to the others, shortened

    @property
    def full_credit_share(self) -> Optional[float]:
        return share(self.full_credit, self.decided)

    @property
    def label(self) -> str:
        step = "No step wrong" if self.marked_step is None else f"Step {self.marked_step}"
        return (f"{step}, answer {self.answer_verdict}: "
                + (", ".join(self.words[:2]) if self.words else "no distinct words"))

    def as_json(self) -> dict:
        return {"size": self.size, "waiting": self.waiting, "full_credit_share": self.full_credit_share,
                "marked_step": self.marked_step, "answer_verdict": self.answer_verdict,
                "answer_read_as": self.answer_read_as, "words": self.words, "example": self.example}


@dataclass
class HourFigures:
    start: datetime
    hours_to_due: int  # the hour's start, in whole hours relative to the deadline (negative before it)
    on_time: int
    late: int
    started: int  # students who had sent a first answer by the end of this hour
    earlier: bool = False  # the column that gathers everything before the hours drawn one by one

    def as_json(self) -> dict:
        return {"start": self.start.isoformat(), "hours_to_due": self.hours_to_due, "earlier": self.earlier,
                "on_time": self.on_time, "late": self.late, "started": self.started}


@dataclass
class Report:
    assignment: Assignment
    students: int  # enrolled
    answered_students: int  # students with at least one counting version
    problems: list[ProblemFigures]
    score_histogram: list[dict]
    timeline: list[HourFigures]
    error_kinds: list[KindFigures]
    student_percentages: dict[int, float] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "assignment": {"id": self.assignment.id, "title": self.assignment.title,
                           "points": self.assignment.points, "due_at": _iso(self.assignment.due_at)},
            "students": self.students, "answered_students": self.answered_students,
            "problems": [p.as_json() for p in self.problems],
            "score_histogram": self.score_histogram,
            "timeline": [h.as_json() for h in self.timeline],
            "error_kinds": [k.as_json() for k in self.error_kinds],
        }


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _fraction(assignment: Assignment, n_problems: int, row: VersionRow, memo: dict):
    key = (row.is_late, row.late_penalty_percent, tuple(sorted(row.effective.items())))
    score = memo.get(key)
    if score is None:
        score = memo[key] = score_components(assignment, n_problems, row.is_late, row.late_penalty_percent,
                                             row.effective)
    return score


def build(db: Session, assignment: Assignment, *, groups: bool = False) -> Report:
    """The whole report for one assignment, in five queries; with `groups`, each problem's explanation
    groups as the grouped review makes them (a constant number more)."""
    problems = assignment_service.problems_in(db, assignment.id)
    n_problems = len(problems)
    rows = [r for r in counting_rows(db, assignment_id=assignment.id)]
    keys = keys_of(db, [p.id for p in problems])
    current = current_keys(keys)
    students = db.exec(select(func.count(Enrollment.id)).where(
        Enrollment.course_id == assignment.course_id, Enrollment.role == ROLE_STUDENT)).one()
    problem_ids = {p.id for p in problems}
    rows = [r for r in rows if r.problem_id in problem_ids and r.solution_id in keys]

    memo: dict = {}
    scores = {(r.student_id, r.problem_id): _fraction(assignment, n_problems, r, memo) for r in rows}
    # Each student's fractions per problem (0 where unanswered) and points over the assignment.
    by_student: dict[int, dict[int, float]] = {}
    points: dict[int, float] = {}
    for r in rows:
        sc = scores[(r.student_id, r.problem_id)]
        by_student.setdefault(r.student_id, {})[r.problem_id] = sc.fraction
        points[r.student_id] = points.get(r.student_id, 0.0) + sc.points
    percentages = {sid: 100 * p / assignment.points if assignment.points else 0.0 for sid, p in points.items()}

    figures = []
    for p in problems:
        mine = [r for r in rows if r.problem_id == p.id]
        figures.append(_problem_figures(p, current.get(p.id), keys, mine, scores, by_student))

    if groups:
        grouped = explanation_groups(db, assignment, problems)
        for f in figures:
            f.explanation_groups = grouped.get(f.problem.id, [])
    return Report(assignment=assignment, students=int(students), answered_students=len(by_student),
                  problems=figures, score_histogram=histogram(list(percentages.values())),
                  timeline=timeline(db, assignment), error_kinds=error_kinds(rows, keys),
                  student_percentages=percentages)


def _problem_figures(problem: Problem, key: Optional[KeyInfo], keys: dict[int, KeyInfo], rows: list[VersionRow],
                     scores: dict, by_student: dict[int, dict[int, float]]) -> ProblemFigures:
    n_steps = key.n_steps if key else 0
    marked = Counter(str(r.error_step) if r.error_step is not None else "none" for r in rows)
    n_steps = max([n_steps] + [r.error_step for r in rows if r.error_step is not None])
    marked_steps = {str(i): marked.get(str(i), 0) for i in range(1, n_steps + 1)}
    marked_steps["none"] = marked.get("none", 0)

    located = sum(1 for r in rows if r.error_step == keys[r.solution_id].first_wrong_step)
    on_correct = [r for r in rows if keys[r.solution_id].first_wrong_step is None]
    false_alarms = sum(1 for r in on_correct if r.error_step is not None)

    def decided(component):
        return [r for r in rows if r.effective.get(component) is not None]

    explanations, answers = decided("explanation"), decided("final_answer")
    wrong = Counter(normalised_answer(r.final_answer) for r in answers
                    if r.effective["final_answer"] < FULL and r.final_answer.strip())
    common = [{"answer": a, "count": n} for a, n in sorted(wrong.items(), key=lambda x: (-x[1], x[0]))]

    # Difficulty and discrimination, for the whole problem and per component.
    complete = [r for r in rows if scores[(r.student_id, r.problem_id)].complete]

    # Each answering student's score on the rest of the assignment, worked out once per problem. Rounded:
    # a difference of sums must not tell apart students whose rests are the same.
    rests = {}
    for r in rows:
        fractions = by_student.get(r.student_id, {})
        rests[r.student_id] = round(sum(fractions.values()) - fractions.get(problem.id, 0.0), 9)
    rest = rests.__getitem__

    full = [int(scores[(r.student_id, r.problem_id)].fraction >= FULL) for r in complete]
    components = {}
    for c in CHART_COMPONENTS:
        got = decided(c)
        if not got:
            continue
        hits = [int(r.effective[c] >= FULL) for r in got]
        components[c] = ComponentFigures(c, len(got), sum(hits), share(sum(hits), len(got)),
                                         point_biserial(hits, [rest(r.student_id) for r in got]))
    return ProblemFigures(
        problem=problem, key_step=key.first_wrong_step if key else None,
        correct_solution=bool(key and key.first_wrong_step is None), n_steps=n_steps,
        error_kind=key.error_kind if key and key.first_wrong_step is not None else None,
        submissions=len(rows), marked_steps=marked_steps, location_correct=located,
        location_correct_share=share(located, len(rows)),
        explanation_correct_share=share(sum(r.effective["explanation"] >= FULL for r in explanations),
                                        len(explanations)),
        answer_correct_share=share(sum(r.effective["final_answer"] >= FULL for r in answers), len(answers)),
        common_wrong_answers=common[:COMMON_ANSWERS],
        difficulty=share(sum(full), len(full)),
        discrimination=point_biserial(full, [rest(r.student_id) for r in complete]),
        components=components, false_alarms=false_alarms,
        false_alarm_rate=share(false_alarms, len(on_correct)) if on_correct else None,
    )


def error_kinds(rows: list[VersionRow], keys: dict[int, KeyInfo]) -> list[KindFigures]:
    """The flawed keys' kinds of error, the most often missed first (ties: the most answered first)."""
    return counted_error_kinds(Counter((r.solution_id, r.error_step) for r in rows), keys)


def counted_error_kinds(answered, keys: dict[int, KeyInfo]) -> list[KindFigures]:
    """The same from {(solution id, marked step): answers}."""
    kinds: dict[str, KindFigures] = {}
    for (solution_id, step), n in answered.items():
        key = keys.get(solution_id)
        if key is None or key.first_wrong_step is None:
            continue
        k = kinds.setdefault(key.error_kind, KindFigures(key.error_kind, 0, 0))
        k.answered += n
        k.caught += n if step == key.first_wrong_step else 0
    return sorted(kinds.values(), key=lambda k: (k.caught / k.answered, -k.answered, k.error_kind))


EXAMPLE_CHARS = 160


def _shorten(text: str, limit: int = EXAMPLE_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"


def explanation_groups(db: Session, assignment: Assignment, problems: list[Problem]) -> dict[int, list[ExplanationGroup]]:
    """Problem id -> the groups of its explanations, biggest first, as the grouped review queue makes them
    with every state (waiting and decided): the counting versions' explanations that went to review.
    Empty for a problem none of whose explanations did. One query."""
    from . import review_groups  # scikit-learn loads with it: only pages that show groups pay for that

    out: dict[int, list[ExplanationGroup]] = {}
    for problem_id, groups in review_groups.groups_by_problem(db, assignment.id, problems, "explanation").items():
        mine = out.setdefault(problem_id, [])
        for rank, g in enumerate(groups, start=1):
            decided = [m.grade.effective_score for m in g.members if m.state == "done"
                       and m.grade.effective_score is not None]
            mine.append(ExplanationGroup(
                rank=rank, size=len(g.members), waiting=sum(1 for m in g.members if m.state == "waiting"),
                full_credit=sum(1 for v in decided if v >= FULL), decided=len(decided),
                marked_step=g.facts.step, answer_verdict=g.facts.verdict, answer_read_as=g.facts.read_as,
                words=list(g.words), example=_shorten(g.central.text)))
    return out


def timeline(db: Session, assignment: Assignment) -> list[HourFigures]:
    """Every version sent, per hour relative to the deadline: one query."""
    sent = db.connection().execute(
        select(Submission.student_id, Submission.created_at, Submission.is_late)
        .where(Submission.assignment_id == assignment.id).order_by(Submission.created_at)).all()
    due = _utc(assignment.due_at)
    return hours_from_due([(student, _utc(t) - due, bool(late)) for student, t, late in sent], due)


def hours_from_due(sent: list[tuple], due: Optional[datetime] = None) -> list[HourFigures]:
    """Answers per hour from their deadline. `sent`: (who, time after the deadline as a timedelta (negative
    before it), late), in the order they arrived; "started" counts the distinct `who` seen by the end of each
    hour. With `due`, each hour's start is a time; without (answers to several deadlines), the deadline is
    taken as 1970-01-01 and only hours_to_due means anything."""
    if not sent:
        return []
    due = due or datetime(1970, 1, 1, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    offsets = np.array([math.floor(after / hour) for _w, after, _late in sent])
    first = max(int(offsets.min()), -TIMELINE_HOURS)
    last = max(int(offsets.max()), -1)
    first_seen: dict = {}
    for (who, _t, _late), off in zip(sent, offsets):
        first_seen[who] = min(first_seen.get(who, int(off)), int(off))
    starts = np.array(sorted(first_seen.values()))
    late_flags = np.array([bool(late) for _w, _t, late in sent])
    out = []
    for h in range(first, last + 1):
        in_hour = (offsets <= h) if h == first else (offsets == h)
        out.append(HourFigures(
            start=due + h * hour, hours_to_due=h, on_time=int((in_hour & ~late_flags).sum()),
            late=int((in_hour & late_flags).sum()), started=int(np.searchsorted(starts, h, side="right")),
            earlier=h == first and int(offsets.min()) < first))
    return out


# --------------------------------------------------------------------------- CSV downloads

CHARTS = ("problems", "steps", "wrong-answers", "histogram", "timeline", "error-kinds", "explanation-groups")
NEEDS_GROUPS = ("explanation-groups",)  # charts whose numbers need the explanation groups built


def _text(value: str) -> str:
    """A spreadsheet cell that stays text (no formula from a leading = + - @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _num(value) -> str:
    return "" if value is None else str(value)


def to_csv(report: Report, chart: str) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if chart == "problems":
        w.writerow(["problem_id", "title", "submissions", "key_step", "location_correct_share",
                    "explanation_correct_share", "answer_correct_share", "difficulty", "discrimination",
                    "discrimination_flag", "false_alarm_rate", "error_kind"]
                   + [f"{c}_{m}" for c in CHART_COMPONENTS for m in ("difficulty", "discrimination")])
        for p in report.problems:
            w.writerow([p.problem.id, _text(p.problem.title), p.submissions,
                        "none" if p.key_step is None else p.key_step, _num(p.location_correct_share),
                        _num(p.explanation_correct_share), _num(p.answer_correct_share), _num(p.difficulty),
                        _num(p.discrimination), p.discrimination_flag or "", _num(p.false_alarm_rate),
                        p.error_kind or ""]
                       + [_num(getattr(p.components.get(c), m, None)) for c in CHART_COMPONENTS
                          for m in ("difficulty", "discrimination")])
    elif chart == "steps":
        w.writerow(["problem_id", "title", "marked", "students", "is_key"])
        for p in report.problems:
            for step, n in p.marked_steps.items():
                is_key = (step == "none" and p.key_step is None) or step == str(p.key_step)
                w.writerow([p.problem.id, _text(p.problem.title), step, n, "yes" if is_key else "no"])
    elif chart == "wrong-answers":
        w.writerow(["problem_id", "title", "answer", "count"])
        for p in report.problems:
            for a in p.common_wrong_answers:
                w.writerow([p.problem.id, _text(p.problem.title), _text(a["answer"]), a["count"]])
    elif chart == "histogram":
        w.writerow(["from_percent", "to_percent", "students"])
        for b in report.score_histogram:
            w.writerow([b["from"], b["to"], b["count"]])
    elif chart == "timeline":
        w.writerow(["hour_start_utc", "hours_to_due", "earlier", "on_time", "late", "students_started"])
        for h in report.timeline:
            w.writerow([h.start.isoformat(), h.hours_to_due, "yes" if h.earlier else "no", h.on_time, h.late,
                        h.started])
    elif chart == "error-kinds":
        w.writerow(["error_kind", "label", "answered", "caught", "caught_share"])
        for k in report.error_kinds:
            w.writerow([k.error_kind, k.label, k.answered, k.caught, _num(k.caught_share)])
    elif chart == "explanation-groups":
        w.writerow(["problem_id", "title", "group", "size", "share", "marked_step", "answer_verdict", "answer_read_as",
                    "waiting", "decided", "full_credit_share", "words", "example"])
        for p in report.problems:
            for g in p.explanation_groups:
                w.writerow([p.problem.id, _text(p.problem.title), g.rank, g.size,
                            _num(share(g.size, p.grouped_explanations)),
                            "none" if g.marked_step is None else g.marked_step, g.answer_verdict,
                            _text(g.answer_read_as), g.waiting, g.decided, _num(g.full_credit_share),
                            _text(" ".join(g.words)), _text(g.example)])
    else:
        require_chart(chart)
    return out.getvalue()


def require_chart(chart: str) -> None:
    if chart not in CHARTS:
        raise NotFound(f"There is no chart called {chart[:40]!r} to download; the charts are {', '.join(CHARTS)}.")
