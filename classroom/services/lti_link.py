"""An administrator links an LTI account (a platform's `sub`) to an existing local account.

A launch never merges accounts by e-mail (services/lti.py): the first launch of a `sub` makes a placeholder
account (`lti-…@lti.invalid`, no password). An instructor who used the classroom before the school adopted
the LMS asks an administrator to link the two. Linking, in one transaction:

- the LTI identity points to the local account: every later launch signs in as it;
- whatever belongs to the placeholder (its enrolments, submissions, conversations, group places, scores
  queued for the LMS, anything else naming it) moves to the local account. It is refused, naming the course,
  when the local account already has a place or work in a course the placeholder has one in (two
  enrolments or two sets of submissions cannot be merged safely);
- the placeholder account is disabled (its sessions end) and kept, so the audit log's entries about what
  it did stay true; if it was an instructor, the local account becomes one too;
- the audit log records it (once for the link, once per course moved).

See docs/lti.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from ..models import (ROLE_INSTRUCTOR, Assignment, Course, Enrollment, LabGroupMember, LtiAccount, LtiPlatform,
                      Submission, User, utcnow)
from . import audit
from .accounts import end_sessions, is_placeholder_email, require_admin
from .errors import Conflict, InvalidInput, NotFound

# The audit log keeps who did what at the time: its actor is never rewritten.
NOT_MOVED = {("audit_log", "actor_id")}
# Moved too, but not worth counting on the confirmation: the LTI identity itself.
NOT_COUNTED = {"lti_account"}
WORDS = {"enrollment": "course places", "submission": "submissions", "conversation": "tutor conversations",
         "lab_group_member": "lab group places", "lti_score_send": "scores for the LMS", "course": "courses created",
         "api_token": "API tokens"}


def is_placeholder(user: User) -> bool:
    return is_placeholder_email(user.email)


@dataclass
class AccountRow:
    account: LtiAccount
    platform: LtiPlatform
    user: User
    courses: list[Course] = field(default_factory=list)

    @property
    def linked(self) -> bool:
        return not is_placeholder(self.user)


def lti_accounts(db: Session, admin: User, limit: int = 500) -> list[AccountRow]:
    """Every LTI account (newest first), with its platform, the account it signs in as and its courses."""
    require_admin(admin)
    rows = db.exec(select(LtiAccount, LtiPlatform, User).join(LtiPlatform, LtiPlatform.id == LtiAccount.platform_id)
                   .join(User, User.id == LtiAccount.user_id).order_by(LtiAccount.id.desc()).limit(limit)).all()
    out = []
    for account, platform, user in rows:
        out.append(AccountRow(account, platform, user, _courses_of(db, user.id)))
    return out


def _courses_of(db: Session, user_id: int) -> list[Course]:
    return list(db.exec(select(Course).join(Enrollment, Enrollment.course_id == Course.id)
                        .where(Enrollment.user_id == user_id).order_by(Course.title)).all())


def _user_columns():
    """Every (table, column) that names a user, but the audit log's actor."""
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if any(fk.column.table.name == "user" for fk in column.foreign_keys) \
                    and (table.name, column.name) not in NOT_MOVED:
                yield table, column


def _course_ids_with_anything(db: Session, user_id: int) -> set[int]:
    ids = set(db.exec(select(Enrollment.course_id).where(Enrollment.user_id == user_id)).all())
    ids |= set(db.exec(select(LabGroupMember.course_id).where(LabGroupMember.user_id == user_id)).all())
    ids |= set(db.exec(select(Assignment.course_id).join(Submission, Submission.assignment_id == Assignment.id)
                       .where(Submission.student_id == user_id)).all())
    return ids


@dataclass
class LinkPlan:
    account: LtiAccount
    platform: LtiPlatform
    placeholder: User
    local: User
    courses: list[Course]
    moved: dict[str, int]  # what moves, in words, and how many
    becomes_instructor: bool


def plan_link(db: Session, admin: User, account_id: int, email) -> LinkPlan:
    """What linking would do, or why it cannot (InvalidInput on the e-mail field, naming the course)."""
    require_admin(admin)
    account = db.get(LtiAccount, account_id)
    if account is None:
        raise NotFound("No such LTI account.")
    platform = db.get(LtiPlatform, account.platform_id)
    placeholder = db.get(User, account.user_id)
    if not is_placeholder(placeholder):
        raise Conflict(f"This LTI account is already linked to {placeholder.email}.")
    address = (email or "").strip().lower()
    if not address:
        raise InvalidInput("Give the e-mail address of the local account to link to.", field="email")
    local = db.exec(select(User).where(func.lower(User.email) == address)).first()
    if local is None or is_placeholder(local):
        raise InvalidInput(f"No local account has the address {address}. Give the address the person signs in "
                           "with.", field="email")
    if local.disabled_at is not None:
        raise InvalidInput(f"{local.email} is disabled; enable it first (Administration).", field="email")
    other = db.exec(select(LtiAccount).where(LtiAccount.platform_id == platform.id,
                                             LtiAccount.user_id == local.id)).first()
    if other is not None:
        raise InvalidInput(f"{local.email} is already linked to another user of this LMS (user id {other.sub}); "
                           "one local account takes one user of each LMS.", field="email")
    both = _course_ids_with_anything(db, placeholder.id) & _course_ids_with_anything(db, local.id)
    if both:
        course = db.exec(select(Course).where(Course.id.in_(both)).order_by(Course.title)).first()
        raise InvalidInput(f"Both accounts have a place or work in the course “{course.title}” ({course.code}): "
                           "they cannot be merged. Remove one of them from that course first, then link again.",
                           field="email")
    moved: dict[str, int] = {}
    for table, column in _user_columns():
        count = db.exec(select(func.count()).select_from(table).where(column == placeholder.id)).one()
        if count and table.name not in NOT_COUNTED:
            words = WORDS.get(table.name, table.name.replace("_", " "))
            moved[words] = moved.get(words, 0) + count
    return LinkPlan(account=account, platform=platform, placeholder=placeholder, local=local,
                    courses=_courses_of(db, placeholder.id), moved=moved,
                    becomes_instructor=placeholder.is_instructor and not local.is_instructor)


def link(db: Session, admin: User, account_id: int, email) -> LinkPlan:
    """Links the LTI account to the local account named by `email` (see the module's docstring), in one
    transaction: all of it happens, or nothing."""
    plan = plan_link(db, admin, account_id, email)
    placeholder, local = plan.placeholder, plan.local
    try:
        for table, column in _user_columns():
            db.exec(update(table).where(column == placeholder.id).values({column.name: local.id}))
        if plan.becomes_instructor:
            local.role = ROLE_INSTRUCTOR
            db.add(local)
        placeholder.disabled_at = utcnow()
        end_sessions(db, placeholder, commit=False)
        details = {"platform": plan.platform.issuer, "client_id": plan.platform.client_id, "sub": plan.account.sub,
                   "from": placeholder.email, "to": local.email, "moved": plan.moved}
        audit.record(db, admin, None, "lti.account_link", f"lti account {plan.account.id}", details)
        for course in plan.courses:
            audit.record(db, admin, course.id, "lti.account_link", f"lti account {plan.account.id}", details)
        db.commit()
    except IntegrityError:
        db.rollback()
        raise InvalidInput(f"Something of {placeholder.email} collides with what {local.email} already has; "
                           "nothing was changed.", field="email") from None
    db.expire_all()
    return plan


def find_account(db: Session, account_id: int) -> Optional[AccountRow]:
    account = db.get(LtiAccount, account_id)
    if account is None:
        return None
    user = db.get(User, account.user_id)
    return AccountRow(account, db.get(LtiPlatform, account.platform_id), user, _courses_of(db, user.id))
