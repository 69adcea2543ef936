"""CSRF on every state-changing web route, cookie flags and security headers.

POST routes are discovered from app.url_map, so a new form is covered the day it is added.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from classroom import create_app, jobs
from classroom.models import FlawedSolution, Grade
from classroom.services import accounts, submissions
from classroom.services.submissions import CritiqueDraft
from support import PASSWORD, PROJECT_ROOT


@pytest.fixture
def app_config(app_config):
    app_config["WTF_CSRF_ENABLED"] = True
    return app_config


def _csrf_token(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def _login(client, user):
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def _row_counts(app) -> dict:
    with Session(app.extensions["db_engine"]) as s:
        return {t.name: s.exec(select(func.count()).select_from(t)).one() for t in SQLModel.metadata.sorted_tables}


@pytest.fixture
def scene(world, dbs, app):
    w = world.classroom()
    with app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, "found it", "fix", "168"))
        jobs.run_job(job.id)
        token = accounts.create_token(dbs, w["alice"].email)
    grade = dbs.exec(select(Grade).where(Grade.submission_id == sub.id)).first()
    solution = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == w["problem"].id)).first()
    ids = {"code": w["course"].code, "problem_id": w["problem"].id, "assignment_id": w["assignment"].id,
           "submission_id": sub.id, "grade_id": grade.id, "job_id": job.id, "solution_id": solution.id}
    return w, ids, token


def _url(rule, ids) -> str:
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(r"<(?:[a-z]+:)?%s>" % arg, str(ids.get(arg, 1)), path)
    return path


def test_every_web_post_without_a_csrf_token_is_refused_and_saves_nothing(app, scene):
    w, ids, _token = scene
    clients = {"anonymous": app.test_client(), "student": _login(app.test_client(), w["alice"]),
               "instructor": _login(app.test_client(), w["teacher"])}
    before = _row_counts(app)
    # Not /lti/: the LMS posts there from its own site, so no CSRF token can exist; the platform's signed
    # id_token with its one-time state and nonce guards them instead (tests/test_lti.py tries forgeries).
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith(("/api/", "/lti/"))]
    assert len(rules) >= 10  # the discovery found the forms
    for rule in rules:
        url = _url(rule, ids)
        for role, client in clients.items():
            # A plausible body: what an attacker's page would send, minus the token it cannot know.
            resp = client.post(url, data={"title": "Evil", "code": "EVIL01", "score": "100", "action": "release",
                                          "explanation": "x", "error_step": "2", "email": "a@b.test",
                                          "password": "whatever-password", "name": "Eve", "role": "instructor"})
            assert resp.status_code == 400, (role, url, resp.status_code)
            body = resp.get_data(as_text=True)
            assert resp.mimetype == "text/html" and "not saved" in body, (role, url, body[:300])
            # And with a token from another session: still refused.
            resp = client.post(url, data={"csrf_token": "IjFhYmMi.forged.token", "title": "Evil"})
            assert resp.status_code == 400, (role, url, "forged token accepted")
    assert _row_counts(app) == before, "a refused form changed the database"
    # The logged-in sessions are intact: the refused logout did not log anyone out.
    assert clients["instructor"].get("/teach/").status_code == 200


def test_api_posts_need_a_bearer_token_not_a_cookie(app, scene):
    w, ids, token = scene
    client = _login(app.test_client(), w["alice"])  # a logged-in browser session is not enough
    before = _row_counts(app)
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and r.rule.startswith("/api/")]
    assert rules
    for rule in rules:
        url = _url(rule, ids)
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"},
                        {"Authorization": "Bearer cc_not-a-real-token"}):
            resp = client.post(url, json={"error_step": 2, "explanation": "x"}, headers=headers)
            assert resp.status_code == 401, (url, headers, resp.status_code)
            assert resp.get_json()["error"]["status"] == 401
    assert _row_counts(app) == before
    # The student's own submission route with the token works, without any CSRF token.
    url = _url(next(r for r in rules if r.rule.endswith("/submissions")), ids)
    resp = client.post(url, json={"error_step": 2, "explanation": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 201


def test_a_form_with_its_token_works(app, scene):
    w, ids, _token = scene
    client = _login(app.test_client(), w["alice"])
    page = client.get(f"/learn/assignments/{ids['assignment_id']}/problems/{ids['problem_id']}")
    resp = client.post(f"/learn/assignments/{ids['assignment_id']}/problems/{ids['problem_id']}",
                       data={"csrf_token": _csrf_token(page.get_data(as_text=True)), "error_step": "2",
                             "explanation": "Step 2 is wrong."})
    assert resp.status_code == 302


def _session_cookie(resp) -> str:
    cookies = [c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, resp.headers
    return cookies[-1]


def test_session_cookie_flags(app, scene):
    w, _ids, _token = scene
    client = app.test_client()
    token = _csrf_token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": w["alice"].email, "password": PASSWORD, "csrf_token": token})
    cookie = _session_cookie(resp).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "; secure" not in cookie  # plain HTTP in development keeps working


def test_session_cookie_is_secure_when_configured(app_config, monkeypatch, world):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    config = {k: v for k, v in app_config.items()}
    secure_app = create_app(config)
    assert secure_app.config["SESSION_COOKIE_SECURE"] is True
    try:
        client = secure_app.test_client()
        resp = client.get("/login", base_url="https://localhost")
        cookie = _session_cookie(resp).lower()  # the CSRF token lives in the session
        assert "; secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        secure_app.extensions["db_engine"].dispose()


def _assert_headers(resp, what):
    csp = resp.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    script_src = directives.get("script-src") or directives.get("default-src")
    assert script_src, (what, csp)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (what, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (what, csp)
    assert directives.get("object-src") == ["'none'"], (what, csp)
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", what


def test_security_headers_on_pages_errors_and_static_files(app_config, scene, app):
    w, ids, token = scene
    client = _login(app.test_client(), w["teacher"])
    anon = app.test_client()
    checks = {
        "page": client.get(f"/teach/courses/{ids['code']}"),
        "landing": anon.get("/"),
        "csv": client.get(f"/teach/courses/{ids['code']}/gradebook.csv"),
        "json": client.get(f"/teach/assignments/{ids['assignment_id']}/progress.json"),
        "404": anon.get("/no-such-page"),
        "403": client.get("/learn/"),
        "405": anon.get("/logout"),
        "400 csrf": client.post("/teach/courses", data={"title": "x"}),
        "413": anon.post("/login", data={"email": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}),
        "api 401": anon.get(f"/api/v1/courses/{ids['code']}/assignments"),
        "api": anon.get(f"/api/v1/courses/{ids['code']}/assignments", headers={"Authorization": f"Bearer {token}"}),
        "static css": anon.get("/static/css/app.css"),
        "static js": anon.get("/static/js/app.js"),
        "redirect": anon.get("/teach/"),
    }
    expected = {"404": 404, "403": 403, "405": 405, "400 csrf": 400, "413": 413, "api 401": 401, "redirect": 302}
    for what, resp in checks.items():
        assert resp.status_code == expected.get(what, 200), (what, resp.status_code)
        _assert_headers(resp, what)
    for resp in checks.values():
        resp.close()


def test_security_headers_on_a_server_error(app_config, monkeypatch):
    """A 500 page (an unexpected exception, not propagated as in tests) carries the headers too."""
    config = dict(app_config, TESTING=False, PROPAGATE_EXCEPTIONS=False)
    failing = create_app(config)

    def boom():
        raise RuntimeError("boom")

    failing.add_url_rule("/boom-for-test", "boom", boom)
    try:
        resp = failing.test_client().get("/boom-for-test")
        assert resp.status_code == 500 and "Your saved work is safe" in resp.get_data(as_text=True)
        _assert_headers(resp, "500")
    finally:
        failing.extensions["db_engine"].dispose()


def test_templates_have_no_inline_script_or_handlers():
    """The CSP blocks inline script, so any left in a template would silently not run."""
    offenders = []
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        source = path.read_text()
        for m in re.finditer(r"<script\b[^>]*>", source):
            if "src=" not in m.group(0):
                offenders.append(f"{path.name}: {m.group(0)}")
        for m in re.finditer(r"\son[a-z]+\s*=\s*[\"']", source):
            offenders.append(f"{path.name}: event handler attribute {m.group(0).strip()}")
        if re.search(r"href\s*=\s*[\"']\s*javascript:", source, re.I):
            offenders.append(f"{path.name}: javascript: URL")
    assert not offenders, offenders

