"""Assignments: problems, dates, late policy and component weights."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Optional, Sequence

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from ..models import (
    DEFAULT_TURN_LIMIT, MODE_CRITIQUE, MODE_TEACH, PROBLEM_MODES, AnswerKey, Assignment, AssignmentProblem, Course, FlawedSolution, Problem, Submission, User, utcnow,
)
from . import audit, courses
from .errors import Conflict, ErrorCollector, InvalidInput, NotFound
from .validation import clean_text, parse_int, parse_local_datetime


@dataclass
class AssignmentDraft:
    title: str
    opens_at: object
    due_at: object
    problem_ids: Sequence = field(default_factory=list)
    instructions: str = ""
    allow_late: bool = False
    late_penalty_percent: object = 0
    points: object = 100
    weight_location: object = 30
    weight_explanation: object = 40
    weight_correction: object = 30
    weight_lean: object = 0
    # How many problems with a correct solution the assignment should hold: chosen ones count, and any
    # shortfall is filled from the course's other correct solutions (students are never told which).
    correct_solutions: object = 0
    # Teach mode (docs/teach.md): problem id -> {"mode", "turn_limit", "attempts_allowed"}; problems not
    # listed are critiques (an edit keeps what they were). `teach_unavailable`: why this server cannot run
    # teach mode (no model), or None.
    problem_modes: Optional[dict] = None
    teach_unavailable: Optional[str] = None
    weight_revision: object = 50
    weight_teaching: object = 50
    weight_efficiency: object = 0
    # Below this confidence (percent, 1..100) a grader model's verdict waits for a person; None/"": never.
    confidence_percent: object = None
    # Submissions wait until the instructor grades a sample with the model (the pilot), then the rest.
    hold_for_pilot: bool = False


def validate_assignment(db: Session, course: Course, d: AssignmentDraft, tz: str) -> dict:
    """The draft's values, cleaned; or one InvalidInput naming every field that is wrong (field_errors)."""
    check = ErrorCollector()
    title = check.check(clean_text, d.title, "Title", "title", field="title")
    instructions = check.check(clean_text, d.instructions, "Instructions", "instructions", required=False,
                               field="instructions")
    opens_at = check.check(parse_local_datetime, d.opens_at, "The opening date", tz, field="opens_at")
    due_at = check.check(parse_local_datetime, d.due_at, "The due date", tz, field="due_at")
    if opens_at and due_at and due_at <= opens_at:
        check.add("due_at", "The due date must come after the opening date.")
    ids = check.check(_problem_ids, db, course, d.problem_ids)
    correct_solutions = check.check(parse_int, d.correct_solutions or 0, "The number of correct solutions",
                                    minimum=0, maximum=100, field="correct_solutions")
    if ids and correct_solutions:
        ids = check.check(_mix_in_correct, db, course, ids, correct_solutions) or ids
    points = check.check(parse_int, d.points, "Points", minimum=1, maximum=10000, field="points")
    weights = {
        name: check.check(parse_int, getattr(d, name), label, minimum=0, maximum=1000, field=name)
        for name, label in (("weight_location", "The location weight"),
                            ("weight_explanation", "The explanation weight"),
                            ("weight_correction", "The correction weight"),
                            ("weight_lean", "The Lean weight"))
    }
    if None not in weights.values() and sum(weights.values()) == 0:
        check.add("weight_location", "At least one component needs a weight above zero.")
    weights.update({
        name: check.check(parse_int, getattr(d, name), label, minimum=0, maximum=1000, field=name)
        for name, label in (("weight_revision", "The revision weight"),
                            ("weight_teaching", "The teaching weight"),
                            ("weight_efficiency", "The efficiency weight"))
    })
    modes = check.check(_problem_modes, d.problem_modes, ids or [], d.teach_unavailable)
    penalty = check.check(parse_int, d.late_penalty_percent or 0, "The late penalty", minimum=0, maximum=100,
                          field="late_penalty_percent")
    confidence = None
    if d.confidence_percent is not None and str(d.confidence_percent).strip() != "":
        confidence = check.check(parse_int, d.confidence_percent, "The confidence threshold", minimum=1,
                                 maximum=100, field="confidence_percent")
    check.raise_any()
    return {
        "title": title,
        "instructions": instructions,
        "opens_at": opens_at,
        "due_at": due_at,
        "allow_late": bool(d.allow_late),
        "late_penalty_percent": penalty,
        "points": points,
        **weights,
        "problem_ids": ids,
        "problem_modes": modes or {},
        "correct_solutions": correct_solutions,
        "confidence_threshold": None if confidence is None else confidence / 100,
        "hold_for_pilot": bool(d.hold_for_pilot),
    }


def _problem_modes(raw: Optional[dict], ids: list[int], teach_unavailable: Optional[str]) -> dict:
    """problem id -> (mode, turn limit, attempts allowed) for the problems given a mode."""
    out = {}
    for pid, spec in (raw or {}).items():
        pid = parse_int(pid, "A problem", field="problem_ids")
        mode = spec.get("mode", MODE_CRITIQUE)
        if mode not in PROBLEM_MODES:
            raise InvalidInput(f"A problem's mode is critique or teach, not {str(mode)[:40]!r}.", field="problem_modes")
        if mode == MODE_TEACH and teach_unavailable:
            raise InvalidInput(f"Teach mode is not available on this server: {teach_unavailable}",
                               field="problem_modes")
        turn_limit = parse_int(spec.get("turn_limit", DEFAULT_TURN_LIMIT), "The turn limit", minimum=1, maximum=50,
                               field="turn_limit")
        attempts = parse_int(spec.get("attempts_allowed", 1), "The number of attempts", minimum=1, maximum=20,
                             field="attempts_allowed")
        if pid in ids:
            out[pid] = (mode, turn_limit, attempts)
    return out


def _apply_mode(link: AssignmentProblem, modes: dict) -> None:
    if link.problem_id in modes:
        link.mode, link.turn_limit, link.attempts_allowed = modes[link.problem_id]


def _problem_ids(db: Session, course: Course, raw_ids) -> list[int]:
    ids = []
    for raw in raw_ids or []:
        pid = parse_int(raw, "A problem", field="problem_ids")
        if pid not in ids:
            ids.append(pid)
    if not ids:
        raise InvalidInput("Choose at least one problem for the assignment.", field="problem_ids")
    found = set(db.exec(select(Problem.id).where(Problem.course_id == course.id, Problem.id.in_(ids))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput("Some chosen problems are not in this course.", field="problem_ids")
    ready = set(db.exec(select(FlawedSolution.problem_id).where(
        FlawedSolution.problem_id.in_(ids), FlawedSolution.approved == True)))  # noqa: E712
    drafts_only = [i for i in ids if i not in ready]
    if drafts_only:
        titles = ", ".join(db.get(Problem, i).title for i in drafts_only)
        raise InvalidInput(f"Students could not open these problems: they have no approved flawed solution yet "
                           f"(approve a draft or write one first): {titles}.", field="problem_ids")
    return ids


def correct_problem_ids(db: Session, course: Course) -> list[int]:
    """The course's problems whose current (newest approved) solution is correct, oldest first."""
    newest = (select(FlawedSolution.problem_id, func.max(FlawedSolution.id).label("sid"))
              .join(Problem, Problem.id == FlawedSolution.problem_id)
              .where(Problem.course_id == course.id, FlawedSolution.approved == True)  # noqa: E712
              .group_by(FlawedSolution.problem_id).subquery())
    rows = db.exec(select(newest.c.problem_id).join(AnswerKey, AnswerKey.flawed_solution_id == newest.c.sid)
                   .where(AnswerKey.first_wrong_step.is_(None)).order_by(newest.c.problem_id))
    return list(rows)


def _mix_in_correct(db: Session, course: Course, ids: list[int], wanted: int) -> list[int]:
    correct = correct_problem_ids(db, course)
    have = [pid for pid in ids if pid in correct]
    spare = [pid for pid in correct if pid not in ids]
    short = wanted - len(have)
    if short <= 0:
        return ids
    if short > len(spare):
        raise InvalidInput(f"You asked for {wanted} correct solutions, but this course has only {len(correct)} "
                           "problems whose solution is correct. Mark more solutions as correct (“This solution "
                           "is correct” on the problem form) or ask for fewer.", field="correct_solutions")
    return ids + spare[:short]


def create_assignment(db: Session, actor: User, course: Course, draft: AssignmentDraft, tz: str = "UTC") -> Assignment:
    courses.require_instructor(db, actor, course)
    values = validate_assignment(db, course, draft, tz)
    ids = values.pop("problem_ids")
    modes = values.pop("problem_modes")
    assignment = Assignment(course_id=course.id, **values)
    db.add(assignment)
    db.flush()
    for pos, pid in enumerate(ids):
        link = AssignmentProblem(assignment_id=assignment.id, problem_id=pid, position=pos)
        _apply_mode(link, modes)
        db.add(link)
    audit.record(db, actor, course.id, "assignment.create", f"assignment {assignment.id}", {"title": values["title"]})
    db.commit()
    return assignment


def update_assignment(db: Session, actor: User, assignment: Assignment, draft: AssignmentDraft,
                      tz: str = "UTC") -> Assignment:
    course = db.get(Course, assignment.course_id)
    courses.require_instructor(db, actor, course)
    values = validate_assignment(db, course, draft, tz)
    ids = values.pop("problem_ids")
    modes = values.pop("problem_modes")
    # Points, weights and the problem set change every student's score: the log says how.
    changed = {name: [getattr(assignment, name), values[name]] for name in _SCORE_FIELDS
               if getattr(assignment, name) != values[name]}
    released_hold = assignment.hold_for_pilot and not values["hold_for_pilot"]
    for name, value in values.items():
        setattr(assignment, name, value)
    db.add(assignment)
    current = {ap.problem_id: ap for ap in db.exec(
        select(AssignmentProblem).where(AssignmentProblem.assignment_id == assignment.id))}
    details = {"title": values["title"], **changed}
    if set(ids) != set(current):
        details["problems_added"] = sorted(set(ids) - set(current))
        details["problems_removed"] = sorted(set(current) - set(ids))
    for pos, pid in enumerate(ids):
        ap = current.pop(pid, None) or AssignmentProblem(assignment_id=assignment.id, problem_id=pid)
        ap.position = pos
        _apply_mode(ap, modes)
        db.add(ap)
    for ap in current.values():  # unticked problems; their submissions stay stored
        db.delete(ap)
    audit.record(db, actor, course.id, "assignment.update", f"assignment {assignment.id}", details)
    db.commit()
    if released_hold:  # no longer held: what waited for the pilot is graded now
        from . import pilot
        pilot.queue_held(db, assignment)
    return assignment


_SCORE_FIELDS = ("points", "weight_location", "weight_explanation", "weight_correction", "weight_lean",
                 "weight_revision", "weight_teaching", "weight_efficiency")


def problems_in(db: Session, assignment_id: int) -> list[Problem]:
    q = (select(Problem).join(AssignmentProblem, AssignmentProblem.problem_id == Problem.id)
         .where(AssignmentProblem.assignment_id == assignment_id).order_by(AssignmentProblem.position))
    return list(db.exec(q))


def assignments_of(db: Session, course_id: int, *, only_open_to_students: bool = False) -> list[Assignment]:
    q = select(Assignment).where(Assignment.course_id == course_id)
    if only_open_to_students:
        q = q.where(Assignment.opens_at <= utcnow())
    return list(db.exec(q.order_by(Assignment.due_at, Assignment.id)))


def current_solution_id():
    """The id of the problem's current (newest approved) flawed solution, as a subquery correlated
    with Problem: lets one query bring problems and the solutions students see."""
    newer = aliased(FlawedSolution)
    return (select(func.max(newer.id)).where(newer.problem_id == Problem.id, newer.approved == True)  # noqa: E712
            .scalar_subquery())


def listing(db: Session, course_id: int, *, only_open_to_students: bool = False
            ) -> list[tuple[Assignment, list[tuple[Problem, FlawedSolution]]]]:
    """The course's assignments, each with its problems in order and their current solutions, in one
    query. A problem with only draft solutions is left out: students cannot open it."""
    out: dict[int, tuple[Assignment, list]] = {}
    for a, problem, solution in db.exec(_listing_statement(only_open_to_students),
                                        params={"course_id": course_id, "now": utcnow()}):
        _a, ready = out.setdefault(a.id, (a, []))
        if problem is not None and solution is not None:
            ready.append((problem, solution))
    return list(out.values())


def listing_until(db: Session, course_id: int, *, only_open_to_students: bool = False, now: Optional[datetime] = None
                  ) -> tuple[list[tuple[Assignment, list[tuple[Problem, FlawedSolution]]]], Optional[datetime]]:
    """As `listing`, with the moment the listing changes by itself without any write: the next time one
    of the course's assignments opens (students only; None when none is waiting to open). A cached
    listing is good until then, or until the course's listing stamp moves (listing_stamp.py)."""
    now = now or utcnow()
    out: dict[int, tuple[Assignment, list]] = {}
    until: Optional[datetime] = None
    for a, problem, solution in db.exec(_listing_statement(False), params={"course_id": course_id}):
        if only_open_to_students and a.opens_at > now:
            until = a.opens_at if until is None else min(until, a.opens_at)
            continue
        _a, ready = out.setdefault(a.id, (a, []))
        if problem is not None and solution is not None:
            ready.append((problem, solution))
    return list(out.values()), until


@lru_cache(maxsize=2)
def _listing_statement(only_open_to_students: bool):
    # Built once: every student's listing runs it, and building the statement cost more Python time
    # than running it.
    q = (select(Assignment, Problem, FlawedSolution)
         .outerjoin(AssignmentProblem, AssignmentProblem.assignment_id == Assignment.id)
         .outerjoin(Problem, Problem.id == AssignmentProblem.problem_id)
         .outerjoin(FlawedSolution, FlawedSolution.id == current_solution_id())
         .where(Assignment.course_id == bindparam("course_id")))
    if only_open_to_students:
        q = q.where(Assignment.opens_at <= bindparam("now"))
    return q.order_by(Assignment.due_at, Assignment.id, AssignmentProblem.position)


def overview_for_student(db: Session, course_id: int, student_id: int) -> list[tuple[Assignment, int, int]]:
    """(assignment, problems in it, problems the student answered) for each open assignment, in one query."""
    n_problems = (select(func.count(AssignmentProblem.id)).where(AssignmentProblem.assignment_id == Assignment.id)
                  .scalar_subquery())
    answered = (select(func.count(func.distinct(Submission.problem_id)))
                .join(AssignmentProblem, (AssignmentProblem.assignment_id == Submission.assignment_id)
                      & (AssignmentProblem.problem_id == Submission.problem_id))
                .where(Submission.assignment_id == Assignment.id, Submission.student_id == student_id)
                .scalar_subquery())
    q = (select(Assignment, n_problems, answered)
         .where(Assignment.course_id == course_id, Assignment.opens_at <= utcnow())
         .order_by(Assignment.due_at, Assignment.id))
    return [tuple(row) for row in db.exec(q)]


def assignment_for(db: Session, actor: User, assignment_id: int) -> tuple[Assignment, Course, bool]:
    """The assignment if the actor may see it; also whether they teach it.

    Students cannot see an assignment before it opens; outsiders get 'not found'.
    """
    assignment = db.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("That assignment does not exist.")
    course = db.get(Course, assignment.course_id)
    membership = courses.require_member(db, actor, course, "That assignment does not exist.")
    teaches = membership.role == "instructor"
    if not teaches and assignment.opens_at > utcnow():
        raise NotFound("That assignment is not open yet.")
    return assignment, course, teaches


def assignment_for_instructor(db: Session, actor: User, assignment_id: int) -> tuple[Assignment, Course]:
    """The assignment if the actor teaches its course: students get 'forbidden', outsiders 'not found'."""
    assignment = db.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound("That assignment does not exist.")
    course = db.get(Course, assignment.course_id)
    courses.require_instructor(db, actor, course)
    return assignment, course


def problem_in_assignment(db: Session, assignment: Assignment, problem_id: int) -> Problem:
    link = db.exec(select(AssignmentProblem).where(AssignmentProblem.assignment_id == assignment.id,
                                                   AssignmentProblem.problem_id == problem_id)).first()
    if link is None:
        raise NotFound("That problem is not part of this assignment.")
    return db.get(Problem, problem_id)


def status(assignment: Assignment, now: Optional[datetime] = None) -> str:
    now = now or utcnow()
    if now < assignment.opens_at:
        return "not_open"
    if now <= assignment.due_at:
        return "open"
    return "late" if assignment.allow_late else "closed"


class ReleaseNeedsConfirmation(Conflict):
    """Releasing grades while students may still answer: the instructor must say so explicitly."""


def release_warning(assignment: Assignment, now: Optional[datetime] = None) -> Optional[str]:
    """Why releasing now gives the key away, or None once the assignment takes no more answers."""
    state = status(assignment, now)
    if state == "closed":
        return None
    until = "its opening and deadline" if state == "not_open" else (
        "its deadline" if state == "open" else "the end of late work")
    return (f"{assignment.title} still accepts answers (until {until}). Released feedback shows each student "
            "whether the step they marked is the first wrong one, with the grader's comments on it: once a "
            "student has it, classmates who have not answered yet can learn the answer key from them.")


def release_grades(db: Session, actor: User, assignment: Assignment, release: bool = True,
                   confirmed: bool = False) -> Assignment:
    """Release (or hide again) an assignment's grades. Releasing while answers are still accepted needs
    `confirmed`: without it ReleaseNeedsConfirmation carries the warning to show."""
    course = db.get(Course, assignment.course_id)
    courses.require_instructor(db, actor, course)
    if release and not confirmed:
        warning = release_warning(assignment)
        if warning:
            raise ReleaseNeedsConfirmation(warning)
    assignment.released_at = utcnow() if release else None
    db.add(assignment)
    audit.record(db, actor, course.id, "grades.release" if release else "grades.withdraw",
                 f"assignment {assignment.id}", {"title": assignment.title})
    db.commit()
    if release:  # a course opened from an LMS that takes grades gets them now (services/lti_sync.py)
        from . import lti_sync

        lti_sync.grades_released(db, assignment)
    return assignment


def still_asked_elsewhere(db: Session, assignment: Assignment, now: Optional[datetime] = None
                          ) -> dict[int, Assignment]:
    """Problems of this assignment that another assignment still asks: its grades are not released and it
    is open, taking late work or not open yet. Their released feedback (which reveals the key) waits.
    problem id -> that other assignment."""
    mine = select(AssignmentProblem.problem_id).where(AssignmentProblem.assignment_id == assignment.id)
    rows = db.exec(select(AssignmentProblem.problem_id, Assignment)
                   .join(Assignment, Assignment.id == AssignmentProblem.assignment_id)
                   .where(AssignmentProblem.problem_id.in_(mine), Assignment.id != assignment.id,
                          Assignment.released_at.is_(None)))
    held: dict[int, Assignment] = {}
    for problem_id, other in rows:
        if status(other, now) != "closed":
            held.setdefault(problem_id, other)
    return held
