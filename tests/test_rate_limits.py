"""Login rate limits: per account and per address, in memory or shared through Redis.

Only failed attempts count: a class behind one school address logging in at the
start of a lesson must not lock itself out.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from classroom import create_app
from process_support import delete_redis_keys
from support import PASSWORD, REDIS_URL

ACCOUNT_MESSAGE = "Too many login attempts for this account"
ADDRESS_MESSAGE = "Too many login attempts from your network"


@pytest.fixture
def app_config(app_config):
    app_config.update(RATELIMIT_ENABLED=True)
    return app_config


def _login(client, email, password="wrong-password", addr="10.0.0.1", **kw):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": addr}, **kw)


def test_eleventh_wrong_login_for_one_account_gets_429(app, world):
    user = world.student()
    client = app.test_client()
    for attempt in range(10):
        resp = _login(client, user.email, addr=f"10.0.1.{attempt}")  # from different addresses, too
        assert resp.status_code == 400, attempt
    resp = _login(client, user.email.upper(), addr="10.0.2.1")  # the same account, however it is typed
    assert resp.status_code == 429
    body = resp.get_data(as_text=True)
    assert ACCOUNT_MESSAGE in body and "Wait a minute" in body
    # Even the right password waits now: that is what stops guessing.
    assert _login(client, user.email, PASSWORD, addr="10.0.2.2").status_code == 429
    # Other accounts are not affected.
    other = world.student()
    assert _login(client, other.email, PASSWORD, addr="10.0.2.3").status_code == 302


def test_per_address_limit(app, world):
    client = app.test_client()
    for n in range(30):
        assert _login(client, f"nobody{n}@example.test").status_code == 400, n
    resp = _login(client, "nobody-else@example.test")
    assert resp.status_code == 429 and ADDRESS_MESSAGE in resp.get_data(as_text=True)
    # Another address is not affected.
    user = world.student()
    assert _login(client, user.email, PASSWORD, addr="10.9.9.9").status_code == 302


def test_successful_logins_do_not_count(app, world):
    """A class of 35 logging in within a minute from one address (one user stands in for them all)."""
    user = world.student()
    client = app.test_client()
    for n in range(35):
        resp = _login(client, user.email, PASSWORD)
        assert resp.status_code == 302, (n, resp.status_code)
        client.post("/logout", environ_base={"REMOTE_ADDR": "10.0.0.1"})


def test_429_json_for_api_callers(app):
    client = app.test_client()
    for _ in range(10):
        _login(client, "x@example.test")
    resp = _login(client, "x@example.test", headers={"Accept": "application/json"})
    assert resp.status_code == 429 and ACCOUNT_MESSAGE in resp.get_json()["error"]["message"]


def test_behind_a_trusted_proxy_the_client_address_counts(app_config, world):
    """With TRUSTED_PROXIES=1 the address comes from X-Forwarded-For; without it, that header is ignored."""
    proxied = create_app(dict(app_config, TRUSTED_PROXIES=1))
    try:
        client = proxied.test_client()
        for n in range(30):  # all through the one proxy, from many students' machines
            resp = client.post("/login", data={"email": f"nobody{n}@example.test", "password": "wrong-password"},
                               environ_base={"REMOTE_ADDR": "10.0.0.254"},
                               headers={"X-Forwarded-For": f"192.0.2.{n}"})
            assert resp.status_code == 400, n
        resp = client.post("/login", data={"email": "late@example.test", "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": "10.0.0.254"}, headers={"X-Forwarded-For": "192.0.2.200"})
        assert resp.status_code == 400  # one more machine behind the proxy is not blocked
    finally:
        proxied.extensions["db_engine"].dispose()
    direct = create_app(dict(app_config, TRUSTED_PROXIES=0))
    try:
        client = direct.test_client()
        for n in range(30):  # a spoofed header must not dodge the per-address limit
            client.post("/login", data={"email": f"nobody{n}@example.test", "password": "wrong-password"},
                        environ_base={"REMOTE_ADDR": "10.0.0.7"}, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        resp = client.post("/login", data={"email": "late@example.test", "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": "10.0.0.7"}, headers={"X-Forwarded-For": "198.51.100.99"})
        assert resp.status_code == 429
    finally:
        direct.extensions["db_engine"].dispose()


@pytest.mark.skipif(not REDIS_URL, reason="Redis rate-limit storage skipped: set TEST_REDIS_URL "
                                          "(e.g. redis://127.0.0.1:6379/15)")
def test_limits_are_stored_in_redis(app_config, world):
    """With REDIS_URL the counts live in Redis, so every web instance sees them. The test's keys
    name a unique account and unique addresses, and exactly those are deleted afterwards."""
    import random

    import redis

    web = create_app(dict(app_config, REDIS_URL=REDIS_URL))
    user = world.student(email=f"rl-{uuid.uuid4().hex[:10]}@example.test")
    net = f"10.{random.randrange(256)}.{random.randrange(256)}."
    client_r = redis.Redis.from_url(REDIS_URL)

    def cleanup() -> int:
        return delete_redis_keys(REDIS_URL, user.email) + delete_redis_keys(REDIS_URL, f"/{net}")

    try:
        assert web.config["RATELIMIT_STORAGE_URI"] == REDIS_URL
        for n in range(10):
            assert _login(web.test_client(), user.email, addr=f"{net}{n}").status_code == 400
        keys = [k.decode() for k in client_r.scan_iter(match="*LIMITER*")]
        assert any(user.email in k for k in keys), keys
        assert any(f"/{net}" in k for k in keys), keys
        resp = _login(web.test_client(), user.email, PASSWORD, addr=f"{net}200")
        assert resp.status_code == 429 and ACCOUNT_MESSAGE in resp.get_data(as_text=True)
        # The count is in Redis, not in this process: once Redis forgets it, the account may log in.
        assert cleanup() >= 2
        assert _login(web.test_client(), user.email, PASSWORD, addr=f"{net}200").status_code == 302
    finally:
        cleanup()
        web.extensions["db_engine"].dispose()
        assert not [k for k in client_r.scan_iter(match="*LIMITER*") if user.email.encode() in k or
                    f"/{net}".encode() in k]
        client_r.close()


def test_no_api_view_carries_a_rate_limit():
    """The API has no rate limits: a class behind one school address submits through it at the deadline
    together, and create_app keeps the limiter's hook off API requests on that understanding. A limit
    on an API view would change both, so it must be a decision, not a line slipped in."""
    api = Path(__file__).resolve().parents[1] / "classroom" / "api"
    written = [f"{path.name}:{n}" for path in sorted(api.glob("*.py"))
               for n, line in enumerate(path.read_text().splitlines(), 1) if "limiter" in line]
    assert written == [], f"a rate limit on an API view needs create_app's limiter hook revisited: {written}"


def test_api_requests_skip_the_limiters_hook_and_pages_keep_it(app_config, world, monkeypatch):
    """The limiter's before_request hook runs for every page and form, never for the API (create_app's
    _no_limiter_hook_for_the_api); the login limit above shows the wrapped hook still limits."""
    from flask_limiter import Limiter

    calls: list[str] = []
    original = Limiter._check_request_limit

    def counted(self, *args, **kwargs):
        from flask import request
        calls.append(request.path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Limiter, "_check_request_limit", counted)
    fresh = create_app(app_config)
    try:
        client = fresh.test_client()
        client.get("/api/v1/openapi.json")
        client.get("/api/v1/courses/ABC-DEF/assignments", headers={"Authorization": "Bearer nope"})
        assert calls == []
        client.get("/login")
        assert calls and set(calls) == {"/login"}
    finally:
        fresh.extensions["db_engine"].dispose()
