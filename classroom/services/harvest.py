"""Harvesting the model's failures in the AI lab (docs/lab.md): a wrong attempt becomes a candidate flawed
solution, split into numbered steps as the step editor splits a pasted answer; the group marks its first
wrong step, writes why and the kind of error, and submits it. The instructor approves it (it becomes an
ordinary problem of the course with a key, origin `harvested`, the model recorded) or sends it back with
a comment, and the group may change it and submit it again.

Who sees what follows services/lab.py: a group's harvests are its members' and the instructors'; a hidden
exam's attempts cannot be harvested by students (they never see them).
"""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from ..content import ERROR_KINDS
from ..models import (
    HARVEST_APPROVED, HARVEST_RETURNED, HARVEST_SUBMITTED, Course, LabAttempt, LabHarvest, LabProblem, LabRun,
    LabStrategy, Problem, User, utcnow,
)
from . import audit, authoring, lab, problems
from .errors import Conflict, ErrorCollector, Forbidden, InvalidInput, NotFound
from .problems import ProblemDraft
from .validation import clean_text, parse_int

ATTEMPT_NOT_FOUND = "No such attempt, or it belongs to another group."
HARVEST_NOT_FOUND = "No such harvested failure, or it belongs to another group."
STATE_LABELS = {HARVEST_SUBMITTED: "Waiting for the instructor", HARVEST_APPROVED: "Approved",
                HARVEST_RETURNED: "Sent back"}


def attempt_for(db: Session, actor: User, attempt_id: int) -> tuple[LabAttempt, LabRun, lab.LabAccess]:
    attempt = db.get(LabAttempt, attempt_id)
    if attempt is None:
        raise NotFound(ATTEMPT_NOT_FOUND)
    try:
        run, access = lab.run_for(db, actor, attempt.run_id)
    except NotFound:
        raise NotFound(ATTEMPT_NOT_FOUND)
    if run.target == "exam" and not access.sees_exam:
        raise NotFound(ATTEMPT_NOT_FOUND)
    return attempt, run, access


def source_problem(db: Session, attempt: LabAttempt):
    """The problem the attempt solved: an exam Problem or a group's LabProblem (same fields used here)."""
    if attempt.problem_id is not None:
        return db.get(Problem, attempt.problem_id)
    return db.get(LabProblem, attempt.lab_problem_id)


def candidate_steps(attempt: LabAttempt) -> list[str]:
    """The attempt's text as numbered steps, by the step editor's rule (authoring.split_steps)."""
    return steps_of(attempt.text)


def steps_of(text: str) -> list[str]:
    try:
        return authoring.split_steps(text)
    except InvalidInput:  # too long or too many steps: one step per non-empty line, capped
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        return lines[:60]


def flawed_draft(source, steps: list[str], final_answer: str, first_wrong_step: int, reason: str,
                 error_kind: str) -> ProblemDraft:
    """The problem a model's failure becomes: the source problem's statement, reference and answer checking,
    the model's steps and final answer as the flawed solution, and the given marking as its key."""
    return ProblemDraft(
        title=f"{source.title} (harvested)"[:200], statement=source.statement,
        reference_solution=source.reference_solution, reference_answer=source.reference_answer,
        steps=steps, flawed_final_answer=final_answer or "(none)", first_wrong_step=first_wrong_step,
        reason=reason, error_kind=error_kind, answer_mode=source.answer_mode,
        answer_tolerance=source.answer_tolerance, answer_tests=list(source.answer_tests or []))


def draft_from_benchmark(db: Session, actor: User, course: Course, source, text: str, final_answer: str, *,
                         model: str, strategy_sha256: str, sample_index: int, external_id: str) -> Problem:
    """A wrong attempt of `run-benchmark --harvest-into` as a draft problem of the course, awaiting the
    instructor's key: the steps are the model's, the first wrong step is provisionally the last one (where the
    wrong answer stands) and the reason is empty, so it cannot be assigned until the instructor marks the
    first wrong step, says why and saves (the problem's Edit form), which approves it. The key's origin is
    `harvested`, with the model, and the problem keeps the strategy's SHA-256 and the sample (the dataset
    export writes them). The caller commits."""
    steps = steps_of(text)
    draft = flawed_draft(source, steps, final_answer, len(steps), "", "other")
    problem = problems.create_problem(db, actor, course, draft, origin="harvested", origin_model=model,
                                      external_id=external_id, approved=False, commit=False)
    problem.origin_strategy_sha256, problem.origin_sample_index = strategy_sha256, sample_index
    db.add(problem)
    return problem


def harvest_of_attempt(db: Session, attempt_id: int) -> Optional[LabHarvest]:
    return db.exec(select(LabHarvest).where(LabHarvest.attempt_id == attempt_id)).first()


def validate_marking(steps: list[str], first_wrong_step, reason, error_kind) -> tuple[int, str, str]:
    check = ErrorCollector()
    step = check.check(parse_int, first_wrong_step, "The first wrong step", minimum=1, maximum=max(1, len(steps)),
                       field="first_wrong_step")
    why = check.check(clean_text, reason, "Why the step is wrong", "reason", field="reason")
    if error_kind not in ERROR_KINDS:
        check.add("error_kind", "Choose the kind of error from the list.")
    check.raise_any()
    return step, why, error_kind


def submit_harvest(db: Session, actor: User, attempt_id: int, *, first_wrong_step, reason, error_kind,
                   exportable: bool = True) -> LabHarvest:
    """A group member submits (or, after it was sent back, resubmits) the attempt as a flawed solution."""
    attempt, run, access = attempt_for(db, actor, attempt_id)
    if access.teaches:
        raise Forbidden("Harvests are written by the group's students; you approve them.")
    if attempt.verdict == "correct":
        raise Conflict("This attempt is right: only the model's wrong attempts are harvested.")
    existing = harvest_of_attempt(db, attempt.id)
    if existing is not None and existing.state != HARVEST_RETURNED:
        raise Conflict("This attempt is already submitted; the instructor decides on it.")
    steps = candidate_steps(attempt)
    step, why, kind = validate_marking(steps, first_wrong_step, reason, error_kind)
    harvest = existing or LabHarvest(lab_id=run.lab_id, group_id=run.group_id, attempt_id=attempt.id,
                                     author_id=actor.id)
    harvest.steps, harvest.first_wrong_step, harvest.reason, harvest.error_kind = steps, step, why, kind
    harvest.state, harvest.exportable, harvest.author_id, harvest.submitted_at = (
        HARVEST_SUBMITTED, bool(exportable), actor.id, utcnow())
    db.add(harvest)
    db.flush()
    audit.record(db, actor, access.course.id, "lab.harvest", f"lab harvest {harvest.id}",
                 {"lab": run.lab_id, "group": run.group_id, "attempt": attempt.id, "exportable": harvest.exportable})
    db.commit()
    return harvest


def set_exportable(db: Session, actor: User, harvest_id: int, include: bool) -> LabHarvest:
    """The group keeps its harvested failure out of the course's published dataset, or lets it back in, at
    any time (before or after the instructor's decision). Recorded in the audit log."""
    harvest = db.get(LabHarvest, harvest_id)
    if harvest is None:
        raise NotFound(HARVEST_NOT_FOUND)
    try:
        _attempt, run, access = attempt_for(db, actor, harvest.attempt_id)
    except NotFound:
        raise NotFound(HARVEST_NOT_FOUND)
    if access.teaches:
        raise Forbidden("Whether a harvest is published is its group's choice.")
    harvest.exportable = bool(include)
    db.add(harvest)
    audit.record(db, actor, access.course.id, "lab.harvest_dataset", f"lab harvest {harvest.id}",
                 {"lab": run.lab_id, "group": run.group_id, "exportable": harvest.exportable})
    db.commit()
    return harvest


def harvests_of(db: Session, lab_id: int, group_id: Optional[int] = None) -> list[LabHarvest]:
    q = select(LabHarvest).where(LabHarvest.lab_id == lab_id)
    if group_id is not None:
        q = q.where(LabHarvest.group_id == group_id)
    return list(db.exec(q.order_by(LabHarvest.id)))


def harvest_for_instructor(db: Session, actor: User, harvest_id: int) -> tuple[LabHarvest, lab.LabAccess]:
    harvest = db.get(LabHarvest, harvest_id)
    if harvest is None:
        raise NotFound(HARVEST_NOT_FOUND)
    try:
        access = lab.lab_for_instructor(db, actor, harvest.lab_id, harvest.group_id)
    except NotFound:
        raise NotFound(HARVEST_NOT_FOUND)
    return harvest, access


def decide(db: Session, actor: User, harvest_id: int, decision: str, comment: str = "") -> LabHarvest:
    """Approve (the harvest becomes a problem of the course) or send back with a comment."""
    harvest, access = harvest_for_instructor(db, actor, harvest_id)
    if harvest.state != HARVEST_SUBMITTED:
        raise Conflict("This harvest is not waiting for a decision.")
    comment = clean_text(comment, "Comment", "comment", required=decision == "return", field="comment")
    if decision == "return":
        harvest.state, harvest.comment = HARVEST_RETURNED, comment
    elif decision == "approve":
        attempt = db.get(LabAttempt, harvest.attempt_id)
        source = source_problem(db, attempt)
        if source is None:
            raise Conflict("The problem this attempt solved was deleted, so it cannot become a problem.")
        draft = flawed_draft(source, harvest.steps, attempt.final_answer, harvest.first_wrong_step, harvest.reason,
                             harvest.error_kind)
        problem = problems.create_problem(db, actor, access.course, draft, origin="harvested",
                                          origin_model=attempt.model, external_id=f"lab-harvest-{harvest.id}",
                                          commit=False)
        harvest.state, harvest.comment, harvest.problem_id = HARVEST_APPROVED, comment, problem.id
    else:
        raise InvalidInput("Choose approve or send back.", field="decision")
    harvest.decided_at, harvest.decided_by_id = utcnow(), actor.id
    db.add(harvest)
    audit.record(db, actor, access.course.id, f"lab.harvest_{decision}", f"lab harvest {harvest.id}",
                 {"problem": harvest.problem_id})
    db.commit()
    return harvest


def strategy_of(db: Session, attempt: LabAttempt) -> Optional[LabStrategy]:
    return db.get(LabStrategy, attempt.strategy_id)
