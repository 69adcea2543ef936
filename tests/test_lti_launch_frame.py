"""The tool inside the LMS's iframe: the launch needs no cookie of ours (its state and nonce are kept on the
server: the database, or Redis with REDIS_URL), each is spent by one launch, the session a launch makes
travels in a cross-site iframe over https (SameSite=None; Secure; Partitioned), and only the registered
LMS may frame the pages of that session; every other page still refuses every frame."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from classroom.models import LtiLaunchData, User
from classroom.services import lti_storage
from lti_platform import LEARNER, launch, login
from support import PASSWORD, REDIS_URL, login as password_login

HTTPS = "https://localhost"


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=lti_key_file)
    return app_config


def _set_cookies(resp) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {h.split("=", 1)[0]: h for h in resp.headers.getlist("Set-Cookie")}


def _frame_ancestors(resp) -> str:
    policy = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    return policy["frame-ancestors"]


def test_a_launch_posted_without_any_cookie_succeeds_once(app, dbs, lms):
    # The LMS's page posts the launch cross-site: the browser that did the login initiation sends no
    # cookie with it. Here the launch comes from a client that never saw the login at all.
    state, nonce = login(app.test_client(), lms)
    assert dbs.exec(select(LtiLaunchData)).all(), "the state and nonce are kept in the database"
    data = {"state": state, "id_token": lms.id_token(nonce)}
    framed = app.test_client()
    resp = framed.post("/lti/launch", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    assert framed.get(resp.headers["Location"]).status_code == 200  # signed in, in that client
    # Spent: the same post again, from that client or any other, is refused; nobody else is signed in.
    for client in (framed, app.test_client()):
        again = client.post("/lti/launch", data=data)
        assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert len(dbs.exec(select(User)).all()) == 1
    dbs.expire_all()
    assert not dbs.exec(select(LtiLaunchData)).all(), "nothing of a resource launch is kept after it"


def test_two_posts_of_one_launch_at_once_sign_in_one(app, dbs, lms):
    state, nonce = login(app.test_client(), lms)
    data = {"state": state, "id_token": lms.id_token(nonce)}
    statuses = []

    def post():
        resp = app.test_client().post("/lti/launch", data=data)
        statuses.append((resp.status_code, resp.get_data(as_text=True)[:2000] if resp.status_code != 302 else ""))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _ in statuses) == [302, 400, 400, 400], statuses
    assert all("already used" in body for code, body in statuses if code == 400)


def test_a_state_from_another_login_or_an_expired_one_is_refused(app, dbs, lms):
    _, nonce = login(app.test_client(), lms)
    other_state, _ = login(app.test_client(), lms)
    # A state the tool never made.
    resp = app.test_client().post("/lti/launch", data={"state": "state-made-up", "id_token": lms.id_token(nonce)})
    assert resp.status_code == 400 and "already used or has expired" in resp.get_data(as_text=True)
    # A state older than its lifetime: the row is still there but no longer counts.
    row = dbs.get(LtiLaunchData, f"lti1p3-{other_state}")
    row.expires_at = row.expires_at - timedelta(seconds=lti_storage.STATE_LIFETIME + 1)
    dbs.add(row)
    dbs.commit()
    _, nonce2 = login(app.test_client(), lms)
    resp = app.test_client().post("/lti/launch", data={"state": other_state, "id_token": lms.id_token(nonce2)})
    assert resp.status_code == 400 and "already used or has expired" in resp.get_data(as_text=True)
    assert not dbs.exec(select(User)).all()
    # The next login initiation sweeps expired rows away.
    login(app.test_client(), lms)
    dbs.expire_all()
    assert dbs.get(LtiLaunchData, f"lti1p3-{other_state}") is None


def test_over_https_the_launch_session_travels_in_the_lms_iframe(app, lms):
    framed = app.test_client()
    state, nonce = login(framed, lms)
    resp = framed.post("/lti/launch", base_url=HTTPS, data={"state": state, "id_token": lms.id_token(
        nonce, **{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": {
            "return_url": "https://school.lms.test/courses/9/return"}})})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    cookie = _set_cookies(resp)["session"]
    for attribute in ("Secure", "SameSite=None", "Partitioned", "HttpOnly"):
        assert attribute in cookie, cookie
    page = framed.get(resp.headers["Location"], base_url=HTTPS)
    assert page.status_code == 200
    # The registered platform's origin, and the school's host the signed launch names, may frame the tool.
    assert _frame_ancestors(page) == f"{lms.base} https://school.lms.test"
    assert "X-Frame-Options" not in page.headers
    # The form the page shows posts inside the frame with its CSRF token: the session is the same.
    assert framed.get("/account", base_url=HTTPS).status_code == 200


def test_over_http_the_launch_session_keeps_lax_cookies(app, lms):
    # Without https, SameSite=None would be refused by browsers (it needs Secure): nothing changes.
    client = app.test_client()
    resp = launch(client, lms)
    cookie = _set_cookies(resp)["session"]
    assert "SameSite=Lax" in cookie and "Partitioned" not in cookie and "Secure" not in cookie


def test_pages_outside_an_lti_session_cannot_be_framed(app, world, lms):
    teacher = world.instructor()
    client = app.test_client()
    assert _frame_ancestors(client.get("/")) == "'none'"
    # A password login over https: the session cookie stays SameSite=Lax, unpartitioned.
    resp = client.post("/login", base_url=HTTPS, data={"email": teacher.email, "password": PASSWORD})
    assert resp.status_code == 302
    cookie = _set_cookies(resp)["session"]
    assert "SameSite=Lax" in cookie and "Partitioned" not in cookie
    resp = client.get("/teach/", base_url=HTTPS)
    assert resp.status_code == 200
    assert _frame_ancestors(resp) == "'none'" and resp.headers["X-Frame-Options"] == "DENY"
    # The JWKS is read by servers, never framed.
    assert _frame_ancestors(client.get("/lti/jwks")) == "'none'"


def test_lti_pages_may_be_framed_by_registered_platforms_only(app, lms):
    # A refused launch is shown in the LMS's frame, before any session exists.
    resp = app.test_client().post("/lti/launch", data={"state": "state-x", "id_token": "not.a.token"})
    assert resp.status_code == 400
    assert _frame_ancestors(resp) == lms.base and "X-Frame-Options" not in resp.headers
    refused = app.test_client().get("/lti/login", query_string={"iss": "https://elsewhere.test", "login_hint": "x"})
    assert refused.status_code == 400 and _frame_ancestors(refused) == lms.base


def test_a_learner_session_is_framed_too_and_logging_in_normally_ends_it(app, world, lms):
    teacher = world.instructor()
    client = app.test_client()
    assert launch(client, lms).status_code == 302  # the instructor opens the course first
    learner = app.test_client()
    resp = launch(learner, lms, sub="lms-user-2", roles=(LEARNER,))
    page = learner.get(resp.headers["Location"])
    assert page.status_code == 200 and _frame_ancestors(page) == lms.base
    # Logging in with a password in that browser starts a session of its own: no frame.
    learner.post("/logout")
    password_login(learner, teacher)
    assert _frame_ancestors(learner.get("/teach/")) == "'none'"


@pytest.mark.parametrize("backend_name", ["table", "redis"])
def test_the_store_gives_each_record_once(app, dbs, backend_name):
    if backend_name == "redis" and not REDIS_URL:
        pytest.skip("set TEST_REDIS_URL")
    store = lti_storage.launch_store(dbs, REDIS_URL if backend_name == "redis" else None)
    store.set_value("lti1p3-nonce-abc", True, exp=60)
    store.set_value("lti1p3-state-1", {"issued": True}, exp=60)
    assert store.check_value("nonce-abc") and store.get_value("lti1p3-state-1") == {"issued": True}
    assert store.take("lti1p3-nonce-abc") is True
    assert store.take("lti1p3-nonce-abc") is None and not store.check_value("lti1p3-nonce-abc")
    assert store.take("lti1p3-state-1") == {"issued": True}


@pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL")
def test_with_redis_the_launch_keeps_nothing_in_the_database(app, dbs, lms):
    app.config["REDIS_URL"] = REDIS_URL  # read by the LTI views at each request
    state, nonce = login(app.test_client(), lms)
    assert not dbs.exec(select(LtiLaunchData)).all()
    assert lti_storage.launch_store(dbs, REDIS_URL).check_value(f"lti1p3-{state}")
    data = {"state": state, "id_token": lms.id_token(nonce)}
    assert app.test_client().post("/lti/launch", data=data).status_code == 302
    again = app.test_client().post("/lti/launch", data=data)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert not lti_storage.launch_store(dbs, REDIS_URL).check_value(f"lti1p3-{state}")
