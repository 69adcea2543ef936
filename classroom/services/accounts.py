"""Users, passwords and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from typing import Optional

from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import ROLE_INSTRUCTOR, ROLE_STUDENT, ApiToken, User, utcnow
from .errors import ErrorCollector, InvalidInput, NotFound
from .validation import clean_text

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


def normalise_email(value) -> str:
    email = clean_text(value, "Email", "email").lower()
    if not EMAIL_RE.match(email):
        raise InvalidInput(f"“{email[:60]}” is not an email address: it needs a name, an @ and a domain, "
                           "like ria@school.edu.", field="email")
    return email


def find_user(db: Session, email: str) -> Optional[User]:
    email = email.strip().lower()
    if "\x00" in email:  # no stored address has one, and PostgreSQL refuses to compare it
        return None
    return db.exec(select(User).where(User.email == email)).first()


def create_user(db: Session, *, email, name, password, role: str = ROLE_STUDENT, commit: bool = True) -> User:
    """A new account; a refusal names every field that is wrong (field_errors)."""
    email, name, password = validate_new_user(db, email=email, name=name, password=password, role=role)
    user = User(email=email, name=name, role=role, password_hash=generate_password_hash(password))
    db.add(user)
    if commit:
        db.commit()
    else:
        db.flush()
    return user


def validate_new_user(db: Session, *, email, name, password, role: str = ROLE_STUDENT) -> tuple[str, str, str]:
    """(email, name, password) cleaned for a new account, or one InvalidInput naming every wrong field."""
    check = ErrorCollector()
    name = check.check(clean_text, name, "Name", "name")
    email = check.check(normalise_email, email)
    password = password or ""
    if len(password) < MIN_PASSWORD:
        check.add("password", f"Passwords need at least {MIN_PASSWORD} characters.")
    else:
        check.check(clean_text, password, "Password", "password")
    if role not in (ROLE_INSTRUCTOR, ROLE_STUDENT):
        check.add("role", "Choose whether you teach or study.")
    if email and find_user(db, email):
        check.add("email", "An account with that email already exists. Log in instead.")
    check.raise_any()
    return email, name, password


def authenticate(db: Session, email: str, password: str) -> Optional[User]:
    user = find_user(db, email or "")
    if user and check_password_hash(user.password_hash, password or ""):
        return user
    return None


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Session, email: str, label: str = "") -> str:
    """Make a new bearer token for the user; only its hash is stored."""
    user = find_user(db, email)
    if user is None:
        raise NotFound(f"No account has the email {email!r}.")
    token = "cc_" + secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), label=label[:120]))
    db.commit()
    return token


# A token's last use is kept to within this many seconds: a client calling many times a minute
# then costs one read per request, not a read and a write.
TOKEN_TOUCH_SECONDS = 300


def user_for_token(db: Session, token: str) -> Optional[User]:
    if not token or len(token) > 200:
        return None
    row = db.exec(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                  .where(ApiToken.token_hash == _hash_token(token))).first()
    if row is None:
        return None
    api_token, user = row
    now = utcnow()
    if api_token.last_used_at is None or (now - api_token.last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS:
        api_token.last_used_at = now
        db.add(api_token)
        db.commit()
    return user
