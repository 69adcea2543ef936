"""LTI 1.3 against a platform of the test's own: its RSA key, its JWKS served over loopback HTTP, id_tokens
signed with PyJWT, driven through /lti/login -> /lti/launch with the Flask test client."""
from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlmodel import select

from classroom.models import Course, Enrollment, LtiAccount, LtiContext, LtiPlatform, User

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CLIENT_ID = "classroom-tool"
DEPLOYMENT = "deploy-1"


_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def _key(name: str) -> rsa.RSAPrivateKey:
    """An RSA key made once per test run (the platform's, and a stranger's for forged signatures)."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


class FakePlatform:
    """An LMS: signs launches with its own key and serves the public half as a JWKS on loopback."""

    def __init__(self):
        self.key = _key("platform")
        self.kid = "platform-key-1"
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        body = json.dumps({"keys": [jwk]}).encode()
        self.jwks_requests = 0
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                platform.jwks_requests += 1
                self.send_response(200 if self.path == "/jwks" else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if self.path == "/jwks" else b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base  # an issuer is a URL; the platform's own address will do
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def id_token(self, nonce, *, sub="lms-user-1", roles=(INSTRUCTOR,), context_id="lms-course-9",
                 deployment=DEPLOYMENT, aud=CLIENT_ID, key=None, expires_in=300, **extra) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer, "aud": aud, "sub": sub, "iat": now, "exp": now + expires_in, "nonce": nonce,
            "name": "Ada Lovelace", "email": "ada@school.test",
            CLAIM + "deployment_id": deployment, CLAIM + "message_type": "LtiResourceLinkRequest",
            CLAIM + "version": "1.3.0", CLAIM + "roles": list(roles),
            CLAIM + "target_link_uri": "http://localhost/lti/launch",
            CLAIM + "resource_link": {"id": "link-1", "title": "Critique week"},
            CLAIM + "context": {"id": context_id, "title": "Algebra from the LMS", "label": "ALG"},
            **extra,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": self.kid})


def _cli(app, *args):
    """A command as `flask --app app` runs it: inside an app context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture(scope="module")
def tool_key_file(tmp_path_factory):
    """One tool key for the module's apps (an RSA key takes a moment to make); the first launch makes it."""
    return str(tmp_path_factory.mktemp("lti") / "lti_private_key.pem")


@pytest.fixture
def app_config(app_config, tool_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=tool_key_file)
    return app_config


@pytest.fixture
def platform(app):
    lms = FakePlatform()
    result = _cli(app, *[
        "lti-add-platform", "--issuer", lms.issuer, "--client-id", CLIENT_ID,
        "--auth-login-url", lms.base + "/auth", "--auth-token-url", lms.base + "/token",
        "--key-set-url", lms.base + "/jwks", "--deployment-id", DEPLOYMENT])
    assert result.exit_code == 0, result.output
    assert "Registered the LTI platform" in result.output and "deployment deploy-1 added" in result.output
    yield lms
    lms.close()


def _login(client, lms) -> tuple[str, str]:
    """The platform's login initiation; returns the state and nonce the tool sent to its auth endpoint."""
    resp = client.get("/lti/login", query_string={"iss": lms.issuer, "login_hint": "hint-1",
                                                 "target_link_uri": "http://localhost/lti/launch",
                                                 "client_id": CLIENT_ID, "lti_message_hint": "msg-1"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == lms.base + "/auth"
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert params["client_id"] == CLIENT_ID and params["redirect_uri"] == "http://localhost/lti/launch"
    assert params["response_mode"] == "form_post" and params["lti_message_hint"] == "msg-1"
    return params["state"], params["nonce"]


def test_launch_as_instructor_then_learner(app, dbs, platform):
    teacher = app.test_client()
    state, nonce = _login(teacher, platform)
    resp = teacher.post("/lti/launch", data={"state": state, "id_token": platform.id_token(nonce)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    course = dbs.exec(select(Course)).one()
    assert course.title == "Algebra from the LMS"
    assert resp.headers["Location"].endswith(f"/teach/courses/{course.code}")
    assert teacher.get(resp.headers["Location"]).status_code == 200  # signed in, as the course's instructor
    ada = dbs.exec(select(User).join(LtiAccount, LtiAccount.user_id == User.id)).one()
    assert ada.name == "Ada Lovelace" and ada.is_instructor and not ada.has_password
    assert dbs.exec(select(Enrollment).where(Enrollment.user_id == ada.id)).one().role == "instructor"

    student = app.test_client()
    state, nonce = _login(student, platform)
    resp = student.post("/lti/launch", data={"state": state, "id_token": platform.id_token(
        nonce, sub="lms-user-2", roles=(LEARNER,), name="Bo Student")})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/learn/courses/{course.code}")
    assert student.get(resp.headers["Location"]).status_code == 200
    bo = dbs.exec(select(User).where(User.name == "Bo Student")).one()
    assert not bo.is_instructor
    assert dbs.exec(select(Enrollment).where(Enrollment.user_id == bo.id)).one().course_id == course.id
    assert len(dbs.exec(select(LtiContext)).all()) == 1  # the same LMS course, the same classroom course

    # Launching again finds the same account by sub: no second account.
    again = app.test_client()
    state, nonce = _login(again, platform)
    resp = again.post("/lti/launch", data={"state": state, "id_token": platform.id_token(
        nonce, sub="lms-user-2", roles=(LEARNER,))})
    assert resp.status_code == 302
    assert len(dbs.exec(select(LtiAccount)).all()) == 2


def test_a_launch_is_never_merged_with_a_local_account_by_email(app, dbs, world, platform):
    local = world.student(email="ada@school.test")
    client = app.test_client()
    state, nonce = _login(client, platform)
    assert client.post("/lti/launch", data={"state": state, "id_token": platform.id_token(nonce)}).status_code == 302
    account = dbs.exec(select(LtiAccount)).one()
    assert account.user_id != local.id
    assert dbs.get(User, local.id).email == "ada@school.test"


def test_a_learner_cannot_open_a_course_no_instructor_has_opened(app, dbs, platform):
    client = app.test_client()
    state, nonce = _login(client, platform)
    resp = client.post("/lti/launch", data={"state": state, "id_token": platform.id_token(nonce, roles=(LEARNER,))})
    assert resp.status_code == 400
    assert "has not opened this course" in resp.get_data(as_text=True)
    assert not dbs.exec(select(Course)).all()


def _other_key():
    return _key("stranger")


REFUSALS = {  # what the person in the LMS reads for each kind of tampered launch
    "bad signature": "could not be verified",
    "wrong nonce": "already used",
    "unknown deployment": "deployment of this tool is not registered",
    "wrong audience": "not registered here",
    "expired": "could not be verified",
    "no state": "already used or has expired",
}


def test_tampered_launches_are_refused_with_a_readable_page(app, dbs, platform):
    for case, says in REFUSALS.items():
        client = app.test_client()
        state, nonce = _login(client, platform)
        tampering = {"bad signature": {"key": _other_key()}, "unknown deployment": {"deployment": "deploy-elsewhere"},
                     "wrong audience": {"aud": "some-other-tool"}, "expired": {"expires_in": -600}}.get(case, {})
        token = platform.id_token(uuid.uuid4().hex if case == "wrong nonce" else nonce, **tampering)
        data = {"state": "state-" + uuid.uuid4().hex if case == "no state" else state, "id_token": token}
        resp = client.post("/lti/launch", data=data)
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and resp.mimetype == "text/html", (case, resp.status_code)
        assert says in body and "The launch from your LMS was refused" in body, (case, body[:800])
        assert not dbs.exec(select(User)).all() and not dbs.exec(select(Course)).all(), case
        assert client.get("/teach/").status_code == 302, case  # nobody was signed in
    # The untampered token of the same login still works: the refusals were for the tampering alone.
    client = app.test_client()
    state, nonce = _login(client, platform)
    assert client.post("/lti/launch", data={"state": state, "id_token": platform.id_token(nonce)}).status_code == 302


def test_a_replayed_launch_is_refused(app, dbs, platform):
    client = app.test_client()
    state, nonce = _login(client, platform)
    data = {"state": state, "id_token": platform.id_token(nonce)}
    assert client.post("/lti/launch", data=data).status_code == 302
    resp = client.post("/lti/launch", data=data)
    assert resp.status_code == 400 and "already used" in resp.get_data(as_text=True)
    # Another browser that captured the form post (no state cookie, no nonce in its session): refused too.
    resp = app.test_client().post("/lti/launch", data=data)
    assert resp.status_code == 400
    assert len(dbs.exec(select(User)).all()) == 1


def test_login_initiation_from_an_unregistered_platform_is_refused(app, platform):
    resp = app.test_client().get("/lti/login", query_string={"iss": "https://lms.elsewhere.test",
                                                           "login_hint": "x", "client_id": CLIENT_ID})
    assert resp.status_code == 400 and "not registered here" in resp.get_data(as_text=True)


def test_tool_config_and_jwks(app):
    result = _cli(app, "lti-tool-config")
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


def test_add_platform_refuses_bad_input_and_adds_deployments(app, dbs, platform):
    bad = _cli(app, *["lti-add-platform", "--issuer", "not a url", "--client-id", "c", "--auth-login-url",
                              "https://a.test/x", "--auth-token-url", "https://a.test/t", "--key-set-url",
                              "https://a.test/k", "--deployment-id", "d"])
    assert bad.exit_code != 0 and "issuer must be a full web address" in bad.output
    more = _cli(app, *["lti-add-platform", "--issuer", platform.issuer, "--client-id", CLIENT_ID,
                               "--auth-login-url", platform.base + "/auth", "--auth-token-url",
                               platform.base + "/token", "--key-set-url", platform.base + "/jwks",
                               "--deployment-id", "deploy-2"])
    assert more.exit_code == 0 and "deployment deploy-2 added" in more.output
    assert len(dbs.exec(select(LtiPlatform)).all()) == 1


def test_tool_config_needs_public_url(app):
    app.config["PUBLIC_URL"] = None
    result = _cli(app, "lti-tool-config")
    assert result.exit_code != 0 and "Set PUBLIC_URL" in result.output


def test_the_key_file_defaults_to_the_instance_directory(app_config, tmp_path):
    from classroom import create_app
    app_config["LTI_PRIVATE_KEY_FILE"] = None
    app = create_app(app_config)
    assert app.config["LTI_PRIVATE_KEY_FILE"] == str(tmp_path / "lti_private_key.pem")
    app.extensions["db_engine"].dispose()
