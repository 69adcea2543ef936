"""Users, passwords, single-use links, sessions, API tokens and instructor access.

Nobody chooses another person's password: an account made for someone else (a roster row, an
administrator's `create-user` without --password) has no usable password, only a single-use,
expiring invitation link with which its owner sets one. Instructor accounts are never self-service:
sign-up makes students, and an administrator approves a student's request for instructor access.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Optional

from sqlalchemy import bindparam, update
from sqlalchemy import select as sql_select
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import (LINK_INVITE, LINK_RESET, REQUEST_APPROVED, REQUEST_DECLINED, REQUEST_PENDING, ROLE_ADMIN,
                      LTI_EMAIL_DOMAIN, ROLE_INSTRUCTOR, ROLE_STUDENT, AccountLink, ApiToken, InstructorRequest, User,
                      utcnow)
from .errors import ErrorCollector, Forbidden, InvalidInput, NotFound
from .hot_statements import attached, columns_of, first
from .validation import clean_text

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
# A link's lifetime when the caller does not say (config: INVITATION_DAYS, PASSWORD_RESET_MINUTES).
INVITE_LIFETIME = timedelta(days=14)
RESET_LIFETIME = timedelta(hours=1)
CREATABLE_ROLES = (ROLE_STUDENT, ROLE_INSTRUCTOR, ROLE_ADMIN)
FROM_THE_LMS = "from the LMS"


def is_placeholder_email(email) -> bool:
    """An account made from an LMS launch or roster sync: its address is a placeholder, not a person's."""
    return str(email or "").lower().endswith("@" + LTI_EMAIL_DOMAIN)


def shown_email(email) -> str:
    """An account's address as pages show it: "from the LMS" instead of an LMS account's placeholder."""
    return FROM_THE_LMS if is_placeholder_email(email) else str(email or "")


def exported_email(email) -> str:
    """An account's address in a CSV: empty for an LMS account's placeholder (no address to import)."""
    return "" if is_placeholder_email(email) else str(email or "")


def normalise_email(value) -> str:
    email = clean_text(value, "Email", "email").lower()
    if not EMAIL_RE.match(email):
        raise InvalidInput(f"“{email[:60]}” is not an email address: it needs a name, an @ and a domain, "
                           "like ria@school.edu.", field="email")
    return email


def find_user(db: Session, email: str) -> Optional[User]:
    email = (email or "").strip().lower()
    if "\x00" in email:  # no stored address has one, and PostgreSQL refuses to compare it
        return None
    return db.exec(select(User).where(User.email == email)).first()


def _check_password(check: ErrorCollector, password, field: str = "password") -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD:
        check.add(field, f"Passwords need at least {MIN_PASSWORD} characters.")
        return password
    return check.check(clean_text, password, "Password", "password", field=field) or password


def create_user(db: Session, *, email, name, password, role: str = ROLE_STUDENT, commit: bool = True) -> User:
    """A new account with the password its owner chose; a refusal names every wrong field (field_errors).
    `role` admin makes an instructor who is also an administrator."""
    email, name, password = validate_new_user(db, email=email, name=name, password=password, role=role)
    user = User(email=email, name=name, role=ROLE_INSTRUCTOR if role == ROLE_ADMIN else role,
                is_admin=role == ROLE_ADMIN, password_hash=generate_password_hash(password))
    db.add(user)
    if commit:
        db.commit()
    else:
        db.flush()
    return user


def create_invited_user(db: Session, *, email, name, role: str = ROLE_STUDENT) -> User:
    """A new account without a usable password (flushed, not committed): its owner sets one with an
    invitation link (issue_link)."""
    check = ErrorCollector()
    name = check.check(clean_text, name, "Name", "name")
    email = check.check(normalise_email, email)
    if role not in CREATABLE_ROLES:
        check.add("role", f"The role must be one of {', '.join(CREATABLE_ROLES)}.")
    if email and find_user(db, email):
        check.add("email", "An account with that email already exists.")
    check.raise_any()
    user = User(email=email, name=name, role=ROLE_INSTRUCTOR if role == ROLE_ADMIN else role,
                is_admin=role == ROLE_ADMIN, password_hash="")
    db.add(user)
    db.flush()
    return user


def validate_new_user(db: Session, *, email, name, password, role: str = ROLE_STUDENT) -> tuple[str, str, str]:
    """(email, name, password) cleaned for a new account, or one InvalidInput naming every wrong field."""
    check = ErrorCollector()
    name = check.check(clean_text, name, "Name", "name")
    email = check.check(normalise_email, email)
    password = _check_password(check, password)
    if role not in CREATABLE_ROLES:
        check.add("role", f"The role must be one of {', '.join(CREATABLE_ROLES)}.")
    if email and find_user(db, email):
        check.add("email", "An account with that email already exists. Log in instead, or use "
                           "“Forgot your password?” on the login page.")
    check.raise_any()
    return email, name, password


def authenticate(db: Session, email: str, password: str) -> Optional[User]:
    """The account whose password this is, or None. A disabled account is returned (its
    is_active is False) so the login page can say why; one without a password never matches."""
    user = find_user(db, email or "")
    if user and user.password_hash and check_password_hash(user.password_hash, password or ""):
        return user
    return None


def user_for_session(db: Session, session_id: str) -> Optional[User]:
    """The user a login session names ("<id>:<session_version>"), while that session is still valid."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None  # includes cookies from before session versions: they log in again
    user = db.get(User, int(user_id))
    if user is None or user.session_version != int(version) or not user.is_active:
        return None
    return user


def end_sessions(db: Session, user: User, commit: bool = True) -> None:
    """Every login session of this user stops working (the caller logs this one in again if it should)."""
    user.session_version = (user.session_version or 0) + 1
    db.add(user)
    if commit:
        db.commit()


def change_password(db: Session, user: User, *, current, new) -> None:
    check = ErrorCollector()
    if not (user.password_hash and check_password_hash(user.password_hash, current or "")):
        check.add("current_password", "That is not your current password.")
    new = _check_password(check, new, field="new_password")
    check.raise_any()
    user.password_hash = generate_password_hash(new)
    _close_links(db, user)
    end_sessions(db, user)


# ---------------------------------------------------------------- single-use links

def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC


def issue_link(db: Session, user: User, purpose: str, *, lifetime: Optional[timedelta] = None,
               created_by: Optional[User] = None, commit: bool = True) -> tuple[str, datetime]:
    """A new single-use link token for `user` and when it expires; only its hash is stored."""
    if purpose not in (LINK_INVITE, LINK_RESET):
        raise ValueError(purpose)
    lifetime = lifetime or (INVITE_LIFETIME if purpose == LINK_INVITE else RESET_LIFETIME)
    token = secrets.token_urlsafe(32)
    expires = utcnow() + lifetime
    db.add(AccountLink(user_id=user.id, purpose=purpose, token_hash=_hash_token(token), expires_at=expires,
                       created_by_id=created_by.id if created_by else None))
    if commit:
        db.commit()
    else:
        db.flush()
    return token, expires


LINK_INVALID = ("This link does not work: it was already used, replaced by a newer one, or mistyped. "
                "Ask for a new one with “Forgot your password?” on the login page.")
LINK_EXPIRED = ("This link has expired. Ask for a new one with “Forgot your password?” on the login page, "
                "or ask your instructor for a new invitation.")


def open_link(db: Session, token: str) -> tuple[AccountLink, User]:
    """The unused, unexpired link this token is, with its account; NotFound with the reason otherwise."""
    if not token or len(token) > 100:
        raise NotFound(LINK_INVALID)
    link = db.exec(select(AccountLink).where(AccountLink.token_hash == _hash_token(token))).first()
    if link is None or link.used_at is not None:
        raise NotFound(LINK_INVALID)
    if _aware(link.expires_at) <= utcnow():
        raise NotFound(LINK_EXPIRED)
    user = db.get(User, link.user_id)
    if user is None or not user.is_active:
        raise NotFound(LINK_INVALID)
    return link, user


def _close_links(db: Session, user: User) -> None:
    """Every open link of this account stops working (its password was just set)."""
    now = utcnow()
    for link in db.exec(select(AccountLink).where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))):
        link.used_at = now
        db.add(link)


def set_password_with_link(db: Session, token: str, password) -> User:
    """Use a link once: the account's owner chooses its password; every other open link and every
    session of the account stop working."""
    _link, user = open_link(db, token)
    choose_password(db, user, password)
    return user


def choose_password(db: Session, user: User, password, commit: bool = True) -> None:
    """The owner, holding a link (invitation, reset, course invitation), sets the account's password:
    every open link and every session of the account stop working."""
    check = ErrorCollector()
    password = _check_password(check, password)
    check.raise_any()
    user.password_hash = generate_password_hash(password)
    _close_links(db, user)
    end_sessions(db, user, commit=commit)


def reset_link_for(db: Session, email, lifetime: Optional[timedelta] = None) -> Optional[tuple[User, str]]:
    """For "forgot password": (user, token) when the address has an active account, else None. The caller
    answers the same either way, so nobody learns which addresses have accounts."""
    try:
        email = normalise_email(email)
    except InvalidInput:
        return None
    user = find_user(db, email)
    if user is None or not user.is_active:
        return None
    token, _ = issue_link(db, user, LINK_RESET, lifetime=lifetime)
    return user, token


def signup_by_mail(db: Session, *, email, name,
                   lifetime: Optional[timedelta] = None) -> Optional[tuple[User, Optional[str]]]:
    """Sign-up where e-mail is set up: the caller gives every address the same answer ("check your
    e-mail") and mails the owner. (user, token) for an address without a password yet (a new account,
    made without one, or one a roster made): the token is a link to choose it. (user, None) for an
    account that has a password: its owner is told someone tried, and nothing changes. None for a
    disabled account. A refusal (InvalidInput) only for what was typed: a missing name, no address."""
    check = ErrorCollector()
    name = check.check(clean_text, name, "Name", "name")
    email = check.check(normalise_email, email)
    check.raise_any()
    user = find_user(db, email)
    if user is None:
        user = create_invited_user(db, email=email, name=name)
    elif not user.is_active:
        return None
    elif user.has_password:
        return user, None
    token, _ = issue_link(db, user, LINK_INVITE, lifetime=lifetime, commit=False)
    db.commit()
    return user, token


# ---------------------------------------------------------------- administrators

@dataclass
class NewAccount:
    user: User
    token: Optional[str]  # an invitation token when no password was given
    expires_at: Optional[datetime]


def create_account(db: Session, *, email, name, role, password=None,
                   lifetime: Optional[timedelta] = None) -> NewAccount:
    """`create-user`: an account with the given password, or, without one, an invitation."""
    if password:
        return NewAccount(create_user(db, email=email, name=name, password=password, role=role), None, None)
    user = create_invited_user(db, email=email, name=name, role=role)
    token, expires = issue_link(db, user, LINK_INVITE, lifetime=lifetime, commit=False)
    db.commit()
    return NewAccount(user, token, expires)


def require_admin(user: User) -> None:
    if not getattr(user, "is_admin", False):
        raise Forbidden("Only administrators can do that.")


def set_disabled(db: Session, admin: User, user_id: int, disabled: bool) -> User:
    """Disable (every session and API token stops working at once) or enable an account."""
    require_admin(admin)
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("No such account.")
    if user.id == admin.id and disabled:
        raise InvalidInput("You cannot disable your own account.")
    user.disabled_at = utcnow() if disabled else None
    end_sessions(db, user, commit=False)
    db.commit()
    return user


def search_users(db: Session, admin: User, query: str, limit: int = 50) -> list[User]:
    require_admin(admin)
    query = (query or "").strip().lower().replace("\x00", "")[:120]
    if not query:
        return []
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    q = select(User).where((User.email.ilike(pattern, escape="\\")) | (User.name.ilike(pattern, escape="\\")))
    return list(db.exec(q.order_by(User.email).limit(limit)))


def request_instructor_access(db: Session, user: User, note) -> InstructorRequest:
    if user.is_instructor:
        raise InvalidInput("Your account already has instructor access.")
    note = clean_text(note, "What you teach, and where", "comment", field="note")
    if pending_request_of(db, user) is not None:
        raise InvalidInput("You have already asked; an administrator will decide soon.", field="note")
    req = InstructorRequest(user_id=user.id, note=note)
    db.add(req)
    db.commit()
    return req


def pending_request_of(db: Session, user: User) -> Optional[InstructorRequest]:
    return db.exec(select(InstructorRequest).where(InstructorRequest.user_id == user.id,
                                                   InstructorRequest.status == REQUEST_PENDING)).first()


def latest_request_of(db: Session, user: User) -> Optional[InstructorRequest]:
    return db.exec(select(InstructorRequest).where(InstructorRequest.user_id == user.id)
                   .order_by(InstructorRequest.id.desc())).first()


def pending_requests(db: Session, admin: User) -> list[tuple[InstructorRequest, User]]:
    require_admin(admin)
    q = (select(InstructorRequest, User).join(User, User.id == InstructorRequest.user_id)
         .where(InstructorRequest.status == REQUEST_PENDING).order_by(InstructorRequest.created_at))
    return list(db.exec(q))


def decide_request(db: Session, admin: User, request_id: int, approve: bool) -> tuple[InstructorRequest, User]:
    require_admin(admin)
    req = db.get(InstructorRequest, request_id)
    if req is None:
        raise NotFound("No such request.")
    if req.status != REQUEST_PENDING:
        raise InvalidInput("That request was already decided.")
    user = db.get(User, req.user_id)
    req.status = REQUEST_APPROVED if approve else REQUEST_DECLINED
    req.decided_at = utcnow()
    req.decided_by_id = admin.id
    if approve:
        user.role = ROLE_INSTRUCTOR
        db.add(user)
    db.add(req)
    db.commit()
    return req, user


# ---------------------------------------------------------------- API tokens

def new_token(db: Session, user: User, label: str = "") -> str:
    """Make a new bearer token for the user; only its hash is stored, the token is shown once."""
    label = clean_text(label, "Label", "title", required=False, field="label")[:120]
    token = "cc_" + secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), label=label))
    db.commit()
    return token


def create_token(db: Session, email: str, label: str = "") -> str:
    user = find_user(db, email)
    if user is None:
        raise NotFound(f"No account has the email {email!r}.")
    return new_token(db, user, label)


def tokens_of(db: Session, user: User) -> list[ApiToken]:
    return list(db.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(),
                                                                                    ApiToken.id.desc())))


def revoke_token(db: Session, user: User, token_id: int) -> None:
    """Owners only: someone else's token is "not found", like one that never existed."""
    row = db.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("You have no API token with that id.")
    db.delete(row)
    db.commit()


# A token's last use is kept to within this many seconds: a client calling many times a minute
# then costs one read per request, not a read and a write.
TOKEN_TOUCH_SECONDS = 300


def token_owner(db: Session, token: str) -> Optional[tuple[User, int]]:
    """The active account a bearer token belongs to, with the token's id (its last use noted)."""
    token_hash = token_hash_of(token)
    if token_hash is None:
        return None
    # Every API request runs this: a hot statement (hot_statements.py), a sixth of an ORM query's cost.
    row = first(db, token_statement(), {"token_hash": token_hash})
    return None if row is None else owner_from_row(db, row)


def token_hash_of(token: str) -> Optional[str]:
    """What a bearer token is looked up by; None for text that cannot be a token."""
    if not token or len(token) > 200:
        return None
    return _hash_token(token)


@lru_cache(maxsize=1)
def token_statement():
    """The token (bound as :token_hash) with its owner: TOKEN_ROW_WIDTH columns, for `owner_from_row`.
    Other hot statements extend it with what their request needs besides (courses.member_for_token)."""
    # Built once: building it cost a fifth of a request's own time. The token is read as two columns, not
    # a whole row: the request needs only its id and last use.
    token, user = ApiToken.__table__, User.__table__
    return (sql_select(token.c.id, token.c.last_used_at, *columns_of(User))
            .join(user, user.c.id == token.c.user_id)
            .where(token.c.token_hash == bindparam("token_hash")))


TOKEN_ROW_WIDTH = 2 + len(User.__table__.columns)


def owner_from_row(db: Session, row) -> Optional[tuple[User, int]]:
    """(account, token id) from the first TOKEN_ROW_WIDTH columns of a `token_statement` row; None for a
    disabled account, whose tokens stop working with it. Notes the token's last use."""
    token_id, last = row[0], row[1]
    user = attached(db, User, row[2:TOKEN_ROW_WIDTH])
    if not user.is_active:
        return None
    now = utcnow()
    if last is None or (now - _aware(last)).total_seconds() > TOKEN_TOUCH_SECONDS:
        db.exec(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.commit()
    return user, token_id


def user_for_token(db: Session, token: str) -> Optional[User]:
    found = token_owner(db, token)
    return found[0] if found else None
