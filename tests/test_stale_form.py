"""A stale form (CSRF token missing or expired) is refused with a message, and the text comes back."""
import pytest



@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def test_stale_critique_form_hands_the_text_back(app, world, dbs):
    w = world.classroom()
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    import re
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    c.post("/login", data={"email": w["alice"].email, "password": "correct-horse-battery", "csrf_token": token})
    resp = c.post(f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}",
                  data={"error_step": "2", "explanation": "My long careful explanation", "csrf_token": "stale"})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "was not saved" in body and "My long careful explanation" in body
    assert "stale" not in body.split("What you typed")[1]


def test_login_without_token_is_refused_without_echoing_the_password(app, world):
    teacher = world.instructor()
    resp = app.test_client().post("/login", data={"email": teacher.email, "password": "correct-horse-battery"})
    assert resp.status_code == 400
    assert "correct-horse-battery" not in resp.get_data(as_text=True)
