"""Inputs that used to make a 500 (issue 9, section 5): JSON with half a surrogate pair, JSON nested
100,000 deep, NaN and Infinity, numbers of thousands of digits, in API bodies and in bank lines.
Each now gets a 400 that says what is wrong, or a refused import naming its line and field."""
from __future__ import annotations

import io
import json

import pytest
from sqlmodel import func, select

from classroom.models import Problem, Submission
from classroom.services import accounts

TEXT_FIELDS = ("explanation", "correction", "final_answer", "lean_proof")


@pytest.fixture
def api(world, dbs, make_client):
    w = world.classroom()
    with world.app.app_context():
        token = accounts.create_token(dbs, w["alice"].email)
    client = make_client()
    url = f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/submissions"

    def post(raw: str | bytes):
        return client.post(url, data=raw, headers={"Authorization": f"Bearer {token}",
                                                   "Content-Type": "application/json"})
    return post


def _body(**fields) -> dict:
    body = {"error_step": 2, "explanation": "28 × 6 is 168.", "correction": "28 × 6 = 168", "final_answer": "168"}
    body.update(fields)
    return body


def _no_submissions(dbs) -> bool:
    dbs.expire_all()
    return dbs.exec(select(func.count()).select_from(Submission)).one() == 0


@pytest.mark.parametrize("field", TEXT_FIELDS + ("error_step",))
def test_lone_surrogate_in_any_field_is_a_400(api, dbs, field):
    raw = json.dumps(_body(**{field: "Step 2 \ud800 is wrong"}))  # ensure_ascii writes it as \ud800
    assert "\\ud800" in raw
    resp = api(raw)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert error["field"] == field and "surrogate" in error["message"]
    assert _no_submissions(dbs)


def test_a_lone_surrogate_in_a_key_is_a_400(api, dbs):
    resp = api('{"explanation": "x", "\\udc00": 1}')
    assert resp.status_code == 400 and "surrogate" in resp.get_json()["error"]["message"]


def test_json_nested_100000_deep_is_a_400(api, dbs):
    resp = api("[" * 100_000 + "]" * 100_000)
    assert resp.status_code == 400
    assert "nested more than" in resp.get_json()["error"]["message"]
    resp = api('{"explanation": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert resp.status_code == 400 and "nested more than" in resp.get_json()["error"]["message"]
    resp = api(json.dumps(_body(explanation=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])))
    assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "explanation"
    assert _no_submissions(dbs)


@pytest.mark.parametrize("raw_value", ["NaN", "Infinity", "-Infinity", "1e999", "1" * 5000])
@pytest.mark.parametrize("field", ["final_answer", "error_step"])
def test_numbers_that_are_not_numbers_are_a_400(api, dbs, raw_value, field):
    body = json.dumps(_body(**{field: "PLACEHOLDER"})).replace('"PLACEHOLDER"', raw_value)
    resp = api(body)
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["error"]["field"] == field
    assert _no_submissions(dbs)


def test_invalid_utf8_json_is_a_400(api):
    resp = api(b'{"explanation": "\xff\xfe"}')
    assert resp.status_code == 400 and "UTF-8" in resp.get_json()["error"]["message"]


def test_the_app_wide_json_reader_is_strict(app):
    """request.get_json() anywhere refuses the same (a new route cannot forget it)."""
    with app.test_request_context(data='{"a": NaN}', content_type="application/json"):
        from flask import request
        assert request.get_json(silent=True) is None


# --------------------------------------------------------------------------- bank lines

GOOD = {"id": "p1", "question_type": "original", "question": "What is 2 + 2?", "reference_solution": "2 + 2 = 4",
        "reference_answer": "4", "flawed_steps": ["2 + 2 = 5", "#### 5"], "first_error_step": 1,
        "error_reason": "2 + 2 is 4."}


def _bank(*bad_lines: str) -> bytes:
    return "\n".join([json.dumps(GOOD), *bad_lines]).encode("utf-8")


def _line(**override) -> str:
    return json.dumps(dict(GOOD, id="p2", **{k: "PLACEHOLDER-" + k for k in override}))


BAD_LINES = {
    "deeply_nested": ('{"id": "p2", "question": ' + "[" * 100_000 + "]" * 100_000 + "}", "line 2: field question:"),
    "whole_line_nested": ("[" * 100_000 + "]" * 100_000, "line 2: is nested"),
    "lone_surrogate": (json.dumps(dict(GOOD, id="p2", question="What is \ud800?")), "line 2: field question:"),
    "first_error_step_5000_digits": (_line(first_error_step=1).replace('"PLACEHOLDER-first_error_step"', "1" * 5000),
                                     "line 2: field first_error_step: holds a number of 5,000 digits"),
    "nan_reference_answer": (_line(reference_answer=1).replace('"PLACEHOLDER-reference_answer"', "NaN"),
                             "line 2: field reference_answer: NaN"),
    "infinity_reference_answer": (_line(reference_answer=1).replace('"PLACEHOLDER-reference_answer"', "Infinity"),
                                  "line 2: field reference_answer: Infinity"),
    "huge_float_reference_answer": (_line(reference_answer=1).replace('"PLACEHOLDER-reference_answer"', "1e999"),
                                    "line 2: field reference_answer: 1e999"),
}


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_bad_bank_lines_are_refused_by_line(world, dbs, make_client, name):
    line, said = BAD_LINES[name]
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/bank",
                                     data={"bank": (io.BytesIO(_bank(line)), "bank.jsonl")},
                                     content_type="multipart/form-data")
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Nothing was imported" in page and said in page, page[page.find("Nothing"):][:500]
    dbs.expire_all()
    assert dbs.exec(select(func.count()).select_from(Problem)).one() == 0


def test_the_bank_command_refuses_them_too(app):
    from classroom.services.banks import BankInvalid, parse_bank

    for line, said in BAD_LINES.values():
        with pytest.raises(BankInvalid) as refused:
            parse_bank(_bank(line).decode("utf-8", errors="surrogatepass"))
        assert any(said in e for e in refused.value.errors), (said, refused.value.errors)
