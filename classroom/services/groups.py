"""Lab groups: students who share lab work (docs/lab.md).

Instructors create groups by hand, place students (by hand or with a roster's `group` column) and may
let students join an open group themselves up to its size limit. A student is in at most one group per
course. A group's work is seen by its members and the course's instructors only: `group_for_member`
answers "not found" to everyone else, in the words a missing group gets.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..models import (INVITE_PENDING, ROLE_STUDENT, Course, CourseInvitation, Enrollment, LabGroup, LabGroupMember,
                      User)
from . import audit, courses
from .errors import Conflict, ErrorCollector, Forbidden, InvalidInput, NotFound
from .validation import clean_text, parse_int

GROUP_NOT_FOUND = "No such group, or you are not in it."
MAX_GROUP_SIZE = 50


@dataclass
class GroupView:
    group: LabGroup
    members: list  # courses.CourseStudent: as the course lists them

    @property
    def full(self) -> bool:
        return self.group.max_size is not None and len(self.members) >= self.group.max_size


def _clean_name(value) -> str:
    return clean_text(value, "Group name", "name", field="name")


def _clean_size(value) -> Optional[int]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_int(value, "Size limit", minimum=1, maximum=MAX_GROUP_SIZE, field="max_size")


def groups_of(db: Session, course_id: int) -> list[GroupView]:
    """Every group of the course with its members (by the name the course lists them under: the
    roster's, else their own), in one query for the members."""
    groups = list(db.exec(select(LabGroup).where(LabGroup.course_id == course_id).order_by(LabGroup.name)))
    members: dict[int, list] = {g.id: [] for g in groups}
    shown_name = func.coalesce(Enrollment.roster_name, User.name)
    rows = db.exec(select(LabGroupMember.group_id, User, Enrollment.roster_name)
                   .join(User, User.id == LabGroupMember.user_id)
                   .outerjoin(Enrollment, (Enrollment.user_id == User.id) & (Enrollment.course_id == course_id))
                   .where(LabGroupMember.course_id == course_id).order_by(shown_name, User.email))
    for group_id, user, roster_name in rows:
        members.setdefault(group_id, []).append(courses.listed(user, roster_name))
    return [GroupView(g, members.get(g.id, [])) for g in groups]


def members_of(db: Session, group_id: int) -> list[User]:
    return list(db.exec(select(User).join(LabGroupMember, LabGroupMember.user_id == User.id)
                        .where(LabGroupMember.group_id == group_id).order_by(User.name, User.email)))


def group_of_student(db: Session, course_id: int, user_id: int) -> Optional[LabGroup]:
    return db.exec(select(LabGroup).join(LabGroupMember, LabGroupMember.group_id == LabGroup.id)
                   .where(LabGroupMember.course_id == course_id, LabGroupMember.user_id == user_id)).first()


def is_member(db: Session, group_id: int, user_id: int) -> bool:
    return db.exec(select(LabGroupMember.id).where(LabGroupMember.group_id == group_id,
                                                   LabGroupMember.user_id == user_id)).first() is not None


def create_group(db: Session, actor: User, course: Course, *, name, max_size=None, open_to_join=False) -> LabGroup:
    courses.require_instructor(db, actor, course)
    name, size = validate_group(db, course, name=name, max_size=max_size)
    group = LabGroup(course_id=course.id, name=name, max_size=size, open_to_join=bool(open_to_join))
    db.add(group)
    try:
        db.flush()
        audit.record(db, actor, course.id, "group.create", f"group {group.id}",
                     {"name": name, "max_size": size, "open_to_join": bool(open_to_join)})
        db.commit()
    except IntegrityError:  # the same name saved twice at once
        db.rollback()
        raise Conflict(f"The course already has a group called {name}. Choose another name.", field="name")
    return group


def validate_group(db: Session, course: Course, *, name, max_size=None) -> tuple[str, Optional[int]]:
    """(name, size limit) of a new group; a refusal names every wrong field."""
    check = ErrorCollector()
    name = check.check(_clean_name, name)
    size = check.check(_clean_size, max_size)
    if name and db.exec(select(LabGroup.id).where(LabGroup.course_id == course.id, LabGroup.name == name)).first():
        check.add("name", f"The course already has a group called {name}. Choose another name.")
    check.raise_any()
    return name, size


def group_for_instructor(db: Session, actor: User, group_id: int) -> tuple[LabGroup, Course]:
    group = db.get(LabGroup, group_id)
    if group is None:
        raise NotFound(GROUP_NOT_FOUND)
    course = db.get(Course, group.course_id)
    courses.require_instructor(db, actor, course, not_found=GROUP_NOT_FOUND)
    return group, course


def group_for_member(db: Session, actor: User, group_id: int) -> tuple[LabGroup, Course, bool]:
    """The group, its course and whether the actor teaches it: members and instructors only."""
    group = db.get(LabGroup, group_id)
    if group is None:
        raise NotFound(GROUP_NOT_FOUND)
    course = db.get(Course, group.course_id)
    e = courses.enrollment(db, actor, course.id)
    teaches = e is not None and e.role != ROLE_STUDENT
    if not teaches and not is_member(db, group.id, actor.id):
        raise NotFound(GROUP_NOT_FOUND)
    return group, course, teaches


def _place(db: Session, actor: User, group: LabGroup, student: User) -> bool:
    """Put a student in the group (moving them from another group of the course); False if already there."""
    current = db.exec(select(LabGroupMember).where(LabGroupMember.course_id == group.course_id,
                                                   LabGroupMember.user_id == student.id)).first()
    if current is not None and current.group_id == group.id:
        return False
    if current is not None:
        db.delete(current)
        db.flush()
    db.add(LabGroupMember(group_id=group.id, course_id=group.course_id, user_id=student.id, added_by_id=actor.id))
    return True


def _student_of_course(db: Session, course_id: int, user_id) -> User:
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        raise InvalidInput("Choose a student of the course.", field="student")
    user = db.exec(select(User).join(Enrollment, Enrollment.user_id == User.id)
                   .where(Enrollment.course_id == course_id, Enrollment.role == ROLE_STUDENT,
                          User.id == user_id)).first()
    if user is None:
        raise InvalidInput("Choose a student of the course.", field="student")
    return user


def add_member(db: Session, actor: User, group_id: int, student_id) -> tuple[LabGroup, User]:
    """The instructor places a student (size limits are for students joining by themselves)."""
    group, course = group_for_instructor(db, actor, group_id)
    student = _student_of_course(db, course.id, student_id)
    if _place(db, actor, group, student):
        audit.record(db, actor, course.id, "group.add", f"group {group.id}", {"user": student.id})
    db.commit()
    return group, student


def remove_member(db: Session, actor: User, group_id: int, student_id: int) -> tuple[LabGroup, User]:
    group, course = group_for_instructor(db, actor, group_id)
    row = db.exec(select(LabGroupMember).where(LabGroupMember.group_id == group.id,
                                               LabGroupMember.user_id == student_id)).first()
    if row is None:
        raise NotFound("That student is not in this group.")
    student = db.get(User, student_id)
    db.delete(row)
    audit.record(db, actor, course.id, "group.remove", f"group {group.id}", {"user": student_id})
    db.commit()
    return group, student


def join_group(db: Session, actor: User, group_id: int) -> LabGroup:
    """A student joins an open group of their course, while it has room, if they are in no group yet."""
    group = db.get(LabGroup, group_id)
    course = db.get(Course, group.course_id) if group else None
    e = courses.enrollment(db, actor, course.id) if course else None
    if group is None or e is None:
        raise NotFound(GROUP_NOT_FOUND)
    if e.role != ROLE_STUDENT:
        raise Forbidden("Only students join groups.")
    if not group.open_to_join:
        raise Forbidden(f"{group.name} is not open for joining: your instructor places students in it.")
    mine = group_of_student(db, course.id, actor.id)
    if mine is not None:
        if mine.id == group.id:
            return group
        raise Conflict(f"You are already in {mine.name}. Leave it first to join another group.")
    size = db.exec(select(func.count()).select_from(LabGroupMember)
                   .where(LabGroupMember.group_id == group.id)).one()
    if group.max_size is not None and size >= group.max_size:
        raise Conflict(f"{group.name} is full ({group.max_size} students). Choose another group.")
    db.add(LabGroupMember(group_id=group.id, course_id=course.id, user_id=actor.id, added_by_id=actor.id))
    audit.record(db, actor, course.id, "group.join", f"group {group.id}", {"user": actor.id})
    try:
        db.commit()
    except IntegrityError:  # a double click (or another tab) joined first
        db.rollback()
        raise Conflict("You are already in a group of this course.")
    return group


def leave_group(db: Session, actor: User, group_id: int) -> LabGroup:
    """A student leaves an open group (a group the instructor fills is changed by the instructor).
    What the student wrote stays with the group, under their name."""
    group = db.get(LabGroup, group_id)
    if group is None or not is_member(db, group.id, actor.id):
        raise NotFound(GROUP_NOT_FOUND)
    if not group.open_to_join:
        raise Forbidden(f"Your instructor placed you in {group.name}; ask them to move you.")
    row = db.exec(select(LabGroupMember).where(LabGroupMember.group_id == group.id,
                                               LabGroupMember.user_id == actor.id)).one()
    db.delete(row)
    audit.record(db, actor, group.course_id, "group.leave", f"group {group.id}", {"user": actor.id})
    db.commit()
    return group


def place_on_joining(db: Session, course_id: int, user: User, name: Optional[str],
                     placed_by_id: Optional[int]) -> None:
    """A student joins by accepting an invitation whose roster row named a group: into it they go
    (made if it is gone). Not committed."""
    if not name:
        return
    group = db.exec(select(LabGroup).where(LabGroup.course_id == course_id, LabGroup.name == name)).first()
    if group is None:
        group = LabGroup(course_id=course_id, name=name)
        db.add(group)
        db.flush()
    if db.exec(select(LabGroupMember).where(LabGroupMember.course_id == course_id,
                                            LabGroupMember.user_id == user.id)).first() is None:
        db.add(LabGroupMember(group_id=group.id, course_id=course_id, user_id=user.id, added_by_id=placed_by_id))


def place_from_roster(db: Session, actor: User, course: Course, raw: str) -> tuple[int, list[str]]:
    """The roster's optional `group` column: each listed student goes into that group (created when
    new, closed to joining). Called after the roster's rows were enrolled, so it refuses nothing: a bad
    group name is a note on the result page. Returns (students placed, notes). Rows without a group
    are left where they are."""
    reader = csv.DictReader(io.StringIO(raw))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "group" not in fields:
        return 0, []
    reader.fieldnames = fields
    wanted: list[tuple[str, str]] = []
    errors: list[str] = []
    for rowno, row in enumerate(reader, start=2):
        name = (row.get("group") or "").strip()
        email = (row.get("email") or "").strip().lower()
        if not name or not email:
            continue
        try:
            wanted.append((email, _clean_name(name)))
        except InvalidInput as exc:
            errors.append(f"Row {rowno}: {exc.message} The row was imported, but that student goes in no group.")
    existing = {g.name: g for g in db.exec(select(LabGroup).where(LabGroup.course_id == course.id))}
    students = {u.email.lower(): u for u in courses.students_of(db, course.id)}
    # Invited rows are not in the course yet: their invitation keeps the group for when they join.
    invited = {email: inv for inv, email in db.exec(
        select(CourseInvitation, User.email).join(User, User.id == CourseInvitation.user_id)
        .where(CourseInvitation.course_id == course.id, CourseInvitation.status == INVITE_PENDING))}
    placed = 0
    for email, name in wanted:
        student = students.get(email)
        if student is None and email in invited:
            invited[email].group_name = name
            db.add(invited[email])
            continue
        if student is None:  # an instructor's own row, say: only students are grouped
            continue
        group = existing.get(name)
        if group is None:
            group = existing[name] = LabGroup(course_id=course.id, name=name)
            db.add(group)
            db.flush()
        placed += int(_place(db, actor, group, student))
        db.flush()
    if wanted:
        audit.record(db, actor, course.id, "group.roster", f"course {course.code}", {"placed": placed})
    db.commit()
    return placed, errors
