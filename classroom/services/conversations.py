"""Teach mode: a student's conversation with the tutee model, which plays the author of a flawed solution.

Every message is stored the moment it exists: the student's before the model is asked (so nothing typed
is lost when the model is slow or down), the model's reply while it is being written (so a reload shows
what has arrived and follows the rest). A conversation ends solved (the model's final answer matches the
reference, by the same answer checker as every final answer), exhausted (the student used the turn
limit), ended (by the student) or at the deadline (still open when an assignment that takes no late work
closed: `end_overdue`, on the next access and by the workers' recovery); the ended conversation is the
attempt's submission.

The reply itself is written by `write_reply`, called in the request (the API's non-streaming form) or in
a background thread (`write_reply_in_background`, the page's streaming form) while the page follows the
stored text.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Optional

from sqlalchemy import func, update
from sqlmodel import Session, select

from ..config import model_settings
from ..grading import ANSWER_CORRECT
from ..grading.answers import check_answer
from ..llm import tutee
from ..llm.client import ModelError, ModelSettings, client_for
from ..models import (
    CONVERSATION_DEADLINE, CONVERSATION_ENDED, CONVERSATION_EXHAUSTED, CONVERSATION_OPEN, CONVERSATION_SOLVED, MESSAGE_DONE,
    MESSAGE_FAILED, MESSAGE_PENDING, MESSAGE_SENT, MESSAGE_STREAMING, MESSAGE_UNANSWERED, MODE_TEACH,
    SPEAKER_STUDENT, SPEAKER_TUTEE, Assignment, AssignmentProblem, Conversation, ConversationMessage,
    FlawedSolution, GradingJob, Problem, Submission, User, utcnow,
)
from .. import jobs
from . import assignments, courses
from .errors import Conflict, DeadlinePassed, Forbidden, InvalidInput, NotFound, TooManyRequests, Unavailable
from .validation import clean_text

log = logging.getLogger(__name__)

# How often a reply being written is saved, so a page that reloads mid-reply finds it.
SAVE_EVERY_SECONDS = 0.25
OPENING_VERSION = "opening"  # the first message is the platform's, not the model's

STATE_WORDS = {
    CONVERSATION_OPEN: "Open",
    CONVERSATION_SOLVED: "Solved: the model corrected its answer",
    CONVERSATION_EXHAUSTED: "Turn limit reached",
    CONVERSATION_ENDED: "Ended by the student",
    CONVERSATION_DEADLINE: "Ended at the deadline",
}


# --------------------------------------------------------------------------- the model's availability

def tutee_settings(config: Mapping) -> Optional[ModelSettings]:
    """The tutee's endpoint: TUTEE_MODEL, else GRADER_MODEL's model; None when neither is set."""
    return model_settings(config, "TUTEE_MODEL")


def teach_unavailable_reason(config: Mapping) -> Optional[str]:
    """Why teach mode cannot be used on this server, or None when it can."""
    if tutee_settings(config) is None:
        return ("Teach mode needs a model to play the student: set TUTEE_MODEL (or GRADER_MODEL) and the "
                "endpoint settings OPENAI_BASE_URL and OPENAI_API_KEY, then restart the server.")
    return None


def _require_model(config: Mapping) -> ModelSettings:
    settings = tutee_settings(config)
    if settings is None:
        raise Unavailable("This problem is a conversation with a model, and no model is set up on this server "
                          "at the moment. Your instructor has been shown why; try again later.")
    return settings


# --------------------------------------------------------------------------- reading

@dataclass
class Transcript:
    conversation: Conversation
    assignment: Assignment
    problem: Problem
    messages: list[ConversationMessage]
    teaches: bool  # the reader is one of the course's instructors

    @property
    def turns_used(self) -> int:
        return turns_used(self.messages)

    @property
    def turns_left(self) -> int:
        return max(0, self.conversation.turn_limit - self.turns_used)

    @property
    def waiting_reply(self) -> Optional[ConversationMessage]:
        """The reply being written, if any."""
        last = self.messages[-1] if self.messages else None
        return last if last is not None and last.status in (MESSAGE_PENDING, MESSAGE_STREAMING) else None

    @property
    def unanswered(self) -> Optional[ConversationMessage]:
        """The student's last message when the model failed to answer it (it can be sent again)."""
        for m in reversed(self.messages):
            if m.speaker == SPEAKER_STUDENT:
                return m if m.status == MESSAGE_UNANSWERED else None
        return None

    @property
    def last_error(self) -> str:
        last = self.messages[-1] if self.messages else None
        return last.error if last is not None and last.status == MESSAGE_FAILED else ""


def display_text(text: str, streaming: bool = False) -> str:
    """A reply as the student reads it: its FINAL ANSWER line is shown as the badge instead."""
    return tutee.display_text(text, streaming)


def turns_used(messages) -> int:
    """Messages the student sent that count against the turn limit (one the model never answered does not)."""
    return sum(1 for m in messages if m.speaker == SPEAKER_STUDENT and m.status == MESSAGE_SENT)


def messages_of(db: Session, conversation_id: int) -> list[ConversationMessage]:
    return list(db.exec(select(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
                        .order_by(ConversationMessage.position)))


def transcript(db: Session, actor: User, conversation_id: int, config: Optional[Mapping] = None) -> Transcript:
    """Its student and the course's instructors may read a conversation; to everyone else it does not exist."""
    conv = db.get(Conversation, conversation_id)
    if conv is None:
        raise NotFound("That conversation does not exist.")
    assignment = db.get(Assignment, conv.assignment_id)
    teaches = courses.is_instructor_of(db, actor, assignment.course_id)
    if not teaches and conv.student_id != actor.id:
        raise NotFound("That conversation does not exist.")
    messages = messages_of(db, conv.id)
    if config is not None and _expire_stale(db, conv, messages, config):
        messages = messages_of(db, conv.id)
    if conv.state == CONVERSATION_OPEN and end_overdue(db, config, conversation_id=conv.id):
        db.refresh(conv)
        messages = messages_of(db, conv.id)
    return Transcript(conv, assignment, db.get(Problem, conv.problem_id), messages, teaches)


def scores_of(db: Session, t: Transcript):
    """(grades, score) of an ended conversation's submission, for instructors always and for its student
    once grades are released (and no other open assignment asks the same problem); else None."""
    from . import submissions
    from .scoring import score_submission

    conv = t.conversation
    if conv.submission_id is None:
        return None
    if not t.teaches and (t.assignment.released_at is None
                          or conv.problem_id in assignments.still_asked_elsewhere(db, t.assignment)):
        return None
    submission = db.get(Submission, conv.submission_id)
    grades = submissions.grades_of(db, submission.id)
    return grades, score_submission(t.assignment, len(assignments.problems_in(db, t.assignment.id)), submission,
                                    grades)


@dataclass
class TeachOverview:
    """Teach mode on an instructor's assignment page: every conversation and the model's use."""
    rows: list  # (conversation, student, problem, messages sent)
    tokens_used: int
    token_budget: int  # 0 = no limit
    messages_per_hour: int
    unavailable: Optional[str]


def assignment_overview(db: Session, assignment: Assignment, config: Mapping) -> Optional[TeachOverview]:
    """None when the assignment has no teach-mode problem."""
    if not any(link.mode == MODE_TEACH for link in modes_of(db, assignment.id).values()):
        return None
    sent = (select(func.count(ConversationMessage.id))
            .where(ConversationMessage.conversation_id == Conversation.id,
                   ConversationMessage.speaker == SPEAKER_STUDENT, ConversationMessage.status == MESSAGE_SENT)
            .scalar_subquery())
    rows = db.exec(select(Conversation, User, Problem, sent)
                   .join(User, User.id == Conversation.student_id).join(Problem, Problem.id == Conversation.problem_id)
                   .where(Conversation.assignment_id == assignment.id)
                   .order_by(User.name, Problem.id, Conversation.attempt)).all()
    if any(c.state == CONVERSATION_OPEN for c, _u, _p, _n in rows) and end_overdue(
            db, config, assignment_id=assignment.id):
        rows = db.exec(select(Conversation, User, Problem, sent)
                       .join(User, User.id == Conversation.student_id)
                       .join(Problem, Problem.id == Conversation.problem_id)
                       .where(Conversation.assignment_id == assignment.id)
                       .order_by(User.name, Problem.id, Conversation.attempt)).all()
    # Students named as the course lists them: the roster's name, else their own.
    listed = courses.listed_people(db, assignment.course_id, {u.id for _c, u, _p, _n in rows})
    rows = [(c, listed.get(u.id, u), p, n) for c, u, p, n in rows]
    return TeachOverview(rows=rows, tokens_used=course_tokens_used(db, assignment.course_id),
                         token_budget=int(config.get("TUTEE_COURSE_TOKEN_BUDGET") or 0),
                         messages_per_hour=int(config.get("TUTEE_MESSAGES_PER_HOUR") or 60),
                         unavailable=teach_unavailable_reason(config))


def transcript_of_submission(db: Session, actor: User, submission_id: int) -> Optional[Transcript]:
    """The conversation a submission holds, if it is a teach-mode one."""
    conv = db.exec(select(Conversation).where(Conversation.submission_id == submission_id)).first()
    return None if conv is None else transcript(db, actor, conv.id)


def conversations_of(db: Session, assignment_id: int, problem_id: int, student_id: int) -> list[Conversation]:
    """A student's attempts at one problem, newest first (one left open past the deadline ends first)."""
    end_overdue(db, None, assignment_id=assignment_id, problem_id=problem_id, student_id=student_id)
    return list(db.exec(select(Conversation).where(
        Conversation.assignment_id == assignment_id, Conversation.problem_id == problem_id,
        Conversation.student_id == student_id).order_by(Conversation.attempt.desc())))


def link_of(db: Session, assignment_id: int, problem_id: int) -> Optional[AssignmentProblem]:
    return db.exec(select(AssignmentProblem).where(AssignmentProblem.assignment_id == assignment_id,
                                                   AssignmentProblem.problem_id == problem_id)).first()


def modes_of(db: Session, assignment_id: int) -> dict[int, AssignmentProblem]:
    """problem id -> its link (mode, turn limit, attempts) in the assignment."""
    return {ap.problem_id: ap for ap in db.exec(
        select(AssignmentProblem).where(AssignmentProblem.assignment_id == assignment_id))}


def _stale_after(config: Mapping) -> float:
    settings = tutee_settings(config)
    if settings is None:
        return 120.0
    return settings.timeout * settings.max_attempts + 30.0


def _expire_stale(db: Session, conv: Conversation, messages: list[ConversationMessage], config: Mapping) -> bool:
    """A reply nobody has written to for longer than the model may take (its process stopped) failed:
    the student's message becomes one to send again."""
    last = messages[-1] if messages else None
    if last is None or last.status not in (MESSAGE_PENDING, MESSAGE_STREAMING):
        return False
    if (utcnow() - last.updated_at).total_seconds() < _stale_after(config):
        return False
    _fail(db, conv, last, "The model's reply stopped arriving. Your message is kept: send it again.")
    return True


# --------------------------------------------------------------------------- starting

def start(db: Session, actor: User, assignment_id: int, problem_id: int, config: Mapping,
          now: Optional[datetime] = None) -> Transcript:
    """A new attempt: the conversation opens with the model presenting its (flawed) solution."""
    from .submissions import _target  # one query for every access check, as a critique's submit uses

    assignment, problem, solution = _target(db, actor, assignment_id, problem_id)
    link = link_of(db, assignment.id, problem.id)
    if link is None or link.mode != MODE_TEACH:
        raise InvalidInput("This problem asks for a critique, not a conversation: submit a critique instead.")
    _require_open(assignment, now)
    _require_model(config)
    attempts = conversations_of(db, assignment.id, problem.id, actor.id)
    if attempts and attempts[0].state == CONVERSATION_OPEN:
        raise Conflict("You already have an open conversation for this problem: carry on with it, or end it "
                       "before starting a new attempt.")
    if len(attempts) >= link.attempts_allowed:
        raise Conflict(f"You have used every attempt at this problem ({link.attempts_allowed}); your last "
                       "conversation is the one that counts.")
    conv = Conversation(assignment_id=assignment.id, problem_id=problem.id, student_id=actor.id,
                        flawed_solution_id=solution.id, attempt=len(attempts) + 1, turn_limit=link.turn_limit,
                        model_final_answer=solution.final_answer[:200],
                        model_answer_correct=_matches(problem, solution.final_answer))
    db.add(conv)
    db.flush()
    db.add(ConversationMessage(
        conversation_id=conv.id, position=0, speaker=SPEAKER_TUTEE, status=MESSAGE_DONE,
        text=tutee.opening_text(solution.steps, solution.final_answer, solution.solution_format),
        final_answer=solution.final_answer[:200], prompt_version=OPENING_VERSION))
    db.commit()
    return transcript(db, actor, conv.id)


def _require_open(assignment: Assignment, now: Optional[datetime] = None) -> None:
    state = assignments.status(assignment, now or utcnow())
    if state == "not_open":
        raise NotFound("That assignment is not open yet.")
    if state == "closed":
        raise DeadlinePassed("The deadline for this assignment has passed and it does not accept late work.")


def _matches(problem: Problem, answer: Optional[str]) -> bool:
    if not answer:
        return False
    try:
        check = check_answer(answer, problem.reference_answer, problem.answer_mode, problem.answer_tolerance)
    except ValueError:
        return False
    return check.verdict == ANSWER_CORRECT


# --------------------------------------------------------------------------- the student's messages

def post_message(db: Session, actor: User, conversation_id: int, text, config: Mapping,
                 now: Optional[datetime] = None) -> tuple[Transcript, ConversationMessage]:
    """Save the student's message and an empty reply waiting for the model, in one commit; the caller then
    has the reply written (`write_reply`, now or in the background). Sending the text of a message the
    model failed to answer sends that message again instead of adding one."""
    t = transcript(db, actor, conversation_id, config)
    conv = t.conversation
    _require_participant(t, actor)
    _require_open(t.assignment, now)
    if conv.state != CONVERSATION_OPEN:
        raise Conflict(f"This conversation has ended ({STATE_WORDS[conv.state].lower()}). "
                       "Its transcript is your submission.")
    if t.waiting_reply is not None:
        raise Conflict("The model is still answering your last message; wait for its reply before sending another.")
    body = clean_text(text, "Your message", "message", field="text")
    settings = _require_model(config)
    again = t.unanswered if t.unanswered is not None and t.unanswered.text == body else None
    if again is None and t.turns_left <= 0:
        raise Conflict("You have used every message of this conversation.")
    _check_limits(db, actor, t.assignment, config, again is None)
    position = t.messages[-1].position + 1
    if again is not None:
        again.status = MESSAGE_SENT
        again.updated_at = utcnow()
        db.add(again)
    else:
        db.add(ConversationMessage(conversation_id=conv.id, position=position, speaker=SPEAKER_STUDENT,
                                   status=MESSAGE_SENT, text=body))
        position += 1
    reply = ConversationMessage(conversation_id=conv.id, position=position, speaker=SPEAKER_TUTEE,
                                status=MESSAGE_PENDING, model_name=settings.model,
                                prompt_version=tutee.PROMPT_VERSION)
    db.add(reply)
    db.commit()
    return transcript(db, actor, conv.id), reply


def _require_participant(t: Transcript, actor: User) -> None:
    if t.conversation.student_id != actor.id:
        raise Forbidden("Instructors read conversations but do not take part in them.")


def _check_limits(db: Session, actor: User, assignment: Assignment, config: Mapping, new_message: bool) -> None:
    if new_message:
        per_hour = int(config.get("TUTEE_MESSAGES_PER_HOUR") or 60)
        sent = messages_in_last_hour(db, actor.id)
        if sent >= per_hour:
            raise TooManyRequests(f"You have sent {sent} messages to the model in the last hour, the most this "
                                  "server allows. Your conversation is kept: wait a while, then carry on.")
    budget = int(config.get("TUTEE_COURSE_TOKEN_BUDGET") or 0)
    if budget and course_tokens_used(db, assignment.course_id) >= budget:
        raise TooManyRequests("This course has used all the model time its instructors set aside, so the model "
                              "cannot answer now. Your conversation is kept; tell your instructor.")


def messages_in_last_hour(db: Session, student_id: int) -> int:
    since = utcnow() - timedelta(hours=1)
    return db.exec(select(func.count(ConversationMessage.id))
                   .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
                   .where(Conversation.student_id == student_id, ConversationMessage.speaker == SPEAKER_STUDENT,
                          ConversationMessage.created_at >= since)).one()


def course_tokens_used(db: Session, course_id: int) -> int:
    """Tokens the tutee model has spent on the course's conversations, prompts and replies together."""
    total = db.exec(select(func.coalesce(func.sum(ConversationMessage.tokens_in), 0)
                           + func.coalesce(func.sum(ConversationMessage.tokens_out), 0))
                    .join(Conversation, Conversation.id == ConversationMessage.conversation_id)
                    .join(Assignment, Assignment.id == Conversation.assignment_id)
                    .where(Assignment.course_id == course_id)).one()
    return int(total or 0)


def end(db: Session, actor: User, conversation_id: int, config: Mapping) -> Transcript:
    """The student ends the conversation: it becomes the attempt's submission."""
    t = transcript(db, actor, conversation_id, config)
    _require_participant(t, actor)
    if t.conversation.state != CONVERSATION_OPEN:
        return t  # ended already: ending twice changes nothing
    if t.waiting_reply is not None:
        raise Conflict("The model is still answering; wait for its reply, then end the conversation.")
    job = _finish(db, t.conversation, CONVERSATION_ENDED)
    db.commit()
    jobs.enqueue_grading(job.id)
    return transcript(db, actor, conversation_id)


def _finish(db: Session, conv: Conversation, state: str) -> GradingJob:
    """End the conversation: it becomes the attempt's submission (a new version of the student's answer to
    the problem, holding the transcript), with its grading job. The caller commits, then queues the job.

    Late only while the assignment takes late work: once it is closed, every message was sent in time
    (a reply may still arrive after the deadline, or the deadline itself ends the conversation)."""
    assignment = db.get(Assignment, conv.assignment_id)
    conv.state = state
    conv.ended_at = assignment.due_at if state == CONVERSATION_DEADLINE else utcnow()
    late = assignments.status(assignment) == "late"
    version = db.exec(select(func.coalesce(func.max(Submission.version), 0)).where(
        Submission.assignment_id == conv.assignment_id, Submission.problem_id == conv.problem_id,
        Submission.student_id == conv.student_id)).one() + 1
    submission = Submission(
        assignment_id=conv.assignment_id, problem_id=conv.problem_id, student_id=conv.student_id,
        flawed_solution_id=conv.flawed_solution_id, version=version, error_step=None,
        explanation=transcript_text(messages_of(db, conv.id)), final_answer=conv.model_final_answer[:200],
        is_late=late, late_penalty_percent=assignment.late_penalty_percent if late else 0)
    db.add(submission)
    db.flush()
    conv.submission_id = submission.id
    db.add(conv)
    job = GradingJob(submission_id=submission.id, assignment_id=conv.assignment_id)
    db.add(job)
    db.flush()
    return job


def end_overdue(db: Session, config: Optional[Mapping], now: Optional[datetime] = None, *,
                assignment_id: Optional[int] = None, problem_id: Optional[int] = None,
                student_id: Optional[int] = None, conversation_id: Optional[int] = None) -> int:
    """End the open conversations (all, or those the filters pick) of assignments past their deadline that
    take no late work, as a critique is refused then: each becomes its submission, graded on what it holds,
    in time. One whose reply is still being written waits for it (write_reply ends it then) unless the reply
    went stale (known with `config` only). Returns how many ended; called on access and by the workers."""
    now = now or utcnow()
    query = (select(Conversation).join(Assignment, Assignment.id == Conversation.assignment_id)
             .where(Conversation.state == CONVERSATION_OPEN, Assignment.due_at < now,
                    Assignment.allow_late == False))  # noqa: E712
    for column, value in ((Conversation.assignment_id, assignment_id), (Conversation.problem_id, problem_id),
                          (Conversation.student_id, student_id), (Conversation.id, conversation_id)):
        if value is not None:
            query = query.where(column == value)
    ended = 0
    for conv in db.exec(query).all():
        messages = messages_of(db, conv.id)
        if config is not None and _expire_stale(db, conv, messages, config):
            messages = messages_of(db, conv.id)
        if messages and messages[-1].status in (MESSAGE_PENDING, MESSAGE_STREAMING):
            continue
        # Claimed by one update, so a student ending it or another worker at the same moment cannot
        # make a second submission of it.
        claimed = db.exec(update(Conversation).where(Conversation.id == conv.id,
                                                     Conversation.state == CONVERSATION_OPEN)
                          .values(state=CONVERSATION_DEADLINE)).rowcount
        if not claimed:
            db.rollback()
            continue
        job = _finish(db, conv, CONVERSATION_DEADLINE)
        db.commit()
        jobs.enqueue_grading(job.id)
        ended += 1
    if ended:
        log.info("ended %d conversation(s) left open at their assignment's deadline", ended)
    return ended


def transcript_text(messages) -> str:
    """The conversation as Markdown, kept on its submission (what the review queue and exports show)."""
    parts = []
    for m in messages:
        if m.speaker == SPEAKER_STUDENT and m.status == MESSAGE_SENT:
            parts.append(f"**Student:** {m.text}")
        elif m.speaker == SPEAKER_TUTEE and m.status == MESSAGE_DONE:
            said = f" *(final answer: {m.final_answer})*" if m.final_answer else ""
            parts.append(f"**Model:**{said} {tutee.display_text(m.text)}")
    return "\n\n".join(parts)


# --------------------------------------------------------------------------- the model's reply

def write_reply(db: Session, reply_id: int, config: Mapping) -> ConversationMessage:
    """Ask the tutee for the reply waiting in `reply_id`, saving its text as it streams in; then read its
    final answer and decide whether the conversation goes on. A failing model marks the reply failed and
    the student's message as one to send again; nothing is lost."""
    reply = db.get(ConversationMessage, reply_id)
    if reply is None or reply.status != MESSAGE_PENDING:
        return reply
    conv = db.get(Conversation, reply.conversation_id)
    problem = db.get(Problem, conv.problem_id)
    solution = db.get(FlawedSolution, conv.flawed_solution_id)
    earlier = [m for m in messages_of(db, conv.id) if m.position < reply.position]
    turns = [tutee.Turn(m.speaker, m.text) for m in earlier
             if m.status in (MESSAGE_DONE, MESSAGE_SENT)]
    settings = tutee_settings(config)
    if settings is None:
        _fail(db, conv, reply, "No model is set up on this server any more. Your message is kept.")
        return reply
    reply.status = MESSAGE_STREAMING
    reply.updated_at = utcnow()
    db.add(reply)
    db.commit()
    messages = tutee.build_messages(problem.statement, solution.steps, solution.final_answer, turns,
                                    solution.solution_format)
    stream = tutee.stream_reply(client_for(settings, "tutee"), messages)
    parts: list[str] = []
    saved_at = time.monotonic()
    try:
        for piece in stream:
            parts.append(piece)
            if time.monotonic() - saved_at >= SAVE_EVERY_SECONDS:
                reply.text = "".join(parts)[:tutee.MAX_REPLY_CHARS]
                reply.updated_at = utcnow()
                db.add(reply)
                db.commit()
                saved_at = time.monotonic()
    except ModelError as exc:
        reply.text = "".join(parts)[:tutee.MAX_REPLY_CHARS]
        _fail(db, conv, reply, f"The model could not answer: {exc.reason}. Your message is kept: send it again.")
        return reply
    done = stream.completion
    text = done.text[:tutee.MAX_REPLY_CHARS]
    answer = tutee.final_answer_of(text)
    reply.text = text
    reply.final_answer = answer
    reply.status = MESSAGE_DONE
    reply.tokens_in, reply.tokens_out, reply.latency_ms = done.tokens_in, done.tokens_out, done.latency_ms
    reply.updated_at = utcnow()
    db.add(reply)
    if answer is not None:  # a reply without the line leaves the model's answer where it was
        conv.model_final_answer = answer
        conv.model_answer_correct = _matches(problem, answer)
    job = None
    if conv.state == CONVERSATION_OPEN:
        if conv.model_answer_correct and answer is not None:
            job = _finish(db, conv, CONVERSATION_SOLVED)
        elif turns_used(earlier) >= conv.turn_limit:
            job = _finish(db, conv, CONVERSATION_EXHAUSTED)
        elif assignments.status(db.get(Assignment, conv.assignment_id)) == "closed":
            job = _finish(db, conv, CONVERSATION_DEADLINE)  # the reply the deadline was waiting for
    db.add(conv)
    db.commit()
    if job is not None:
        jobs.enqueue_grading(job.id)
    return reply


def _fail(db: Session, conv: Conversation, reply: ConversationMessage, why: str) -> None:
    reply.status = MESSAGE_FAILED
    reply.error = why
    reply.updated_at = utcnow()
    db.add(reply)
    asked = db.exec(select(ConversationMessage).where(
        ConversationMessage.conversation_id == conv.id, ConversationMessage.position < reply.position,
        ConversationMessage.speaker == SPEAKER_STUDENT).order_by(ConversationMessage.position.desc())).first()
    if asked is not None and asked.status == MESSAGE_SENT:
        asked.status = MESSAGE_UNANSWERED
        db.add(asked)
    db.commit()


def write_reply_in_background(engine, reply_id: int, config: Mapping, context) -> threading.Thread:
    """Write the reply in a thread of this process, with its own session; the page follows the stored text,
    so the student may reload or leave meanwhile. `context()` gives the thread the application's context
    (a finished conversation queues its grading job)."""
    config = dict(config)

    def run() -> None:
        try:
            with context(), Session(engine, expire_on_commit=False) as db:
                write_reply(db, reply_id, config)
        except Exception:  # noqa: BLE001 - a thread has no caller; the reply goes stale and can be resent
            log.exception("writing reply %s failed", reply_id)

    thread = threading.Thread(target=run, name=f"tutee-reply-{reply_id}", daemon=True)
    thread.start()
    return thread


def follow_reply(engine, reply_id: int, poll_seconds: float = 0.15, give_up_seconds: float = 600.0):
    """The stored reply as it grows: yields (text so far, message) each time it changed and once it is done
    or failed. Reads with a fresh session each time, so it sees what another thread or process wrote."""
    last_text = None
    started = time.monotonic()
    while True:
        with Session(engine) as db:
            reply = db.get(ConversationMessage, reply_id)
            if reply is None:
                return
            db.expunge(reply)
        finished = reply.status not in (MESSAGE_PENDING, MESSAGE_STREAMING)
        if reply.text != last_text or finished:
            last_text = reply.text
            yield reply
        if finished or time.monotonic() - started > give_up_seconds:
            return
        time.sleep(poll_seconds)
