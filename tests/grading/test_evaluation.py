"""`evaluate-grader`: metrics, file reading, and the command end to end."""
from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import flask
import pytest
from click.testing import CliRunner

from classroom import create_app
from classroom.grading.evaluation import (
    Confusion, EvaluationDataError, accuracy, cohen_kappa, load_items, mcc,
)
from classroom.grading.evaluation_command import evaluate_grader_command
from tests.openai_server import Reply, Status

from .helpers import student_block


def shared_data_dir() -> Path:
    override = os.environ.get("CLASSROOM_SHARED_DATA")
    base = Path(override) if override else Path(__file__).resolve().parents[2].parent / "shared" / "data"
    return base if (base / "critiques.jsonl").exists() else base / "mr-gsm8k"


# ---------------------------------------------------------------- metrics by hand

def test_metrics_hand_computed():
    c = Confusion(tp=3, fp=1, fn=2, tn=4)
    assert c.n == 10
    assert accuracy(c) == pytest.approx(0.7)
    # (3*4 - 1*2) / sqrt(4 * 5 * 5 * 6) = 10 / sqrt(600)
    assert mcc(c) == pytest.approx(10 / math.sqrt(600))
    # po = 0.7, pe = (4*5 + 6*5) / 100 = 0.5
    assert cohen_kappa(c) == pytest.approx(0.4)


def test_metrics_perfect_and_inverted():
    perfect = Confusion(tp=4, fp=0, fn=0, tn=6)
    assert (accuracy(perfect), mcc(perfect), cohen_kappa(perfect)) == (1.0, 1.0, 1.0)
    inverted = Confusion(tp=0, fp=5, fn=5, tn=0)
    assert accuracy(inverted) == 0.0
    assert mcc(inverted) == pytest.approx(-1.0)
    assert cohen_kappa(inverted) == pytest.approx(-1.0)


def test_metrics_zero_denominators():
    empty = Confusion()
    assert (accuracy(empty), mcc(empty), cohen_kappa(empty)) == (0.0, 0.0, 0.0)
    always_correct = Confusion(tp=4, fp=6, fn=0, tn=0)  # grader never says "incorrect"
    assert accuracy(always_correct) == pytest.approx(0.4)
    assert mcc(always_correct) == 0.0
    assert cohen_kappa(always_correct) == pytest.approx(0.0)
    one_class_agree = Confusion(tp=5)  # chance agreement is already total
    assert mcc(one_class_agree) == 0.0 and cohen_kappa(one_class_agree) == 0.0


def test_confusion_from_pairs():
    pairs = [(True, True), (True, False), (False, True), (False, False), (True, True)]
    assert Confusion.from_pairs(pairs) == Confusion(tp=2, fp=1, fn=1, tn=1)


# ---------------------------------------------------------------- generated files

KEY_STEP = 2
NAMES_ERROR = {i: i % 2 == 0 for i in range(12)}
FLIPPED = {1, 4}  # labels the fake model will disagree with
WRONG_STEP = {3, 6}  # critiques that mark step 1 instead of the key's step 2


def write_dataset(tmp_path: Path, n: int = 12) -> tuple[Path, Path]:
    problems, critiques = [], []
    for i in range(n):
        a, b = 10 + i, 3 + i % 4
        problems.append({
            "id": f"p{i}", "question_type": "original",
            "question": f"Ann has {a} marbles and loses {b}. How many are left?",
            "reference_solution": f"{a} - {b} = {a - b}\n#### {a - b}",
            "reference_answer": str(a - b) if i % 3 else a - b,
            "flawed_steps": [f"Ann starts with {a} marbles.", f"She has {a} + {b} = {a + b} left.",
                             f"#### {a + b}"],
            "first_error_step": KEY_STEP,
            "error_reason": f"Losing marbles is a subtraction: {a} - {b} = {a - b}",
        })
        names = NAMES_ERROR[i % 12]
        label = names != (i in FLIPPED)
        critiques.append({
            "id": f"p{i}:critic", "problem_id": f"p{i}", "critic": "critic",
            "critique_step": 1 if i in WRONG_STEP else KEY_STEP,
            "critique_reason": (f"Step 2 should subtract: {a} - {b} = {a - b}." if names
                                else "The units are not written, so step 2 is unclear."),
            "label": "correct" if label else "incorrect",
        })
    p, c = tmp_path / "problems.jsonl", tmp_path / "critiques.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in problems) + "\n")
    c.write_text("\n".join(json.dumps(x) for x in critiques) + "\n")
    return p, c


def key_aware_responder(req):
    """A fake model: 'correct' iff the student's explanation contains the key's computation."""
    _, data, outside = student_block(req)
    start = outside.index("{")
    materials, _ = json.JSONDecoder().raw_decode(outside[start:])
    computation = materials["answer_key"]["why_it_is_wrong"].split(": ", 1)[1]
    right = computation in data["explanation"]
    return Reply(json={
        "location_correct": True,
        "explanation_verdict": "correct" if right else "incorrect",
        "explanation_score": 1.0 if right else 0.0,
        "correction_verdict": "absent", "correction_score": 0.0,
        "feedback": "ok", "flags": [],
    }, prompt_tokens=100, completion_tokens=10)


def grader_env(server, **extra):
    env = {"GRADER_MODEL": "fake-grader", "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "k",
           "GRADER_TIMEOUT": "5", "GRADER_MAX_ATTEMPTS": "2", "GRADER_BACKOFF_BASE": "0.01"}
    env.update(extra)
    return env


def run(args, env=None):
    """The command as `flask --app app evaluate-grader` runs it: the app reads its settings from the
    environment when it is created (classroom/config.py), then the command runs inside it."""
    env = {"GRADER_MODEL": None, "OPENAI_BASE_URL": None, "OPENAI_API_KEY": None, **(env or {})}
    saved = {k: os.environ.get(k) for k in [*env, "CLASSROOM_INSTANCE_DIR"]}
    try:
        with tempfile.TemporaryDirectory() as instance:
            env["CLASSROOM_INSTANCE_DIR"] = instance
            _set_environ(env)
            app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{instance}/unused.sqlite3"})
            with app.app_context():  # the flask command line pushes one too
                return app.test_cli_runner().invoke(args=["evaluate-grader", *(str(a) for a in args)])
    finally:
        _set_environ(saved)


def _set_environ(values: dict) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_load_items_builds_grading_inputs(tmp_path):
    p, c = write_dataset(tmp_path)
    items = load_items(p, c, limit=5)
    assert [it.line_no for it in items] == [1, 2, 3, 4, 5]
    it = items[3]
    assert it.inp.student_step == 1 and it.inp.key_first_wrong_step == KEY_STEP
    assert it.inp.steps[1].startswith("She has 13 + 6")
    assert it.inp.student_explanation.startswith("The units")
    assert it.inp.student_correction == "" and it.inp.answer_check.verdict == "absent"
    assert it.label_correct is False and items[1].label_correct is True
    assert items[0].inp.reference_answer == "7"  # numeric reference (10 - 3) read as text


def test_command_with_model(openai_server, tmp_path):
    p, c = write_dataset(tmp_path)
    openai_server.responder = key_aware_responder
    result = run(["--problems", p, "--critiques", c, "--json"], env=grader_env(openai_server))
    assert result.exit_code == 0, result.output
    m = last_json(result.stdout)
    # tp {0,2,6,8,10}, fp {4}, fn {1}, tn {3,5,7,9,11}
    assert m["confusion"] == {"tp": 5, "fp": 1, "fn": 1, "tn": 5}
    assert m["n"] == 12 and m["errors"] == 0
    assert m["accuracy"] == pytest.approx(10 / 12, abs=1e-4)
    assert m["mcc"] == pytest.approx(24 / 36, abs=1e-4)
    assert m["kappa"] == pytest.approx((10 / 12 - 0.5) / 0.5, abs=1e-4)
    assert (m["tokens_in"], m["tokens_out"]) == (1200, 120)
    assert m["seconds"] >= 0 and m["model"] == "fake-grader"
    assert "Accuracy" in result.stdout and "Matthews" in result.stdout and "kappa" in result.stdout
    assert "graded 12/12 (100%)" in result.stderr
    assert result.stderr.count("graded ") >= 5  # progress along the way, not only at the end
    assert len(openai_server.chat_requests) == 12


def test_json_last_line_keys(openai_server, tmp_path):
    p, c = write_dataset(tmp_path)
    result = run(["--problems", p, "--critiques", c, "--limit", "3", "--json"], env=grader_env(openai_server))
    assert result.exit_code == 0, result.output
    m = last_json(result.output)
    assert {"n", "accuracy", "mcc", "kappa", "tokens_in", "tokens_out", "seconds"} <= set(m)
    assert m["n"] == 3


def test_exact_baseline(tmp_path):
    p, c = write_dataset(tmp_path)
    result = run(["--problems", p, "--critiques", c, "--grader", "exact", "--json"],
                 env={"GRADER_MODEL": None})
    assert result.exit_code == 0, result.output
    assert "STEP-ONLY BASELINE" in result.stdout and "NOT judged" in result.stdout
    m = last_json(result.stdout)
    # predicted correct = all but {3, 6}; labels correct = {0, 1, 2, 6, 8, 10}
    assert m["confusion"] == {"tp": 5, "fp": 5, "fn": 1, "tn": 1}
    assert m["accuracy"] == pytest.approx(0.5)
    assert (m["tokens_in"], m["tokens_out"]) == (0, 0)


def test_missing_model_exits_2(tmp_path):
    p, c = write_dataset(tmp_path)
    result = run(["--problems", p, "--critiques", c], env={"GRADER_MODEL": None})
    assert result.exit_code == 2
    assert "GRADER_MODEL" in result.stderr and "OPENAI_BASE_URL" in result.stderr


def test_settings_come_from_app_config(openai_server, tmp_path):
    p, c = write_dataset(tmp_path)
    app = flask.Flask("evaluation-test")
    app.config.update(GRADER_MODEL="from-app-config", OPENAI_BASE_URL=openai_server.base_url,
                      OPENAI_API_KEY=None, GRADER_TIMEOUT=5.0, GRADER_MAX_ATTEMPTS=2)
    with app.app_context():
        result = CliRunner().invoke(evaluate_grader_command,
                                    ["--problems", str(p), "--critiques", str(c), "--limit", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert last_json(result.stdout)["model"] == "from-app-config"
    assert {r.body["model"] for r in openai_server.chat_requests} == {"from-app-config"}


def test_bad_lines_name_the_line(tmp_path):
    p, c = write_dataset(tmp_path, n=4)
    lines = c.read_text().splitlines()
    lines[2] = json.dumps({**json.loads(lines[2]), "problem_id": "nope"})
    c.write_text("\n".join(lines) + "\n")
    result = run(["--problems", p, "--critiques", c, "--grader", "exact"])
    assert result.exit_code == 1
    assert "critiques.jsonl line 3" in result.output and "nope" in result.output

    lines[2] = "{not json"
    c.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvaluationDataError, match="line 3: not valid JSON"):
        load_items(p, c)
    lines[2] = json.dumps({"id": "x", "problem_id": "p0", "critique_step": 2, "critique_reason": "r"})
    c.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvaluationDataError, match="line 3: missing field.*label"):
        load_items(p, c)
    lines[2] = json.dumps({"id": "x", "problem_id": "p0", "critique_step": 2, "critique_reason": "r",
                           "label": "maybe"})
    c.write_text("\n".join(lines) + "\n")
    with pytest.raises(EvaluationDataError, match="line 3: label"):
        load_items(p, c)


def test_bad_problem_line(tmp_path):
    p, c = write_dataset(tmp_path, n=3)
    p.write_text(p.read_text() + json.dumps({"id": "broken", "question": "q"}) + "\n")
    with pytest.raises(EvaluationDataError, match="problems.jsonl line 4: missing field"):
        load_items(p, c)


def test_one_failure_is_reported_not_fatal(openai_server, tmp_path):
    p, c = write_dataset(tmp_path, n=6)
    openai_server.script([Status(403, "not allowed")])
    result = run(["--problems", p, "--critiques", c, "--concurrency", "1", "--json"],
                 env=grader_env(openai_server))
    assert result.exit_code == 0, result.output
    m = last_json(result.stdout)
    assert (m["n"], m["errors"]) == (5, 1)
    assert "critiques line 1" in result.stdout and "403" in result.stdout


def test_grader_failing_everywhere_aborts(openai_server, tmp_path):
    p, c = write_dataset(tmp_path, n=12)
    openai_server.responder = lambda req: Status(401, "invalid key")
    result = run(["--problems", p, "--critiques", c, "--concurrency", "2"], env=grader_env(openai_server))
    assert result.exit_code == 1
    assert "failed on the first" in result.output and "401" in result.output
    assert len(openai_server.chat_requests) < 12  # stopped early


def test_requests_run_concurrently(openai_server, tmp_path):
    p, c = write_dataset(tmp_path, n=40)
    openai_server.delay = 0.5
    started = time.monotonic()
    result = run(["--problems", p, "--critiques", c, "--concurrency", "8", "--json"],
                 env=grader_env(openai_server))
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert last_json(result.stdout)["n"] == 40
    assert elapsed < 5.0, f"40 requests of 0.5 s with 8 in flight took {elapsed:.1f} s"
    assert 6 <= openai_server.max_in_flight <= 8


# ---------------------------------------------------------------- the real data set

def test_real_mr_gsm8k_subset(openai_server):
    data = shared_data_dir()
    problems, critiques = data / "problems.jsonl", data / "critiques.jsonl"
    if not (problems.exists() and critiques.exists()):
        pytest.skip(f"MR-GSM8K data not found at {data} (set CLASSROOM_SHARED_DATA to its folder)")
    first = [json.loads(line) for line in critiques.read_text(encoding="utf-8").splitlines()[:40]]
    # The fake model answers each critique's label, except every fifth, which it gets wrong.
    answer = {c["critique_reason"]: (c["label"] == "correct") != (i % 5 == 0) for i, c in enumerate(first)}
    assert len(answer) == 40, "the test assumes distinct critique texts"

    def responder(req):
        _, data_block, _ = student_block(req)
        right = answer[data_block["explanation"]]
        return {"location_correct": True, "explanation_verdict": "correct" if right else "incorrect",
                "explanation_score": float(right), "correction_verdict": "absent", "correction_score": 0.0,
                "feedback": "ok", "flags": []}

    openai_server.responder = responder
    result = run(["--problems", problems, "--critiques", critiques, "--limit", "40", "--json"],
                 env=grader_env(openai_server))
    assert result.exit_code == 0, result.output
    m = last_json(result.stdout)
    assert m["n"] == 40 and m["errors"] == 0
    assert m["accuracy"] == pytest.approx(32 / 40)
    labels_correct = sum(c["label"] == "correct" for c in first)
    assert m["confusion"]["tp"] + m["confusion"]["fn"] == labels_correct
