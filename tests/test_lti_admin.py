"""The administrator's LTI page (/admin/lti): the tool's settings to paste into the LMS, the registered
platforms and their deployments, and a labelled form that registers one through the same service as
`flask lti-add-platform` (the same checks, the same messages)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from classroom.models import LtiDeployment, LtiPlatform

GOOD = {"issuer": "https://canvas.instructure.com", "client_id": "10000000000042",
        "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
        "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks", "deployment_id": "7:abc"}


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="https://classroom.school.test", LTI_PRIVATE_KEY_FILE=lti_key_file)
    return app_config


@pytest.fixture
def admin_client(world, make_client):
    return make_client(world.user("admin", name="Ada Admin"))


def test_the_page_shows_the_tools_settings_and_a_labelled_form(admin_client):
    page = admin_client.get("/admin/lti")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    for url in ("https://classroom.school.test/lti/login", "https://classroom.school.test/lti/launch",
                "https://classroom.school.test/lti/jwks"):
        assert url in body
    assert "Deep-linking URL" in body and "No LMS is registered yet" in body
    for name in GOOD:  # every input has its label
        assert f'<label for="{name}"' in body and f'id="{name}"' in body
    assert "LTI platforms" in admin_client.get("/admin/").get_data(as_text=True)  # reached from the dashboard


def test_registering_lists_the_platform_and_a_second_deployment(admin_client, dbs):
    resp = admin_client.post("/admin/lti/platforms", data=GOOD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/lti")
    page = admin_client.get("/admin/lti").get_data(as_text=True)
    assert "Registered the LTI platform https://canvas.instructure.com (client ID 10000000000042); deployment 7:abc added" in page
    assert "https://sso.canvaslms.com/api/lti/security/jwks" in page and "7:abc" in page
    assert admin_client.post("/admin/lti/platforms", data={**GOOD, "deployment_id": "8:def"}).status_code == 302
    again = admin_client.post("/admin/lti/platforms", data={**GOOD, "deployment_id": "8:def"})
    assert "deployment 8:def was already registered" in admin_client.get(again.headers["Location"]).get_data(as_text=True)
    platform = dbs.exec(select(LtiPlatform)).one()
    assert sorted(dbs.exec(select(LtiDeployment.deployment_id).where(
        LtiDeployment.platform_id == platform.id)).all()) == ["7:abc", "8:def"]


def test_bad_input_is_refused_beside_its_field_with_the_commands_messages(admin_client, dbs):
    resp = admin_client.post("/admin/lti/platforms", data={**GOOD, "key_set_url": "jwks please"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "The key set (JWKS) URL must be a full web address" in body and 'id="key_set_url-error"' in body
    assert 'value="10000000000042"' in body  # what was typed stays
    empty = admin_client.post("/admin/lti/platforms", data={})
    text = empty.get_data(as_text=True)
    assert empty.status_code == 400 and "6 things to fix" in text and "Give the deployment ID." in text
    # A bad issuer beside empty fields: the service's message about it comes with the form's own.
    both = admin_client.post("/admin/lti/platforms", data={**GOOD, "issuer": "not a url", "client_id": ""})
    text = both.get_data(as_text=True)
    assert "2 things to fix" in text and "The issuer must be a full web address" in text
    assert not dbs.exec(select(LtiPlatform)).all()


def test_without_public_url_the_page_says_what_to_set(app, admin_client):
    app.config["PUBLIC_URL"] = None
    body = admin_client.get("/admin/lti").get_data(as_text=True)
    assert "Set PUBLIC_URL" in body


def test_only_administrators(world, make_client):
    teacher = make_client(world.instructor())
    student = make_client(world.student())
    for client in (teacher, student):
        assert client.get("/admin/lti").status_code == 403
        assert client.post("/admin/lti/platforms", data=GOOD).status_code == 403
    assert make_client().get("/admin/lti").status_code == 302
