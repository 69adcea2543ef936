"""Grade one submission version.

Order matters: exact facts (the marked step, the SymPy answer check) are
decided first and handed to the grader model, which may not contradict them.
Without a grader model, the explanation and written correction wait for a
person in the review queue; nothing here ever guesses a score.

The job builds the GradingInput once (`grading_input`, from the rows it read
with the job; the answer is checked there, once) and hands the same input to
the model and to `grade_submission`.
"""
from __future__ import annotations

from typing import Mapping, Optional

from ..models import (
    BY_EXACT, BY_LEAN, BY_MODEL, GRADE_ERROR, GRADE_GRADED, GRADE_NEEDS_REVIEW, AnswerKey, FlawedSolution, Grade,
    Problem, Submission, utcnow,
)
from ..llm.grader import FLAG_INJECTION, FLAG_KEY_ECHO
from . import ANSWER_ABSENT, GradingInput, ModelVerdict
from .answers import check_answer

REVIEW_NOTE = "Waiting for your instructor's review."


def grading_input(submission: Submission, problem: Problem, solution: FlawedSolution,
                  key: AnswerKey) -> GradingInput:
    """The plain input every grader reads; the final answer is checked exactly here, once."""
    return GradingInput(
        problem_statement=problem.statement,
        reference_solution=problem.reference_solution,
        reference_answer=problem.reference_answer,
        steps=list(solution.steps),
        key_first_wrong_step=key.first_wrong_step,
        key_reason=key.reason,
        key_error_kind=key.error_kind,
        student_step=submission.error_step,
        student_explanation=submission.explanation,
        student_correction=submission.correction,
        student_final_answer=submission.final_answer,
        answer_check=check_answer(submission.final_answer, problem.reference_answer, problem.answer_mode,
                                  problem.answer_tolerance),
        submission_id=submission.id,
        solution_format=solution.solution_format,
        grader_notes=problem.grader_notes or "",
    )


def location_feedback(student_step: Optional[int], key_step: Optional[int]) -> str:
    """What the exact location check says, for each of the four cases (a correct solution's key is None)."""
    if key_step is None:
        if student_step is None:
            return "Right: no step of this solution is wrong."
        return f"Step {student_step} is not wrong: this solution is correct (a false alarm)."
    if student_step is None:
        return "This solution does have a wrong step."
    if student_step == key_step:
        return f"Step {student_step} is the first wrong step."
    return f"Step {student_step} is not the first wrong step."


def exact_grades(inp: GradingInput, submission: Submission, has_reference_answer: bool) -> list[Grade]:
    grades = []
    # On a correct solution (key None) the location is right only when the student said no step is wrong;
    # on a flawed one "no step is wrong" (None) never matches the key's step.
    located = inp.student_step == inp.key_first_wrong_step
    grades.append(Grade.new(
        submission_id=submission.id, component="location", status=GRADE_GRADED, decided_by=BY_EXACT,
        score=1.0 if located else 0.0, feedback=location_feedback(inp.student_step, inp.key_first_wrong_step),
    ))
    # A correct solution needs no correction: its weight moves to the other components (scoring).
    if has_reference_answer and inp.key_first_wrong_step is not None:
        check = inp.answer_check
        if check.verdict == ANSWER_ABSENT:
            score, note = 0.0, "No final answer was given."
        else:
            score, note = check.score, check.note
        grades.append(Grade.new(submission_id=submission.id, component="final_answer", status=GRADE_GRADED,
                                decided_by=BY_EXACT, score=score, feedback=note))
    return grades


def review_grades(submission: Submission, correct_solution: bool = False) -> list[Grade]:
    grades = [Grade.new(submission_id=submission.id, component="explanation", status=GRADE_NEEDS_REVIEW,
                        feedback=REVIEW_NOTE)]
    if correct_solution:
        return grades
    if submission.correction.strip():
        grades.append(Grade.new(submission_id=submission.id, component="correction", status=GRADE_NEEDS_REVIEW,
                                feedback=REVIEW_NOTE))
    else:
        grades.append(Grade.new(submission_id=submission.id, component="correction", status=GRADE_GRADED,
                                decided_by=BY_EXACT, score=0.0, feedback="No written correction was given."))
    return grades


# A reply with one of these flags does not count: a person decides, and its feedback never reaches the
# student (text that tried to steer the grader; feedback that still repeated the key after a rewrite).
REVIEW_FLAGS = (FLAG_INJECTION, FLAG_KEY_ECHO)


def model_grades(submission: Submission, verdict: ModelVerdict, correct_solution: bool = False,
                 confidence_threshold: Optional[float] = None) -> list[Grade]:
    common = dict(
        submission_id=submission.id, status=GRADE_GRADED, decided_by=BY_MODEL, model_name=verdict.model_name,
        prompt_version=verdict.prompt_version, tokens_in=verdict.tokens_in, tokens_out=verdict.tokens_out,
        latency_ms=verdict.latency_ms, raw_reply=verdict.raw_reply, flags=list(verdict.flags),
        model_confidence=verdict.confidence, calibration_examples=verdict.calibration_examples,
    )
    held = [f for f in REVIEW_FLAGS if f in verdict.flags]
    unsure = (not held and confidence_threshold is not None and verdict.confidence is not None
              and verdict.confidence < confidence_threshold)
    why = ""
    if held:
        # The model's reply stays beside the grade (raw_reply, flags) for the instructor to weigh.
        common.update(status=GRADE_NEEDS_REVIEW, decided_by=None)
        why = f"The grader model's reply was flagged {', '.join(held)}, so it does not count: a person decides. "
    elif unsure:
        # A verdict exists but the model doubts it: it waits for a person, shown as a suggestion.
        common.update(status=GRADE_NEEDS_REVIEW, decided_by=None)
        why = (f"The grader model was not sure (confidence {verdict.confidence:.0%}, below this assignment's "
               f"{confidence_threshold:.0%}), so a person decides. ")

    def waiting(component: str, suggested: float) -> Grade:
        return Grade.new(component=component, score=None, feedback=why + (
            f"The model suggested {suggested:.0%} for the {component}."),
            suggested_score=suggested if unsure else None, **common)

    if held or unsure:
        explanation = waiting("explanation", verdict.explanation_score)
    else:
        explanation = Grade.new(component="explanation", score=verdict.explanation_score, feedback=verdict.feedback,
                                **common)
    if correct_solution:
        return [explanation]
    if submission.correction.strip() and (held or unsure):
        correction = waiting("correction", verdict.correction_score)
    elif submission.correction.strip():
        correction = Grade.new(component="correction", score=verdict.correction_score,
                               feedback=f"Correction judged {verdict.correction_verdict.replace('_', ' ')}.", **common)
    else:
        correction = Grade.new(submission_id=submission.id, component="correction", status=GRADE_GRADED,
                               decided_by=BY_EXACT, score=0.0, feedback="No written correction was given.")
    return [explanation, correction]


def lean_grade(submission: Submission, problem: Problem, config: Mapping) -> Optional[Grade]:
    if not problem.lean_statement:
        return None
    if not submission.lean_proof.strip():
        return Grade.new(submission_id=submission.id, component="lean", status=GRADE_GRADED, decided_by=BY_LEAN,
                         score=0.0, feedback="No Lean proof was submitted.")
    from ..lean import get_checker, lean_status

    checker = get_checker(config)
    if checker is None:
        _enabled, how = lean_status(config)
        return Grade.new(submission_id=submission.id, component="lean", status=GRADE_NEEDS_REVIEW,
                         feedback=f"{how} Your instructor will review the proof.")
    result = checker.check(problem.lean_header, problem.lean_statement, submission.lean_proof)
    details = _json(result.to_dict())
    if result.status == "error":
        # The proof was not checked (server setup, a bad header): a person decides, not a zero.
        return Grade.new(submission_id=submission.id, component="lean", status=GRADE_ERROR, decided_by=BY_LEAN,
                         feedback=f"Lean could not check this proof: {result.reason}", raw_reply=details)
    return Grade.new(submission_id=submission.id, component="lean", status=GRADE_GRADED, decided_by=BY_LEAN,
                     score=1.0 if result.accepted else 0.0, feedback=result.reason, raw_reply=details)


def _json(value) -> str:
    import json
    return json.dumps(value, ensure_ascii=False, default=str)


def grade_submission(inp: GradingInput, submission: Submission, problem: Problem, config: Mapping,
                     model_verdict: Optional[ModelVerdict] = None,
                     confidence_threshold: Optional[float] = None) -> list[Grade]:
    """All component grades for one version (not yet committed).

    `model_verdict` is passed in by the job when a grader model is configured;
    the job owns calling and caching the model so this stays a pure decision.
    """
    grades = exact_grades(inp, submission, bool(problem.reference_answer.strip()))
    correct_solution = inp.key_first_wrong_step is None
    grades += (model_grades(submission, model_verdict, correct_solution, confidence_threshold) if model_verdict
               else review_grades(submission, correct_solution))
    lean = lean_grade(submission, problem, config)
    if lean is not None:
        grades.append(lean)
    now = utcnow()
    for g in grades:
        g.created_at = g.updated_at = now
    return grades
