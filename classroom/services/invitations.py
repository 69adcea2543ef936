"""Course invitations and the single-use links they carry: the list a roster upload makes (a CSV
for the instructor), the e-mails (sent by a background job when SMTP is configured), accepting and
declining, and the "forgot password" mail.

Every roster row gets the same kind of invitation, new address or not, so nothing the instructor
sees says which addresses already had accounts. A new account (no password yet) sets its password
with the link and is enrolled; an existing account's owner accepts after logging in as that account.

Links are made by the caller's `link_url(token)`, so this layer knows no routes and no request.
"""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from .. import jobs
from ..mail import Mail, MailSettings, send_all
from ..models import (INVITE_ACCEPTED, INVITE_DECLINED, INVITE_PENDING, INVITE_REPLACED, MAIL_FAILED, MAIL_QUEUED,
                      MAIL_SENT, ROLE_STUDENT, Course, CourseInvitation, Enrollment, User, utcnow)
from . import accounts, audit
from .errors import NotFound

# Shown to the instructor for every open row, whoever the address belongs to.
STATUS_INVITED = "invited"
STATUS_ENROLLED = "enrolled"  # already in this course (the instructor's own roster says so anyway)

INVITE_LIFETIME = timedelta(days=14)

LINK_INVALID = ("This invitation does not work: it was already used, replaced by a newer one, or mistyped. "
                "Ask your instructor for a new one.")
LINK_EXPIRED = "This invitation has expired. Ask your instructor for a new one."


def csv_cell(value: str) -> str:
    """A leading = + - @ would make a spreadsheet run the cell as a formula: such a cell gets a '."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def is_expired(inv: CourseInvitation) -> bool:
    return _aware(inv.expires_at) <= utcnow()


@dataclass
class RosterRow:
    """One row of a roster upload's result: the same shape for every address."""
    email: str
    name: str
    status: str  # STATUS_INVITED or STATUS_ENROLLED
    token: Optional[str] = None
    expires_at: Optional[datetime] = None
    invitation_id: Optional[int] = None


# ---------------------------------------------------------------- making and opening invitations

def issue(db: Session, actor: User, course: Course, user: User, name: str,
          lifetime: Optional[timedelta] = None) -> tuple[CourseInvitation, str]:
    """A fresh invitation (flushed): any open one of the same account to the same course stops working."""
    for old in db.exec(select(CourseInvitation).where(
            CourseInvitation.course_id == course.id, CourseInvitation.user_id == user.id,
            CourseInvitation.status.in_((INVITE_PENDING, INVITE_DECLINED)))):
        old.status, old.decided_at = INVITE_REPLACED, utcnow()
        db.add(old)
    token = secrets.token_urlsafe(32)
    inv = CourseInvitation(course_id=course.id, user_id=user.id, name=name, token_hash=_hash(token),
                           expires_at=utcnow() + (lifetime or INVITE_LIFETIME), created_by_id=actor.id)
    db.add(inv)
    db.flush()
    return inv, token


@dataclass
class OpenInvitation:
    invitation: CourseInvitation
    user: User
    course: Course

    @property
    def needs_password(self) -> bool:
        """A new account: the link sets its password (and enrols). Otherwise its owner logs in to accept."""
        return not self.user.has_password


def open_invitation(db: Session, token: str) -> OpenInvitation:
    """The pending, unexpired invitation this token is; NotFound with the reason otherwise."""
    if not token or len(token) > 100:
        raise NotFound(LINK_INVALID)
    inv = db.exec(select(CourseInvitation).where(CourseInvitation.token_hash == _hash(token))).first()
    if inv is None or inv.status != INVITE_PENDING:
        raise NotFound(LINK_INVALID)
    if is_expired(inv):
        raise NotFound(LINK_EXPIRED)
    user, course = db.get(User, inv.user_id), db.get(Course, inv.course_id)
    if user is None or not user.is_active or course is None:
        raise NotFound(LINK_INVALID)
    return OpenInvitation(inv, user, course)


def _enrol(db: Session, inv: CourseInvitation, user: User) -> None:
    inv.status, inv.decided_at = INVITE_ACCEPTED, utcnow()
    db.add(inv)
    exists = db.exec(select(Enrollment).where(Enrollment.course_id == inv.course_id,
                                              Enrollment.user_id == user.id)).first()
    if exists is None:
        db.add(Enrollment(course_id=inv.course_id, user_id=user.id, role=ROLE_STUDENT, roster_name=inv.name))
        db.flush()
        from . import groups  # groups imports courses, which imports this module
        groups.place_on_joining(db, inv.course_id, user, inv.group_name, inv.created_by_id)
    audit.record(db, user, inv.course_id, "invitation.accept", f"user {user.email}", {})


def join_with_password(db: Session, token: str, password) -> tuple[User, Course]:
    """A new account's owner opens the link: chooses the password and is enrolled, in one step."""
    found = open_invitation(db, token)
    if not found.needs_password:
        raise NotFound(LINK_INVALID)  # an account with a password accepts after logging in, never here
    accounts.choose_password(db, found.user, password, commit=False)
    _enrol(db, found.invitation, found.user)
    _commit(db)
    return found.user, found.course


def _own_invitation(db: Session, user: User, invitation_id: int) -> CourseInvitation:
    inv = db.get(CourseInvitation, invitation_id)
    if inv is None or inv.user_id != user.id:
        raise NotFound("You have no invitation with that number.")
    if inv.status != INVITE_PENDING:
        raise NotFound("That invitation was already answered or replaced by a newer one.")
    if is_expired(inv):
        raise NotFound(LINK_EXPIRED)
    return inv


def accept(db: Session, user: User, invitation_id: int) -> Course:
    inv = _own_invitation(db, user, invitation_id)
    _enrol(db, inv, user)
    _commit(db)
    return db.get(Course, inv.course_id)


def decline(db: Session, user: User, invitation_id: int) -> Course:
    inv = _own_invitation(db, user, invitation_id)
    inv.status, inv.decided_at = INVITE_DECLINED, utcnow()
    db.add(inv)
    db.commit()
    return db.get(Course, inv.course_id)


def _commit(db: Session) -> None:
    try:
        db.commit()
    except IntegrityError:  # a double click: the first one enrolled them
        db.rollback()


def close_for_member(db: Session, course_id: int, user_id: int) -> None:
    """The student joined with the course code: their open invitation to it has done its work."""
    for inv in db.exec(select(CourseInvitation).where(
            CourseInvitation.course_id == course_id, CourseInvitation.user_id == user_id,
            CourseInvitation.status == INVITE_PENDING)):
        inv.status, inv.decided_at = INVITE_ACCEPTED, utcnow()
        db.add(inv)


def pending_for(db: Session, user: User) -> list[tuple[CourseInvitation, Course]]:
    """The invitations an account's owner can still accept (their home page)."""
    rows = db.exec(select(CourseInvitation, Course).join(Course, Course.id == CourseInvitation.course_id)
                   .where(CourseInvitation.user_id == user.id, CourseInvitation.status == INVITE_PENDING)
                   .order_by(CourseInvitation.created_at))
    return [(inv, c) for inv, c in rows if not is_expired(inv)]


# ---------------------------------------------------------------- the instructor's view

@dataclass
class OpenRow:
    """An invitation not yet accepted, as the instructor sees it: a declined one looks pending until it
    expires (only an existing account can decline, so saying so would tell who had an account)."""
    id: int
    email: str
    name: str
    expires_at: datetime
    expired: bool
    mail_state: Optional[str]
    mail_error: Optional[str]


def open_rows(db: Session, course: Course) -> list[OpenRow]:
    rows = db.exec(select(CourseInvitation, User.email).join(User, User.id == CourseInvitation.user_id)
                   .where(CourseInvitation.course_id == course.id,
                          CourseInvitation.status.in_((INVITE_PENDING, INVITE_DECLINED)))
                   .order_by(CourseInvitation.name, User.email))
    return [OpenRow(inv.id, email, inv.name, inv.expires_at, is_expired(inv), inv.mail_state, inv.mail_error)
            for inv, email in rows]


@dataclass
class MailSummary:
    queued: int = 0
    sent: int = 0
    failed: list[OpenRow] = None

    @property
    def any(self) -> bool:
        return bool(self.queued or self.sent or self.failed)


def mail_summary(rows: list[OpenRow]) -> MailSummary:
    """How the e-mails of the open invitations stand: sent, waiting, and which failed and why."""
    return MailSummary(queued=sum(r.mail_state == MAIL_QUEUED for r in rows),
                       sent=sum(r.mail_state == MAIL_SENT for r in rows),
                       failed=[r for r in rows if r.mail_state == MAIL_FAILED and not r.expired])


def renew_failed(db: Session, actor: User, course: Course,
                 lifetime: Optional[timedelta] = None) -> list[tuple[int, str]]:
    """"Send again": each open invitation whose e-mail failed gets a fresh link (the old one stops
    working: only its hash was kept, so it cannot be sent again) and waits for the mail job.
    Returns [(invitation id, token)] for the job (committed)."""
    out = []
    for inv in db.exec(select(CourseInvitation).where(
            CourseInvitation.course_id == course.id, CourseInvitation.status == INVITE_PENDING,
            CourseInvitation.mail_state == MAIL_FAILED)):
        if is_expired(inv):
            continue
        token = secrets.token_urlsafe(32)
        inv.token_hash, inv.expires_at = _hash(token), utcnow() + (lifetime or INVITE_LIFETIME)
        inv.mail_state, inv.mail_error = MAIL_QUEUED, None
        db.add(inv)
        out.append((inv.id, token))
    if out:
        audit.record(db, actor, course.id, "invitation.resend", f"course {course.code}", {"count": len(out)})
    db.commit()
    return out


def queue_mails(items: list[tuple[int, str, str]]) -> None:
    """E-mail these invitations in the background: [(invitation id, token, its link)]."""
    jobs.enqueue_invitation_mail(items)


# ---------------------------------------------------------------- the CSV and the e-mails

def roster_csv(rows: list[RosterRow], link_url: Callable[[str], str]) -> str:
    """email,name,status,link,expires: the list an instructor hands out when e-mail is not set up.
    Every invited row looks alike, whoever the address belongs to."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "name", "status", "link", "expires"])
    for row in rows:
        writer.writerow([csv_cell(row.email), csv_cell(row.name), row.status,
                         link_url(row.token) if row.token else "",
                         row.expires_at.strftime("%Y-%m-%d %H:%M UTC") if row.expires_at else ""])
    return out.getvalue()


def send_signup(settings: MailSettings, email: str, name: str, token: Optional[str], link_url: Callable[[str], str],
                forgot_url: str) -> bool:
    """The sign-up mail: a link to choose the password, or, for an address that has an account already,
    a note saying so (the sign-up page answered the same either way)."""
    if token:
        mail = Mail(to=email, subject="Finish signing up",
                    body=(f"Hello {name},\n\nChoose the password of your critique classroom account with this "
                          f"link (it works once):\n\n{link_url(token)}\n\nIf you did not sign up, ignore this "
                          "message: without a password nobody can use the account.\n"))
    else:
        mail = Mail(to=email, subject="You already have an account",
                    body=(f"Hello {name},\n\nSomeone (we hope you) tried to sign up to the critique classroom "
                          "with this address, which already has an account. Nothing was changed. Log in with "
                          f"your password, or choose a new one here:\n\n{forgot_url}\n\nIf it was not you, "
                          "ignore this message.\n"))
    return not send_all(settings, [mail])


def send_reset(settings: MailSettings, email: str, name: str, token: str, minutes: int,
               link_url: Callable[[str], str]) -> bool:
    mail = Mail(to=email, subject="Choose a new password",
                body=(f"Hello {name},\n\nSomeone (we hope you) asked to reset the password of your critique "
                      f"classroom account. Choose a new one with this link; it works once, for {minutes} "
                      f"minutes:\n\n{link_url(token)}\n\nIf you did not ask, ignore this message: "
                      "your password stays as it is.\n"))
    return not send_all(settings, [mail])
