"""LTI deep linking: the LMS's "add external tool" dialog launches the tool (LtiDeepLinkingRequest), the
instructor picks one of the course's assignments, and the tool answers with a signed LtiDeepLinkingResponse
posted back to the LMS; the LMS (tests/lti_platform.py) checks its signature with the tool's JWKS and
reads the link and its line item. Launches from that link then land on the assignment."""
from __future__ import annotations

import html
import re

import jwt
import pytest
from sqlmodel import select

from classroom.models import Course, LtiAccount, User
from lti_platform import CLAIM, DEPLOYMENT, INSTRUCTOR, LEARNER, launch, login

DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=lti_key_file)
    return app_config


def _deep_linking_claims(lms, data="opaque-from-the-lms"):
    return {CLAIM + "message_type": "LtiDeepLinkingRequest",
            DL_CLAIM + "deep_linking_settings": {
                "deep_link_return_url": lms.base + "/deep-link-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"], "accept_multiple": False,
                "data": data}}


def _deep_link_launch(client, lms, **claims):
    return launch(client, lms, **{**_deep_linking_claims(lms), **claims})


def platform_reads_deep_link(lms, token: str) -> dict:
    """What the LMS does with the posted JWT: verify it with the tool's published keys (GET /lti/jwks), as
    addressed to this platform by this client, then read it."""
    kid = jwt.get_unverified_header(token).get("kid")
    keys = [k for k in jwt.PyJWKSet.from_dict(lms.tool_jwks()).keys if k.key_id == kid]
    assert keys, f"the tool's JWKS has no key {kid!r}"
    claims = jwt.decode(token, keys[0].key, algorithms=["RS256"], audience=lms.issuer, issuer=lms.client_id,
                        options={"require": ["exp", "iat", "nonce"]})
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[CLAIM + "version"] == "1.3.0" and claims[CLAIM + "deployment_id"] == DEPLOYMENT
    return claims


def _return_form(resp) -> tuple[str, str]:
    """The auto-submitting form's target and the JWT it carries."""
    body = resp.get_data(as_text=True)
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)" id="lti-return"', body).group(1))
    token = re.search(r'name="JWT" value="([^"]+)"', body).group(1)
    return action, token


@pytest.fixture
def course_with_assignment(app, dbs, world, lms):
    """The LMS course opened once by its instructor (creating the classroom course), with one assignment."""
    client = app.test_client()
    assert launch(client, lms).status_code == 302
    teacher = dbs.exec(select(User).join(LtiAccount, LtiAccount.user_id == User.id)).one()
    course = dbs.exec(select(Course)).one()
    problem = world.problem(teacher, course)
    assignment = world.assignment(teacher, course, [problem], title="Critique week 3", points=40)
    return teacher, course, assignment


def test_the_instructor_picks_an_assignment_and_the_lms_gets_a_signed_link(app, dbs, lms, course_with_assignment):
    teacher, course, assignment = course_with_assignment
    client = app.test_client()
    resp = _deep_link_launch(client, lms)
    assert resp.status_code == 302 and "/lti/deep-link/lti1p3-launch-" in resp.headers["Location"]
    picker = client.get(resp.headers["Location"])
    body = picker.get_data(as_text=True)
    assert picker.status_code == 200 and "Critique week 3" in body and "40 points" in body
    assert 'for="assignment-0"' in body  # each choice labelled
    assert lms.base in picker.headers["Content-Security-Policy"]  # shown in the LMS's dialog frame

    sent = client.post(resp.headers["Location"], data={"assignment": str(assignment.id)})
    assert sent.status_code == 200, sent.get_data(as_text=True)[:800]
    action, token = _return_form(sent)
    assert action == lms.base + "/deep-link-return"
    page = sent.get_data(as_text=True)
    assert "/static/js/lti-return.js" in page and '<button type="submit">Back to the LMS</button>' in page
    assert "<script>" not in page  # the auto-submit is the static file; the button works without it
    policy = sent.headers["Content-Security-Policy"]
    assert f"form-action 'self' {lms.base}" in policy  # the form may post to the LMS, nowhere else

    claims = platform_reads_deep_link(lms, token)
    assert claims[DL_CLAIM + "data"] == "opaque-from-the-lms"  # the LMS's own data comes back
    (item,) = claims[DL_CLAIM + "content_items"]
    assert item["type"] == "ltiResourceLink" and item["title"] == "Critique week 3"
    assert item["url"] == "http://localhost/lti/launch"
    assert item["custom"] == {"classroom_assignment_id": str(assignment.id)}
    assert item["lineItem"] == {"scoreMaximum": 40, "label": "Critique week 3",
                                "resourceId": f"assignment-{assignment.id}"}

    # One choice per request: sending again (a second tab, a double click) is refused.
    again = client.post(resp.headers["Location"], data={"assignment": str(assignment.id)})
    assert again.status_code == 400 and "already sent" in again.get_data(as_text=True)


def test_a_token_signed_by_another_key_would_not_verify(app, lms, course_with_assignment):
    # The check above can fail: a response signed with some other key is refused by the platform.
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = lms.tool_jwks()["keys"][0]["kid"]
    forged = jwt.encode({"iss": lms.client_id, "aud": lms.issuer}, other, algorithm="RS256", headers={"kid": kid})
    with pytest.raises(jwt.InvalidSignatureError):
        platform_reads_deep_link(lms, forged)


def test_launches_from_the_link_land_on_its_assignment(app, dbs, world, lms, course_with_assignment):
    teacher, course, assignment = course_with_assignment
    custom = {CLAIM + "custom": {"classroom_assignment_id": str(assignment.id)}}
    client = app.test_client()
    resp = launch(client, lms, **custom)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/teach/assignments/{assignment.id}")
    assert client.get(resp.headers["Location"]).status_code == 200
    learner = app.test_client()
    resp = launch(learner, lms, sub="lms-student-7", roles=(LEARNER,), **custom)
    assert resp.headers["Location"].endswith(f"/learn/assignments/{assignment.id}")
    assert learner.get(resp.headers["Location"]).status_code == 200

    # A link naming another course's assignment (copied into this LMS course) opens this course's page.
    elsewhere = world.instructor()
    other_course = world.course(elsewhere, title="Elsewhere")
    other = world.assignment(elsewhere, other_course, [world.problem(elsewhere, other_course)])
    for value in (str(other.id), "not-a-number", "99999999"):
        resp = launch(app.test_client(), lms, **{CLAIM + "custom": {"classroom_assignment_id": value}})
        assert resp.headers["Location"].endswith(f"/teach/courses/{course.code}"), value


def test_only_instructors_deep_link_and_only_their_own_request(app, dbs, world, lms, course_with_assignment):
    teacher, course, assignment = course_with_assignment
    # A learner in the dialog (LMSs allow it for some roles): refused with the readable page.
    learner = app.test_client()
    resp = _deep_link_launch(learner, lms, sub="lms-student-7", roles=(LEARNER,))
    assert resp.status_code == 400 and "Only an instructor" in resp.get_data(as_text=True)

    client = app.test_client()
    address = _deep_link_launch(client, lms).headers["Location"]
    # Another instructor of the same LMS course, a local instructor, a student: none may use this request.
    other_lti = app.test_client()
    assert launch(other_lti, lms, sub="lms-teacher-2", roles=(INSTRUCTOR,)).status_code == 302
    local = world.instructor()
    from support import login as password_login
    for stranger in (other_lti, password_login(app.test_client(), local)):
        assert stranger.get(address).status_code == 400
        refused = stranger.post(address, data={"assignment": str(assignment.id)})
        assert refused.status_code == 400 and "JWT" not in refused.get_data(as_text=True)
    # Nobody signed in: to the login page.
    assert app.test_client().get(address).status_code == 302
    # Its owner still can; an assignment not offered is refused beside the choice.
    bad = client.post(address, data={"assignment": "999999"})
    assert bad.status_code == 400 and "Choose one of the course" in bad.get_data(as_text=True)
    assert client.post(address, data={"assignment": str(assignment.id)}).status_code == 200


def test_a_course_without_assignments_says_how_to_add_one(app, lms):
    client = app.test_client()
    resp = _deep_link_launch(client, lms)  # the first launch from this LMS course: a new, empty course
    page = client.get(resp.headers["Location"])
    assert page.status_code == 200 and "has no assignments yet" in page.get_data(as_text=True)


def test_a_deep_linking_request_without_its_settings_is_refused(app, dbs, lms):
    state, nonce = login(app.test_client(), lms)
    token = lms.id_token(nonce, **{CLAIM + "message_type": "LtiDeepLinkingRequest"})
    resp = app.test_client().post("/lti/launch", data={"state": state, "id_token": token})
    assert resp.status_code == 400 and "refused" in resp.get_data(as_text=True)
    assert not dbs.exec(select(User)).all()
