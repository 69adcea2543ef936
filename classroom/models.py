"""All tables, in one place.

Times are timezone-aware UTC (SQLModel's UTCDateTime refuses naive ones). Scores are fractions in [0, 1]; points are
computed from them with the assignment's weights (see services/scoring.py).
"""
from __future__ import annotations

import copy
import functools
import inspect
from datetime import datetime, timezone
from typing import Callable, Optional, TypeVar

from pydantic_core import PydanticUndefined

from sqlalchemy import JSON, Column, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import configure_mappers
from sqlmodel import Field, SQLModel

from .content import ERROR_KINDS  # noqa: F401  (kept importable from here)


def _default_factory(make: Callable) -> Callable:
    """pydantic reads a default factory's signature each time it builds a row (to see whether it takes the
    validated data); a signature worked out once makes that a lookup. Building a grade row cost 220 µs,
    most of it inspecting `list` (a builtin, whose signature is parsed from text every time)."""
    make.__signature__ = inspect.signature(make)
    return make


@_default_factory
def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@_default_factory
def empty_list() -> list:
    return []


@_default_factory
def empty_dict() -> dict:
    return {}


M = TypeVar("M", bound=SQLModel)


def new_row(model: type[M], **values) -> M:
    """`model(**values)` for a table model, made as the ORM makes the objects a query loads: not yet in
    any session, every field given or defaulted as declared. SQLModel never validates a table model, so
    only its __init__'s bookkeeping is skipped: building a grade this way costs a tenth as much (the
    grading job builds several per submission). An unknown or missing field is a TypeError, as a typo
    should be."""
    fields, fixed, copied, made, required = _defaults_of(model)
    unknown = values.keys() - fields
    if unknown:
        raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
    missing = required - values.keys()
    if missing:
        raise TypeError(f"{model.__name__} needs {', '.join(sorted(missing))}")
    obj = model.__mapper__.class_manager.new_instance()
    state = obj.__dict__
    state.update(fixed)
    state.update({name: copy.copy(value) for name, value in copied.items()})
    state.update({name: make() for name, make in made if name not in values})
    state.update(values)
    return obj


@functools.cache
def _defaults_of(model: type[SQLModel]) -> tuple[frozenset, dict, dict, tuple, frozenset]:
    """(field names, immutable defaults, defaults each row gets a copy of, (name, factory) pairs, fields
    without a default) of a table model."""
    configure_mappers()  # as a first query would: a fresh process may build a row before any query
    fixed, copied, made, required = {}, {}, [], set()
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            made.append((name, field.default_factory))
        elif field.default is PydanticUndefined:
            required.add(name)
        elif isinstance(field.default, (str, int, float, bool, type(None), datetime)):
            fixed[name] = field.default
        else:
            copied[name] = field.default
    return frozenset(model.model_fields), fixed, copied, tuple(made), frozenset(required)


# Roles and enumerations kept as short strings: readable in the database and the CSV.
ROLE_INSTRUCTOR = "instructor"
ROLE_STUDENT = "student"
# Not a value of User.role: `--role admin` makes an instructor with is_admin set, who also approves
# instructor requests and can disable accounts.
ROLE_ADMIN = "admin"
# An account made from an LMS launch or roster sync has a placeholder address on this reserved domain
# (RFC 2606): unique, never mailed, and never shown (services/accounts.py shown_email).
LTI_EMAIL_DOMAIN = "lti.invalid"

# Single-use links (AccountLink.purpose): a new account's invitation, a forgotten password's reset.
LINK_INVITE = "invite"
LINK_RESET = "reset"

# A course invitation (CourseInvitation.status). A declined one looks pending to the instructor until it
# expires: only an existing account can decline, so showing it would tell which addresses had accounts.
INVITE_PENDING = "pending"
INVITE_ACCEPTED = "accepted"
INVITE_DECLINED = "declined"
INVITE_REPLACED = "replaced"  # a newer upload or "send again" made a fresh link

# Where an invitation's e-mail stands (CourseInvitation.mail_state); None = not e-mailed (no SMTP).
MAIL_QUEUED = "queued"
MAIL_SENT = "sent"
MAIL_FAILED = "failed"

REQUEST_PENDING = "pending"
REQUEST_APPROVED = "approved"
REQUEST_DECLINED = "declined"

COMPONENTS = ("location", "explanation", "final_answer", "correction", "lean", "revision", "teaching", "efficiency")

# How a component was decided.
BY_EXACT = "exact"
BY_MODEL = "model"
BY_LEAN = "lean"
BY_INSTRUCTOR = "instructor"

# Grade status: graded (has a machine score), needs_review (waits for a person),
# error (the machine could not decide; a person may still score it).
GRADE_GRADED = "graded"
GRADE_NEEDS_REVIEW = "needs_review"
GRADE_ERROR = "error"

JOB_QUEUED = "queued"
# Held for the grader model's pilot: not on the queue until the instructor grades a sample or the rest.
JOB_HELD = "held"
JOB_RUNNING = "running"
JOB_DONE = "done"
JOB_FAILED = "failed"

KEY_ORIGINS = ("hand", "model", "bank")

# What a student does with an assignment's problem: critique the flawed solution, or teach its author
# (the tutee model) until it fixes its answer (see docs/teach.md).
MODE_CRITIQUE = "critique"
MODE_TEACH = "teach"
PROBLEM_MODES = (MODE_CRITIQUE, MODE_TEACH)
DEFAULT_TURN_LIMIT = 8

# A conversation's state: open, or how it ended.
CONVERSATION_OPEN = "open"
CONVERSATION_SOLVED = "solved"          # the model's final answer matches the reference
CONVERSATION_EXHAUSTED = "exhausted"    # the student used every message of the turn limit
CONVERSATION_ENDED = "ended"            # the student ended it
CONVERSATION_DEADLINE = "deadline"      # still open when an assignment without late work closed
CONVERSATION_STATES = (CONVERSATION_OPEN, CONVERSATION_SOLVED, CONVERSATION_EXHAUSTED, CONVERSATION_ENDED,
                       CONVERSATION_DEADLINE)

# Who wrote a message, and where it stands.
SPEAKER_STUDENT = "student"
SPEAKER_TUTEE = "tutee"
MESSAGE_SENT = "sent"              # a student's message, saved; its reply is pending or written
MESSAGE_UNANSWERED = "unanswered"  # a student's message the model failed to answer: it may be sent again
MESSAGE_PENDING = "pending"        # a reply not begun yet
MESSAGE_STREAMING = "streaming"    # a reply being written (its text grows)
MESSAGE_DONE = "done"
MESSAGE_FAILED = "failed"          # the model did not answer; `error` says why


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=120)
    # "" = no usable password yet: the account waits for its owner to open an invitation link.
    password_hash: str = Field(max_length=255)
    role: str = Field(default=ROLE_STUDENT, max_length=20)
    is_admin: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    # Part of every session's user id: raising it (logout, new password, disabling) ends all sessions.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    disabled_at: Optional[datetime] = None

    # Flask-Login protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def is_instructor(self) -> bool:
        return self.role == ROLE_INSTRUCTOR


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    # Only a hash is kept; the token itself is shown once.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    label: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: Optional[datetime] = None


class AccountLink(SQLModel, table=True):
    """A single-use, expiring link that lets an account's owner set its password (invitation or reset).
    Only the token's hash is kept, like API tokens."""
    __tablename__ = "account_link"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    purpose: str = Field(max_length=20)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: Optional[datetime] = None
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id")


class InstructorRequest(SQLModel, table=True):
    """A student account asking for instructor access; an administrator approves or declines it."""
    __tablename__ = "instructor_request"
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=REQUEST_PENDING, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: Optional[datetime] = None
    decided_by_id: Optional[int] = Field(default=None, foreign_key="user.id")


class Course(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True, index=True)
    title: str = Field(max_length=200)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    # Bumped by database triggers on every change to what the assignment listing shows (listing_stamp.py):
    # the API keys its cached listing by it.
    listing_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Enrollment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("course_id", "user_id", name="uq_enrollment_course_user"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(default=ROLE_STUDENT, max_length=20)
    # The name the instructor's roster gave (pages for the course's instructors show it); None for a
    # student who joined with the course code, who is shown under their own name.
    roster_name: Optional[str] = Field(default=None, max_length=120)
    created_at: datetime = Field(default_factory=utcnow)


class CourseInvitation(SQLModel, table=True):
    """A roster row: a single-use, expiring link to join a course. Every row gets one, new address or
    not, so the instructor cannot tell which addresses already had accounts. Opened by a new account
    (no password yet) it sets the password and enrols; an existing account's owner accepts it after
    logging in (or on their home page). Only the token's hash is kept."""
    __tablename__ = "course_invitation"
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=120)  # as the roster wrote it
    token_hash: str = Field(max_length=64, unique=True, index=True)
    status: str = Field(default=INVITE_PENDING, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    decided_at: Optional[datetime] = None
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    # The roster's `group` column: the lab group the student is placed in on joining.
    group_name: Optional[str] = Field(default=None, max_length=120)
    mail_state: Optional[str] = Field(default=None, max_length=20)
    mail_error: Optional[str] = Field(default=None, max_length=500)
    mailed_at: Optional[datetime] = None


class Problem(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("course_id", "external_id", name="uq_problem_course_external"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    title: str = Field(max_length=200)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    reference_solution: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reference_answer: str = Field(default="", max_length=200)
    # Optional Lean 4: header (imports, opens) and the theorem statement.
    lean_header: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    lean_statement: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Where the problem came from, to keep bank re-imports idempotent.
    external_id: Optional[str] = Field(default=None, max_length=200)
    # The bank's question_type (MR-GSM8K: original, reversed, POT), kept so an export gives it back.
    question_type: Optional[str] = Field(default=None, max_length=40)
    # How final answers are compared (grading/answers.py MODES); a tolerance only for "numeric":
    # "0.01" is absolute, "2%" relative.
    answer_mode: str = Field(default="auto", max_length=20, sa_column_kwargs={"server_default": "auto"})
    answer_tolerance: Optional[str] = Field(default=None, max_length=40)
    # The instructor's answer tests: [{"answer": "2.5", "correct": true}, ...], run when saved;
    # how many failed then, so the course page can mark the problem without re-running them.
    answer_tests: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False, default=list))
    answer_tests_failed: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The instructor's instructions to the grader model for this problem (trusted text in its prompt).
    grader_notes: str = Field(default="", sa_column=Column(Text, nullable=False, default="", server_default=""))
    # A model's mistake harvested by `run-benchmark --harvest-into` (no lab harvest records it): the strategy's
    # SHA-256 and which sample it was, for the dataset export (services/dataset.py).
    origin_strategy_sha256: Optional[str] = Field(default=None, max_length=64)
    origin_sample_index: Optional[int] = None
    created_at: datetime = Field(default_factory=utcnow)


class FlawedSolution(SQLModel, table=True):
    __tablename__ = "flawed_solution"
    id: Optional[int] = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    # A list of step texts; step numbers are 1-based positions. In prose each step is Markdown + LaTeX; in a
    # program (solution_format a language such as "python") each step is one line, blank lines included.
    steps: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    solution_format: str = Field(default="prose", sa_column=Column(String(40), nullable=False, default="prose",
                                                                  server_default="prose"))
    final_answer: str = Field(default="", max_length=200)
    # Only an approved solution is shown to students; generated ones start as drafts.
    approved: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class AnswerKey(SQLModel, table=True):
    """Never serialised for students: kept apart from the solution on purpose."""
    __tablename__ = "answer_key"
    id: Optional[int] = Field(default=None, primary_key=True)
    flawed_solution_id: int = Field(foreign_key="flawed_solution.id", unique=True)
    # None: the solution is correct, no step is wrong (then `reason` says why it is right, or is empty).
    first_wrong_step: Optional[int] = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    error_kind: str = Field(default="other", max_length=40)
    origin: str = Field(default="hand", max_length=20)
    origin_model: Optional[str] = Field(default=None, max_length=200)
    # The model that proposed `reason` (for a bank's key that came without one); None once the instructor
    # writes the reason themselves, or when a person wrote it.
    reason_model: Optional[str] = Field(default=None, max_length=200)


class Assignment(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    title: str = Field(max_length=200)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    opens_at: datetime
    due_at: datetime
    allow_late: bool = Field(default=False)
    late_penalty_percent: int = Field(default=0)
    points: int = Field(default=100)
    weight_location: int = Field(default=30)
    weight_explanation: int = Field(default=40)
    weight_correction: int = Field(default=30)
    weight_lean: int = Field(default=0)
    # Teach-mode problems (docs/teach.md): the model's revised answer, the student's teaching, fewer turns.
    weight_revision: int = Field(default=50, sa_column_kwargs={"server_default": "50"})
    weight_teaching: int = Field(default=50, sa_column_kwargs={"server_default": "50"})
    weight_efficiency: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # How many problems with a correct solution the instructor asked to mix in (chosen when saved).
    correct_solutions: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0, server_default="0"))
    # Below this confidence (0..1) a grader model's verdict is only a suggestion and a person decides; None: never.
    confidence_threshold: Optional[float] = None
    # Grading waits (jobs "held") until the instructor grades a sample with the model, then the rest.
    hold_for_pilot: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    released_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)


class AssignmentProblem(SQLModel, table=True):
    __tablename__ = "assignment_problem"
    __table_args__ = (UniqueConstraint("assignment_id", "problem_id", name="uq_assignment_problem"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    position: int = Field(default=0)
    mode: str = Field(default=MODE_CRITIQUE, max_length=20, sa_column_kwargs={"server_default": MODE_CRITIQUE})
    # Teach mode: how many messages a student may send in one conversation, and how many conversations
    # (attempts) they may start before the deadline.
    turn_limit: int = Field(default=DEFAULT_TURN_LIMIT, sa_column_kwargs={"server_default": str(DEFAULT_TURN_LIMIT)})
    attempts_allowed: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class Submission(SQLModel, table=True):
    """One immutable version of a student's critique of one problem."""
    __table_args__ = (
        UniqueConstraint("assignment_id", "problem_id", "student_id", "version", name="uq_submission_version"),
        Index("ix_submission_lookup", "assignment_id", "problem_id", "student_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id")
    problem_id: int = Field(foreign_key="problem.id")
    student_id: int = Field(foreign_key="user.id", index=True)
    flawed_solution_id: int = Field(foreign_key="flawed_solution.id")
    version: int
    # None: the student said no step is wrong.
    error_step: Optional[int] = None
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    correction: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    final_answer: str = Field(default="", max_length=200)
    lean_proof: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    is_late: bool = Field(default=False)
    late_penalty_percent: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class Conversation(SQLModel, table=True):
    """One attempt at a teach-mode problem: the student talks with the tutee model. Once it ends it
    becomes the attempt's submission (`submission_id`), graded like any other version."""
    __table_args__ = (
        UniqueConstraint("assignment_id", "problem_id", "student_id", "attempt", name="uq_conversation_attempt"),
        Index("ix_conversation_lookup", "assignment_id", "problem_id", "student_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id")
    problem_id: int = Field(foreign_key="problem.id")
    student_id: int = Field(foreign_key="user.id", index=True)
    flawed_solution_id: int = Field(foreign_key="flawed_solution.id")
    attempt: int
    state: str = Field(default=CONVERSATION_OPEN, max_length=20)
    turn_limit: int = Field(default=DEFAULT_TURN_LIMIT)
    # The model's current final answer (its last FINAL ANSWER line) and whether it matches the reference.
    model_final_answer: str = Field(default="", max_length=200)
    model_answer_correct: bool = Field(default=False)
    submission_id: Optional[int] = Field(default=None, foreign_key="submission.id", unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    ended_at: Optional[datetime] = None


class ConversationMessage(SQLModel, table=True):
    """One message, stored as soon as it exists: a student's before the model is asked, a reply while
    it is written, so a reload or a failing model loses nothing."""
    __tablename__ = "conversation_message"
    __table_args__ = (UniqueConstraint("conversation_id", "position", name="uq_conversation_message_position"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", index=True)
    position: int
    speaker: str = Field(max_length=20)
    status: str = Field(max_length=20)
    # A reply's whole text as the model wrote it, its FINAL ANSWER line included (pages strip it).
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    final_answer: Optional[str] = Field(default=None, max_length=200)
    error: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Provenance of a reply.
    model_name: Optional[str] = Field(default=None, max_length=200)
    prompt_version: Optional[str] = Field(default=None, max_length=50)
    tokens_in: Optional[int] = None
    tokens_out: Optional[int] = None
    latency_ms: Optional[int] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Grade(SQLModel, table=True):
    """One component of one submission version.

    The machine's decision and an instructor's override sit side by side:
    the override never replaces the machine score, it is read before it.
    """
    __table_args__ = (UniqueConstraint("submission_id", "component", name="uq_grade_component"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    component: str = Field(max_length=20)
    status: str = Field(default=GRADE_NEEDS_REVIEW, max_length=20)
    score: Optional[float] = None
    decided_by: Optional[str] = Field(default=None, max_length=20)
    feedback: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # Provenance of a model decision.
    model_name: Optional[str] = Field(default=None, max_length=200)
    prompt_version: Optional[str] = Field(default=None, max_length=50)
    tokens_in: Optional[int] = None
    tokens_out: Optional[int] = None
    latency_ms: Optional[int] = None
    raw_reply: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    flags: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    # The model's confidence in its reply (0..1) where it gave one; the score it suggested where that
    # confidence was below the assignment's threshold (the component then waits for a person).
    model_confidence: Optional[float] = None
    suggested_score: Optional[float] = None
    # How many of the instructor's worked examples (calibration) the model's prompt held.
    calibration_examples: Optional[int] = None
    # Instructor override, kept beside the machine's score.
    override_score: Optional[float] = None
    override_comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    override_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    override_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def effective_score(self) -> Optional[float]:
        return self.override_score if self.override_score is not None else self.score

    @property
    def is_decided(self) -> bool:
        return self.effective_score is not None

    @classmethod
    def new(cls, **values) -> "Grade":
        """`Grade(**values)` at a tenth of the cost (`new_row`): the grading job builds several per version."""
        return new_row(cls, **values)


class GradingJob(SQLModel, table=True):
    __tablename__ = "grading_job"
    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", unique=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    state: str = Field(default=JOB_QUEUED, max_length=20, index=True)
    attempts: int = Field(default=0)
    last_error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    enqueued_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None
    # Lease: a running job whose lease has passed is taken up again.
    lease_until: Optional[datetime] = None
    # Started by the instructor's "grade a sample with the model" (the pilot).
    pilot: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ModelGradeCache(SQLModel, table=True):
    """A model's reply for one submission version, model and prompt version: paid once."""
    __tablename__ = "model_grade_cache"
    __table_args__ = (
        UniqueConstraint("submission_id", "model_name", "prompt_version", name="uq_model_grade_cache"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    model_name: str = Field(max_length=200)
    prompt_version: str = Field(max_length=50)
    reply: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: Optional[int] = Field(default=None, foreign_key="course.id", index=True)
    actor_id: Optional[int] = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=60)
    target: str = Field(default="", max_length=200)
    details: dict = Field(default_factory=empty_dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- the AI lab (services/groups.py, lab.py)

class LabGroup(SQLModel, table=True):
    """A group of a course's students who share lab work. `max_size` limits students joining by themselves
    (an instructor may place more); `open_to_join` lets students join without an instructor."""
    __tablename__ = "lab_group"
    __table_args__ = (UniqueConstraint("course_id", "name", name="uq_lab_group_course_name"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    name: str = Field(max_length=120)
    max_size: Optional[int] = None
    open_to_join: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)


class LabGroupMember(SQLModel, table=True):
    """A student in a group; a student is in at most one group per course (course_id kept for that rule)."""
    __tablename__ = "lab_group_member"
    __table_args__ = (UniqueConstraint("course_id", "user_id", name="uq_lab_group_member_course_user"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="lab_group.id", index=True)
    course_id: int = Field(foreign_key="course.id")
    user_id: int = Field(foreign_key="user.id", index=True)
    added_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class LtiPlatform(SQLModel, table=True):
    """An LMS registered as an LTI 1.3 platform (see docs/lti.md); one row per issuer and client id."""
    __tablename__ = "lti_platform"
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platform_issuer_client"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=500)
    client_id: str = Field(max_length=255)
    auth_login_url: str = Field(max_length=1000)
    auth_token_url: str = Field(max_length=1000)
    key_set_url: str = Field(max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    # Switched off by an administrator: its launches are refused; nothing of it is deleted (docs/lti.md).
    disabled_at: Optional[datetime] = None


class LtiDeployment(SQLModel, table=True):
    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    deployment_id: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    disabled_at: Optional[datetime] = None  # switched off: launches through it are refused


class LtiAccount(SQLModel, table=True):
    """The local account of a platform's user, found by the platform's `sub` (never by e-mail)."""
    __tablename__ = "lti_account"
    __table_args__ = (UniqueConstraint("platform_id", "sub", name="uq_lti_account_sub"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    sub: str = Field(max_length=255)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # What the LMS last said (name and e-mail claims), shown to an administrator linking the account to a
    # local one; never used to match accounts.
    name_claim: Optional[str] = Field(default=None, max_length=200)
    email_claim: Optional[str] = Field(default=None, max_length=320)


class LtiContext(SQLModel, table=True):
    """An LMS course (the launch's context) and the classroom course it opens."""
    __tablename__ = "lti_context"
    __table_args__ = (UniqueConstraint("platform_id", "context_id", name="uq_lti_context"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platform.id", index=True)
    context_id: str = Field(max_length=255)
    course_id: int = Field(foreign_key="course.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class LtiLaunchData(SQLModel, table=True):
    """PyLTI1p3's state, nonce and launch records when no Redis is configured (services/lti_storage.py):
    one row per key, gone after its one use or its expiry."""
    __tablename__ = "lti_launch_data"
    key: str = Field(primary_key=True, max_length=255)
    value: dict = Field(sa_column=Column(JSON, nullable=False))
    expires_at: datetime = Field(index=True)


LAB_TARGETS = ("synthetic", "exam")
RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_DONE = "done"
RUN_CANCELLED = "cancelled"
RUN_BUDGET = "budget"  # stopped: the group's token budget ran out
RUN_FAILED = "failed"


class Lab(SQLModel, table=True):
    """A lab assignment (kind `lab`): a practice exam of the course's problems, visible to students or
    hidden (then groups see only their scores on it), k samples per problem and a token budget per group."""
    __tablename__ = "lab"
    id: Optional[int] = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    title: str = Field(max_length=200)
    instructions: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    exam_hidden: bool = Field(default=False)
    samples: int = Field(default=3)
    token_budget: int = Field(default=200_000)
    leaderboard_visible: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow)
    # Rubric grades (services/lab_grades.py) are shown to students once released.
    grades_released_at: Optional[datetime] = None


class LabCriterion(SQLModel, table=True):
    """One criterion of a lab's rubric, written by the instructor: what is judged and its points."""
    __tablename__ = "lab_criterion"
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    position: int = Field(default=0)
    title: str = Field(max_length=200)
    points: int


class LabCriterionScore(SQLModel, table=True):
    """A group's points on one criterion (every member gets them, before their own adjustment)."""
    __tablename__ = "lab_criterion_score"
    __table_args__ = (UniqueConstraint("criterion_id", "group_id", name="uq_lab_criterion_score"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    criterion_id: int = Field(foreign_key="lab_criterion.id")
    group_id: int = Field(foreign_key="lab_group.id")
    points: float
    graded_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    graded_at: datetime = Field(default_factory=utcnow)


class LabAdjustment(SQLModel, table=True):
    """One student's points above or below their group's in a lab, with the instructor's reason."""
    __tablename__ = "lab_adjustment"
    __table_args__ = (UniqueConstraint("lab_id", "user_id", name="uq_lab_adjustment"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    points: float
    reason: str = Field(sa_column=Column(Text, nullable=False))
    graded_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    graded_at: datetime = Field(default_factory=utcnow)


class LabExamProblem(SQLModel, table=True):
    __tablename__ = "lab_exam_problem"
    __table_args__ = (UniqueConstraint("lab_id", "problem_id", name="uq_lab_exam_problem"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    problem_id: int = Field(foreign_key="problem.id")
    position: int = Field(default=0)


class LabProblem(SQLModel, table=True):
    """A group's synthetic problem: a variant of one exam problem, with its reference and answer checks."""
    __tablename__ = "lab_problem"
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    group_id: int = Field(foreign_key="lab_group.id", index=True)
    author_id: int = Field(foreign_key="user.id")
    exam_problem_id: int = Field(foreign_key="problem.id")
    title: str = Field(max_length=200)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    reference_solution: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    reference_answer: str = Field(max_length=200)
    answer_mode: str = Field(default="auto", max_length=20)
    answer_tolerance: Optional[str] = Field(default=None, max_length=40)
    answer_tests: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False, default=list))
    answer_tests_failed: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class LabStrategy(SQLModel, table=True):
    """One version of a group's strategy: a system prompt and worked examples (ids of the group's own
    synthetic problems). Versions are never edited: saving makes the next one."""
    __tablename__ = "lab_strategy"
    __table_args__ = (UniqueConstraint("lab_id", "group_id", "version", name="uq_lab_strategy_version"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    group_id: int = Field(foreign_key="lab_group.id", index=True)
    version: int
    author_id: int = Field(foreign_key="user.id")
    system_prompt: str = Field(sa_column=Column(Text, nullable=False))
    example_ids: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False, default=list))
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class LabRun(SQLModel, table=True):
    """The model run on a group's synthetic set or on the practice exam, k samples per problem, in a
    background job. `completed` counts attempts so far (the progress bar); `cancel_requested` stops it."""
    __tablename__ = "lab_run"
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    group_id: int = Field(foreign_key="lab_group.id", index=True)
    strategy_id: int = Field(foreign_key="lab_strategy.id")
    target: str = Field(max_length=20)
    samples: int
    # What the run solves, fixed when it starts: [["exam", problem id] or ["synthetic", lab problem id], ...].
    items: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False, default=list))
    model: str = Field(max_length=200)
    state: str = Field(default=RUN_QUEUED, max_length=20)
    total: int = Field(default=0)
    completed: int = Field(default=0)
    correct: int = Field(default=0)
    tokens_in: int = Field(default=0)
    tokens_out: int = Field(default=0)
    cancel_requested: bool = Field(default=False)
    error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    started_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    started_at: Optional[datetime] = None
    finished_at: Optional[datetime] = None
    # The run's last sign of life: when it was queued, taken by a worker, or stored a sample. A run whose
    # sign of life is older than JOB_LEASE_SECONDS is sent to the queue again (`recoveries` counts that),
    # and after MAX_RUN_RECOVERIES it fails with its reason (grading/lab_runs.py).
    heartbeat_at: Optional[datetime] = None
    recoveries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class LabAttempt(SQLModel, table=True):
    """One sample of one problem in a run: the model's full text, the final answer read from it and the
    answer checker's verdict. `item` is the problem's place in the run (so a resumed run skips done work)."""
    __tablename__ = "lab_attempt"
    __table_args__ = (UniqueConstraint("run_id", "item", "sample_index", name="uq_lab_attempt_sample"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="lab_run.id", index=True)
    item: int
    sample_index: int
    problem_id: Optional[int] = Field(default=None, foreign_key="problem.id")
    lab_problem_id: Optional[int] = Field(default=None, foreign_key="lab_problem.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    final_answer: str = Field(default="", max_length=200)
    verdict: str = Field(max_length=20)
    model: str = Field(max_length=200)
    strategy_id: int = Field(foreign_key="lab_strategy.id")
    tokens_in: int = Field(default=0)
    tokens_out: int = Field(default=0)
    latency_ms: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


HARVEST_SUBMITTED = "submitted"
HARVEST_APPROVED = "approved"
HARVEST_RETURNED = "returned"


class LabHarvest(SQLModel, table=True):
    """A wrong attempt turned by its group into a candidate flawed solution: numbered steps, the first wrong
    one, why, and the kind of error. Approved, it becomes a Problem of the course (`problem_id`) whose key
    has origin `harvested`; sent back, it carries the instructor's comment. `exportable`: the group may opt
    the failure out of the course's exported dataset."""
    __tablename__ = "lab_harvest"
    id: Optional[int] = Field(default=None, primary_key=True)
    lab_id: int = Field(foreign_key="lab.id", index=True)
    group_id: int = Field(foreign_key="lab_group.id", index=True)
    attempt_id: int = Field(foreign_key="lab_attempt.id", unique=True)
    author_id: int = Field(foreign_key="user.id")
    steps: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    first_wrong_step: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    error_kind: str = Field(default="other", max_length=40)
    state: str = Field(default=HARVEST_SUBMITTED, max_length=20)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    exportable: bool = Field(default=True)
    problem_id: Optional[int] = Field(default=None, foreign_key="problem.id")
    submitted_at: datetime = Field(default_factory=utcnow)
    decided_at: Optional[datetime] = None
    decided_by_id: Optional[int] = Field(default=None, foreign_key="user.id")


# --------------------------------------------------------------------------- LTI Advantage (services/lti_sync.py)

class LtiResourceLink(SQLModel, table=True):
    """What the latest launch from one LMS link said about the LTI Advantage services: the Assignment and Grade
    Services endpoints (the context's line items, the link's own line item, the scopes granted) and the Names
    and Role Provisioning Services' memberships URL. `assignment_id`: the assignment the link opens, when the
    link says (a deep-linked link's custom parameter)."""
    __tablename__ = "lti_resource_link"
    __table_args__ = (UniqueConstraint("context_id", "resource_link_id", name="uq_lti_resource_link"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    context_id: int = Field(foreign_key="lti_context.id", index=True)
    resource_link_id: str = Field(max_length=255)
    assignment_id: Optional[int] = Field(default=None, foreign_key="assignment.id")
    lineitems_url: Optional[str] = Field(default=None, max_length=1000)
    lineitem_url: Optional[str] = Field(default=None, max_length=1000)
    ags_scopes: list = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    memberships_url: Optional[str] = Field(default=None, max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow)


# Where one student's score for the LMS stands (LtiScoreSend.state).
SCORE_QUEUED = "queued"
SCORE_SENT = "sent"
SCORE_FAILED = "failed"
SCORE_SKIPPED = "skipped"  # no LMS account for this student: nothing can be sent


class LtiScoreSend(SQLModel, table=True):
    """One student's score for one assignment, for the LMS line item of one LMS course (AGS): what is to be
    (or was last) sent, when, how many tries, and why it failed."""
    __tablename__ = "lti_score_send"
    __table_args__ = (UniqueConstraint("assignment_id", "context_id", "user_id", name="uq_lti_score_send"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    context_id: int = Field(foreign_key="lti_context.id")
    user_id: int = Field(foreign_key="user.id")
    sub: Optional[str] = Field(default=None, max_length=255)  # the student's LMS user id (userId)
    state: str = Field(default=SCORE_QUEUED, max_length=20)
    score_given: float = 0.0
    score_maximum: float = 0.0
    activity_progress: str = Field(default="Completed", max_length=20)
    grading_progress: str = Field(default="FullyGraded", max_length=20)
    timestamp: datetime = Field(default_factory=utcnow)
    lineitem_url: Optional[str] = Field(default=None, max_length=1000)
    attempts: int = 0
    error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    queued_at: datetime = Field(default_factory=utcnow)
    sent_at: Optional[datetime] = None


from . import listing_stamp  # noqa: E402,F401  (the triggers are created with the tables)
