"""An administrator links an LTI account to an existing local account (services/lti_link.py), and switches a
platform or one deployment off (launches refused with a readable page), against the test LMS
(tests/lti_platform.py)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from classroom.models import AuditLog, Course, Enrollment, LtiAccount, LtiDeployment, LtiPlatform, User
from lti_platform import LEARNER, launch


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=lti_key_file)
    return app_config


@pytest.fixture
def admin(world, make_client):
    return make_client(world.user("admin", name="Ada Admin"))


def _signed_in_as(client) -> int:
    with client.session_transaction() as sess:
        return int(sess["_user_id"].split(":")[0])


def _first_launch(app, dbs, lms, **claims):
    client = app.test_client()
    assert launch(client, lms, **claims).status_code == 302
    account = dbs.exec(select(LtiAccount).where(LtiAccount.sub == claims.get("sub", "lms-user-1"))).one()
    return client, account


def test_an_admin_links_an_lti_account_and_later_launches_sign_in_as_the_local_one(app, dbs, world, lms, admin):
    local = world.instructor(email="ada.lovelace@school.test", name="Ada (local)")
    old_course = world.course(local, title="Before the LMS")  # her work from before stays hers
    client, account = _first_launch(app, dbs, lms)
    placeholder = dbs.get(User, account.user_id)
    assert placeholder.email.endswith("@lti.invalid") and _signed_in_as(client) == placeholder.id
    course = dbs.exec(select(Course).where(Course.title == "Algebra from the LMS")).one()

    listing = admin.get("/admin/lti/accounts").get_data(as_text=True)
    for shown in ("lms-user-1", "Ada Lovelace", "ada@school.test", placeholder.email, "Algebra from the LMS",
                  "its own account (placeholder)", f"/admin/lti/accounts/{account.id}/link"):
        assert shown in listing
    assert "/admin/lti/accounts" in admin.get("/admin/lti").get_data(as_text=True)
    form = admin.get(f"/admin/lti/accounts/{account.id}/link").get_data(as_text=True)
    assert '<label for="email"' in form

    # Step 1 only says what will happen; nothing changes yet.
    check = admin.post(f"/admin/lti/accounts/{account.id}/link", data={"email": " Ada.Lovelace@school.test "})
    body = check.get_data(as_text=True)
    assert check.status_code == 200
    assert "From the next launch" in body and "ada.lovelace@school.test" in body and "course places: 1" in body
    assert "is disabled and its sessions end" in body and 'value="confirm"' in body
    dbs.expire_all()
    assert dbs.get(LtiAccount, account.id).user_id == placeholder.id

    done = admin.post(f"/admin/lti/accounts/{account.id}/link",
                      data={"email": "ada.lovelace@school.test", "step": "confirm"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/admin/lti/accounts")
    assert "signs in as ada.lovelace@school.test from the next launch" in admin.get(done.headers["Location"]).get_data(as_text=True)
    dbs.expire_all()
    assert dbs.get(LtiAccount, account.id).user_id == local.id
    assert dbs.exec(select(Enrollment).where(Enrollment.course_id == course.id,
                                             Enrollment.user_id == local.id)).one().role == "instructor"
    assert not dbs.exec(select(Enrollment).where(Enrollment.user_id == placeholder.id)).all()
    assert dbs.get(Course, course.id).created_by_id == local.id
    assert dbs.get(Course, old_course.id).created_by_id == local.id
    assert dbs.get(User, placeholder.id).disabled_at is not None
    entries = dbs.exec(select(AuditLog).where(AuditLog.action == "lti.account_link")).all()
    assert {e.course_id for e in entries} == {None, course.id}
    assert entries[0].details["to"] == "ada.lovelace@school.test" and entries[0].details["sub"] == "lms-user-1"
    # The placeholder's session ends.
    assert client.get(f"/teach/courses/{course.code}").status_code == 302

    # A later launch signs in as the local account, into the same course; no new account.
    again = app.test_client()
    resp = launch(again, lms)
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/teach/courses/{course.code}")
    assert _signed_in_as(again) == local.id
    assert again.get(resp.headers["Location"]).status_code == 200
    assert len(dbs.exec(select(LtiAccount)).all()) == 1
    assert dbs.get(User, local.id).name == "Ada (local)"  # a linked account keeps its own name
    listing = admin.get("/admin/lti/accounts").get_data(as_text=True)
    assert "linked local account" in listing


def test_a_student_placeholder_moves_its_work_and_the_local_account_is_not_made_instructor(app, dbs, world, lms, admin):
    _first_launch(app, dbs, lms)  # the instructor opens the course
    local = world.student(email="bo@school.test")
    _, account = _first_launch(app, dbs, lms, sub="lms-user-2", roles=(LEARNER,), name="Bo Student")
    placeholder_id = account.user_id
    done = admin.post(f"/admin/lti/accounts/{account.id}/link", data={"email": "bo@school.test", "step": "confirm"})
    assert done.status_code == 302
    dbs.expire_all()
    assert not dbs.get(User, local.id).is_instructor
    assert dbs.exec(select(Enrollment).where(Enrollment.user_id == local.id)).one().role == "student"
    assert dbs.get(User, placeholder_id).disabled_at is not None
    student = app.test_client()
    assert launch(student, lms, sub="lms-user-2", roles=(LEARNER,)).status_code == 302
    assert _signed_in_as(student) == local.id


def test_linking_is_refused_naming_the_course_when_both_accounts_are_in_it(app, dbs, world, lms, admin):
    _first_launch(app, dbs, lms)
    course = dbs.exec(select(Course)).one()
    local = world.student(course=course, email="bo@school.test")  # joined with the course's code
    _, account = _first_launch(app, dbs, lms, sub="lms-user-2", roles=(LEARNER,), name="Bo Student")
    for step in ("check", "confirm"):
        resp = admin.post(f"/admin/lti/accounts/{account.id}/link", data={"email": "bo@school.test", "step": step})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400
        assert f"Both accounts have a place or work in the course “Algebra from the LMS” ({course.code})" in body
        assert 'id="email-error"' in body
    dbs.expire_all()
    assert dbs.get(LtiAccount, account.id).user_id != local.id
    assert dbs.get(User, account.user_id).disabled_at is None
    assert not dbs.exec(select(AuditLog).where(AuditLog.action == "lti.account_link")).all()


def test_bad_addresses_and_a_second_link_are_refused(app, dbs, world, lms, admin):
    _, first = _first_launch(app, dbs, lms)
    _, second = _first_launch(app, dbs, lms, sub="lms-user-2", roles=(LEARNER,), name="Bo Student")
    url = f"/admin/lti/accounts/{first.id}/link"
    assert "No local account has the address nobody@school.test" in admin.post(
        url, data={"email": "nobody@school.test"}).get_data(as_text=True)
    placeholder = dbs.get(User, second.user_id)
    assert "No local account has the address" in admin.post(url, data={"email": placeholder.email}).get_data(as_text=True)
    empty = admin.post(url, data={"email": ""})
    assert empty.status_code == 400 and "Give the e-mail address of the local account" in empty.get_data(as_text=True)
    world.instructor(email="ada.lovelace@school.test")
    assert admin.post(url, data={"email": "ada.lovelace@school.test", "step": "confirm"}).status_code == 302
    again = admin.post(url, data={"email": "ada.lovelace@school.test", "step": "confirm"})
    assert again.status_code == 409 and "already linked to ada.lovelace@school.test" in again.get_data(as_text=True)
    # One local account takes one user of each LMS.
    other = admin.post(f"/admin/lti/accounts/{second.id}/link", data={"email": "ada.lovelace@school.test"})
    assert other.status_code == 400 and "already linked to another user of this LMS" in other.get_data(as_text=True)
    assert admin.get("/admin/lti/accounts/999999/link").status_code == 404


def test_no_email_alone_ever_merges(app, dbs, world, lms, admin):
    """The LMS's e-mail claim names a local account: the launch still gets its own account, before and after
    an administrator merely looks at the link page, and the check step alone links nothing."""
    local = world.instructor(email="ada@school.test")  # the test LMS's e-mail claim
    client, account = _first_launch(app, dbs, lms)
    assert account.user_id != local.id and _signed_in_as(client) != local.id
    admin.get(f"/admin/lti/accounts/{account.id}/link")
    admin.post(f"/admin/lti/accounts/{account.id}/link", data={"email": "ada@school.test"})  # no confirm
    later = app.test_client()
    assert launch(later, lms).status_code == 302
    assert _signed_in_as(later) == account.user_id != local.id
    dbs.expire_all()
    assert dbs.get(LtiAccount, account.id).user_id != local.id
    # Nor a launch whose sub is new but whose e-mail matches.
    fresh = app.test_client()
    assert launch(fresh, lms, sub="lms-user-3", email="ada@school.test").status_code == 302
    assert _signed_in_as(fresh) not in (local.id, account.user_id)


def test_the_link_needs_its_csrf_token(app, dbs, world, lms, admin):
    app.config["WTF_CSRF_ENABLED"] = True
    _, account = _first_launch(app, dbs, lms)
    world.instructor(email="ada.lovelace@school.test")
    resp = admin.post(f"/admin/lti/accounts/{account.id}/link",
                      data={"email": "ada.lovelace@school.test", "step": "confirm"})
    assert resp.status_code == 400
    dbs.expire_all()
    assert dbs.get(User, dbs.get(LtiAccount, account.id).user_id).email.endswith("@lti.invalid")


def test_only_administrators_link_or_switch_off(app, dbs, world, make_client, lms):
    _, account = _first_launch(app, dbs, lms)
    platform = dbs.exec(select(LtiPlatform)).one()
    deployment = dbs.exec(select(LtiDeployment)).one()
    world.instructor(email="ada.lovelace@school.test")
    teacher = make_client(world.instructor())
    student = make_client(world.student())
    anonymous = make_client()
    posts = {f"/admin/lti/accounts/{account.id}/link": {"email": "ada.lovelace@school.test", "step": "confirm"},
             f"/admin/lti/platforms/{platform.id}/active": {"action": "off"},
             f"/admin/lti/deployments/{deployment.id}/active": {"action": "off"}}
    for client in (teacher, student):
        assert client.get("/admin/lti/accounts").status_code == 403
        assert client.get(f"/admin/lti/accounts/{account.id}/link").status_code == 403
        for url, data in posts.items():
            assert client.post(url, data=data).status_code == 403
    assert anonymous.get("/admin/lti/accounts").status_code == 302
    for url, data in posts.items():
        assert anonymous.post(url, data=data).status_code == 302
    dbs.expire_all()
    assert dbs.get(User, dbs.get(LtiAccount, account.id).user_id).email.endswith("@lti.invalid")
    assert dbs.get(LtiPlatform, platform.id).disabled_at is None
    assert dbs.get(LtiDeployment, deployment.id).disabled_at is None


def test_a_switched_off_platform_refuses_launches_and_keeps_its_data(app, dbs, lms, admin):
    _, account = _first_launch(app, dbs, lms)
    platform = dbs.exec(select(LtiPlatform)).one()
    resp = admin.post(f"/admin/lti/platforms/{platform.id}/active", data={"action": "off"})
    assert resp.status_code == 302
    page = admin.get("/admin/lti").get_data(as_text=True)
    assert "is switched off: its launches are refused" in page and "Switch on again" in page

    client = app.test_client()
    login = client.get("/lti/login", query_string={"iss": lms.issuer, "login_hint": "h", "client_id": lms.client_id,
                                                   "target_link_uri": "http://localhost/lti/launch"})
    assert login.status_code == 400 and "switched this LMS off" in login.get_data(as_text=True)
    dbs.expire_all()
    assert dbs.get(LtiAccount, account.id) is not None and dbs.exec(select(Course)).one()
    assert dbs.exec(select(AuditLog).where(AuditLog.action == "lti.platform_off")).one()

    # A login begun before it was switched off cannot be finished either.
    admin.post(f"/admin/lti/platforms/{platform.id}/active", data={"action": "on"})
    from lti_platform import login as lti_login

    started = app.test_client()
    state, nonce = lti_login(started, lms)
    admin.post(f"/admin/lti/platforms/{platform.id}/active", data={"action": "off"})
    refused = started.post("/lti/launch", data={"state": state, "id_token": lms.id_token(nonce)})
    assert refused.status_code == 400 and "switched this LMS off" in refused.get_data(as_text=True)
    with started.session_transaction() as sess:
        assert "_user_id" not in sess

    assert admin.post(f"/admin/lti/platforms/{platform.id}/active", data={"action": "on"}).status_code == 302
    assert launch(app.test_client(), lms).status_code == 302


def test_a_switched_off_deployment_refuses_its_launches_only(app, dbs, lms, admin):
    from lti_platform import register

    assert register(app, lms, deployment="deploy-2").exit_code == 0
    off = dbs.exec(select(LtiDeployment).where(LtiDeployment.deployment_id == "deploy-1")).one()
    assert admin.post(f"/admin/lti/deployments/{off.id}/active", data={"action": "off"}).status_code == 302
    assert "Deployment deploy-1 of" in admin.get("/admin/lti").get_data(as_text=True)
    refused = launch(app.test_client(), lms)
    assert refused.status_code == 400 and "switched this deployment of the tool off" in refused.get_data(as_text=True)
    assert launch(app.test_client(), lms, deployment="deploy-2").status_code == 302
    assert admin.post(f"/admin/lti/deployments/{off.id}/active", data={"action": "on"}).status_code == 302
    assert launch(app.test_client(), lms).status_code == 302
    assert admin.post("/admin/lti/deployments/999999/active", data={"action": "off"}).status_code == 404
    assert admin.post(f"/admin/lti/deployments/{off.id}/active", data={"action": "delete"}).status_code == 400
