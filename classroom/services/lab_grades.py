"""Grading a lab with the instructor's own rubric (docs/lab.md).

A rubric is a list of criteria, each with its points. The instructor gives each group points on every
criterion; every member gets the group's points, plus or minus their own adjustment (with a reason).
A student's score is the group's points plus the adjustment, kept between 0 and the rubric's total, and
is a column of the gradebook like any assignment's (a lab with no criteria has no column). Students see
their grade once the instructor releases it. A student's score follows the group they are in now.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import delete, func
from sqlmodel import Session, select

from ..models import Lab, LabAdjustment, LabCriterion, LabCriterionScore, LabGroup, LabGroupMember, User, utcnow
from . import audit, courses, groups, lab as lab_service
from .errors import ErrorCollector, InvalidInput, NotFound
from .scoring import format_points, round_points
from .validation import clean_text, parse_int

MAX_CRITERION_POINTS = 1000
MAX_CRITERIA = 30
CRITERION_NOT_FOUND = "No such criterion in this lab's rubric."


def criteria_of(db: Session, lab_id: int) -> list[LabCriterion]:
    return list(db.exec(select(LabCriterion).where(LabCriterion.lab_id == lab_id)
                        .order_by(LabCriterion.position, LabCriterion.id)))


def add_criterion(db: Session, actor: User, lab_id: int, title, points) -> LabCriterion:
    access = lab_service.lab_for_instructor(db, actor, lab_id)
    check = ErrorCollector()
    title = check.check(clean_text, title, "Criterion", "title", field="title")
    points = check.check(parse_int, points, "Points", minimum=1, maximum=MAX_CRITERION_POINTS, field="points")
    existing = criteria_of(db, access.lab.id)
    if len(existing) >= MAX_CRITERIA:
        check.add("title", f"A rubric has at most {MAX_CRITERIA} criteria.")
    check.raise_any()
    criterion = LabCriterion(lab_id=access.lab.id, title=title, points=points,
                             position=1 + max((c.position for c in existing), default=0))
    db.add(criterion)
    db.flush()
    audit.record(db, actor, access.course.id, "lab.rubric", f"lab {access.lab.id}",
                 {"added": title, "points": points})
    db.commit()
    return criterion


def remove_criterion(db: Session, actor: User, lab_id: int, criterion_id: int) -> LabCriterion:
    """Takes the criterion out of the rubric, with the points groups had on it."""
    access = lab_service.lab_for_instructor(db, actor, lab_id)
    criterion = db.get(LabCriterion, criterion_id)
    if criterion is None or criterion.lab_id != access.lab.id:
        raise NotFound(CRITERION_NOT_FOUND)
    db.exec(delete(LabCriterionScore).where(LabCriterionScore.criterion_id == criterion.id))
    db.delete(criterion)
    audit.record(db, actor, access.course.id, "lab.rubric", f"lab {access.lab.id}",
                 {"removed": criterion.title, "points": criterion.points})
    db.commit()
    return criterion


def parse_points(value, label: str, *, minimum: float, maximum: float, field: str) -> Optional[float]:
    """Points as typed (a comma as the decimal point too), to the hundredth; blank is None."""
    text = "" if value is None else str(value).strip().replace(",", ".")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise InvalidInput(f"{label} must be a number, such as 7 or 7.5.", field=field)
    if not math.isfinite(number):
        raise InvalidInput(f"{label} must be a number, such as 7 or 7.5.", field=field)
    if number < minimum or number > maximum:
        raise InvalidInput(f"{label} must be between {format_points(minimum)} and {format_points(maximum)}.",
                           field=field)
    return round_points(number)


@dataclass
class GroupGradeDraft:
    """What the grading form sends for one group: criterion id -> points, and per member (user id) an
    adjustment and its reason. Blank points leave a criterion ungraded; a blank adjustment is none."""
    points: dict = field(default_factory=dict)
    adjustments: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)


def grade_group(db: Session, actor: User, lab_id: int, group_id: int, draft: GroupGradeDraft) -> LabGroup:
    access = lab_service.lab_for_instructor(db, actor, lab_id, group_id)
    group = access.group
    criteria = criteria_of(db, access.lab.id)
    if not criteria:
        raise InvalidInput("Write the lab's rubric first: grades are points on its criteria.")
    total = sum(c.points for c in criteria)
    members = groups.members_of(db, group.id)
    check = ErrorCollector()
    points = {}
    for c in criteria:
        points[c.id] = check.check(parse_points, draft.points.get(c.id), f"Points for “{c.title}”", minimum=0,
                                   maximum=c.points, field=f"points-{c.id}")
    adjustments = {}
    for m in members:
        value = check.check(parse_points, draft.adjustments.get(m.id), f"The adjustment for {m.name}",
                            minimum=-total, maximum=total, field=f"adjust-{m.id}")
        reason = check.check(clean_text, draft.reasons.get(m.id), f"The reason for {m.name}'s adjustment", "reason",
                             required=False, field=f"reason-{m.id}")
        if value and not reason:
            check.add(f"reason-{m.id}", f"Say why {m.name} gets {format_points(value)} points "
                                        f"{'more' if value > 0 else 'fewer'} than the group.")
        adjustments[m.id] = (value or 0.0, reason or "")
    check.raise_any()
    now = utcnow()
    existing = {s.criterion_id: s for s in db.exec(select(LabCriterionScore).where(
        LabCriterionScore.group_id == group.id, LabCriterionScore.lab_id == access.lab.id))}
    for c in criteria:
        row = existing.get(c.id)
        if points[c.id] is None:
            if row is not None:
                db.delete(row)
            continue
        row = row or LabCriterionScore(lab_id=access.lab.id, criterion_id=c.id, group_id=group.id, points=0.0)
        row.points, row.graded_by_id, row.graded_at = points[c.id], actor.id, now
        db.add(row)
    current = {a.user_id: a for a in db.exec(select(LabAdjustment).where(
        LabAdjustment.lab_id == access.lab.id, LabAdjustment.user_id.in_([m.id for m in members])))}
    for m in members:
        value, reason = adjustments[m.id]
        row = current.get(m.id)
        if not value:
            if row is not None:
                db.delete(row)
            continue
        row = row or LabAdjustment(lab_id=access.lab.id, user_id=m.id, points=0.0, reason="")
        row.points, row.reason, row.graded_by_id, row.graded_at = value, reason, actor.id, now
        db.add(row)
    audit.record(db, actor, access.course.id, "lab.grade", f"lab {access.lab.id} group {group.id}",
                 {"points": {str(k): v for k, v in points.items()},
                  "adjustments": {str(k): v for k, (v, _r) in adjustments.items() if v}})
    db.commit()
    return group


def set_released(db: Session, actor: User, lab_id: int, released: bool) -> Lab:
    access = lab_service.lab_for_instructor(db, actor, lab_id)
    access.lab.grades_released_at = utcnow() if released else None
    db.add(access.lab)
    audit.record(db, actor, access.course.id, "lab.release" if released else "lab.unrelease",
                 f"lab {access.lab.id}", {})
    db.commit()
    return access.lab


# --------------------------------------------------------------------------- scores

def score(group_points: Optional[float], adjustment: float, total: int) -> float:
    """A student's points: the group's plus their adjustment, between 0 and the rubric's total."""
    return round_points(min(max((group_points or 0.0) + adjustment, 0.0), float(total)))


@dataclass
class MemberGrade:
    student: "courses.CourseStudent"
    adjustment: Optional[LabAdjustment]
    points: float


@dataclass
class GroupGrade:
    group: LabGroup
    scores: dict[int, float]  # criterion id -> points (graded criteria only)
    members: list[MemberGrade]

    @property
    def graded(self) -> bool:
        return bool(self.scores)

    @property
    def points(self) -> float:
        return round_points(sum(self.scores.values()))


@dataclass
class LabGrading:
    access: "lab_service.LabAccess"
    criteria: list[LabCriterion]
    groups: list[GroupGrade]
    ungrouped: list  # the course's students in no group: 0 points until they join one

    @property
    def total(self) -> int:
        return sum(c.points for c in self.criteria)


def grading(db: Session, actor: User, lab_id: int) -> LabGrading:
    access = lab_service.lab_for_instructor(db, actor, lab_id)
    criteria = criteria_of(db, access.lab.id)
    total = sum(c.points for c in criteria)
    scores: dict[int, dict[int, float]] = {}
    for s in db.exec(select(LabCriterionScore).where(LabCriterionScore.lab_id == access.lab.id)):
        scores.setdefault(s.group_id, {})[s.criterion_id] = s.points
    adjustments = {a.user_id: a for a in db.exec(select(LabAdjustment).where(LabAdjustment.lab_id == access.lab.id))}
    views = groups.groups_of(db, access.course.id)
    grouped = set()
    rows = []
    for v in views:
        given = scores.get(v.group.id, {})
        group_points = round_points(sum(given.values()))
        members = []
        for u in v.members:
            grouped.add(u.id)
            adj = adjustments.get(u.id)
            members.append(MemberGrade(u, adj, score(group_points, adj.points if adj else 0.0, total)))
        rows.append(GroupGrade(v.group, given, members))
    ungrouped = [u for u in courses.students_of(db, access.course.id) if u.id not in grouped]
    return LabGrading(access, criteria, rows, ungrouped)


@dataclass
class OwnGrade:
    """A student's released lab grade, as they see it."""
    criteria: list[LabCriterion]
    scores: dict[int, float]
    adjustment: Optional[LabAdjustment]
    points: float
    total: int


def own_grade(db: Session, access: "lab_service.LabAccess", student: User) -> Optional[OwnGrade]:
    """The student's grade in this lab once released (None before, or when the lab has no rubric)."""
    if access.teaches or access.lab.grades_released_at is None:
        return None
    criteria = criteria_of(db, access.lab.id)
    if not criteria:
        return None
    given = {}
    if access.group is not None:
        given = {s.criterion_id: s.points for s in db.exec(select(LabCriterionScore).where(
            LabCriterionScore.lab_id == access.lab.id, LabCriterionScore.group_id == access.group.id))}
    adj = db.exec(select(LabAdjustment).where(LabAdjustment.lab_id == access.lab.id,
                                              LabAdjustment.user_id == student.id)).first()
    total = sum(c.points for c in criteria)
    return OwnGrade(criteria, given, adj, score(sum(given.values()), adj.points if adj else 0.0, total), total)


# --------------------------------------------------------------------------- the gradebook's columns

@dataclass
class LabColumn:
    """A lab with a rubric as the gradebook shows it, beside the assignments: `id` keys its points."""
    lab: Lab
    points: int  # the rubric's total

    @property
    def id(self) -> str:
        return f"lab-{self.lab.id}"

    @property
    def title(self) -> str:
        return self.lab.title

    @property
    def released_at(self):
        return self.lab.grades_released_at


def gradebook_columns(db: Session, course_id: int, student_ids: Optional[list[int]] = None
                      ) -> tuple[list[LabColumn], dict[int, dict[str, float]]]:
    """The course's labs that have a rubric, and (student id -> column id -> points) for the given students
    (everyone without ids): four queries whatever the number of students, labs and groups; one when no lab
    has a rubric."""
    labs = list(db.exec(select(Lab, func.sum(LabCriterion.points)).join(LabCriterion, LabCriterion.lab_id == Lab.id)
                        .where(Lab.course_id == course_id).group_by(Lab.id).order_by(Lab.id)))
    columns = [LabColumn(lab, int(total)) for lab, total in labs]
    if not columns:
        return [], {}
    lab_ids = [c.lab.id for c in columns]
    group_points: dict[tuple[int, int], float] = {
        (lab_id, group_id): float(points) for lab_id, group_id, points in db.exec(
            select(LabCriterionScore.lab_id, LabCriterionScore.group_id, func.sum(LabCriterionScore.points))
            .where(LabCriterionScore.lab_id.in_(lab_ids))
            .group_by(LabCriterionScore.lab_id, LabCriterionScore.group_id))}
    member_q = select(LabGroupMember.user_id, LabGroupMember.group_id).where(LabGroupMember.course_id == course_id)
    adjust_q = select(LabAdjustment.lab_id, LabAdjustment.user_id, LabAdjustment.points).where(
        LabAdjustment.lab_id.in_(lab_ids))
    if student_ids is not None:
        member_q = member_q.where(LabGroupMember.user_id.in_(student_ids))
        adjust_q = adjust_q.where(LabAdjustment.user_id.in_(student_ids))
    group_of = dict(db.exec(member_q).all())
    adjustments = {(lab_id, user_id): points for lab_id, user_id, points in db.exec(adjust_q)}
    people = set(group_of) | {user_id for _lab, user_id in adjustments}
    points: dict[int, dict[str, float]] = {}
    for user_id in people:
        for c in columns:
            group_id = group_of.get(user_id)
            points.setdefault(user_id, {})[c.id] = score(group_points.get((c.lab.id, group_id)),
                                                         adjustments.get((c.lab.id, user_id), 0.0), c.points)
    return columns, points


def released_for_student(db: Session, student_id: int, course_ids: list[int]) -> list[tuple[LabColumn, float]]:
    """The student's released lab grades in these courses (labs with a rubric whose grades are released),
    as (column, points), in the order of the labs: one query when there are none, else four."""
    if not course_ids:
        return []
    labs = list(db.exec(select(Lab, func.sum(LabCriterion.points)).join(LabCriterion, LabCriterion.lab_id == Lab.id)
                        .where(Lab.course_id.in_(course_ids), Lab.grades_released_at.is_not(None))
                        .group_by(Lab.id).order_by(Lab.id)))
    if not labs:
        return []
    lab_ids = [lab.id for lab, _total in labs]
    group_of = dict(db.exec(select(LabGroupMember.course_id, LabGroupMember.group_id)
                            .where(LabGroupMember.user_id == student_id)).all())
    group_points = {}
    if group_of:
        group_points = {(lab_id, group_id): float(points) for lab_id, group_id, points in db.exec(
            select(LabCriterionScore.lab_id, LabCriterionScore.group_id, func.sum(LabCriterionScore.points))
            .where(LabCriterionScore.lab_id.in_(lab_ids), LabCriterionScore.group_id.in_(list(group_of.values())))
            .group_by(LabCriterionScore.lab_id, LabCriterionScore.group_id))}
    adjustments = dict(db.exec(select(LabAdjustment.lab_id, LabAdjustment.points).where(
        LabAdjustment.lab_id.in_(lab_ids), LabAdjustment.user_id == student_id)).all())
    out = []
    for lab, total in labs:
        column = LabColumn(lab, int(total))
        out.append((column, score(group_points.get((lab.id, group_of.get(lab.course_id))),
                                  adjustments.get(lab.id, 0.0), column.points)))
    return out
