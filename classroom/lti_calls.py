"""The tool's calls to an LMS's LTI Advantage services, through PyLTI1p3: an OAuth2 access token got with a
JWT signed by the tool's key (PyLTI1p3's ServiceConnector), then the Assignment and Grade Services (find or
create the line item, post a score) and the Names and Role Provisioning Services (the roster, every page).

Below the services and the jobs (it knows the models, not Flask); docs/lti.md says how it is used.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import requests

from .models import LtiPlatform

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READ = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
HTTP_TIMEOUT_SECONDS = 20  # one LMS request; PyLTI1p3 sets none, so a silent LMS would hold a worker forever


class LmsCallFailed(Exception):
    """A call to the LMS failed. `reason`: in words for the instructor; `retryable`: worth trying again
    later (the LMS was unreachable, timed out, or answered 5xx or 429)."""

    def __init__(self, reason: str, retryable: bool):
        super().__init__(reason)
        self.reason, self.retryable = reason, retryable


class _TimedSession(requests.Session):
    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT_SECONDS)
        return super().request(*args, **kwargs)


def connector(platform: LtiPlatform, private_pem: str):
    """PyLTI1p3's service connector for this platform, signing its token requests with the tool's key."""
    from cryptography.hazmat.primitives import serialization
    from pylti1p3.registration import Registration
    from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector

    public = serialization.load_pem_private_key(private_pem.encode(), password=None).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    registration = (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
                    .set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
                    .set_key_set_url(platform.key_set_url).set_tool_private_key(private_pem)
                    .set_tool_public_key(public))
    session = _TimedSession()
    session.headers["User-Agent"] = REQUESTS_USER_AGENT

    class Connector(ServiceConnector):
        def make_service_request(self, *args, **kwargs):
            """PyLTI1p3's request, with the next page's address read from the `Link` header as the LMS wrote it
            (PyLTI1p3 lower-cases the header first, which breaks a page token with capitals)."""
            result = super().make_service_request(*args, **kwargs)
            if result["next_page_url"]:
                link = next((v for k, v in result["headers"].items() if k.lower() == "link"), "")
                found = re.search(r'<([^>]*)>\s*;\s*rel="?next"?', str(link).replace("\n", " "), re.IGNORECASE)
                if found:
                    result["next_page_url"] = found.group(1)
            return result

    return Connector(registration, session)


def _failed(exc: Exception) -> LmsCallFailed:
    """An exception from PyLTI1p3 or requests, in words, and whether to try again."""
    from pylti1p3.exception import LtiServiceException

    if isinstance(exc, LtiServiceException):
        response = exc.response
        status = response.status_code
        body = " ".join((response.text or "").split())[:200]
        asked_token = "client_assertion" in str(getattr(response.request, "body", "") or "")
        what = "The LMS's access-token endpoint" if asked_token else "The LMS"
        reason = f"{what} answered HTTP {status} {response.reason or ''}".strip() + (f": {body}" if body else ".")
        return LmsCallFailed(reason, status >= 500 or status == 429)
    if isinstance(exc, requests.Timeout):
        return LmsCallFailed(f"The LMS did not answer within {HTTP_TIMEOUT_SECONDS} seconds.", True)
    if isinstance(exc, requests.ConnectionError):
        return LmsCallFailed("The LMS could not be reached (connection refused or no network).", True)
    if isinstance(exc, requests.RequestException):
        return LmsCallFailed(f"The request to the LMS failed: {type(exc).__name__}.", True)
    return LmsCallFailed(f"The LMS's answer could not be used: {exc}", False)


@dataclass
class Ags:
    """What the LMS granted for grades in one course: its line items' URL, one link's line item, the scopes."""
    lineitems_url: Optional[str]
    lineitem_url: Optional[str]
    scopes: list[str]


def line_item(ags_service, ags: Ags, resource_id: str, label: str, score_maximum: float) -> str:
    """The URL of the line item to post an assignment's scores to: the link's own line item when the link
    opens this assignment, else the context's line item with this resourceId, else a new one."""
    from pylti1p3.lineitem import LineItem

    if ags.lineitem_url:
        return ags.lineitem_url
    if not ags.lineitems_url or not ({SCOPE_LINEITEM, SCOPE_LINEITEM_READ} & set(ags.scopes)):
        raise LmsCallFailed("The LMS gave this tool no line item for this assignment and no right to find or "
                            "create one: add the assignment to the LMS course with the LMS's external-tool "
                            "dialog (deep linking), then open it once from there.", False)
    if SCOPE_LINEITEM not in ags.scopes:
        found = _call(lambda: ags_service.find_lineitem_by_resource_id(resource_id))
        if found is None:
            raise LmsCallFailed("The LMS course has no line item for this assignment and the LMS does not let "
                                "this tool create one: add the assignment from the LMS (deep linking).", False)
        return found.get_id()
    wanted = LineItem().set_label(label).set_score_maximum(score_maximum).set_resource_id(resource_id)
    return _call(lambda: ags_service.find_or_create_lineitem(wanted, find_by="resource_id")).get_id()


def ags_service(platform_connector, ags: Ags):
    from pylti1p3.assignments_grades import AssignmentsGradesService

    data = {"scope": list(ags.scopes), "lineitems": ags.lineitems_url or ""}
    if ags.lineitem_url:
        data["lineitem"] = ags.lineitem_url
    return AssignmentsGradesService(platform_connector, data)


def post_score(service, ags: Ags, lineitem_url: str, *, user_id: str, score_given: float, score_maximum: float,
               activity_progress: str, grading_progress: str, timestamp: str) -> None:
    """One student's score to the line item (AGS score publish service)."""
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem

    if SCOPE_SCORE not in ags.scopes:
        raise LmsCallFailed("The LMS did not give this tool the right to send scores (the AGS score scope).",
                            False)
    grade = (Grade().set_score_given(score_given).set_score_maximum(score_maximum).set_user_id(user_id)
             .set_activity_progress(activity_progress).set_grading_progress(grading_progress)
             .set_timestamp(timestamp))
    _call(lambda: service.put_grade(grade, LineItem({"id": lineitem_url})))


def members(platform_connector, memberships_url: str) -> list[dict]:
    """Every member of the LMS course (NRPS), following the `Link: rel="next"` pages."""
    from pylti1p3.names_roles import NamesRolesProvisioningService

    service = NamesRolesProvisioningService(platform_connector, {"context_memberships_url": memberships_url})
    return _call(service.get_members)


def _call(fn):
    from pylti1p3.exception import LtiException

    try:
        return fn()
    except LmsCallFailed:
        raise
    except (LtiException, requests.RequestException, ValueError) as exc:
        raise _failed(exc) from exc
