"""Problem banks: import of ../shared/data/mr-gsm8k/problems.jsonl, re-import, export round trip,
broken files (each refused whole, naming line and field), the CLI and the web upload."""
import io
import json
import os
import subprocess
import sys

import pytest
from sqlmodel import func, select

from classroom.models import AnswerKey, FlawedSolution, Problem
from classroom.services import banks, demo, problems
from support import PROJECT_ROOT, SHARED_DATA

BANK = SHARED_DATA / "mr-gsm8k" / "problems.jsonl"


def _require_bank():
    if not BANK.is_file():
        print(f"skipping: {BANK} is not there (set CLASSROOM_SHARED_DATA to the folder holding mr-gsm8k/)")
        pytest.skip(f"{BANK} is absent (set CLASSROOM_SHARED_DATA)")
    return BANK.read_bytes()


def _records(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def _count(dbs, course) -> int:
    dbs.expire_all()
    return dbs.exec(select(func.count()).select_from(Problem).where(Problem.course_id == course.id)).one()


def _tiny_bank(n=2) -> list[dict]:
    return [{"id": f"t-{i}", "question_type": "original", "question": f"Ann has {i + 2} apples and eats one. How many?",
             "reference_solution": f"{i + 2} - 1 = {i + 1}", "reference_answer": str(i + 1),
             "flawed_steps": [f"Ann has {i + 2} apples.", f"{i + 2} + 1 = {i + 3}", f"The answer is: {i + 3}"],
             "first_error_step": 2, "error_reason": "Eating is subtraction."} for i in range(n)]


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


# --------------------------------------------------------------------------- the real bank

def test_import_the_shared_bank_reimport_and_round_trip(app, world, dbs):
    raw = _require_bank()
    originals = _records(raw)
    teacher = world.instructor()
    course = world.course(teacher, code="BANK1")
    with app.app_context():
        result = banks.import_bank(dbs, teacher, course, raw)
    assert (result.imported, result.skipped) == (len(originals), 0) == (312, 0)
    assert result.summary() == "imported 312 problems"
    assert _count(dbs, course) == 312

    first = originals[0]
    p = dbs.exec(select(Problem).where(Problem.course_id == course.id, Problem.external_id == first["id"])).one()
    assert p.statement == first["question"] and p.reference_answer == str(first["reference_answer"])
    assert p.question_type == first["question_type"] and p.title.startswith(" ".join(first["question"].split()[:3]))
    solution, key = problems.current_solution_with_key(dbs, p.id)
    assert solution.steps == first["flawed_steps"] and solution.approved
    assert key.first_wrong_step == first["first_error_step"] and key.reason == first["error_reason"]
    assert key.origin == "bank" and key.error_kind == "other"
    assert solution.final_answer == "11000"  # from "The answer is: 11000"

    # The same file again adds nothing.
    with app.app_context():
        again = banks.import_bank(dbs, teacher, course, raw)
    assert (again.imported, again.skipped) == (0, 312)
    assert _count(dbs, course) == 312

    # Export gives the same problems back, field by field, and imports into another course.
    with app.app_context():
        exported = banks.export_bank(dbs, teacher, course)
    assert exported.exported == 312 and exported.without_solution == []
    out = {r["id"]: r for r in _records(exported.text.encode("utf-8"))}
    for original in originals:
        got = out[original["id"]]
        for name in banks.BANK_FIELDS:  # numbers come back as text, and spaces around text are trimmed
            want = original[name]
            if name == "flawed_steps":
                want = [s.strip() for s in want]
            elif name != "first_error_step":
                want = str(want).strip()
            assert got[name] == want, (original["id"], name)
    other = world.course(teacher, code="BANK2")
    with app.app_context():
        assert banks.import_bank(dbs, teacher, other, exported.text.encode("utf-8")).imported == 312
        assert banks.export_bank(dbs, teacher, other).text == exported.text


# --------------------------------------------------------------------------- broken files

def _broken_cases():
    good = _tiny_bank(3)
    missing = [dict(r) for r in good]
    del missing[1]["error_reason"]
    out_of_range = [dict(r) for r in good]
    out_of_range[2]["first_error_step"] = 9
    wrong_type = [dict(r) for r in good]
    wrong_type[0]["flawed_steps"] = "one long string"
    duplicate = [dict(r) for r in good]
    duplicate[2]["id"] = "t-0"
    bad_kind = [dict(r) for r in good]
    bad_kind[1]["error_kind"] = "typo"
    bad_json = _jsonl(good[:1]) + b'{"id": "x", "question": "unterminated\n' + _jsonl(good[1:])
    not_utf8 = _jsonl(good[:2]) + _jsonl(good[2:]).replace(b"Ann has", b"Ann\xff has", 1)
    return [
        ("bad JSON", bad_json, ["line 2: field question: not valid JSON"]),
        ("missing field", _jsonl(missing), ["line 2: field error_reason: is missing"]),
        ("step out of range", _jsonl(out_of_range), ["line 3: field first_error_step: step 9 is outside the 3 steps"]),
        ("wrong type", _jsonl(wrong_type), ["line 1: field flawed_steps: must be a list"]),
        ("duplicate id", _jsonl(duplicate), ["line 3: field id: 't-0' is also on line 1"]),
        ("unknown kind", _jsonl(bad_kind), ["line 2: field error_kind: 'typo' is not one of"]),
        ("empty file", b"", ["line 1: no problems found"]),
        ("blank lines only", b"\n  \n\n", ["line 1: no problems found"]),
        ("not UTF-8", not_utf8, ["line 3: field question: is not UTF-8 text"]),
        ("not an object", b'["a", "list"]\n', ["line 1: is a list, not a JSON object"]),
    ]


@pytest.mark.parametrize("name, raw, expected", _broken_cases(), ids=[c[0] for c in _broken_cases()])
def test_broken_bank_imports_nothing_and_says_where(app, world, dbs, name, raw, expected):
    teacher = world.instructor()
    course = world.course(teacher)
    with app.app_context():
        with pytest.raises(banks.BankInvalid) as err:
            banks.import_bank(dbs, teacher, course, raw)
    assert err.value.message.startswith("Nothing was imported")
    for words in expected:
        assert any(line.startswith(words) or words in line for line in err.value.errors), err.value.errors
    assert _count(dbs, course) == 0


def test_good_lines_of_a_broken_file_are_not_imported_either(app, world, dbs):
    records = _tiny_bank(5)
    records[4]["first_error_step"] = 0
    teacher = world.instructor()
    course = world.course(teacher)
    with app.app_context():
        with pytest.raises(banks.BankInvalid) as err:
            banks.import_bank(dbs, teacher, course, _jsonl(records))
    assert err.value.errors == ["line 5: field first_error_step: step 0 is outside the 3 steps"]
    assert _count(dbs, course) == 0
    assert dbs.exec(select(func.count()).select_from(FlawedSolution)).one() == 0


def test_limits(app, world, dbs, monkeypatch):
    teacher = world.instructor()
    course = world.course(teacher)
    long_step = _tiny_bank(1)
    long_step[0]["flawed_steps"][0] = "x" * 6000
    with app.app_context():
        with pytest.raises(banks.BankInvalid) as err:
            banks.import_bank(dbs, teacher, course, _jsonl(long_step))
        assert "line 1: field flawed_steps: step 1 is too long (6,000 characters; the limit is 5,000)" in err.value.errors
        monkeypatch.setattr(banks, "MAX_BANK_BYTES", 100)
        with pytest.raises(banks.BankInvalid) as err:
            banks.import_bank(dbs, teacher, course, _jsonl(_tiny_bank(3)))
        assert "too large" in err.value.message
        monkeypatch.setattr(banks, "MAX_BANK_BYTES", 10_000_000)
        monkeypatch.setattr(banks, "MAX_BANK_PROBLEMS", 2)
        with pytest.raises(banks.BankInvalid) as err:
            banks.import_bank(dbs, teacher, course, _jsonl(_tiny_bank(3)))
        assert "more than 2 problems" in err.value.errors[0]
    assert _count(dbs, course) == 0


def test_optional_fields_and_numbers(app, world, dbs):
    records = _tiny_bank(1)
    records[0].update({"id": 42, "reference_answer": 2, "title": "Apples", "error_kind": "sign",
                       "flawed_final_answer": "4"})
    teacher = world.instructor()
    course = world.course(teacher)
    with app.app_context():
        banks.import_bank(dbs, teacher, course, _jsonl(records))
        exported = _records(banks.export_bank(dbs, teacher, course).text.encode())
    p = dbs.exec(select(Problem).where(Problem.course_id == course.id)).one()
    assert (p.external_id, p.title, p.reference_answer) == ("42", "Apples", "2")
    key = dbs.exec(select(AnswerKey)).one()
    assert key.error_kind == "sign"
    assert exported[0]["id"] == "42" and exported[0]["error_kind"] == "sign" and exported[0]["flawed_final_answer"] == "4"


def test_export_names_hand_written_problems_by_course_code(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="HAND1")
    p = world.problem(teacher, course)
    with app.app_context():
        rec = _records(banks.export_bank(dbs, teacher, course).text.encode())[0]
    assert rec["id"] == f"HAND1-{p.id}" and rec["question_type"] == "original"
    assert rec["flawed_steps"] == ["Multiply $28 \\times 6$.", "That is $158$.", "So 158 dollars."]


# --------------------------------------------------------------------------- the commands

def _flask(tmp_path, *args, stdin=None):
    env = {**os.environ, "CLASSROOM_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": "",
           "GRADER_MODEL": ""}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=180, input=stdin)


def test_cli_import_reimport_export_and_broken_files(tmp_path):
    raw = _require_bank()
    assert _flask(tmp_path, "init-db").returncode == 0
    assert _flask(tmp_path, "seed-demo").returncode == 0
    r = _flask(tmp_path, "import-bank", str(BANK), "--course", "DEMO101")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "imported 312 problems"
    r = _flask(tmp_path, "import-bank", str(BANK), "--course", "DEMO101")
    assert r.returncode == 0 and r.stdout.startswith("imported 0 problems")
    r = _flask(tmp_path, "export-bank", "--course", "DEMO101")
    assert r.returncode == 0, r.stderr
    exported = _records(r.stdout.encode())
    assert len(exported) == 312 + len(demo.PROBLEMS)  # the bank and the demo's own problems
    assert {x["id"] for x in _records(raw)} <= {x["id"] for x in exported}

    broken = tmp_path / "broken.jsonl"
    records = _tiny_bank(3)
    records[2]["first_error_step"] = 9
    broken.write_bytes(_jsonl(records))
    before = _flask(tmp_path, "export-bank", "--course", "DEMO101").stdout
    r = _flask(tmp_path, "import-bank", str(broken), "--course", "DEMO101")
    assert r.returncode != 0
    assert "line 3: field first_error_step: step 9 is outside the 3 steps" in r.stderr
    not_utf8 = tmp_path / "latin1.jsonl"
    not_utf8.write_bytes(_jsonl(_tiny_bank(2)).replace(b"Ann has", b"Ann\xe9 has"))
    r = _flask(tmp_path, "import-bank", str(not_utf8), "--course", "DEMO101")
    assert r.returncode != 0 and "line 1: field question: is not UTF-8 text" in r.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    r = _flask(tmp_path, "import-bank", str(empty), "--course", "DEMO101")
    assert r.returncode != 0 and "the file is empty" in r.stderr
    assert _flask(tmp_path, "export-bank", "--course", "DEMO101").stdout == before  # nothing half-imported

    r = _flask(tmp_path, "import-bank", str(tmp_path / "nope.jsonl"), "--course", "DEMO101")
    assert r.returncode != 0 and "Cannot read" in r.stderr
    r = _flask(tmp_path, "import-bank", str(broken), "--course", "NOPE")
    assert r.returncode != 0 and "No course has that code" in r.stderr
    r = _flask(tmp_path, "import-bank", "-", "--course", "DEMO101", stdin=_jsonl(_tiny_bank(2)).decode())
    assert r.returncode == 0 and r.stdout.strip() == "imported 2 problems"


# --------------------------------------------------------------------------- the web upload

def test_web_upload_import_and_download(world, dbs, make_client):
    raw = _require_bank()
    w = world.classroom()
    teacher = make_client(w["teacher"])
    code = w["course"].code
    resp = teacher.post(f"/teach/courses/{code}/bank", data={"bank": (io.BytesIO(raw), "problems.jsonl")},
                        content_type="multipart/form-data", follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Imported 312 problems." in body
    assert _count(dbs, w["course"]) == 313
    resp = teacher.post(f"/teach/courses/{code}/bank", data={"bank": (io.BytesIO(raw), "problems.jsonl")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert "Imported 0 problems; 312 already in the course" in resp.get_data(as_text=True)
    download = teacher.get(f"/teach/courses/{code}/bank.jsonl")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert len(_records(download.data)) == 313


def test_web_upload_of_a_broken_bank(world, dbs, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    records = _tiny_bank(7)
    records[6]["first_error_step"] = 9
    resp = teacher.post(f"/teach/courses/{w['course'].code}/bank",
                        data={"bank": (io.BytesIO(_jsonl(records)), "bank.jsonl")},
                        content_type="multipart/form-data", follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "Nothing was imported" in body and "line 7: field first_error_step: step 9 is outside the 3 steps" in body
    assert _count(dbs, w["course"]) == 1
    resp = teacher.post(f"/teach/courses/{w['course'].code}/bank", data={}, follow_redirects=True)
    assert "Choose a bank file" in resp.get_data(as_text=True)


def test_oversized_upload_is_refused(app, world, dbs, make_client):
    w = world.classroom()
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    resp = make_client(w["teacher"]).post(f"/teach/courses/{w['course'].code}/bank",
                                          data={"bank": (io.BytesIO(b"x" * 20_000), "big.jsonl")},
                                          content_type="multipart/form-data")
    assert resp.status_code == 413 and "too large" in resp.get_data(as_text=True)
    assert _count(dbs, w["course"]) == 1


def test_students_cannot_import_or_download(world, make_client):
    w = world.classroom()
    student = make_client(w["alice"])
    assert student.get(f"/teach/courses/{w['course'].code}/bank.jsonl").status_code == 403
    resp = student.post(f"/teach/courses/{w['course'].code}/bank",
                        data={"bank": (io.BytesIO(_jsonl(_tiny_bank(1))), "b.jsonl")}, content_type="multipart/form-data")
    assert resp.status_code == 403
