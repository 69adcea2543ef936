"""Courses, enrolment by code or roster, and who may see what in a course."""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Optional

from sqlalchemy import bindparam, func
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import ROLE_INSTRUCTOR, ROLE_STUDENT, Course, CourseInvitation, Enrollment, User
from . import accounts, audit, invitations
from .invitations import STATUS_ENROLLED, STATUS_INVITED, RosterRow
from .errors import Conflict, ErrorCollector, Forbidden, InvalidInput, NotFound
from .hot_statements import attached, columns_of, first
from .validation import clean_text

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,19}$")
# Generated codes look like 7KQ-M3X: two groups of three from an alphabet without 0/O or 1/I to misread,
# 32**6 (about a billion) of them, so guessing one is hopeless within the join rate limits.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_GROUP = 3
# One answer for "no such course" and "not your course", so codes cannot be probed.
COURSE_NOT_FOUND = "No course has that code, or you are not in it."


def normalise_code(value) -> str:
    return (value or "").strip().upper().replace(" ", "")


def generate_code(db: Session) -> str:
    for _ in range(20):
        code = "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_GROUP)) for _ in range(2))
        if not db.exec(select(Course).where(Course.code == code)).first():
            return code
    raise RuntimeError("could not find a free course code")  # pragma: no cover


def code_candidates(code: str) -> list[str]:
    """The stored codes a typed (normalised) code may mean: itself, and for six letters without a dash the
    generated form 7KQ-M3X. None when it cannot be a code: then it never reaches the database
    (PostgreSQL refuses to even compare text holding a NUL byte)."""
    if not CODE_RE.match(code):
        return []
    if len(code) == 2 * _CODE_GROUP and "-" not in code:
        return [code, f"{code[:_CODE_GROUP]}-{code[_CODE_GROUP:]}"]
    return [code]


def _find_by_code(db: Session, code: str) -> Optional[Course]:
    candidates = code_candidates(code)
    if not candidates:
        return None
    # The exact code wins over the dashed reading if both exist (an instructor chose "ABCDEF").
    found = {c.code: c for c in db.exec(select(Course).where(Course.code.in_(candidates)))}
    return next((found[c] for c in candidates if c in found), None)


def create_course(db: Session, actor: User, *, title, code=None) -> Course:
    if not actor.is_instructor:
        raise Forbidden("Only instructors can create courses.")
    title, code = validate_new_course(db, title=title, code=code)
    code = code or generate_code(db)
    course = Course(code=code, title=title, created_by_id=actor.id)
    db.add(course)
    try:
        db.flush()
        db.add(Enrollment(course_id=course.id, user_id=actor.id, role=ROLE_INSTRUCTOR))
        audit.record(db, actor, course.id, "course.create", f"course {code}", {"title": title})
        db.commit()
    except IntegrityError:
        db.rollback()
        raise Conflict(f"The course code {code} is taken. Choose another.", field="code")
    return course


def validate_new_course(db: Session, *, title, code=None) -> tuple[str, str]:
    """(title, code) for a new course, the code normalised ("" for a generated one); a refusal names
    every wrong field."""
    check = ErrorCollector()
    title = check.check(clean_text, title, "Course title", "title", field="title")
    code = normalise_code(code)
    if code and not CODE_RE.match(code):
        check.add("code", "A course code has 3 to 20 letters, digits or dashes, for example MATH101.")
    elif code and db.exec(select(Course).where(Course.code == code)).first():
        check.add("code", f"The course code {code} is taken. Choose another, or leave it empty for a new one.")
    check.raise_any()
    return title, code


def get_course(db: Session, code: str) -> Course:
    course = _find_by_code(db, normalise_code(code))
    if course is None:
        raise NotFound(COURSE_NOT_FOUND)
    return course


def enrollment(db: Session, user: User, course_id: int) -> Optional[Enrollment]:
    return db.exec(
        select(Enrollment).where(Enrollment.course_id == course_id, Enrollment.user_id == user.id)
    ).first()


def is_instructor_of(db: Session, user: User, course_id: int) -> bool:
    e = enrollment(db, user, course_id)
    return e is not None and e.role == ROLE_INSTRUCTOR


def require_member(db: Session, user: User, course: Course, not_found: str = COURSE_NOT_FOUND) -> Enrollment:
    """Members only. Outsiders get 'not found' in the very words a missing thing gets (`not_found`: what
    the caller says when the assignment, problem... does not exist), so nothing can be probed."""
    e = enrollment(db, user, course.id)
    if e is None:
        raise NotFound(not_found)
    return e


def require_instructor(db: Session, user: User, course: Course, not_found: str = COURSE_NOT_FOUND) -> None:
    e = require_member(db, user, course, not_found)
    if e.role != ROLE_INSTRUCTOR:
        raise Forbidden("Only the course's instructors can do that.")


def course_and_membership(db: Session, user: User, code: str) -> tuple[Course, Enrollment]:
    """The course with this code and the user's enrolment in it, in one query; outsiders get the same
    'not found' as a wrong code, so course codes cannot be probed."""
    params = _code_params(code)
    if params is None:
        raise NotFound(COURSE_NOT_FOUND)
    # A hot statement (hot_statements.py): every course-scoped API request runs it.
    row = first(db, _course_and_membership_statement(), {"user_id": user.id, **params})
    return _course_and_membership_from(db, row)


def member_for_token(db: Session, token: str, code: str) -> Optional[tuple[User, int, Course, Enrollment]]:
    """`accounts.token_owner` and `course_and_membership` in one read, for the busiest course-scoped API
    request (the assignment listing): (account, token id, course, enrolment); None for a token that is not
    valid, which is checked first; NotFound for a course the account is not in."""
    token_hash = accounts.token_hash_of(token)
    if token_hash is None:
        return None
    # A code that cannot be one matches no course, but the token is still checked: 401 comes before 404.
    params = _code_params(code) or {"code": "", "other_code": ""}
    row = first(db, _member_for_token_statement(), {"token_hash": token_hash, **params})
    if row is None:
        return None
    owner = accounts.owner_from_row(db, row)
    if owner is None:
        return None
    course, membership = _course_and_membership_from(db, row[accounts.TOKEN_ROW_WIDTH:])
    return owner[0], owner[1], course, membership


def _code_params(code: str) -> Optional[dict]:
    """The typed code's candidates as the statements below bind them; None when it cannot be a code."""
    candidates = code_candidates(normalise_code(code))
    return {"code": candidates[0], "other_code": candidates[-1]} if candidates else None


def _course_by_code(course):
    """The course whose code is :code or :other_code: (join condition, ordering that puts the code as
    typed first)."""
    return (course.c.code.in_([bindparam("code"), bindparam("other_code")]),
            (course.c.code == bindparam("code")).desc())


@lru_cache(maxsize=1)
def _course_and_membership_statement():
    # Built once, with bound parameters: building it cost more Python time than running it.
    course, enrolment = Course.__table__, Enrollment.__table__
    matches, typed_first = _course_by_code(course)
    return (sql_select(*columns_of(Course), *columns_of(Enrollment))
            .select_from(course.outerjoin(enrolment, (enrolment.c.course_id == course.c.id)
                                          & (enrolment.c.user_id == bindparam("user_id"))))
            .where(matches).order_by(typed_first).limit(1))


@lru_cache(maxsize=1)
def _member_for_token_statement():
    # The token's statement with the course joined on by its code, and the owner's enrolment in it.
    course, enrolment, user = Course.__table__, Enrollment.__table__, User.__table__
    matches, typed_first = _course_by_code(course)
    return (accounts.token_statement().add_columns(*columns_of(Course), *columns_of(Enrollment))
            .join_from(user, course, matches, isouter=True)
            .join_from(course, enrolment, (enrolment.c.course_id == course.c.id) & (enrolment.c.user_id == user.c.id),
                       isouter=True)
            .order_by(typed_first).limit(1))


def _course_and_membership_from(db: Session, row) -> tuple[Course, Enrollment]:
    """(course, enrolment) from a course's columns then an enrolment's; NotFound where there is no such
    course or the caller is not enrolled in it."""
    if row is None:
        raise NotFound(COURSE_NOT_FOUND)
    width = len(columns_of(Course))
    course_values, enrolment_values = row[:width], row[width:]
    if course_values[0] is None or enrolment_values[0] is None:
        raise NotFound(COURSE_NOT_FOUND)
    return attached(db, Course, course_values), attached(db, Enrollment, enrolment_values)


def course_for_instructor(db: Session, user: User, code: str) -> Course:
    course, membership = course_and_membership(db, user, code)
    if membership.role != ROLE_INSTRUCTOR:
        raise Forbidden("Only the course's instructors can do that.")
    return course


def course_for_member(db: Session, user: User, code: str) -> Course:
    return course_and_membership(db, user, code)[0]


def courses_of(db: Session, user: User, role: Optional[str] = None) -> list[Course]:
    q = select(Course).join(Enrollment, Enrollment.course_id == Course.id).where(Enrollment.user_id == user.id)
    if role:
        q = q.where(Enrollment.role == role)
    return list(db.exec(q.order_by(Course.created_at.desc())))


def join_course(db: Session, user: User, code) -> Course:
    code = normalise_code(code)
    if not code:
        raise InvalidInput("Type the course code your instructor gave you.", field="code")
    course = _find_by_code(db, code)
    if course is None:
        raise NotFound(f"No course has the code {code[:20]}. Check it with your instructor.", field="code")
    if enrollment(db, user, course.id):
        return course
    db.add(Enrollment(course_id=course.id, user_id=user.id,
                      role=ROLE_STUDENT))
    invitations.close_for_member(db, course.id, user.id)
    audit.record(db, user, course.id, "course.join", f"user {user.email}", {})
    try:
        db.commit()
    except IntegrityError:  # a double click: the first one enrolled them
        db.rollback()
    return course


@dataclass(frozen=True)
class CourseStudent:
    """A student as the course's instructors see them: under the name the roster gave, where the roster
    brought them in (an existing account's own name is none of the instructor's business); under their own
    name when they joined with the course code."""
    id: int
    email: str
    name: str


def listed(user: User, roster_name: Optional[str]) -> CourseStudent:
    return CourseStudent(user.id, user.email, roster_name or user.name)


def students_of(db: Session, course_id: int) -> list[CourseStudent]:
    # Four columns, not whole User rows: the gradebook export lists thousands of students, and loading
    # their accounts (password hashes and all) cost more than the rest of the export.
    q = (
        select(User.id, User.email, func.coalesce(func.nullif(Enrollment.roster_name, ""), User.name))
        .join(Enrollment, Enrollment.user_id == User.id)
        .where(Enrollment.course_id == course_id, Enrollment.role == ROLE_STUDENT)
    )
    return sorted((CourseStudent(*row) for row in db.exec(q)), key=lambda st: (st.name.lower(), st.email))


def listed_people(db: Session, course_id: Optional[int], user_ids) -> dict[int, CourseStudent]:
    """{user id: as the course lists them} for these people (students, or anyone acting in the course)."""
    user_ids = sorted({i for i in user_ids if i is not None})
    if not user_ids:
        return {}
    q = (select(User, Enrollment.roster_name)
         .outerjoin(Enrollment, (Enrollment.user_id == User.id) & (Enrollment.course_id == course_id))
         .where(User.id.in_(user_ids)))
    return {u.id: listed(u, name) for u, name in db.exec(q)}


def listed_student(db: Session, course_id: int, user_id: int) -> Optional[CourseStudent]:
    return listed_people(db, course_id, [user_id]).get(user_id)


ROSTER_MAX_ROWS = 2000


@dataclass
class RosterResult:
    rows: list[RosterRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    grouped: int = 0  # students placed in lab groups by the optional `group` column
    grouped_on_joining: int = 0  # invited students whose invitation carries their group

    @property
    def invited(self) -> list[RosterRow]:
        return [r for r in self.rows if r.status == STATUS_INVITED]


def import_roster(db: Session, actor: User, course: Course, raw: bytes | str, *,
                  invitation_lifetime: Optional[timedelta] = None) -> RosterResult:
    """Invite students from a CSV with columns email,name.

    All rows are checked first; any bad row means nothing is imported and the errors name their row
    numbers (the header is row 1). A roster never sets or changes an existing account's password or
    name, never enrols anyone directly, and says nothing about accounts outside the course: every row
    not yet in the course gets the same kind of invitation (a single-use, expiring link), whether the
    address is new (the link sets the password and enrols) or has an account (its owner logs in and
    accepts). The name the roster gives is the one the course's instructors see.
    """
    require_instructor(db, actor, course)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("The roster is not UTF-8 text. Save it as 'CSV UTF-8' and upload it again.")
    try:
        result = _import_rows(db, actor, course, csv.DictReader(io.StringIO(raw)), invitation_lifetime)
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit
        raise InvalidInput(f"The roster could not be read as CSV ({exc}). Save it as 'CSV UTF-8' with the "
                           "columns email,name and upload it again.")
    from . import groups  # an optional `group` column places the students in lab groups (groups imports us)
    result.grouped, notes = groups.place_from_roster(db, actor, course, raw)
    result.notes.extend(notes)
    invited_ids = [r.invitation_id for r in result.invited]
    if invited_ids:
        result.grouped_on_joining = len(db.exec(select(CourseInvitation.id).where(
            CourseInvitation.id.in_(invited_ids), CourseInvitation.group_name.is_not(None))).all())
    return result


def _import_rows(db: Session, actor: User, course: Course, reader: csv.DictReader,
                 lifetime: Optional[timedelta]) -> RosterResult:
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "email" not in fields or "name" not in fields:
        raise InvalidInput("The roster needs a header row with the columns email and name.")
    reader.fieldnames = fields
    errors: list[str] = []
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for rowno, row in enumerate(reader, start=2):
        if rowno - 1 > ROSTER_MAX_ROWS:
            errors.append(f"The roster has more than {ROSTER_MAX_ROWS} rows; split it into smaller files.")
            break
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        check = ErrorCollector()
        email = check.check(accounts.normalise_email, row.get("email"))
        name = check.check(clean_text, row.get("name"), "Name", "name")
        if check.field_errors:
            errors += [f"Row {rowno}: {m}" for ms in check.field_errors.values() for m in ms]
            continue
        if email in seen:
            errors.append(f"Row {rowno}: {email} appears twice in the file.")
            continue
        seen.add(email)
        rows.append((email, name))
    if errors:
        raise InvalidInput("Nothing was imported. Fix these rows and upload the file again.", errors=errors)
    if not rows:
        raise InvalidInput("The roster has no student rows.")
    result = RosterResult()
    if "password" in fields:
        result.notes.append("The password column was ignored: each student chooses their own password "
                            "with their invitation link.")
    try:
        for email, name in rows:
            user = accounts.find_user(db, email)
            if user is None:
                user = accounts.create_invited_user(db, email=email, name=name)
            if enrollment(db, user, course.id) is not None:
                result.rows.append(RosterRow(email, name, STATUS_ENROLLED))
                continue
            # New or not, the same invitation: an existing account's name, password and role stay untouched.
            inv, token = invitations.issue(db, actor, course, user, name, lifetime)
            result.rows.append(RosterRow(email, name, STATUS_INVITED, token, inv.expires_at, inv.id))
        audit.record(db, actor, course.id, "roster.import", f"course {course.code}",
                     {"rows": len(rows), "enrolled": 0, "invitations": len(result.invited)})
        db.commit()
    except Exception:
        db.rollback()
        raise
    return result
