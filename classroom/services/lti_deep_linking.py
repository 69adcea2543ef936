"""LTI deep linking: from the LMS's "add external tool" dialog an instructor picks one of the course's
assignments; the tool answers with a signed LtiDeepLinkingResponse (PyLTI1p3's DeepLink) carrying a
resource link and its line item, so the LMS makes the link and a gradebook column. The link's launches
later carry the assignment's id as a custom parameter and land on that assignment. See docs/lti.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from sqlmodel import Session, select

from ..models import Assignment, Course, LtiAccount, LtiContext, LtiPlatform, User

CUSTOM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/custom"
CONTEXT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/context"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
# The custom parameter the LMS stores with the link and sends back in every launch from it.
ASSIGNMENT_PARAM = "classroom_assignment_id"


def linked_assignment(db: Session, course: Course, data: dict) -> Optional[int]:
    """The assignment a resource link (made by deep linking) opens, if it is one of this course's;
    a link copied into another LMS course lands on that course's page instead."""
    custom = data.get(CUSTOM_CLAIM)
    raw = str(custom.get(ASSIGNMENT_PARAM) or "") if isinstance(custom, dict) else ""
    if not raw.isdigit() or len(raw) > 12:
        return None
    assignment = db.get(Assignment, int(raw))
    return assignment.id if assignment is not None and assignment.course_id == course.id else None


@dataclass
class Choice:
    """A deep-linking request waiting for the instructor: the course and what may be linked."""
    launch: Any  # PyLTI1p3's restored MessageLaunch
    course: Course
    assignments: list[Assignment]
    return_url: str


def choice(db: Session, private_pem: str, redis_url: Optional[str], launch_id: str, user: User) -> Choice:
    """The kept deep-linking request `launch_id`, if it is this user's and still waiting."""
    from . import assignments, lti_frame
    from .lti import LaunchRefused, _tool_conf

    launch = lti_frame.restored_launch(db, _tool_conf(db, private_pem), redis_url, launch_id)
    gone = LaunchRefused("This choice was already sent to the LMS, or it waited too long (an hour). Open the "
                         "LMS's “add external tool” dialog again.")
    if launch is None or not launch.is_deep_link_launch():
        raise gone
    data = launch.get_launch_data()
    platform = db.exec(select(LtiPlatform).where(LtiPlatform.issuer == data.get("iss"),
                                                 LtiPlatform.client_id == launch.get_client_id())).first()
    account = platform and db.exec(select(LtiAccount).where(LtiAccount.platform_id == platform.id,
                                                           LtiAccount.sub == str(data.get("sub")))).first()
    if not account or account.user_id != user.id:
        raise gone  # someone else's request: the same words, nothing about whose it is
    context_id = str((data.get(CONTEXT_CLAIM) or {}).get("id") or "")
    link = db.exec(select(LtiContext).where(LtiContext.platform_id == platform.id,
                                            LtiContext.context_id == context_id)).first()
    if link is None:
        raise gone
    course = db.get(Course, link.course_id)
    return_url = str((data.get(DEEP_LINKING_CLAIM) or {}).get("deep_link_return_url") or "")
    if not return_url.startswith(("https://", "http://")):
        raise LaunchRefused("The LMS did not say where to send the choice (no deep_link_return_url).")
    return Choice(launch=launch, course=course, assignments=assignments.assignments_of(db, course.id),
                  return_url=return_url)


def respond(db: Session, redis_url: Optional[str], pending: Choice, assignment_id, launch_url: str) -> str:
    """The signed deep-linking response (a JWT for the LMS) linking the chosen assignment, with a line
    item for the LMS's gradebook. The request is used up: a second choice is refused."""
    from pylti1p3.deep_link_resource import DeepLinkResource
    from pylti1p3.lineitem import LineItem

    from . import lti_frame
    from .errors import InvalidInput
    from .lti import LaunchRefused

    chosen = next((a for a in pending.assignments if str(a.id) == str(assignment_id or "")), None)
    if chosen is None:
        raise InvalidInput("Choose one of the course's assignments.", field="assignment")
    line_item = (LineItem().set_score_maximum(chosen.points).set_label(chosen.title)
                 .set_resource_id(f"assignment-{chosen.id}"))
    resource = (DeepLinkResource().set_url(launch_url).set_title(chosen.title)
                .set_custom_params({ASSIGNMENT_PARAM: str(chosen.id)}).set_lineitem(line_item))
    token = pending.launch.get_deep_link().get_response_jwt([resource])
    if not lti_frame.forget_launch(db, redis_url, pending.launch.get_launch_id()):
        raise LaunchRefused("This choice was already sent to the LMS. Open the LMS's “add external tool” "
                            "dialog again to add another assignment.")
    return token
