"""ProcessBench's JSON Lines imported as problems (`--format processbench`, or the upload form's format):
label -1 a correct solution, label k a flawed one whose first wrong step is k + 1, the generator kept as the
solution's author, keys waiting as drafts for the instructor's reason. The file is written here."""
import json
import os
import subprocess
import sys

import pytest
from sqlmodel import select

from classroom.models import AnswerKey, FlawedSolution, Problem
from classroom.services import authoring, banks, problems
from classroom.services.errors import InvalidInput
from support import PROJECT_ROOT

ITEMS = [
    {"id": "gsm8k-0", "generator": "Qwen2-7B-Instruct",
     "problem": "Ann buys 3 pens at \\$2 each and a book at \\$5. How much does she pay?",
     "steps": ["The pens cost $3 \\times 2 = 6$ dollars.", "With the book: $6 + 5 = 12$ dollars.",
               "So she pays $\\boxed{12}$."],
     "final_answer_correct": False, "label": 1},
    {"id": "gsm8k-1", "generator": "Llama-3.1-8B-Instruct", "problem": "What is $7 \\times 8$?",
     "steps": ["$7 \\times 8 = 56$.", "The answer is $\\boxed{56}$."], "final_answer_correct": True, "label": -1},
]


def _jsonl(items) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


def test_processbench_lines_become_draft_problems(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="PB1")
    with app.app_context():
        result = banks.import_bank(dbs, teacher, course, _jsonl(ITEMS), "processbench")
    assert (result.imported, result.drafts) == (2, 2)
    assert "2 of them as drafts" in result.summary()
    by_id = {p.external_id: p for p in dbs.exec(select(Problem)).all()}
    flawed = by_id["gsm8k-0"]
    assert flawed.statement == ITEMS[0]["problem"] and flawed.question_type == "processbench"
    solution, key = dbs.exec(select(FlawedSolution, AnswerKey).join(
        AnswerKey, AnswerKey.flawed_solution_id == FlawedSolution.id)
        .where(FlawedSolution.problem_id == flawed.id)).one()
    assert solution.steps == ITEMS[0]["steps"] and not solution.approved
    assert solution.final_answer == "12"  # what its last step boxes, not "$\\boxed{12}$"
    assert key.first_wrong_step == 2 and key.reason == "" and key.origin == "bank"
    assert key.origin_model == "Qwen2-7B-Instruct"
    right_key = dbs.exec(select(AnswerKey).join(FlawedSolution, AnswerKey.flawed_solution_id == FlawedSolution.id)
                         .where(FlawedSolution.problem_id == by_id["gsm8k-1"].id)).one()
    assert right_key.first_wrong_step is None and right_key.origin_model == "Llama-3.1-8B-Instruct"
    # Not assignable until approved: no problem has an approved solution yet.
    with app.app_context():
        assert authoring.ready_problem_ids(dbs, [p.id for p in by_id.values()]) == set()
        # Importing the same file again adds nothing.
        assert banks.import_bank(dbs, teacher, course, _jsonl(ITEMS), "processbench").skipped == 2


def test_a_draft_key_needs_its_reason_before_approval(app, world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher, code="PB2")
    with app.app_context():
        banks.import_bank(dbs, teacher, course, _jsonl(ITEMS), "processbench")
    by_id = {p.external_id: p for p in dbs.exec(select(Problem)).all()}
    flawed_draft = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == by_id["gsm8k-0"].id)).one()
    with app.app_context(), pytest.raises(InvalidInput) as err:
        authoring.approve_draft(dbs, teacher, flawed_draft.id)
    assert "say why step 2 is wrong" in err.value.message
    # A correct solution needs no reason: it can be approved as it is.
    right_draft = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == by_id["gsm8k-1"].id)).one()
    with app.app_context():
        authoring.approve_draft(dbs, teacher, right_draft.id)

    # The edit form starts from the imported draft; saving it with a reason approves that same solution.
    c = make_client(teacher)
    page = c.get(f"/teach/problems/{by_id['gsm8k-0'].id}/edit").get_data(as_text=True)
    assert "With the book: $6 + 5 = 12$ dollars." in page and 'value="2"' in page
    resp = c.post(f"/teach/problems/{by_id['gsm8k-0'].id}/edit", data={
        "title": by_id["gsm8k-0"].title, "statement": ITEMS[0]["problem"], "reference_answer": "11",
        "steps-0": ITEMS[0]["steps"][0], "steps-1": ITEMS[0]["steps"][1], "steps-2": ITEMS[0]["steps"][2],
        "first_wrong_step": "2", "reason": "$6 + 5 = 11$, not $12$.", "error_kind": "arithmetic"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    dbs.expire_all()
    solution, key = problems.current_solution_with_key(dbs, by_id["gsm8k-0"].id)
    assert solution.id == flawed_draft.id and key.reason == "$6 + 5 = 11$, not $12$."
    assert key.origin_model == "Qwen2-7B-Instruct"  # still credited to the model that wrote it


def _broken():
    wrong_label = dict(ITEMS[0], label=3)
    label_text = dict(ITEMS[0], label="1")
    no_generator = {k: v for k, v in ITEMS[0].items() if k != "generator"}
    empty_step = dict(ITEMS[0], steps=["one", "  "])
    flag_text = dict(ITEMS[0], final_answer_correct="no")
    return [
        ("label outside", [ITEMS[1], wrong_label], "line 2: field label: 3 is neither -1 nor one of the 3 steps"),
        ("label not a number", [label_text], "line 1: field label: must be a whole number"),
        ("missing field", [no_generator], "line 1: field generator: is missing"),
        ("empty step", [empty_step], "line 1: field steps: step 2 is empty"),
        ("flag not boolean", [flag_text], "line 1: field final_answer_correct: must be true or false"),
        ("mr-gsm8k line", [{"id": "x", "question": "q"}], "line 1: field generator: is missing"),
    ]


@pytest.mark.parametrize("name, items, expected", _broken(), ids=[b[0] for b in _broken()])
def test_broken_processbench_lines_import_nothing(app, world, dbs, name, items, expected):
    teacher = world.instructor()
    course = world.course(teacher)
    with app.app_context(), pytest.raises(banks.BankInvalid) as err:
        banks.import_bank(dbs, teacher, course, _jsonl(items), "processbench")
    assert any(line.startswith(expected) for line in err.value.errors), err.value.errors
    assert dbs.exec(select(Problem)).all() == []


def test_unknown_format_is_refused(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    with app.app_context(), pytest.raises(banks.BankInvalid) as err:
        banks.import_bank(dbs, teacher, course, _jsonl(ITEMS), "csv")
    assert "use one of mr-gsm8k, processbench" in err.value.message


def test_cli_reads_processbench_with_format(tmp_path):
    env = {**os.environ, "CLASSROOM_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": "",
           "GRADER_MODEL": ""}

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    assert flask("init-db").returncode == 0
    assert flask("seed-demo").returncode == 0
    bank = tmp_path / "processbench.jsonl"
    bank.write_text(_jsonl(ITEMS), encoding="utf-8")
    done = flask("import-bank", str(bank), "--course", "DEMO101", "--format", "processbench")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 2 problems (2 of them as drafts")
    # Read as the default format, the same file is refused line by line.
    refused = flask("import-bank", str(bank), "--course", "DEMO101")
    assert refused.returncode != 0 and "line 1: field question_type: is missing" in refused.stderr


def test_upload_form_has_the_format_choice(world, make_client, dbs):
    import io

    teacher = world.instructor()
    course = world.course(teacher)
    c = make_client(teacher)
    page = c.get(f"/teach/courses/{course.code}").get_data(as_text=True)
    assert 'name="format"' in page and 'value="processbench"' in page
    resp = c.post(f"/teach/courses/{course.code}/bank", data={
        "format": "processbench", "bank": (io.BytesIO(_jsonl(ITEMS).encode()), "pb.jsonl")},
        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert len(dbs.exec(select(Problem)).all()) == 2
