"""LTI Advantage for a linked course: grades back to the LMS (Assignment and Grade Services) and the roster
from it (Names and Role Provisioning Services). See docs/lti.md.

A launch's AGS and NRPS claims are kept per LMS link (`remember_services`). Releasing an assignment's grades
writes each student's score as a row of `lti_score_send` and queues the job (jobs.send_lti_scores) that
posts them with PyLTI1p3 (classroom/lti_calls.py), retrying while the LMS fails with a 5xx or cannot be
reached. The assignment page lists every row (`score_overview`); "Send again" queues what is not in the LMS.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from sqlmodel import Session, select

from .. import jobs, lti_calls
from ..models import (
    ROLE_INSTRUCTOR, ROLE_STUDENT, SCORE_QUEUED, SCORE_SENT, SCORE_SKIPPED, Assignment, Course,
    Enrollment, LtiAccount, LtiContext, LtiPlatform, LtiResourceLink, LtiScoreSend, User, utcnow,
)
from . import assignments as assignment_service
from . import audit, courses, gradebook, lti_deep_linking
from .errors import Conflict, InvalidInput
from .scoring import round_points

RESOURCE_LINK_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/resource_link"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
LEARNER_ROLES = ("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
                 "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Learner",
                 "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student", "Learner")
NO_ACCOUNT = ("No LMS account: this student joined in the classroom, not from the LMS, so the LMS's user id "
              "is not known. They can open the assignment once from the LMS, or sync the roster.")


# ---------------------------------------------------------------- what a launch says about the services

def _url(value) -> Optional[str]:
    text = str(value or "").strip()
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc and len(text) <= 1000 else None


def remember_services(db: Session, platform: LtiPlatform, context_id: str, course: Course, data: dict,
                      role: str) -> None:
    """Keeps what this launch's link offers (AGS endpoints and scopes; the NRPS memberships URL from an
    instructor's launch only, as only instructors sync the roster); the caller commits. A link's newest launch
    replaces what an older one said."""
    link_id = str((data.get(RESOURCE_LINK_CLAIM) or {}).get("id") or "").strip()
    context = db.exec(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                               LtiContext.context_id == context_id)).first()
    if not link_id or len(link_id) > 255 or context is None:
        return
    ags = data.get(AGS_CLAIM) if isinstance(data.get(AGS_CLAIM), dict) else {}
    nrps = data.get(NRPS_CLAIM) if isinstance(data.get(NRPS_CLAIM), dict) else {}
    scopes = [str(s)[:200] for s in ags.get("scope") or [] if isinstance(s, str)][:10]
    row = db.exec(select(LtiResourceLink).where(LtiResourceLink.context_id == context.id,
                                                LtiResourceLink.resource_link_id == link_id)).first()
    if row is None:
        row = LtiResourceLink(context_id=context.id, resource_link_id=link_id)
    row.assignment_id = lti_deep_linking.linked_assignment(db, course, data)  # the link deep linking made
    row.lineitems_url, row.lineitem_url = _url(ags.get("lineitems")), _url(ags.get("lineitem"))
    row.ags_scopes = scopes if (row.lineitems_url or row.lineitem_url) else []
    if role == ROLE_INSTRUCTOR:
        row.memberships_url = _url(nrps.get("context_memberships_url"))
    row.updated_at = utcnow()
    db.add(row)


def _links(db: Session, course_id: int) -> list[tuple[LtiContext, LtiResourceLink]]:
    """The course's LMS links, newest launch first."""
    return list(db.exec(select(LtiContext, LtiResourceLink)
                        .join(LtiResourceLink, LtiResourceLink.context_id == LtiContext.id)
                        .where(LtiContext.course_id == course_id)
                        .order_by(LtiResourceLink.updated_at.desc(), LtiResourceLink.id.desc())).all())


def grade_contexts(db: Session, course_id: int) -> list[LtiContext]:
    """The course's LMS courses whose launches offered the Assignment and Grade Services."""
    seen: dict[int, LtiContext] = {}
    for context, link in _links(db, course_id):
        if link.lineitems_url or link.lineitem_url:
            seen.setdefault(context.id, context)
    return list(seen.values())


# ---------------------------------------------------------------- grades back

@dataclass
class Queued:
    queued: int = 0
    skipped: int = 0  # no LMS account
    current: int = 0  # already in the LMS with this score


def _scores(db: Session, assignment: Assignment) -> dict[int, tuple[float, str, str]]:
    """student id -> (points, activityProgress, gradingProgress), as the gradebook counts them."""
    n_problems = len(assignment_service.problems_in(db, assignment.id))
    per_student: dict[int, list] = {}
    for (student_id, _problem_id), cell in gradebook.assignment_cells(db, assignment).items():
        per_student.setdefault(student_id, []).append(cell.score)
    out = {}
    for student in courses.students_of(db, assignment.course_id):
        scores = per_student.get(student.id, [])
        points = round_points(sum(s.points for s in scores))
        activity = ("Completed" if scores and len(scores) >= n_problems else "InProgress" if scores
                    else "Initialized")
        grading = "PendingManual" if any(s.pending for s in scores) else "FullyGraded"
        out[student.id] = (points, activity, grading)
    return out


def queue_scores(db: Session, assignment: Assignment, only_unsent: bool = False) -> Optional[Queued]:
    """Writes each student's score for every LMS course that takes grades, and queues the job that sends them.
    `only_unsent`: leave out scores the LMS already has (sent, and unchanged since). None: no LMS takes them."""
    contexts = grade_contexts(db, assignment.course_id)
    if not contexts:
        return None
    scores = _scores(db, assignment)
    now = utcnow()
    result, to_send = Queued(), []
    for context in contexts:
        subs = dict(db.exec(select(LtiAccount.user_id, LtiAccount.sub).where(
            LtiAccount.platform_id == context.platform_id, LtiAccount.user_id.in_(list(scores)))).all())
        rows = {r.user_id: r for r in db.exec(select(LtiScoreSend).where(
            LtiScoreSend.assignment_id == assignment.id, LtiScoreSend.context_id == context.id))}
        for user_id, (points, activity, grading) in scores.items():
            row = rows.get(user_id) or LtiScoreSend(assignment_id=assignment.id, context_id=context.id,
                                                    user_id=user_id)
            same = (row.state == SCORE_SENT and row.score_given == points
                    and row.score_maximum == float(assignment.points) and row.activity_progress == activity
                    and row.grading_progress == grading and row.sub == subs.get(user_id))
            if only_unsent and same:
                result.current += 1
                continue
            row.sub = subs.get(user_id)
            row.score_given, row.score_maximum = points, float(assignment.points)
            row.activity_progress, row.grading_progress = activity, grading
            row.timestamp, row.queued_at, row.attempts = now, now, 0
            if row.sub is None:
                row.state, row.error = SCORE_SKIPPED, NO_ACCOUNT
                result.skipped += 1
            else:
                row.state, row.error = SCORE_QUEUED, None
                result.queued += 1
            db.add(row)
            if row.sub is not None:
                to_send.append(row)
    db.commit()
    if to_send:
        jobs.enqueue_lti_scores([row.id for row in to_send])
    return result


def grades_released(db: Session, assignment: Assignment) -> Optional[Queued]:
    """Releasing an assignment's grades sends them to the LMS courses linked to its course."""
    return queue_scores(db, assignment)


def send_again(db: Session, actor: User, assignment: Assignment) -> Queued:
    """The instructor's "Send again": every score the LMS does not have yet (failed, skipped, changed)."""
    courses.require_instructor(db, actor, db.get(Course, assignment.course_id))
    if assignment.released_at is None:
        raise Conflict("Release the grades first: the LMS shows students the scores it receives.")
    result = queue_scores(db, assignment, only_unsent=True)
    if result is None:
        raise InvalidInput("No LMS takes this course's grades: open the course from the LMS (with the LMS's "
                           "grade services turned on for the tool) first.")
    audit.record(db, actor, assignment.course_id, "lti.scores_again", f"assignment {assignment.id}",
                 {"queued": result.queued, "skipped": result.skipped})
    db.commit()
    return result


@dataclass
class ScoreRow:
    student: courses.CourseStudent
    send: Optional[LtiScoreSend]


@dataclass
class ScoreOverview:
    rows: list[ScoreRow]
    counts: dict[str, int] = field(default_factory=dict)  # state -> students

    @property
    def unsent(self) -> int:
        return sum(n for state, n in self.counts.items() if state != SCORE_SENT)


def score_overview(db: Session, assignment: Assignment) -> Optional[ScoreOverview]:
    """What was sent to the LMS for each student, what failed and why; None when no LMS takes the grades."""
    if not grade_contexts(db, assignment.course_id):
        return None
    sends: dict[int, LtiScoreSend] = {}
    for row in db.exec(select(LtiScoreSend).where(LtiScoreSend.assignment_id == assignment.id)
                       .order_by(LtiScoreSend.id)):
        sends.setdefault(row.user_id, row)  # one LMS course per classroom course is the usual case
    rows = [ScoreRow(student, sends.get(student.id)) for student in courses.students_of(db, assignment.course_id)]
    counts: dict[str, int] = {}
    for row in rows:
        if row.send is not None:
            counts[row.send.state] = counts.get(row.send.state, 0) + 1
    return ScoreOverview(rows, counts)


# ---------------------------------------------------------------- the roster from the LMS

@dataclass
class RosterSync:
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    role_changed: list[str] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (who, why)
    members: int = 0


def roster_link(db: Session, course_id: int) -> Optional[tuple[LtiContext, LtiResourceLink]]:
    """The newest launch of the course that carried the NRPS claim (its memberships URL), if any."""
    return next(((context, link) for context, link in _links(db, course_id) if link.memberships_url), None)


def _role(roles) -> Optional[str]:
    from .lti import INSTRUCTOR_ROLES

    roles = [r for r in roles or [] if isinstance(r, str)]
    if any(r in INSTRUCTOR_ROLES for r in roles):
        return ROLE_INSTRUCTOR
    if any(r in LEARNER_ROLES for r in roles):
        return ROLE_STUDENT
    return None


def sync_roster(db: Session, actor: User, course: Course, private_pem: str) -> RosterSync:
    """Reads the LMS course's members (NRPS, every page) and enrolls them: learners as students, instructors
    as instructors, each by their LMS user id (`sub`): an account is found or made by it, never by e-mail."""
    from . import lti

    courses.require_instructor(db, actor, course)
    found = roster_link(db, course.id)
    if found is None:
        raise InvalidInput("The LMS has not offered this course's roster: open the course from the LMS as its "
                           "instructor (with the LMS's names and roles service turned on for the tool) first.")
    context, link = found
    platform = db.get(LtiPlatform, context.platform_id)
    try:
        members = lti_calls.members(lti_calls.connector(platform, private_pem), link.memberships_url)
    except lti_calls.LmsCallFailed as exc:
        raise Conflict(f"The LMS's roster could not be read: {exc.reason}")
    result = RosterSync(members=len(members))
    seen: set[str] = set()
    for member in members:
        if not isinstance(member, dict):
            continue
        sub = str(member.get("user_id") or "").strip()
        who = lti.claimed_name(member) or f"LMS user {sub[:40]}"[:120]
        if not sub or len(sub) > 255:
            result.left_out.append((who, "the LMS gave no usable user id"))
            continue
        if sub in seen:
            continue
        seen.add(sub)
        if str(member.get("status") or "Active") != "Active":
            result.left_out.append((who, f"{str(member.get('status'))[:20].lower()} in the LMS"))
            continue
        role = _role(member.get("roles"))
        if role is None:
            result.left_out.append((who, "neither a learner nor an instructor in the LMS course"))
            continue
        try:
            user = lti._account(db, platform, sub, member, role)
        except lti.LaunchRefused:
            result.left_out.append((who, "their classroom account is disabled"))
            continue
        shown = user.name
        enrollment = courses.enrollment(db, user, course.id)
        if user.id == actor.id:
            result.already.append(shown)  # your own place in the course is never changed by a sync
        elif enrollment is None:
            db.add(Enrollment(course_id=course.id, user_id=user.id, role=role))
            result.added.append(shown)
        elif enrollment.role != role:
            enrollment.role = role  # the LMS's roles are the course's truth, as on every launch
            db.add(enrollment)
            result.role_changed.append(shown)
        else:
            result.already.append(shown)
    audit.record(db, actor, course.id, "roster.lti_sync", f"course {course.code}",
                 {"added": len(result.added), "already": len(result.already),
                  "role_changed": len(result.role_changed), "left_out": len(result.left_out)})
    db.commit()
    return result
