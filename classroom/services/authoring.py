"""Authoring flawed solutions: splitting a pasted answer into steps, drafts made by a
model (generate, approve, discard), the student's-eye preview, and copying a problem
to another course.

Web views and commands call these; the rules live here, not in a route or a template.
"""
from __future__ import annotations

import re
from copy import deepcopy
from dataclasses import dataclass
from typing import Mapping, Optional

from sqlmodel import Session, select

from ..config import model_settings
from ..content import (DEFAULT_CODE_LANGUAGE, ERROR_KINDS, PROSE, clean_code_line, is_code, solution_format_of,
                       step_marker)
from ..content import strip_step_number  # noqa: F401  (the split rule's helper, importable from here)
from ..models import AnswerKey, Course, FlawedSolution, Problem, Submission, User
from . import audit, courses, problems
from .errors import Conflict, InvalidInput, NotFound, ServiceError
from .problems import ProblemDraft
from .validation import LIMITS, clean_text

# A pasted answer may be long (a whole model answer), but not unbounded.
PASTE_LIMIT = 50_000

# --------------------------------------------------------------------------- splitting


def _split_numbered(lines: list[str]) -> Optional[list[str]]:
    """Steps at numbered lines 1, 2, 3, ... (in that order); None when there are fewer than two.

    A line whose number is not the next one expected (a year, "3. Note that") continues the
    step above; text before step 1 becomes a step of its own.
    """
    starts = []
    expected = 1
    for i, line in enumerate(lines):
        found = step_marker(line)
        if found and found[0] == expected:
            starts.append(i)
            expected += 1
    if len(starts) < 2:
        return None
    steps = []
    preamble = "\n".join(lines[:starts[0]]).strip()
    if preamble:
        steps.append(preamble)
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        first = step_marker(lines[start])[1]
        body = "\n".join([first] + lines[start + 1:end]).strip()
        if body:
            steps.append(body)
    return steps


def _paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines; a $$ display block is never cut in two."""
    out: list[str] = []
    current = ""
    for block in re.split(r"\n[ \t]*\n", text):
        current = f"{current}\n\n{block}" if current else block
        if current.count("$$") % 2 == 0:
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip():
        out.append(current.strip())
    return out


def split_steps(text: str, solution_format: str = PROSE) -> list[str]:
    """Split a pasted answer into steps. A program: one step per line, blank lines inside it kept. Prose, by
    the one rule used by the web form and by generation:

    1. numbered lines ("1." "1)" "(1)" "Step 1:"), when at least steps 1 and 2 are numbered:
       one step per number, the lines below a number belong to it, the number is dropped;
    2. otherwise paragraphs (separated by a blank line), when there are at least two;
    3. otherwise one step per non-empty line.
    Raises InvalidInput for an empty or oversized paste, or more steps than a solution may have.
    """
    text = "" if text is None else str(text)
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > PASTE_LIMIT:
        raise InvalidInput(f"The pasted answer is too long ({len(text):,} characters; the limit is "
                           f"{PASTE_LIMIT:,}).", field="paste")
    if not text.strip():
        raise InvalidInput("Paste the whole answer into the box first, then split it into steps.", field="paste")
    lines = text.strip().split("\n")
    if is_code(solution_format):
        lines = [clean_code_line(line) for line in text.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        steps = lines
    else:
        steps = _split_numbered(lines)
    if steps is None:
        steps = _paragraphs(text)
        if len(steps) < 2:
            steps = [line.strip() for line in lines if line.strip()]
    if len(steps) > LIMITS["steps"]:
        raise InvalidInput(f"That answer splits into {len(steps)} steps; a flawed solution can have at most "
                           f"{LIMITS['steps']}. Join some of them and split again.", field="paste")
    for n, step in enumerate(steps, start=1):
        if len(step) > LIMITS["step"]:
            raise InvalidInput(f"Step {n} of the pasted answer is too long ({len(step):,} characters; the limit "
                               f"is {LIMITS['step']:,}). Put blank lines or step numbers into it.", field="paste")
    return steps


# --------------------------------------------------------------------------- solutions and drafts

def solution_for_instructor(db: Session, actor: User, solution_id: int) -> tuple[FlawedSolution, Problem, Course]:
    solution = db.get(FlawedSolution, solution_id)
    if solution is None:
        raise NotFound("That solution does not exist.")
    problem = db.get(Problem, solution.problem_id)
    course = db.get(Course, problem.course_id)
    courses.require_instructor(db, actor, course, "That solution does not exist.")
    return solution, problem, course


def drafts_of(db: Session, problem_id: int) -> list[FlawedSolution]:
    """Solutions waiting for the instructor's approval, newest first."""
    return list(db.exec(select(FlawedSolution).where(
        FlawedSolution.problem_id == problem_id, FlawedSolution.approved == False)  # noqa: E712
        .order_by(FlawedSolution.id.desc())))


def ready_problem_ids(db: Session, problem_ids) -> set[int]:
    """Which of these problems have an approved solution (students can open only those)."""
    ids = list(problem_ids)
    if not ids:
        return set()
    return set(db.exec(select(FlawedSolution.problem_id).where(
        FlawedSolution.problem_id.in_(ids), FlawedSolution.approved == True)).all())  # noqa: E712


def draft_counts(db: Session, problem_ids) -> dict[int, int]:
    ids = list(problem_ids)
    counts: dict[int, int] = {}
    if ids:
        for pid in db.exec(select(FlawedSolution.problem_id).where(
                FlawedSolution.problem_id.in_(ids), FlawedSolution.approved == False)).all():  # noqa: E712
            counts[pid] = counts.get(pid, 0) + 1
    return counts


def add_draft(db: Session, problem: Problem, steps: list[str], final_answer: str, first_wrong_step: Optional[int],
              reason: str, error_kind: str, origin_model: str, solution_format: str = PROSE) -> FlawedSolution:
    """A model-made solution waiting for approval (students never see it). The caller commits.
    `first_wrong_step` None: a correct solution."""
    solution = FlawedSolution(problem_id=problem.id, steps=list(steps), final_answer=final_answer, approved=False,
                              solution_format=solution_format)
    db.add(solution)
    db.flush()
    db.add(AnswerKey(flawed_solution_id=solution.id, first_wrong_step=first_wrong_step, reason=reason,
                     error_kind=error_kind, origin="model", origin_model=origin_model))
    return solution


# Columns a copy never takes from its original: its own id and creation time (the owner is set by the caller).
NOT_COPIED = frozenset({"id", "created_at"})


def copied_row(row, **changes):
    """A new row of the same table with every column of `row` (JSON values deep-copied) but its id and
    creation time, then `changes`: a column added to the model later is copied without a change here."""
    values = {c.key: deepcopy(getattr(row, c.key)) for c in type(row).__table__.columns if c.key not in NOT_COPIED}
    values.update(changes)
    return type(row)(**values)


def _approved_copy(db: Session, solution: FlawedSolution, key: AnswerKey, problem_id: int) -> FlawedSolution:
    """A new approved solution for `problem_id` with the same steps and a copy of its key."""
    copy = copied_row(solution, problem_id=problem_id, approved=True)
    db.add(copy)
    db.flush()
    db.add(copied_row(key, flawed_solution_id=copy.id))
    return copy


def approve_draft(db: Session, actor: User, solution_id: int) -> FlawedSolution:
    """The draft becomes the problem's current solution, the one students see from now on."""
    solution, problem, course = solution_for_instructor(db, actor, solution_id)
    if solution.approved:
        raise Conflict("This solution is already approved.")
    key = problems.key_for(db, solution.id)
    if key.first_wrong_step is not None and not key.reason.strip():
        raise InvalidInput(f"This key has no reason yet: edit the problem and say why step {key.first_wrong_step} "
                           "is wrong, then save (that approves it).", field="reason")
    newer = db.exec(select(FlawedSolution.id).where(FlawedSolution.problem_id == problem.id,
                                                    FlawedSolution.id > solution.id,
                                                    FlawedSolution.approved == True)).first()  # noqa: E712
    if newer is not None:
        # The current solution is the newest approved one: approve a fresh copy, so this one wins.
        key = problems.key_for(db, solution.id)
        copy = _approved_copy(db, solution, key, problem.id)
        db.delete(key)
        db.flush()
        db.delete(solution)
        solution = copy
    else:
        solution.approved = True
        db.add(solution)
    audit.record(db, actor, course.id, "solution.approve", f"problem {problem.id}", {"solution": solution.id})
    db.commit()
    return solution


def discard_draft(db: Session, actor: User, solution_id: int) -> Problem:
    solution, problem, course = solution_for_instructor(db, actor, solution_id)
    if solution.approved:
        raise Conflict("An approved solution is kept: students may have answered it. Edit the problem instead.")
    used = db.exec(select(Submission.id).where(Submission.flawed_solution_id == solution.id)).first()
    if used is not None:  # pragma: no cover - drafts are never shown to students
        raise Conflict("Students answered this solution, so it is kept.")
    key = db.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution.id)).first()
    if key is not None:
        db.delete(key)
        db.flush()
    db.delete(solution)
    audit.record(db, actor, course.id, "solution.discard", f"problem {problem.id}", {"solution": solution_id})
    db.commit()
    return problem


def preview_view(db: Session, actor: User, problem: Problem, solution_id: Optional[int] = None) -> dict:
    """Exactly what a student gets for this problem (problems.student_view: never the key).

    With `solution_id`, a draft is shown as students would see it once approved.
    """
    courses.require_instructor(db, actor, db.get(Course, problem.course_id))
    if solution_id is None:
        return problems.student_view(db, problem)
    solution = db.get(FlawedSolution, solution_id)
    if solution is None or solution.problem_id != problem.id:
        raise NotFound("That solution does not belong to this problem.")
    return problems.student_view(db, problem, solution=solution)


# --------------------------------------------------------------------------- generation

class ModelNotConfigured(ServiceError):
    """No grader model: the page explains how to configure one."""
    status = 409


NOT_CONFIGURED = ("No grader model is configured, so solutions cannot be generated. Set GRADER_MODEL to the "
                  "model's name and OPENAI_BASE_URL to any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, "
                  "Ollama, llama.cpp server), plus OPENAI_API_KEY if it needs one, then restart the server. "
                  "Until then, write the flawed solution by hand or import a bank.")

GENERATABLE_KINDS = {k: v for k, v in ERROR_KINDS.items() if k != "other"}
# The generate form's choice for a correct solution instead of a kind of error.
WRITE_CORRECT = "correct"


def generation_format(db: Session, problem: Problem) -> str:
    """The format a generated solution for this problem starts in: that of its newest solution, else prose
    (Python for a program-of-thought problem from a bank)."""
    newest = db.exec(select(FlawedSolution.solution_format).where(FlawedSolution.problem_id == problem.id)
                     .order_by(FlawedSolution.id.desc())).first()
    if newest:
        return newest
    return DEFAULT_CODE_LANGUAGE if (problem.question_type or "").upper() == "POT" else PROSE


def generation_available(config: Mapping) -> bool:
    return model_settings(config) is not None


def _generate(problem_fields: dict, error_kind: str, config: Mapping, solution_format: str = PROSE):
    """Ask the model; returns (GeneratedSolution, model name, format). ServiceError with a readable reason.
    `error_kind` WRITE_CORRECT asks for a correct solution."""
    # Imported here: the model client (openai) and SymPy load only in processes that generate.
    from ..grading import generation
    from ..llm import ModelError
    from ..llm.generator import GenerationInput

    if error_kind not in GENERATABLE_KINDS and error_kind != WRITE_CORRECT:
        raise InvalidInput("Choose the kind of error the model should plant, or a correct solution.",
                           field="error_kind")
    try:
        solution_format = solution_format_of(solution_format)
    except ValueError as exc:
        raise InvalidInput(f"The solution's format: {exc}.", field="solution_format") from None
    settings = model_settings(config)
    if settings is None:
        raise ModelNotConfigured(NOT_CONFIGURED)
    correct = error_kind == WRITE_CORRECT
    inp = GenerationInput(statement=problem_fields["statement"], reference_solution=problem_fields["reference_solution"],
                          reference_answer=problem_fields["reference_answer"],
                          error_kind="other" if correct else error_kind, solution_format=solution_format,
                          correct=correct)
    try:
        return generation.generate(settings, inp), settings.model, solution_format
    except generation.GenerationRejected as exc:
        raise InvalidInput(f"The model's solution was not kept: {exc.reason} Ask again, or choose another "
                           "kind of error.", field="generation") from None
    except ModelError as exc:
        raise InvalidInput(f"The model could not make a solution: {exc.reason}.", field="generation") from None


def _require_reference(problem_fields: dict) -> None:
    if not problem_fields["reference_solution"]:
        raise InvalidInput("Write the reference solution first: the model builds its flawed solution from it, "
                           "and the checks compare the two.", field="reference_solution")


def _audit_kind(generated) -> str:
    return WRITE_CORRECT if generated.first_wrong_step is None else generated.error_kind


def generate_draft(db: Session, actor: User, problem: Problem, error_kind: str, config: Mapping,
                   solution_format: str = PROSE) -> FlawedSolution:
    """A model-made solution for an existing problem (flawed, or correct with WRITE_CORRECT), in prose or as a
    program, kept as a draft once it passes the checks."""
    course = db.get(Course, problem.course_id)
    courses.require_instructor(db, actor, course)
    fields = {"statement": problem.statement, "reference_solution": problem.reference_solution.strip(),
              "reference_answer": problem.reference_answer}
    _require_reference(fields)
    problem_id, course_id = problem.id, course.id
    db.rollback()  # hold no transaction open while the model thinks
    generated, model, fmt = _generate(fields, error_kind, config, solution_format)
    problem = db.get(Problem, problem_id)
    if problem is None:  # deleted meanwhile
        raise NotFound("That problem does not exist any more.")
    solution = add_draft(db, problem, generated.steps, generated.final_answer, generated.first_wrong_step,
                         generated.reason, generated.error_kind, model, solution_format=fmt)
    audit.record(db, actor, course_id, "solution.generate", f"problem {problem_id}",
                 {"solution": solution.id, "model": model, "error_kind": _audit_kind(generated)})
    db.commit()
    return solution


@dataclass
class NewProblemRequest:
    """A problem typed by the instructor whose flawed solution the model writes."""
    title: str
    statement: str
    reference_solution: str
    reference_answer: str
    error_kind: str  # or WRITE_CORRECT
    solution_format: str = PROSE


def generate_problem(db: Session, actor: User, course: Course, req: NewProblemRequest,
                     config: Mapping) -> tuple[Problem, FlawedSolution]:
    """Create a problem together with a generated draft; nothing is saved if generation fails."""
    courses.require_instructor(db, actor, course)
    fields = {
        "title": clean_text(req.title, "Title", "title", field="title"),
        "statement": clean_text(req.statement, "The problem statement", "statement", field="statement"),
        "reference_solution": clean_text(req.reference_solution, "The reference solution", "reference_solution",
                                         required=False, field="reference_solution"),
        "reference_answer": clean_text(req.reference_answer, "The reference answer", "final_answer",
                                       required=False, field="reference_answer"),
    }
    _require_reference(fields)
    course_id = course.id
    db.rollback()
    generated, model, fmt = _generate(fields, req.error_kind, config, req.solution_format)
    course = db.get(Course, course_id)
    problem = problems.create_problem(
        db, actor, course, ProblemDraft(
            title=fields["title"], statement=fields["statement"], reference_solution=fields["reference_solution"],
            reference_answer=fields["reference_answer"], steps=generated.steps,
            flawed_final_answer=generated.final_answer, first_wrong_step=generated.first_wrong_step,
            reason=generated.reason, error_kind=generated.error_kind, solution_format=fmt,
            correct=generated.first_wrong_step is None),
        origin="model", origin_model=model, approved=False, commit=False)
    solution = db.exec(select(FlawedSolution).where(FlawedSolution.problem_id == problem.id)).one()
    audit.record(db, actor, course_id, "solution.generate", f"problem {problem.id}",
                 {"solution": solution.id, "model": model, "error_kind": _audit_kind(generated)})
    db.commit()
    return problem, solution


def wants_reason(solution: FlawedSolution, key: AnswerKey) -> bool:
    """A draft from a bank whose key came without a reason (ProcessBench): the model may propose one."""
    return not solution.approved and key.origin == "bank" and not key.reason.strip()


def propose_reason(db: Session, actor: User, solution_id: int, config: Mapping) -> AnswerKey:
    """The model proposes the reason of a draft key imported without one (for a correct solution: why it is
    right). The draft stays a draft: the instructor reads the proposal and approves it, or edits it."""
    from ..grading import generation
    from ..llm import ModelError
    from ..llm.key_reason import ReasonInput

    solution, problem, course = solution_for_instructor(db, actor, solution_id)
    key = problems.key_for(db, solution.id)
    if not wants_reason(solution, key):
        raise Conflict("This key already has its reason (or is approved): edit the problem to change it.")
    settings = model_settings(config)
    if settings is None:
        raise ModelNotConfigured(NOT_CONFIGURED)
    inp = ReasonInput(statement=problem.statement, reference_solution=problem.reference_solution,
                      reference_answer=problem.reference_answer, steps=list(solution.steps),
                      first_wrong_step=key.first_wrong_step, final_answer=solution.final_answer,
                      solution_format=solution.solution_format)
    key_id, problem_id, course_id = key.id, problem.id, course.id
    db.rollback()  # hold no transaction open while the model thinks
    try:
        proposed = generation.propose_reason(settings, inp)
    except ModelError as exc:
        raise InvalidInput(f"The model could not propose a reason: {exc.reason}.", field="reason") from None
    key = db.get(AnswerKey, key_id)
    solution = db.get(FlawedSolution, solution_id)
    if key is None or solution is None or not wants_reason(solution, key):
        raise Conflict("The draft changed while the model was answering (approved, discarded or given a "
                       "reason), so the proposal was not kept.")
    key.reason = proposed.reason
    if key.first_wrong_step is not None:
        key.error_kind = proposed.error_kind
    key.reason_model = settings.model
    db.add(key)
    audit.record(db, actor, course_id, "solution.propose_reason", f"problem {problem_id}",
                 {"solution": solution_id, "model": settings.model})
    db.commit()
    return key


@dataclass
class ProposedReasons:
    proposed: int
    failed: list[str]  # "problem <id> (<title>): why", one per draft the model could not help with

    def summary(self) -> str:
        text = f"the model proposed {self.proposed} reason{'' if self.proposed == 1 else 's'}"
        if self.failed:
            text += f"; {len(self.failed)} failed"
        return text


def propose_missing_reasons(db: Session, actor: User, course: Course, config: Mapping,
                            limit: Optional[int] = None) -> ProposedReasons:
    """Every draft of the course imported without a reason gets the model's proposal (oldest first), each
    saved as soon as it comes; the instructor approves them one by one."""
    courses.require_instructor(db, actor, course)
    if model_settings(config) is None:
        raise ModelNotConfigured(NOT_CONFIGURED)
    rows = db.exec(select(FlawedSolution.id, Problem.id, Problem.title)
                   .join(Problem, Problem.id == FlawedSolution.problem_id)
                   .join(AnswerKey, AnswerKey.flawed_solution_id == FlawedSolution.id)
                   .where(Problem.course_id == course.id, FlawedSolution.approved == False,  # noqa: E712
                          AnswerKey.origin == "bank", AnswerKey.reason == "")
                   .order_by(FlawedSolution.id)).all()
    if limit is not None:
        rows = rows[:limit]
    proposed, failed = 0, []
    for solution_id, problem_id, title in rows:
        try:
            propose_reason(db, actor, solution_id, config)
            proposed += 1
        except ServiceError as exc:
            db.rollback()
            failed.append(f"problem {problem_id} ({title}): {exc.message}")
    return ProposedReasons(proposed=proposed, failed=failed)


def checks_for(db: Session, solution: FlawedSolution):
    """The generation checks, run again on a stored solution (shown on the review page)."""
    from ..grading import generation
    from ..llm.generator import GenerationInput

    problem = db.get(Problem, solution.problem_id)
    key = problems.key_for(db, solution.id)
    return generation.run_checks(
        GenerationInput(statement=problem.statement, reference_solution=problem.reference_solution,
                        reference_answer=problem.reference_answer, error_kind=key.error_kind,
                        solution_format=solution.solution_format, correct=key.first_wrong_step is None),
        steps=list(solution.steps), final_answer=solution.final_answer, first_wrong_step=key.first_wrong_step,
        error_kind=key.error_kind)


# --------------------------------------------------------------------------- copying

def copy_targets(db: Session, actor: User, exclude_course_id: Optional[int] = None) -> list[Course]:
    """The courses the instructor teaches, but the one the problem is already in."""
    return [c for c in courses.courses_of(db, actor, role="instructor") if c.id != exclude_course_id]


def copy_problem(db: Session, actor: User, problem: Problem, target_code: str) -> Problem:
    """Copy a problem, every field of it, with its current solution and key to a course the instructor teaches.

    Drafts stay behind. A problem from a bank keeps its bank id, so importing the same bank
    into the target later does not add it twice; a target that already holds it refuses.
    """
    source = db.get(Course, problem.course_id)
    courses.require_instructor(db, actor, source)
    if not (target_code or "").strip():
        raise InvalidInput("Choose the course to copy the problem to.", field="course")
    target = courses.get_course(db, target_code)
    if not courses.is_instructor_of(db, actor, target.id):
        raise NotFound("You do not teach a course with that code, so the problem was not copied.", field="course")
    solution, key = problems.current_solution_with_key(db, problem.id)
    external_id = problem.external_id if target.id != source.id else None
    if external_id is not None and db.exec(select(Problem.id).where(
            Problem.course_id == target.id, Problem.external_id == external_id)).first() is not None:
        raise Conflict(f"{target.title} already has this problem (bank id {external_id}).", field="course")
    title = problem.title
    if target.id == source.id:
        title = (title[:LIMITS["title"] - 7] + " (copy)")
    # Every field comes along (answer mode, tolerance and tests, grader notes, Lean, provenance...).
    copy = copied_row(problem, course_id=target.id, title=title, external_id=external_id)
    db.add(copy)
    db.flush()
    _approved_copy(db, solution, key, copy.id)
    audit.record(db, actor, target.id, "problem.copy", f"problem {copy.id}",
                 {"from_course": source.code, "from_problem": problem.id})
    db.commit()
    return copy
