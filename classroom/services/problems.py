"""Problems, their flawed solutions and answer keys.

The key is stored apart from the solution and only the functions whose names
say "with_key" return it; views for students use `student_view`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from sqlmodel import Session, select

from ..models import ERROR_KINDS, AnswerKey, Course, FlawedSolution, Problem, Submission, User
from .. import jobs
from . import answer_checks, audit, courses
from .errors import ErrorCollector, InvalidInput, NotFound
from ..content import PROSE, clean_code_line, is_code, solution_format_of
from .validation import LIMITS, clean_text, parse_int


@dataclass
class ProblemDraft:
    """What an instructor types for a problem; validated by `validate_draft`."""
    title: str
    statement: str
    reference_solution: str
    reference_answer: str
    steps: Sequence[str]
    flawed_final_answer: str
    first_wrong_step: object
    reason: str
    error_kind: str = "other"
    lean_header: str = ""
    lean_statement: str = ""
    # "prose" (Markdown + LaTeX) or a programming language: then each step is one line of the program.
    solution_format: str = PROSE
    # A correct solution: no step is wrong (first_wrong_step is ignored, reason optional: why it is right).
    correct: bool = False
    answer_mode: str = "auto"
    answer_tolerance: Optional[str] = None
    answer_tests: object = ()  # a list of {answer, correct}, or the form's text (answer_checks)
    # Instructions to the grader model for this problem (trusted text in its prompt), optional.
    grader_notes: str = ""


def clean_steps(raw_steps: Sequence[str], solution_format: str = PROSE) -> list[str]:
    """Prose: empty boxes are left out. A program: each step is one line and a blank line is a step (it keeps
    the numbering); the problem form leaves out its spare empty boxes after the last line itself."""
    if is_code(solution_format):
        return _clean_program(raw_steps)
    # A step's error names its box (steps-0, steps-1, ... as the form numbers them).
    steps = [clean_text(s, f"Step {i + 1}", "step", required=False, field=f"steps-{i}")
             for i, s in enumerate(raw_steps or [])]
    steps = [s for s in steps if s]
    if not steps:
        raise InvalidInput("A flawed solution needs at least one step.", field="steps")
    if len(steps) > LIMITS["steps"]:
        raise InvalidInput(f"A flawed solution can have at most {LIMITS['steps']} steps.", field="steps")
    return steps


def _clean_program(raw_steps: Sequence[str]) -> list[str]:
    """Every line kept as given (indentation too; trailing blanks and carriage returns dropped), blank ones
    included: a bank's key counts them, and an export gives back exactly what was imported."""
    lines = []
    for i, raw in enumerate(raw_steps or []):
        line = clean_code_line("" if raw is None else str(raw))
        if "\n" in line:
            raise InvalidInput(f"Step {i + 1} has more than one line; in a program each line is a step.",
                               field=f"steps-{i}")
        if len(line) > LIMITS["step"]:
            raise InvalidInput(f"Step {i + 1} is too long ({len(line):,} characters; the limit is "
                               f"{LIMITS['step']:,}).", field=f"steps-{i}")
        lines.append(line)
    if not any(line.strip() for line in lines):
        raise InvalidInput("A program needs at least one line of code.", field="steps")
    if len(lines) > LIMITS["steps"]:
        raise InvalidInput(f"A flawed solution can have at most {LIMITS['steps']} steps.", field="steps")
    return lines


def validate_draft(d: ProblemDraft, reason_later: bool = False) -> ProblemDraft:
    """The draft, cleaned; or one InvalidInput naming every field that is wrong (field_errors).
    `reason_later`: a key kept as a draft may wait for its reason (a bank without reasons)."""
    check = ErrorCollector()
    title = check.check(clean_text, d.title, "Title", "title", field="title")
    statement = check.check(clean_text, d.statement, "The problem statement", "statement", field="statement")
    reference_solution = check.check(clean_text, d.reference_solution, "The reference solution",
                                     "reference_solution", required=False, field="reference_solution")
    reference_answer = check.check(clean_text, d.reference_answer, "The reference answer", "final_answer",
                                   required=False, field="reference_answer")
    solution_format = check.check(_format, d.solution_format)
    steps = check.check(clean_steps, d.steps, solution_format or PROSE)
    flawed_final_answer = check.check(clean_text, d.flawed_final_answer, "The flawed final answer", "final_answer",
                                      required=False, field="flawed_final_answer")
    if d.correct:
        first = None
        kind = "other"
        reason = check.check(clean_text, d.reason, "Why the solution is right", "reason", required=False,
                             field="reason")
    else:
        first = _first_wrong_step(check, d.first_wrong_step, steps)
        kind = (d.error_kind or "other").strip()
        if kind not in ERROR_KINDS:
            check.add("error_kind", "Choose the kind of error from the list.")
        reason = check.check(clean_text, d.reason, "Why the step is wrong", "reason", required=not reason_later,
                             field="reason")
    lean_header = check.check(clean_text, d.lean_header, "The Lean header", "lean", required=False,
                              field="lean_header")
    lean_statement = check.check(clean_text, d.lean_statement, "The Lean statement", "lean", required=False,
                                 field="lean_statement")
    grader_notes = check.check(clean_text, d.grader_notes or "", "The grader instructions", "grader_notes",
                               required=False, field="grader_notes")
    mode_and_tolerance = check.check(answer_checks.validate_mode, d.answer_mode, d.answer_tolerance)
    tests = check.check(answer_checks.parse_answer_tests, d.answer_tests)
    check.raise_any()
    mode, tolerance = mode_and_tolerance
    return ProblemDraft(
        title=title, statement=statement, reference_solution=reference_solution, reference_answer=reference_answer,
        steps=steps, flawed_final_answer=flawed_final_answer, first_wrong_step=first, reason=reason,
        error_kind=kind, lean_header=lean_header, lean_statement=lean_statement,
        solution_format=solution_format or PROSE, correct=bool(d.correct),
        answer_mode=mode, answer_tolerance=tolerance, answer_tests=tests, grader_notes=grader_notes or "",
    )


def _first_wrong_step(check: ErrorCollector, value, steps: Optional[list[str]]) -> Optional[int]:
    if value is None or str(value).strip() == "":
        check.add("first_wrong_step", "Enter the first wrong step's number, or tick “This solution is correct”.")
        return None
    first = check.check(parse_int, value, "The first wrong step", field="first_wrong_step")
    if first is not None and steps and not 1 <= first <= len(steps):
        check.add("first_wrong_step",
                  f"The first wrong step must be one of the steps, 1 to {len(steps)}; you entered {first}.")
    elif first is not None and steps and not steps[first - 1].strip():
        check.add("first_wrong_step", f"Step {first} is a blank line, with nothing in it to be wrong; "
                                      "choose the line where the error is.")
    return first


def _format(value) -> str:
    try:
        return solution_format_of(value)
    except ValueError as exc:
        raise InvalidInput(f"The solution's format: {exc}.", field="solution_format") from None


def _set_answer_checking(problem: Problem, d: ProblemDraft) -> None:
    """Store the answer mode, tolerance and tests; run the tests and count the ones that fail."""
    problem.answer_mode, problem.answer_tolerance = d.answer_mode, d.answer_tolerance
    problem.answer_tests = list(d.answer_tests)
    failing = [r for r in answer_checks.run_answer_tests(d.reference_answer, d.answer_mode, d.answer_tolerance,
                                                         problem.answer_tests) if not r.passed]
    problem.answer_tests_failed = len(failing)


def create_problem(db: Session, actor: User, course: Course, draft: ProblemDraft, *, origin: str = "hand",
                   origin_model: Optional[str] = None, external_id: Optional[str] = None,
                   commit: bool = True, approved: bool = True, question_type: Optional[str] = None) -> Problem:
    """`approved=False` keeps the solution a draft (a generated one): students see it only once approved."""
    courses.require_instructor(db, actor, course)
    d = validate_draft(draft, reason_later=not approved)
    problem = Problem(course_id=course.id, title=d.title, statement=d.statement,
                      reference_solution=d.reference_solution, reference_answer=d.reference_answer,
                      lean_header=d.lean_header, lean_statement=d.lean_statement, external_id=external_id,
                      question_type=question_type, grader_notes=d.grader_notes)
    _set_answer_checking(problem, d)
    db.add(problem)
    db.flush()
    _add_solution(db, problem, d, origin, origin_model, approved=approved)
    audit.record(db, actor, course.id, "problem.create", f"problem {problem.id}", {"title": d.title})
    if commit:
        db.commit()
    return problem


def _add_solution(db: Session, problem: Problem, d: ProblemDraft, origin: str,
                  origin_model: Optional[str], approved: bool = True,
                  reason_model: Optional[str] = None) -> FlawedSolution:
    solution = FlawedSolution(problem_id=problem.id, steps=list(d.steps), final_answer=d.flawed_final_answer,
                              approved=approved, solution_format=d.solution_format)
    db.add(solution)
    db.flush()
    db.add(AnswerKey(flawed_solution_id=solution.id, first_wrong_step=d.first_wrong_step, reason=d.reason,
                     error_kind=d.error_kind, origin=origin, origin_model=origin_model, reason_model=reason_model))
    return solution


def update_problem(db: Session, actor: User, problem: Problem, draft: ProblemDraft) -> Problem:
    """Edit a problem. If students already answered the current solution, the
    edited steps become a new solution so their step numbers keep their meaning."""
    course = db.get(Course, problem.course_id)
    courses.require_instructor(db, actor, course)
    d = validate_draft(draft)
    checked_before = (problem.reference_answer, problem.answer_mode, problem.answer_tolerance)
    for name in ("title", "statement", "reference_solution", "reference_answer", "lean_header", "lean_statement",
                 "grader_notes"):
        setattr(problem, name, getattr(d, name))
    _set_answer_checking(problem, d)
    recheck = checked_before != (problem.reference_answer, problem.answer_mode, problem.answer_tolerance)
    db.add(problem)
    solution, key = approved_solution_with_key(db, problem.id)
    waiting, waiting_key = imported_draft_with_key(db, problem.id) if solution is None else (None, None)
    if waiting is not None:  # an imported key that waited for its reason: completed here, and approved
        waiting.steps, waiting.final_answer = list(d.steps), d.flawed_final_answer
        waiting.solution_format, waiting.approved = d.solution_format, True
        if waiting_key.reason != d.reason:  # the instructor's own words, not the model's proposal
            waiting_key.reason_model = None
        waiting_key.first_wrong_step, waiting_key.reason = d.first_wrong_step, d.reason
        waiting_key.error_kind = d.error_kind
        db.add(waiting)
        db.add(waiting_key)
    elif solution is None:  # only drafts so far: what the instructor typed becomes the approved solution
        _add_solution(db, problem, d, "hand", None)
    elif db.exec(select(Submission.id).where(Submission.flawed_solution_id == solution.id)).first() is not None:
        _add_solution(db, problem, d, key.origin, key.origin_model,
                      reason_model=key.reason_model if key.reason == d.reason else None)
    else:
        solution.steps = list(d.steps)
        solution.final_answer = d.flawed_final_answer
        solution.solution_format = d.solution_format
        key.first_wrong_step = d.first_wrong_step
        if key.reason != d.reason:
            key.reason_model = None
        key.reason = d.reason
        key.error_kind = d.error_kind
        db.add(solution)
        db.add(key)
    audit.record(db, actor, course.id, "problem.update", f"problem {problem.id}", {"title": d.title})
    db.commit()
    if recheck and db.exec(select(Submission.id).where(Submission.problem_id == problem.id)).first() is not None:
        # Every answer already sent is checked again against the new reference, mode or tolerance.
        jobs.enqueue_recheck(problem.id, actor.id)
    return problem


# Drafts whose key waits for the instructor: a bank's without reasons, a model's failure from `run-benchmark
# --harvest-into`. Completing one on the edit form approves it and keeps its origin and model.
KEY_WAITING_ORIGINS = ("bank", "harvested")


def imported_draft_with_key(db: Session, problem_id: int) -> tuple[Optional[FlawedSolution], Optional[AnswerKey]]:
    """The newest draft that came from a bank or a benchmark (its key waits for the instructor), if any."""
    row = db.exec(
        select(FlawedSolution, AnswerKey).join(AnswerKey, AnswerKey.flawed_solution_id == FlawedSolution.id)
        .where(FlawedSolution.problem_id == problem_id, FlawedSolution.approved == False,  # noqa: E712
               AnswerKey.origin.in_(KEY_WAITING_ORIGINS))
        .order_by(FlawedSolution.id.desc())).first()
    return (row[0], row[1]) if row else (None, None)


def current_solution(db: Session, problem_id: int) -> FlawedSolution:
    solution = db.exec(
        select(FlawedSolution)
        .where(FlawedSolution.problem_id == problem_id, FlawedSolution.approved == True)  # noqa: E712
        .order_by(FlawedSolution.id.desc())
    ).first()
    if solution is None:
        raise NotFound("This problem has no approved flawed solution yet.")
    return solution


def current_solution_with_key(db: Session, problem_id: int) -> tuple[FlawedSolution, AnswerKey]:
    solution = current_solution(db, problem_id)
    return solution, key_for(db, solution.id)


def approved_solution_with_key(db: Session, problem_id: int) -> tuple[Optional[FlawedSolution], Optional[AnswerKey]]:
    """Like current_solution_with_key, but (None, None) when the problem has only drafts."""
    try:
        return current_solution_with_key(db, problem_id)
    except NotFound:
        return None, None


def key_for(db: Session, solution_id: int) -> AnswerKey:
    key = db.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution_id)).first()
    if key is None:  # pragma: no cover - created together with the solution
        raise NotFound("This solution has no answer key.")
    return key


def problems_of(db: Session, course_id: int) -> list[Problem]:
    return list(db.exec(select(Problem).where(Problem.course_id == course_id).order_by(Problem.id)))


def problem_for_instructor(db: Session, actor: User, problem_id: int) -> Problem:
    problem = db.get(Problem, problem_id)
    if problem is None:
        raise NotFound("That problem does not exist.")
    courses.require_instructor(db, actor, db.get(Course, problem.course_id), "That problem does not exist.")
    return problem


def student_view(db: Session, problem: Problem, solution: Optional[FlawedSolution] = None) -> dict:
    """What a student may see: statement and numbered steps, never the key.

    `solution` (an instructor's preview of a draft) replaces the current approved one."""
    if solution is None:
        solution = current_solution(db, problem.id)
    return {
        "id": problem.id,
        "title": problem.title,
        "statement": problem.statement,
        "steps": [{"number": i, "text": text} for i, text in enumerate(solution.steps, start=1)],
        "solution_format": solution.solution_format or PROSE,
        "flawed_final_answer": solution.final_answer,
        "has_lean": bool(problem.lean_statement),
        "lean_header": problem.lean_header,
        "lean_statement": problem.lean_statement,
        "solution_id": solution.id,
    }
