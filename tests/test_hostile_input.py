"""Hostile input never makes a 500: every POST form and the API get very long lines,
zero-width and right-to-left characters, NUL bytes and invalid UTF-8, in form fields,
file uploads, JSON bodies, query strings and URL paths.

Routes and form fields are discovered from the app (url_map and every FlaskForm
subclass), so a new form is covered the day it is added. Afterwards every page is
rendered again, so stored hostile text must display without a 500 too.
"""
from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
from flask_wtf import FlaskForm
from sqlmodel import select
from wtforms import FieldList, FileField

from classroom import jobs
from classroom.models import FlawedSolution, Grade
from classroom.services import accounts, submissions
from classroom.services.submissions import CritiqueDraft
from support import PG_URL

@pytest.fixture
def backend():
    """Overrides conftest's: PostgreSQL when available, as it is the stricter database (it refuses NUL
    bytes that SQLite stores), else SQLite; running both would double the time for the same Python paths."""
    return "postgresql" if PG_URL else "sqlite"


ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
RTL = "\u202e\u2067"  # right-to-left override and isolate, left unclosed on purpose


def _mutators():
    """name -> function(valid text) -> hostile str or bytes."""
    return {
        "long_line": lambda v: v + "x" * 60_000,  # one line, far beyond every field limit
        "long_line_within_limits": lambda v: v + " " + "y" * 1_900,  # long, but may be accepted and stored
        # Invisible and direction-changing characters (they travel together in pasted text).
        "zero_width_and_right_to_left": lambda v: (RTL + v[:1] + ZERO_WIDTH + v[1:]
                                                   + " \u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627"),
        "nul": lambda v: (v[:1] + "\x00" + v[1:]) if v else "\x00",
        "invalid_utf8": lambda v: v.encode() + b"\xff\xfe\xc0\x80\xed\xa0\x80",
    }


KINDS = list(_mutators())


def _form_classes():
    todo, seen = list(FlaskForm.__subclasses__()), []
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return seen


def _fields():
    """(text field names, file field names) of every form in the app."""
    text, files = set(), set()
    for cls in _form_classes():
        for name in dir(cls):
            unbound = getattr(cls, name, None)
            field_class = getattr(unbound, "field_class", None)
            if field_class is None:
                continue
            if issubclass(field_class, FileField):
                files.add(name)
            elif issubclass(field_class, FieldList):
                text.update(f"{name}-{i}" for i in range(4))
            else:
                text.add(name)
    return sorted(text), sorted(files)


class _FormFinder(HTMLParser):
    """Collects each POST form's action and the names of its fields (file inputs apart)."""

    def __init__(self):
        super().__init__()
        self.forms: dict[str, tuple[set, set]] = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post" and a.get("action"):
            self._current = self.forms.setdefault(urlsplit(a["action"]).path, (set(), set()))
        elif tag in ("input", "textarea", "select") and self._current is not None and a.get("name"):
            if a["name"] != "csrf_token":
                self._current[1 if a.get("type") == "file" else 0].add(a["name"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def _discover_forms(app, clients, ids) -> dict[str, tuple[set, set]]:
    """The forms people actually get, read from every page as every role."""
    finder = _FormFinder()
    for rule in _get_rules(app):
        if rule.rule.startswith("/api/"):
            continue
        for role, _headers in _viewers(rule, {}):
            resp = clients[role].get(_url(app, rule, ids))
            if resp.status_code == 200 and resp.mimetype == "text/html":
                finder.feed(resp.get_data(as_text=True))
    return finder.forms


def _valid_values(ids) -> dict:
    """Values that pass the forms, so hostile fragments reach the services and the database."""
    return {
        "email": "someone.new@example.test", "password": "correct-horse-battery", "name": "Dana Diaz",
        "role": "student", "code": ids["code"], "title": "Week 2", "statement": "What is $1+1$?",
        "reference_solution": "1+1 = 2", "reference_answer": "2", "steps-0": "1+1 = 3", "steps-1": "So 3.",
        "steps-2": "", "steps-3": "", "flawed_final_answer": "3", "first_wrong_step": "1", "reason": "1+1 is 2",
        "error_kind": "arithmetic", "instructions": "Read carefully.", "opens_at": "2026-01-01 10:00",
        "due_at": "2099-01-01 10:00", "problem_ids": str(ids["problem_id"]), "points": "100",
        "weight_location": "30", "weight_explanation": "40", "weight_correction": "30", "weight_lean": "0",
        "allow_late": "y", "late_penalty_percent": "10", "score": "50", "comment": "Good.", "error_step": "2",
        "explanation": "Step 2 is wrong: 28 × 6 = 168.", "correction": "28 × 6 = 168", "final_answer": "168",
        "text": "$x^2$", "action": "release", "course": ids["code"],
    }


def _encode_form(values: dict) -> bytes:
    return urlencode([(k, v) for k, v in values.items()]).encode("ascii")


def _csv(kind: str) -> bytes:
    mutate = _mutators()[kind]
    name = mutate("Eve Evans")
    email = mutate("eve@example.test")
    rows = [b"email,name,password"]
    for n, e in ((name, email), (mutate("Finn"), "finn@example.test"), ("Gil", mutate("gil@example.test"))):
        nb = n if isinstance(n, bytes) else n.encode()
        eb = e if isinstance(e, bytes) else e.encode()
        rows.append(eb + b"," + nb + b",")
    return b"\r\n".join(rows) + b"\n"


def _quoted(value) -> str:
    return quote(value if isinstance(value, bytes) else value.encode("utf-8"), safe="")


def _role_for(rule: str) -> str:
    if rule.startswith("/teach"):
        return "instructor"
    if rule in ("/login", "/signup"):
        return "anonymous"
    return "student"


@pytest.fixture
def scene(world, dbs, app):
    w = world.classroom()
    with app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, "found it", "fix", "168"))
        jobs.run_job(job.id)
        tokens = {"student": accounts.create_token(dbs, w["alice"].email),
                  "instructor": accounts.create_token(dbs, w["teacher"].email)}
    grade = dbs.exec(select(Grade).where(Grade.submission_id == sub.id)).first()
    solution = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == w["problem"].id)).first()
    ids = {"code": w["course"].code, "problem_id": w["problem"].id, "assignment_id": w["assignment"].id,
           "submission_id": sub.id, "grade_id": grade.id, "job_id": job.id, "solution_id": solution.id}
    return w, ids, tokens


def _url(app, rule, ids, code=None) -> str:
    path = rule.rule
    for arg in rule.arguments:
        value = code if (arg == "code" and code is not None) else ids.get(arg, 1)
        path = re.sub(r"<(?:[a-z]+:)?%s>" % arg, quote(str(value), safe="") if isinstance(value, str)
                      else str(value), path)
    return path


def _post_rules(app):
    rules = [r for r in app.url_map.iter_rules() if "POST" in r.methods and not r.rule.startswith("/api/")]
    return sorted(rules, key=lambda r: (r.rule == "/logout", r.rule))  # logging out last keeps the session


def _get_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"),
                  key=lambda r: r.rule)


def _clients(make_client, w):
    return {"anonymous": make_client(), "student": make_client(w["alice"]), "instructor": make_client(w["teacher"])}


def _check(resp_or_exc, what, failures):
    if isinstance(resp_or_exc, Exception):
        failures.append(f"{what}: {type(resp_or_exc).__name__}: {resp_or_exc}"[:600])
    elif resp_or_exc.status_code >= 500:
        failures.append(f"{what}: {resp_or_exc.status_code}")


def _call(client, *args, **kwargs):
    try:
        return client.open(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - TESTING propagates view errors; collect them all
        return exc


@pytest.mark.parametrize("kind", KINDS)
def test_every_form_and_the_api_survive_hostile_input(kind, app, scene, make_client):
    w, ids, tokens = scene
    mutate = _mutators()[kind]
    text_fields, file_fields = _fields()
    valid = _valid_values(ids)
    clients = _clients(make_client, w)
    failures: list[str] = []

    # 1. Forms: every field hostile at once, then each field hostile among valid ones. A route
    #    that no page shows a form for (yet) gets every field name any form in the app has.
    discovered = _discover_forms(app, clients, ids)
    for rule in _post_rules(app):
        client = clients[_role_for(rule.rule)]
        url = _url(app, rule, ids)
        names, files = discovered.get(url, (set(text_fields), set(file_fields)))
        all_hostile = {name: mutate(valid.get(name, "text")) for name in text_fields}
        bodies = [all_hostile] + [{**valid, name: mutate(valid.get(name, "text"))} for name in sorted(names)]
        for body in bodies:
            _check(_call(client, url, method="POST", data=_encode_form(body),
                         content_type="application/x-www-form-urlencoded"), f"POST {url} form", failures)
        for name in sorted(files):  # uploads: a hostile file with a hostile file name
            data = {**{k: (v if isinstance(v, str) else v.decode("utf-8", "replace")) for k, v in valid.items()},
                    name: (io.BytesIO(_csv(kind)), "r\u202eosv.csv" if kind != "nul" else "a\x00b.csv")}
            _check(_call(client, url, method="POST", data=data, content_type="multipart/form-data"),
                   f"POST {url} upload {name}", failures)

    # 2. The JSON API: each field hostile, raw bodies, odd types.
    api = f"/api/v1/assignments/{ids['assignment_id']}/problems/{ids['problem_id']}/submissions"
    headers = {"Authorization": f"Bearer {tokens['student']}"}
    base = {"error_step": 2, "explanation": "Step 2 is wrong.", "correction": "168", "final_answer": "168",
            "lean_proof": ""}
    for name in base:
        value = mutate(str(base[name]))
        raw = (json.dumps({**base, name: "__X__"}).encode().replace(b'"__X__"', b'"' + value + b'"')
               if isinstance(value, bytes) else json.dumps({**base, name: value}).encode())
        _check(_call(clients["anonymous"], api, method="POST", data=raw, content_type="application/json",
                     headers=headers), f"API field {name}", failures)
    for raw in (b"\xff\xfe{", b'{"error_step": 1e999, "explanation": "x"}', b'{"error_step": NaN}',
                b'{"error_step": [1], "explanation": {"a": 1}}', b"[]", b'"\\u0000"', b"{" * 10_000,
                b'{"error_step": 2, "explanation": "' + b"9" * 5000 + b'"}', b'{"error_step": ' + b"9" * 5000 + b"}"):
        _check(_call(clients["anonymous"], api, method="POST", data=raw, content_type="application/json",
                     headers=headers), f"API raw {raw[:30]!r}", failures)
    hostile_token = mutate("cc_token")
    _check(_call(clients["anonymous"], api, method="POST", json=base,
                 headers={"Authorization": b"Bearer " + (hostile_token if isinstance(hostile_token, bytes)
                                                         else hostile_token.encode())}),
           "API hostile token", failures)

    # 3. Every page still renders whatever was stored above.
    clients = _clients(make_client, w)  # fresh sessions: a form above may have logged one out
    for rule in _get_rules(app):
        for role, headers in _viewers(rule, tokens):
            url = _url(app, rule, ids)
            _check(_call(clients[role], url, headers=headers), f"GET {url} as {role}", failures)
    assert not failures, "\n".join(failures[:40])


def _viewers(rule, tokens):
    if rule.rule.startswith("/api/"):
        return [("anonymous", {"Authorization": f"Bearer {tokens.get(r)}"}) for r in ("student", "instructor")]
    if rule.rule.startswith("/teach"):
        return [("instructor", {})]
    if rule.rule.startswith("/learn"):
        return [("student", {})]
    return [("anonymous", {}), ("student", {}), ("instructor", {})]


def test_hostile_query_strings_and_paths(app, scene, make_client):
    w, ids, tokens = scene
    clients = _clients(make_client, w)
    failures: list[str] = []
    hostile = [_quoted(mutate("x")) for mutate in _mutators().values()]
    query = "&".join(f"{q}={q}&next={q}&format={q}" for q in hostile)
    codes = [_quoted(mutate(ids["code"])) for mutate in _mutators().values()] + ["%00", "%FF%FE"]
    for rule in _get_rules(app):
        for role, headers in _viewers(rule, tokens):
            url = _url(app, rule, ids)
            _check(_call(clients[role], f"{url}?{query}", headers=headers), f"GET {url}?hostile as {role}", failures)
            if "code" in rule.arguments:
                for code in codes:
                    bad = url.replace(ids["code"], code, 1)
                    _check(_call(clients[role], bad, headers=headers), f"GET {bad[:60]} as {role}", failures)
    for path in ("/%00", "/%FF%FE", "/learn/courses/%E2%80%AE%00x", "/api/v1/courses/%FF/assignments",
                 "/" + "a" * 10_000, "/login?next=%00%FF", "/login?next=//evil.example%00"):
        _check(_call(clients["instructor"], path), f"GET {path[:40]}", failures)
    assert not failures, "\n".join(failures[:40])


def test_roster_upload_with_hostile_contents(app, scene, make_client):
    w, ids, _tokens = scene
    client = make_client(w["teacher"])
    url = f"/teach/courses/{ids['code']}/roster"
    payloads = [_csv(kind) for kind in KINDS] + [b"\xef\xbb\xbf" + _csv("zero_width_and_right_to_left"), b"\x00" * 100,
                                                   b"email,name\n" + b"a" * 200_000 + b"\n",
                                                   b"email,name\r" + "z\u200b@example.test,Zed\r".encode()]
    for payload in payloads:
        resp = client.post(url, data={"roster": (io.BytesIO(payload), "roster.csv")},
                           content_type="multipart/form-data", follow_redirects=True)
        assert resp.status_code < 500, payload[:40]
        # Imported (redirect to the course page) or refused (the course page again, 400, the rows beside the file).
        assert resp.status_code in (200, 400) and "imported" in resp.get_data(as_text=True).lower(), payload[:40]


def test_request_larger_than_the_limit_gets_a_readable_413(app, scene, make_client):
    w, ids, tokens = scene
    limit = app.config["MAX_CONTENT_LENGTH"]
    big = "x" * (limit + 1)
    client = make_client(w["alice"])
    resp = client.post(f"/learn/assignments/{ids['assignment_id']}/problems/{ids['problem_id']}",
                       data={"error_step": "2", "explanation": big})
    assert resp.status_code == 413
    assert resp.mimetype == "text/html" and "too large" in resp.get_data(as_text=True).lower()
    resp = make_client(w["teacher"]).post(f"/teach/courses/{ids['code']}/roster",
                                          data={"roster": (io.BytesIO(big.encode()), "big.csv")},
                                          content_type="multipart/form-data")
    assert resp.status_code == 413 and "too large" in resp.get_data(as_text=True).lower()
    api = f"/api/v1/assignments/{ids['assignment_id']}/problems/{ids['problem_id']}/submissions"
    for headers in ({"Authorization": f"Bearer {tokens['student']}"}, {}):
        resp = client.post(api, data=json.dumps({"error_step": 2, "explanation": big}),
                           content_type="application/json", headers=headers)
        assert resp.status_code == 413, resp.get_data(as_text=True)[:200]
        assert resp.get_json()["error"]["status"] == 413 and "too large" in resp.get_json()["error"]["message"]
    with app.app_context():
        from classroom.models import Submission
        from classroom import db
        assert len(db.session().exec(select(Submission)).all()) == 1  # only the scene's own version
