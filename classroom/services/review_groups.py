"""Grouped review: the review queue per assignment → problem → component, with its critiques in groups.

Within a component, critiques are grouped first by exact facts (the solution, the marked step, the
final answer's verdict and how the answer was read), then by similar text: TF-IDF vectors and
agglomerative clustering (scikit-learn; docs/review.md says why). One click scores a whole group
(members taken out stay waiting), one audit entry per submission, and a group's scores can be
undone for a short while. The teacher pages and any other caller share these functions.
"""
from __future__ import annotations

import re
import threading
import uuid
from types import SimpleNamespace
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Mapping, Optional

import numpy as np
from cachetools import LRUCache
from sqlmodel import Session, select

from ..grading import answers
from ..models import (
    BY_MODEL, GRADE_ERROR, GRADE_NEEDS_REVIEW, AnswerKey, Assignment, AuditLog, Course, FlawedSolution, Grade,
    Problem, Submission, User, utcnow,
)
from . import assignments as assignment_service, audit, courses, reviews, submissions
from .errors import Conflict, InvalidInput, NotFound

COMPONENTS = ("explanation", "correction", "lean", "teaching")
COMPONENT_PLURALS = {"explanation": "explanations", "correction": "corrections", "lean": "Lean proofs",
                     "teaching": "teaching conversations"}
STATES = {"waiting": "waiting", "done": "done", "all": "waiting or done"}
DECIDERS = {"any": "anyone", "model": "the grader model", "instructor": "an instructor"}

# Average-linkage cosine distance under which texts share a group. 0 joins only identical word sets,
# 1 joins everything; on the constructed set in tests/test_review_groups.py paraphrases that share
# their content words stay together from 0.75 to 0.9 and unrelated reasons stay apart: 0.8 sits inside.
DISTANCE_THRESHOLD = 0.8
MAX_CLUSTERED = 2000  # unique texts per fact group; beyond this each distinct text is its own group
DISTINGUISHING_WORDS = 5
# The page offers the undo for a few seconds; the server accepts it a little longer (a slow click).
UNDO_SECONDS = 120

_readings: LRUCache = LRUCache(maxsize=8192)
_readings_lock = threading.Lock()


# --------------------------------------------------------------------------- filters

@dataclass
class Filters:
    assignment_id: Optional[int] = None
    problem_id: Optional[int] = None
    component: Optional[str] = None
    state: str = "waiting"
    flagged: bool = False
    late: bool = False
    step: Optional[str] = None  # None: any; "none": no step is wrong; "3": step 3
    decided_by: str = "any"

    @classmethod
    def from_args(cls, args: Mapping) -> tuple["Filters", list[str]]:
        """Filters from a query string; what cannot be understood is named and left out, never an error page."""
        problems_seen: list[str] = []
        f = cls()

        def get(name, default=""):
            return str(args.get(name) or default).strip()

        def number(name, label):
            raw = get(name)
            if not raw:
                return None
            if raw.isdigit():
                return int(raw)
            problems_seen.append(f"{label} {raw[:40]!r} is not one I know; showing every {label.lower()}.")
            return None

        f.assignment_id = number("assignment", "Assignment")
        f.problem_id = number("problem", "Problem")
        component = get("component")
        if component in COMPONENTS:
            f.component = component
        elif component:
            problems_seen.append(f"There is no component {component[:40]!r} to review; showing every component.")
        state = get("state", "waiting")
        if state in STATES:
            f.state = state
        else:
            problems_seen.append(f"State {state[:40]!r} is not one of waiting, done or all; showing what waits.")
        decided = get("decided_by", "any")
        if decided in DECIDERS:
            f.decided_by = decided
        else:
            problems_seen.append(f"'Decided by' {decided[:40]!r} is not model or instructor; showing any.")
        f.flagged = get("flagged") in ("1", "on", "yes")
        f.late = get("late") in ("1", "on", "yes")
        step = get("step")
        if step == "none" or (step.isdigit() and 0 < int(step) < 1000):
            f.step = step
        elif step and step != "any":
            problems_seen.append(f"The marked step {step[:40]!r} is not a step number; showing every step.")
        return f, problems_seen

    def query_args(self) -> dict:
        """The filters as query-string arguments, leaving out the defaults."""
        out = {}
        if self.assignment_id is not None:
            out["assignment"] = self.assignment_id
        if self.problem_id is not None:
            out["problem"] = self.problem_id
        if self.component:
            out["component"] = self.component
        if self.state != "waiting":
            out["state"] = self.state
        if self.flagged:
            out["flagged"] = "1"
        if self.late:
            out["late"] = "1"
        if self.step is not None:
            out["step"] = self.step
        if self.decided_by != "any":
            out["decided_by"] = self.decided_by
        return out

    @property
    def only_waiting(self) -> bool:
        return self.state == "waiting"


# --------------------------------------------------------------------------- the queue's shape

@dataclass
class Member:
    grade: Grade
    submission: Submission
    student: "courses.CourseStudent"  # as the course lists them
    state: str  # waiting | done
    decider: Optional[str]  # model | instructor | None (nobody yet) | exact | lean
    text: str


@dataclass(frozen=True)
class Facts:
    solution_id: int
    step: Optional[int]
    verdict: str  # correct, partly correct, incorrect, unreadable, absent, not checked
    read_as: str  # the final answer as read ("" when absent or unreadable)


@dataclass
class Group:
    facts: Facts
    members: list[Member]
    central: Member
    words: list[str]

    @property
    def id(self) -> str:
        return f"g{self.members[0].grade.id}"

    @property
    def grade_ids(self) -> list[int]:
        return [m.grade.id for m in self.members]


@dataclass
class Section:
    assignment: Assignment
    problem: Problem
    component: str
    keys: dict  # solution id -> AnswerKey
    formats: dict  # solution id -> solution format
    waiting: int = 0
    done: int = 0
    groups: list[Group] = field(default_factory=list)

    @property
    def solution_ids(self) -> list[int]:
        """The solutions whose critiques are shown, each once (their keys head the section)."""
        return list(dict.fromkeys(g.facts.solution_id for g in self.groups))

    @property
    def anchor(self) -> str:
        return f"a{self.assignment.id}-p{self.problem.id}-{self.component}"

    @property
    def total(self) -> int:
        return self.waiting + self.done

    @property
    def shown(self) -> int:
        return sum(len(g.members) for g in self.groups)

    @property
    def heading(self) -> str:
        return f"{COMPONENT_PLURALS[self.component].capitalize()}, {self.problem.title}"

    @property
    def counts(self) -> str:
        return f"{self.waiting} waiting, {self.done} done"


@dataclass
class Queue:
    course: Course
    filters: Filters
    sections: list[Section]
    assignments: list[Assignment]
    problems: list[Problem]
    max_step: int

    @property
    def waiting(self) -> int:
        return sum(s.waiting for s in self.sections)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.sections)

    def blocks(self) -> list[tuple[Assignment, list[Section]]]:
        """The sections under their assignment, in the assignments' order."""
        out: list[tuple[Assignment, list[Section]]] = []
        for s in self.sections:
            if not out or out[-1][0].id != s.assignment.id:
                out.append((s.assignment, []))
            out[-1][1].append(s)
        return out


def _state_of(grade: Grade) -> tuple[str, Optional[str]]:
    if grade.override_score is not None:
        return "done", "instructor"
    if grade.status in (GRADE_NEEDS_REVIEW, GRADE_ERROR):
        return "waiting", None
    return "done", grade.decided_by


def _in_review(grade: Grade) -> bool:
    """What the queue counts: what waits for a person, and what a person or the grader model decided."""
    state, decider = _state_of(grade)
    return state == "waiting" or decider in ("instructor", BY_MODEL)


def _text_of(component: str, submission: Submission) -> str:
    if component == "explanation":
        return submission.explanation or ""
    if component == "correction":
        return submission.correction or ""
    if component == "teaching":  # a teach-mode conversation: its transcript is the version's text
        return submission.explanation or ""
    return submission.lean_proof or ""


def read_as(text: str, problem: Problem) -> Optional[str]:
    """How the final answer is read (cached: many students type the same answer); None when unreadable."""
    text = (text or "").strip()
    if not text:
        return ""
    cache_key = (text, problem.reference_answer or "", problem.answer_mode or "auto")
    with _readings_lock:
        if cache_key in _readings:
            return _readings[cache_key]
    reading = answers.read_answer(text, problem.reference_answer or "", problem.answer_mode or "auto")
    value = reading.read_as if reading.readable else None
    with _readings_lock:
        _readings[cache_key] = value
    return value


def _verdict(final_answer_grade: Optional[Grade], submission: Submission, reading: Optional[str]) -> str:
    if not (submission.final_answer or "").strip():
        return "absent"
    if final_answer_grade is None or final_answer_grade.score is None:
        return "not checked"
    score = final_answer_grade.score
    if score >= 1:
        return "correct"
    if score > 0:
        return "partly correct"
    return "unreadable" if reading is None else "incorrect"


def _matches(f: Filters, m: Member) -> bool:
    if f.state != "all" and m.state != f.state:
        return False
    if f.decided_by != "any" and m.decider != f.decided_by:
        return False
    if f.flagged and not m.grade.flags:
        return False
    if f.late and not m.submission.is_late:
        return False
    if f.step is not None:
        wanted = None if f.step == "none" else int(f.step)
        if m.submission.error_step != wanted:
            return False
    return True


def build_queue(db: Session, course: Course, filters: Filters) -> Queue:
    """Every assignment → problem → component with something to review, counted, its shown critiques grouped.
    The caller has checked that the actor teaches the course."""
    course_assignments = assignment_service.assignments_of(db, course.id)
    all_problems: dict[int, Problem] = {}
    sections: list[Section] = []
    max_step = 1
    for assignment in course_assignments:
        if filters.assignment_id is not None and assignment.id != filters.assignment_id:
            continue
        latest = submissions.latest_for_assignment(db, assignment.id)
        if not latest:
            continue
        by_id = {s.id: s for s in latest}
        grades = list(db.exec(select(Grade).where(Grade.submission_id.in_(list(by_id)),
                                                  Grade.component.in_(COMPONENTS + ("final_answer",)))))
        answer_grades = {g.submission_id: g for g in grades if g.component == "final_answer"}
        problem_order = assignment_service.problems_in(db, assignment.id)
        for p in problem_order:
            all_problems.setdefault(p.id, p)
        # Named as the course lists them: the roster's name, else their own.
        students = courses.listed_people(db, assignment.course_id, {s.student_id for s in latest})
        solution_ids = {s.flawed_solution_id for s in latest}
        keys = {k.flawed_solution_id: k for k in db.exec(select(AnswerKey).where(
            AnswerKey.flawed_solution_id.in_(solution_ids)))}
        formats = {fs.id: fs.solution_format for fs in db.exec(select(FlawedSolution).where(
            FlawedSolution.id.in_(solution_ids)))}
        for fs in db.exec(select(FlawedSolution).where(FlawedSolution.id.in_(solution_ids))):
            max_step = max(max_step, len(fs.steps or []))
        per_section: dict[tuple[int, str], list[Member]] = {}
        for g in grades:
            if g.component == "final_answer" or not _in_review(g):
                continue
            sub = by_id[g.submission_id]
            state, decider = _state_of(g)
            per_section.setdefault((sub.problem_id, g.component), []).append(
                Member(g, sub, students[sub.student_id], state, decider, _text_of(g.component, sub)))
        for problem in problem_order:
            if filters.problem_id is not None and problem.id != filters.problem_id:
                continue
            for component in COMPONENTS:
                if filters.component and component != filters.component:
                    continue
                members = per_section.get((problem.id, component))
                if not members:
                    continue
                section = Section(assignment, problem, component, keys, formats)
                section.waiting = sum(1 for m in members if m.state == "waiting")
                section.done = len(members) - section.waiting
                shown = sorted((m for m in members if _matches(filters, m)), key=lambda m: m.submission.created_at)
                section.groups = group_members(shown, problem, answer_grades)
                sections.append(section)
    return Queue(course, filters, sections, course_assignments, list(all_problems.values()), max_step)


def groups_by_problem(db: Session, assignment_id: int, problems: list[Problem],
                      component: str = "explanation") -> dict[int, list[Group]]:
    """Problem id -> the groups of one component of an assignment's counting versions, in every state
    (waiting and decided), as the queue makes them, for the item analysis: one query, students left
    unnamed. The versions and grades come back as plain rows (read-only views with the attributes the
    grouping reads), since building thousands of ORM objects cost more than the grouping itself."""
    latest = submissions.latest_for_assignment_query(assignment_id).subquery()
    q = (select(Submission.id, Submission.problem_id, Submission.flawed_solution_id, Submission.error_step,
                Submission.final_answer, Submission.created_at, Submission.is_late, getattr(Submission, _TEXT[component]),
                Grade.id, Grade.component, Grade.status, Grade.score, Grade.override_score, Grade.decided_by)
         .join(latest, Submission.id == latest.c.id)
         .join(Grade, Grade.submission_id == Submission.id)
         .where(Grade.component.in_((component, "final_answer"))).order_by(Grade.id))
    answer_grades, per_problem = {}, {}
    for (sid, problem_id, solution_id, step, answer, created, late, text,
         gid, gcomponent, status, score, override, decided_by) in db.connection().execute(q).all():
        grade = SimpleNamespace(id=gid, submission_id=sid, component=gcomponent, status=status, score=score,
                                override_score=override, decided_by=decided_by, flags=None,
                                effective_score=override if override is not None else score)
        if gcomponent == "final_answer":
            answer_grades[sid] = grade
            continue
        if not _in_review(grade):
            continue
        state, decider = _state_of(grade)
        version = SimpleNamespace(id=sid, problem_id=problem_id, flawed_solution_id=solution_id, error_step=step,
                                  final_answer=answer or "", created_at=created, is_late=bool(late))
        per_problem.setdefault(problem_id, []).append(Member(grade, version, None, state, decider, text or ""))
    out = {}
    for p in problems:
        members = per_problem.get(p.id)
        if members:
            out[p.id] = group_members(sorted(members, key=lambda m: m.submission.created_at), p, answer_grades)
    return out


# The version's text each component is about (as _text_of reads it).
_TEXT = {"explanation": "explanation", "correction": "correction", "teaching": "explanation", "lean": "lean_proof"}


# --------------------------------------------------------------------------- grouping

def group_members(members: list[Member], problem: Problem, answer_grades: Mapping[int, Grade]) -> list[Group]:
    """Groups by exact facts, then by similar text within each; the biggest groups first."""
    by_facts: dict[Facts, list[int]] = {}
    for i, m in enumerate(members):
        reading = read_as(m.submission.final_answer, problem)
        facts = Facts(m.submission.flawed_solution_id, m.submission.error_step,
                      _verdict(answer_grades.get(m.submission.id), m.submission, reading), reading or "")
        by_facts.setdefault(facts, []).append(i)
    texts = [m.text for m in members]
    clusters = cluster_texts(texts, list(by_facts.values()))
    facts_of = {i: facts for facts, idx in by_facts.items() for i in idx}
    groups = [Group(facts_of[c.members[0]], [members[i] for i in c.members], members[c.central], c.words)
              for c in clusters]
    return groups


@dataclass
class TextCluster:
    members: list[int]  # indices into the texts
    central: int  # the member closest on average to the others
    words: list[str]  # the words that set the cluster apart from the rest


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", (text or "").strip().lower())


def cluster_texts(texts: list[str], partition: Optional[Iterable[list[int]]] = None,
                  threshold: float = DISTANCE_THRESHOLD) -> list[TextCluster]:
    """Clusters of similar texts, never across the partition's parts (the exact facts).

    TF-IDF (fitted on every text, so a word common to the whole problem weighs little) and average-linkage
    agglomerative clustering on cosine distance, cut at `threshold`. Identical texts always share a cluster.
    Ordered biggest first, then by first appearance."""
    if not texts:
        return []
    # Imported here: scikit-learn takes seconds to load, and only this page needs it.
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_distances
    parts = [list(p) for p in partition] if partition is not None else [list(range(len(texts)))]
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, strip_accents="unicode",
                                 token_pattern=r"(?u)\b\w\w+\b|\b\d\b")
    try:
        matrix = vectorizer.fit_transform(texts)
        vocabulary = vectorizer.get_feature_names_out()
    except ValueError:  # nothing but stop words or blanks: no vocabulary to compare by
        matrix, vocabulary = None, np.array([])
    clusters: list[TextCluster] = []
    for part in parts:
        # Identical texts first (cheaper, and blanks, whose vectors are all zero, stay together).
        uniques: dict[str, list[int]] = {}
        for i in part:
            uniques.setdefault(_normalise(texts[i]), []).append(i)
        rows = list(uniques.values())
        if matrix is None or len(rows) < 2 or len(rows) > MAX_CLUSTERED:
            labels = [0] * len(rows) if matrix is None else list(range(len(rows)))
        else:
            reps = matrix[[r[0] for r in rows]]
            distances = cosine_distances(reps)
            labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                             distance_threshold=threshold).fit_predict(distances).tolist()
        grouped: dict[int, list[int]] = {}
        for row, label in zip(rows, labels):
            grouped.setdefault(label, []).extend(row)
        for idx in grouped.values():
            idx.sort()
            clusters.append(TextCluster(idx, _central(matrix, idx), _words(matrix, vocabulary, idx, part)))
    clusters.sort(key=lambda c: (-len(c.members), c.members[0]))
    return clusters


def _central(matrix, idx: list[int]) -> int:
    if matrix is None or len(idx) < 3:
        return idx[0]
    from sklearn.metrics.pairwise import cosine_distances
    sub = matrix[idx]
    mean_distance = cosine_distances(sub).mean(axis=1)
    return idx[int(np.argmin(mean_distance))]


def _words(matrix, vocabulary, idx: list[int], part: list[int]) -> list[str]:
    """The terms whose weight in the cluster most exceeds their weight in the rest of its problem."""
    if matrix is None:
        return []
    inside = np.asarray(matrix[idx].mean(axis=0)).ravel()
    rest = [i for i in range(matrix.shape[0]) if i not in set(idx)]
    outside = np.asarray(matrix[rest].mean(axis=0)).ravel() if rest else np.zeros_like(inside)
    lift = inside - outside
    order = np.argsort(-lift, kind="stable")
    return [str(vocabulary[j]) for j in order[:DISTINGUISHING_WORDS] if lift[j] > 0 and inside[j] > 0]


# --------------------------------------------------------------------------- scoring a group, and undo

@dataclass
class GroupResult:
    batch: str
    scored: list[Grade]
    skipped: int  # decided by someone else since the page was drawn
    value: float


def _grade_ids(values) -> list[int]:
    ids = []
    for v in values or []:
        v = str(v).strip()
        if not v.isdigit():
            raise InvalidInput("The group's members could not be read; reload the page and try again.")
        ids.append(int(v))
    return list(dict.fromkeys(ids))


def score_group(db: Session, actor: User, course: Course, grade_ids, score, leave_out=(),
                only_waiting: bool = True, via: str = "group") -> GroupResult:
    """Scores every member of a group but those left out, in one transaction, one audit entry per
    submission. With only_waiting, members someone decided since the page was drawn keep their score."""
    ids = _grade_ids(grade_ids)
    out = set(_grade_ids(leave_out))
    if not ids:
        raise InvalidInput("Choose at least one critique to score.")
    value = reviews.percent_score(score)
    chosen = [i for i in ids if i not in out]
    if not chosen:
        raise InvalidInput("Every critique of this group was taken out, so nothing was scored.")
    rows = db.exec(select(Grade, Submission, Assignment).join(Submission, Submission.id == Grade.submission_id)
                   .join(Assignment, Assignment.id == Submission.assignment_id)
                   .where(Grade.id.in_(chosen))).all()
    found = {g.id: (g, s, a) for g, s, a in rows if a.course_id == course.id}
    if len(found) != len(chosen):
        raise NotFound("Some of these critiques do not exist in this course; reload the page.")
    batch = uuid.uuid4().hex
    scored, skipped = [], 0
    for grade_id in chosen:
        grade, submission, assignment = found[grade_id]
        if grade.component not in COMPONENTS:
            raise InvalidInput("Only explanations, corrections, proofs and teaching are scored from the review queue.")
        if only_waiting and _state_of(grade)[0] != "waiting":
            skipped += 1
            continue
        previous = {"previous_comment": grade.override_comment, "previous_by_id": grade.override_by_id,
                    "previous_at": grade.override_at.isoformat() if grade.override_at else None}
        reviews.apply_score(db, actor, grade, submission, assignment, value, "", via=via,
                            extra={"batch": batch, "grade_id": grade.id, "group_size": len(chosen), **previous})
        scored.append(grade)
    db.commit()
    return GroupResult(batch, scored, skipped, value)


def undo_group(db: Session, actor: User, course: Course, batch: str) -> list[Grade]:
    """Puts back what a group's scoring replaced, for grades nobody changed since; returns those grades."""
    batch = (batch or "").strip()
    if not re.fullmatch(r"[0-9a-f]{32}", batch):
        raise InvalidInput("There is nothing to undo.")
    since = utcnow() - timedelta(seconds=UNDO_SECONDS)
    entries = [e for e in db.exec(select(AuditLog).where(
        AuditLog.course_id == course.id, AuditLog.actor_id == actor.id, AuditLog.created_at >= since,
        AuditLog.action.in_(("grade.review", "grade.override", "grade.undo"))))
        if (e.details or {}).get("batch") == batch]
    if any(e.action == "grade.undo" for e in entries):
        raise Conflict("Those scores were already undone.")
    if not entries:
        raise Conflict(f"Too late to undo: an undo is possible for {UNDO_SECONDS // 60} minutes after scoring. "
                       "Score the critiques again instead.")
    restored = []
    for e in entries:
        d = e.details
        grade = db.get(Grade, d.get("grade_id"))
        if grade is None or grade.override_score != d.get("new_score"):
            continue  # changed since: that later decision stands
        submission = db.get(Submission, grade.submission_id)
        grade.override_score = d.get("previous_override")
        grade.override_comment = d.get("previous_comment") or ""
        grade.override_by_id = d.get("previous_by_id")
        grade.override_at = _parse_time(d.get("previous_at"))
        grade.updated_at = utcnow()
        db.add(grade)
        audit.record(db, actor, course.id, "grade.undo", f"submission {submission.id} {grade.component}",
                     {"batch": batch, "grade_id": grade.id, "undone_score": d.get("new_score"),
                      "restored_score": d.get("previous_override"), "student_id": submission.student_id})
        restored.append(grade)
    db.commit()
    return restored


def _parse_time(value):
    return datetime.fromisoformat(value) if value else None


def section_counts(db: Session, course: Course, grades: list[Grade]) -> dict:
    """Waiting and done for the sections these grades belong to (the page updates its counts from this)."""
    out = {}
    for grade in grades:
        submission = db.get(Submission, grade.submission_id)
        anchor = f"a{submission.assignment_id}-p{submission.problem_id}-{grade.component}"
        if anchor in out:
            continue
        members = [g for g, _s in _section_grades(db, submission.assignment_id, submission.problem_id,
                                                  grade.component)]
        waiting = sum(1 for g in members if _state_of(g)[0] == "waiting")
        out[anchor] = {"waiting": waiting, "done": len(members) - waiting}
    return out


def _section_grades(db: Session, assignment_id: int, problem_id: int, component: str):
    latest = [s for s in submissions.latest_for_assignment(db, assignment_id) if s.problem_id == problem_id]
    by_id = {s.id: s for s in latest}
    if not by_id:
        return []
    grades = db.exec(select(Grade).where(Grade.submission_id.in_(list(by_id)), Grade.component == component))
    return [(g, by_id[g.submission_id]) for g in grades if _in_review(g)]

