"""Grade one teach-mode conversation (docs/teach.md): its submission's components.

- `revision`: the model's final answer matches the reference, by the answer checker (exact).
- `teaching`: the grader model judges the student's messages against the answer key (llm/teach_grader.py);
  without a grader model a person decides in the review queue.
- `efficiency` (only where the assignment weighs it): full marks for solving it with one message, down
  linearly to none at the turn limit; nothing when the model was not taught.

A judge's reply is stored per (submission, model, prompt version) like a critique's, and paid for once.
"""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from ..llm import ModelSettings, client_for
from ..llm import teach_grader
from ..models import (
    BY_EXACT, BY_MODEL, GRADE_GRADED, GRADE_NEEDS_REVIEW, MESSAGE_DONE, MESSAGE_SENT, SPEAKER_STUDENT, AnswerKey,
    Assignment, Conversation, ConversationMessage, FlawedSolution, Grade, Problem, Submission,
    utcnow,
)
from . import ANSWER_CORRECT
from .answers import check_answer
from .model_grading import reply_once
from .pipeline import REVIEW_FLAGS, REVIEW_NOTE

TEACH_COMPONENTS = ("revision", "teaching", "efficiency")


def load_work(db: Session, conv: Conversation) -> tuple[teach_grader.TeachingWork, Problem]:
    problem = db.get(Problem, conv.problem_id)
    solution = db.get(FlawedSolution, conv.flawed_solution_id)
    key = db.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution.id)).one()
    messages = list(db.exec(select(ConversationMessage).where(ConversationMessage.conversation_id == conv.id)
                            .order_by(ConversationMessage.position)))
    # What was said: answered messages and finished replies (the opening included), as the tutee saw them.
    transcript = [(m.speaker, m.text) for m in messages if m.status in (MESSAGE_SENT, MESSAGE_DONE)]
    used = sum(1 for m in messages if m.speaker == SPEAKER_STUDENT and m.status == MESSAGE_SENT)
    work = teach_grader.TeachingWork(
        problem_statement=problem.statement, reference_solution=problem.reference_solution,
        reference_answer=problem.reference_answer, steps=list(solution.steps),
        key_first_wrong_step=key.first_wrong_step, key_reason=key.reason, transcript=transcript,
        model_final_answer=conv.model_final_answer, solved=conv.model_answer_correct, turns_used=used,
        turn_limit=conv.turn_limit)
    return work, problem


def judgement_for(db: Session, submission_id: int, work: teach_grader.TeachingWork,
                  settings: Optional[ModelSettings]) -> Optional[teach_grader.TeachingReply]:
    """The grader model's judgement of the teaching (stored once per version); None without a grader model."""
    if settings is None:
        return None
    return reply_once(db, submission_id, settings.model, teach_grader.PROMPT_VERSION, teach_grader.TeachingReply,
                      lambda: teach_grader.judge(client_for(settings, "grader"), work))


def grade_conversation(db: Session, submission: Submission, conv: Conversation,
                       settings: Optional[ModelSettings]) -> list[Grade]:
    """Every component of a teach-mode submission (not yet committed)."""
    work, problem = load_work(db, conv)
    assignment = db.get(Assignment, submission.assignment_id)
    check = check_answer(conv.model_final_answer, problem.reference_answer, problem.answer_mode,
                         problem.answer_tolerance)
    solved = check.verdict == ANSWER_CORRECT
    said = conv.model_final_answer or "no final answer"
    grades = [Grade.new(submission_id=submission.id, component="revision", status=GRADE_GRADED, decided_by=BY_EXACT,
                        score=1.0 if solved else 0.0,
                        feedback=(f"The model's final answer, {said}, is right: you taught it." if solved else
                                  f"The model's final answer is still {said}, which is not right."))]
    judgement = judgement_for(db, submission.id, work, settings)
    if judgement is None:
        grades.append(Grade.new(submission_id=submission.id, component="teaching", status=GRADE_NEEDS_REVIEW,
                                feedback=REVIEW_NOTE))
    else:
        held = [f for f in REVIEW_FLAGS if f in judgement.flags]
        common = dict(submission_id=submission.id, component="teaching", model_name=judgement.model_name,
                      prompt_version=judgement.prompt_version, tokens_in=judgement.tokens_in,
                      tokens_out=judgement.tokens_out, latency_ms=judgement.latency_ms,
                      raw_reply=judgement.raw_reply, flags=list(judgement.flags))
        if held:
            grades.append(Grade.new(status=GRADE_NEEDS_REVIEW, score=None, feedback=(
                f"The grader model's reply was flagged {', '.join(held)}, so it does not count: a person decides. "
                f"The model suggested {judgement.teaching_score:.0%}."), **common))
        else:
            grades.append(Grade.new(status=GRADE_GRADED, decided_by=BY_MODEL, score=judgement.teaching_score,
                                    feedback=judgement.feedback, **common))
    if assignment.weight_efficiency:
        grades.append(efficiency_grade(submission, solved, work.turns_used, work.turn_limit))
    now = utcnow()
    for g in grades:
        g.created_at = g.updated_at = now
    return grades


def efficiency_grade(submission: Submission, solved: bool, used: int, limit: int) -> Grade:
    if not solved:
        score, note = 0.0, "The model was not taught, so there is no credit for fewer messages."
    else:
        score = 1.0 if limit <= 1 else max(0.0, (limit - used) / (limit - 1))
        note = f"Taught in {used} of {limit} messages."
    return Grade.new(submission_id=submission.id, component="efficiency", status=GRADE_GRADED, decided_by=BY_EXACT,
                     score=round(score, 4), feedback=note)
