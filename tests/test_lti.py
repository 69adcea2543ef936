"""LTI 1.3 against a platform of the test's own (tests/lti_platform.py: its RSA key, its JWKS served over
loopback HTTP, id_tokens signed with PyJWT), driven through /lti/login -> /lti/launch with the Flask test client."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import jwt
import pytest
from jwt.algorithms import RSAAlgorithm
from sqlmodel import select

from classroom.models import Course, Enrollment, LtiAccount, LtiContext, LtiPlatform, User
from lti_platform import AGS_SCOPES, CLIENT_ID, LEARNER, SCOPE_SCORE, cli, key, login


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=lti_key_file)
    return app_config


def test_launch_as_instructor_then_learner(app, dbs, lms):
    teacher = app.test_client()
    state, nonce = login(teacher, lms)
    resp = teacher.post("/lti/launch", data={"state": state, "id_token": lms.id_token(nonce)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    course = dbs.exec(select(Course)).one()
    assert course.title == "Algebra from the LMS"
    assert resp.headers["Location"].endswith(f"/teach/courses/{course.code}")
    assert teacher.get(resp.headers["Location"]).status_code == 200  # signed in, as the course's instructor
    ada = dbs.exec(select(User).join(LtiAccount, LtiAccount.user_id == User.id)).one()
    assert ada.name == "Ada Lovelace" and ada.is_instructor and not ada.has_password
    assert dbs.exec(select(Enrollment).where(Enrollment.user_id == ada.id)).one().role == "instructor"

    student = app.test_client()
    state, nonce = login(student, lms)
    resp = student.post("/lti/launch", data={"state": state, "id_token": lms.id_token(
        nonce, sub="lms-user-2", roles=(LEARNER,), name="Bo Student")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/learn/courses/{course.code}")
    assert student.get(resp.headers["Location"]).status_code == 200
    bo = dbs.exec(select(User).where(User.name == "Bo Student")).one()
    assert not bo.is_instructor
    assert dbs.exec(select(Enrollment).where(Enrollment.user_id == bo.id)).one().course_id == course.id
    assert len(dbs.exec(select(LtiContext)).all()) == 1  # the same LMS course, the same classroom course

    # Launching again finds the same account by sub: no second account.
    again = app.test_client()
    state, nonce = login(again, lms)
    resp = again.post("/lti/launch", data={"state": state, "id_token": lms.id_token(
        nonce, sub="lms-user-2", roles=(LEARNER,))})
    assert resp.status_code == 302
    assert len(dbs.exec(select(LtiAccount)).all()) == 2


def test_a_launch_is_never_merged_with_a_local_account_by_email(app, dbs, world, lms):
    local = world.student(email="ada@school.test")
    client = app.test_client()
    state, nonce = login(client, lms)
    assert client.post("/lti/launch", data={"state": state, "id_token": lms.id_token(nonce)}).status_code == 302
    account = dbs.exec(select(LtiAccount)).one()
    assert account.user_id != local.id
    assert dbs.get(User, local.id).email == "ada@school.test"


def test_a_learner_cannot_open_a_course_no_instructor_has_opened(app, dbs, lms):
    client = app.test_client()
    state, nonce = login(client, lms)
    resp = client.post("/lti/launch", data={"state": state, "id_token": lms.id_token(nonce, roles=(LEARNER,))})
    assert resp.status_code == 400
    assert "has not opened this course" in resp.get_data(as_text=True)
    assert not dbs.exec(select(Course)).all()


def _other_key():
    return key("stranger")


REFUSALS = {  # what the person in the LMS reads for each kind of tampered launch
    "bad signature": "could not be verified",
    "wrong nonce": "already used",
    "unknown deployment": "deployment of this tool is not registered",
    "wrong audience": "not registered here",
    "expired": "could not be verified",
    "no state": "already used or has expired",
}


def test_tampered_launches_are_refused_with_a_readable_page(app, dbs, lms):
    for case, says in REFUSALS.items():
        client = app.test_client()
        state, nonce = login(client, lms)
        tampering = {"bad signature": {"key": _other_key()}, "unknown deployment": {"deployment": "deploy-elsewhere"},
                     "wrong audience": {"aud": "some-other-tool"}, "expired": {"expires_in": -600}}.get(case, {})
        token = lms.id_token(uuid.uuid4().hex if case == "wrong nonce" else nonce, **tampering)
        data = {"state": "state-" + uuid.uuid4().hex if case == "no state" else state, "id_token": token}
        resp = client.post("/lti/launch", data=data)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and resp.mimetype == "text/html", (case, resp.status_code)
        assert says in body and "The launch from your LMS was refused" in body, (case, body[:800])
        assert not dbs.exec(select(User)).all() and not dbs.exec(select(Course)).all(), case
        assert client.get("/teach/").status_code == 302, case  # nobody was signed in
    # The untampered token of the same login still works: the refusals were for the tampering alone.
    client = app.test_client()
    state, nonce = login(client, lms)
    assert client.post("/lti/launch", data={"state": state, "id_token": lms.id_token(nonce)}).status_code == 302


def test_a_replayed_launch_is_refused(app, dbs, lms):
    client = app.test_client()
    state, nonce = login(client, lms)
    data = {"state": state, "id_token": lms.id_token(nonce)}
    assert client.post("/lti/launch", data=data).status_code == 302
    resp = client.post("/lti/launch", data=data)
    assert resp.status_code == 400 and "already used" in resp.get_data(as_text=True)
    # Another browser that captured the form post (no state cookie, no nonce in its session): refused too.
    resp = app.test_client().post("/lti/launch", data=data)
    assert resp.status_code == 400
    assert len(dbs.exec(select(User)).all()) == 1


def test_login_initiation_from_an_unregistered_platform_is_refused(app, lms):
    resp = app.test_client().get("/lti/login", query_string={"iss": "https://lms.elsewhere.test",
                                                           "login_hint": "x", "client_id": CLIENT_ID})
    assert resp.status_code == 400 and "not registered here" in resp.get_data(as_text=True)


def test_tool_config_and_jwks(app):
    result = cli(app, "lti-tool-config")
    assert result.exit_code == 0, result.output
    for line in ("login initiation URL: http://localhost/lti/login", "launch (redirect) URL: http://localhost/lti/launch",
                 "JWKS URL: http://localhost/lti/jwks", "deep-linking URL: http://localhost/lti/launch"):
        assert line in result.output
    assert "BEGIN PUBLIC KEY" in result.output
    key_file = Path(app.config["LTI_PRIVATE_KEY_FILE"])
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    first = app.test_client().get("/lti/jwks").get_json()
    (jwk,) = first["keys"]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and "d" not in jwk  # the public half only
    # Generated once: a new app on the same instance directory serves the same key.
    from classroom import create_app
    assert create_app(app.config).test_client().get("/lti/jwks").get_json() == first
    # A token signed with the tool's private key verifies with the served public key.
    public = RSAAlgorithm.from_jwk(json.dumps(jwk))
    from cryptography.hazmat.primitives import serialization
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert jwt.decode(jwt.encode({"x": 1}, private, algorithm="RS256"), public, algorithms=["RS256"]) == {"x": 1}


def test_add_platform_refuses_bad_input_and_adds_deployments(app, dbs, lms):
    bad = cli(app, *["lti-add-platform", "--issuer", "not a url", "--client-id", "c", "--auth-login-url",
                              "https://a.test/x", "--auth-token-url", "https://a.test/t", "--key-set-url",
                              "https://a.test/k", "--deployment-id", "d"])
    assert bad.exit_code != 0 and "issuer must be a full web address" in bad.output
    more = cli(app, *["lti-add-platform", "--issuer", lms.issuer, "--client-id", CLIENT_ID,
                               "--auth-login-url", lms.base + "/auth", "--auth-token-url",
                               lms.base + "/token", "--key-set-url", lms.base + "/jwks",
                               "--deployment-id", "deploy-2"])
    assert more.exit_code == 0 and "deployment deploy-2 added" in more.output
    assert len(dbs.exec(select(LtiPlatform)).all()) == 1


def test_tool_config_needs_public_url(app):
    app.config["PUBLIC_URL"] = None
    result = cli(app, "lti-tool-config")
    assert result.exit_code != 0 and "Set PUBLIC_URL" in result.output


def test_the_key_file_defaults_to_the_instance_directory(app_config, tmp_path):
    from classroom import create_app
    app_config["LTI_PRIVATE_KEY_FILE"] = None
    app = create_app(app_config)
    assert app.config["LTI_PRIVATE_KEY_FILE"] == str(tmp_path / "lti_private_key.pem")
    app.extensions["db_engine"].dispose()


def _connector(app, lms, private_pem=None):
    """PyLTI1p3's service connector as the tool holds one: its registration with the tool's private key."""
    from pylti1p3.registration import Registration
    from pylti1p3.service_connector import ServiceConnector

    from classroom.services import lti

    private_pem = private_pem or lti.tool_private_key(app.config["LTI_PRIVATE_KEY_FILE"])
    registration = (Registration().set_issuer(lms.issuer).set_client_id(CLIENT_ID)
                    .set_auth_token_url(lms.token_url).set_tool_private_key(private_pem)
                    .set_tool_public_key(lti.tool_public_key(private_pem)))
    return ServiceConnector(registration)


def test_the_test_lms_serves_tokens_line_items_scores_and_rosters(app, lms):
    """The loopback LMS the grade passback and roster tests use: tokens for the tool's signed assertion
    only, line items, scores recorded (after the failures it was told to give), rosters paged."""
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.exception import LtiServiceException
    from pylti1p3.grade import Grade
    from pylti1p3.lineitem import LineItem
    from pylti1p3.names_roles import NamesRolesProvisioningService
    from cryptography.hazmat.primitives import serialization

    stranger = key("stranger").private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
    with pytest.raises(LtiServiceException):
        _connector(app, lms, stranger).get_access_token(list(AGS_SCOPES))
    assert lms.refusals and not lms.tokens

    item_url = lms.add_line_item("lms-course-9", label="Week 1", score_maximum=4, resource_link_id="link-1")
    ags = AssignmentsGradesService(_connector(app, lms), lms.ags_claim("lms-course-9", lineitem=item_url))
    assert [i["id"] for i in ags.get_lineitems()] == [item_url]
    made = ags.find_or_create_lineitem(LineItem().set_label("Week 2").set_score_maximum(5).set_tag("a-2"))
    assert made.get_id() != item_url and lms.line_items[made.get_id()]["label"] == "Week 2"
    lms.fail_scores(2)
    grade = (Grade().set_score_given(3).set_score_maximum(4).set_user_id("lms-user-2")
             .set_activity_progress("Completed").set_grading_progress("FullyGraded")
             .set_timestamp("2026-11-26T04:00:00+00:00"))
    for _ in range(2):
        with pytest.raises(LtiServiceException) as failed:
            ags.put_grade(grade)
        assert failed.value.response.status_code == 503
    ags.put_grade(grade)
    assert lms.score_attempts == 3
    assert lms.scores_for(item_url) == [{"lineitem": item_url, "scoreGiven": 3, "scoreMaximum": 4,
                                         "activityProgress": "Completed", "gradingProgress": "FullyGraded",
                                         "timestamp": "2026-11-26T04:00:00+00:00", "userId": "lms-user-2"}]

    lms.set_roster("lms-course-9", [{"user_id": f"u{n}", "roles": [LEARNER], "name": f"Student {n}"}
                                    for n in range(5)])
    lms.page_size = 2
    nrps = NamesRolesProvisioningService(_connector(app, lms), lms.nrps_claim("lms-course-9"))
    assert [m["user_id"] for m in nrps.get_members()] == ["u0", "u1", "u2", "u3", "u4"]
    assert sum(1 for method, path in lms.service_requests if "memberships" in path) == 3
    # A token for the scores alone does not open the roster.
    scores_only = _connector(app, lms)
    with pytest.raises(LtiServiceException):
        scores_only.make_service_request([SCOPE_SCORE], lms.nrps_claim("lms-course-9")["context_memberships_url"])
