"""`run-benchmark`: the solver model on bank-format problems outside any lab, through the lab's attempt code,
against the loopback OpenAI-compatible server (the real `openai` client) with a scripted solver that is right
on the tickets and the pens and wrong on the apples: accuracy on known data, the --json line, harvesting wrong
attempts as drafts awaiting the instructor's key (and their way into the dataset), and clear errors."""
import json

import pytest
from sqlmodel import select

from classroom.llm.solver import DEFAULT_SYSTEM_PROMPT
from classroom.models import AnswerKey, AuditLog, FlawedSolution, Problem
from classroom.services import lab
from classroom.services.benchmark import JSON_FIELDS

from lab_support import APPLES, PENS, TICKETS, solver_reply, solver_settings


def bank_line(id_, question, answer, **extra):
    line = {"id": id_, "question_type": "original", "question": question, "reference_solution": "",
            "reference_answer": answer, "flawed_steps": ["x"], "first_error_step": 1, "error_reason": "r"}
    line.update(extra)
    return json.dumps(line)


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update(solver_settings(openai_server))
    return app_config


@pytest.fixture
def exam(tmp_path, openai_server):
    openai_server.responder = solver_reply
    path = tmp_path / "exam.jsonl"
    path.write_text("\n".join([bank_line("tickets", TICKETS, "168"), bank_line("apples", APPLES, 7, title="Apples"),
                               bank_line("pens", PENS, "10.0", answer_mode="numeric")]) + "\n", encoding="utf-8")
    return path


def cli(app, *args):
    """The command as `flask` runs it: inside the application's context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_accuracy_per_problem_and_overall_and_the_json_line(app, world, exam, tmp_path, openai_server, dbs):
    from openai_server import Reply
    w = world.classroom()
    openai_server.responder = lambda req: Reply(content=solver_reply(req), prompt_tokens=50, completion_tokens=10)
    strategy = tmp_path / "strategy.txt"
    strategy.write_text("Multiply carefully. End with \\boxed{}.\n", encoding="utf-8")
    result = cli(app, "run-benchmark", "--course", w["course"].code, "--problems", str(exam), "--samples", "2",
                 "--strategy", str(strategy), "--json")
    assert result.exit_code == 0, result.output
    out = result.stdout.splitlines()
    assert out[0].startswith("tickets: 2/2 correct, 100.0% (95 % interval 34.2%–100.0%)")
    assert out[1] == "apples: 0/2 correct, 0.0% (95 % interval 0.0%–65.8%)  Apples"
    assert out[2].startswith("pens: 2/2 correct, 100.0%")
    assert out[3].startswith("Overall: 4 of 6 attempts correct, 66.7% (95 % interval 30.0%–90.3%)")
    last = json.loads(out[-1])
    assert list(last) == list(JSON_FIELDS)
    seconds = last.pop("seconds")
    assert last == {"n_problems": 3, "samples": 2, "attempts": 6, "correct": 4, "accuracy": 0.6667,
                    "tokens_in": 300, "tokens_out": 60}
    assert isinstance(seconds, float) and 0 <= seconds < 60
    # The lab's prompt: the strategy file as the system prompt, the statement alone; never the answer.
    requests = openai_server.chat_requests
    assert len(requests) == 6 and {r.body["model"] for r in requests} == {"test-solver"}
    assert requests[0].contents("system") == ["Multiply carefully. End with \\boxed{}."]
    assert requests[0].contents("user") == [TICKETS] and "168" not in requests[0].text
    assert "Solving 3 problems × 2 samples with test-solver" in result.stderr
    assert "\r" not in result.stdout and "Attempts" not in result.stdout  # no progress bar off a terminal
    log = dbs.exec(select(AuditLog).where(AuditLog.action == "lab.benchmark")).one()
    assert log.details["correct"] == 4 and log.details["strategy_sha256"] == lab.strategy_sha256(
        "Multiply carefully. End with \\boxed{}.", [])

    # Without --json the last line is the overall one; without --strategy the solver's default prompt.
    result = cli(app, "run-benchmark", "--course", w["course"].code, "--problems", str(exam), "--samples", "1")
    assert result.exit_code == 0 and result.stdout.splitlines()[-1].startswith("Overall: 2 of 3 attempts correct")
    assert openai_server.chat_requests[-1].contents("system") == [DEFAULT_SYSTEM_PROMPT]


def test_wrong_attempts_become_drafts_awaiting_the_key(app, world, exam, tmp_path, dbs, make_client):
    w = world.classroom()
    target = world.course(w["teacher"], code="HARV101", title="Harvest")
    result = cli(app, "run-benchmark", "--course", w["course"].code, "--problems", str(exam), "--samples", "2",
                 "--harvest-into", "HARV101", "--json")
    assert result.exit_code == 0, result.output
    assert "2 wrong attempts added to HARV101 as draft problems" in result.stdout
    assert json.loads(result.stdout.splitlines()[-1])["correct"] == 4
    made = dbs.exec(select(Problem).where(Problem.course_id == target.id).order_by(Problem.id)).all()
    assert [p.title for p in made] == ["Apples (harvested)"] * 2
    assert [p.origin_sample_index for p in made] == [0, 1]
    sha = lab.strategy_sha256(DEFAULT_SYSTEM_PROMPT, [])
    assert {p.origin_strategy_sha256 for p in made} == {sha}
    assert all(p.external_id.startswith("benchmark-") and p.external_id.endswith(("-apples-s0", "-apples-s1"))
               for p in made)
    solution = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == made[0].id)).one()
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution.id)).one()
    assert solution.approved is False and solution.steps == ["Step 1: 3 + 4 = 8.", "The answer is 8."]
    assert solution.final_answer == "8" and made[0].reference_answer == "7"
    assert (key.origin, key.origin_model, key.reason) == ("harvested", "test-solver", "")
    # Awaiting the key: not in the dataset, and the edit form completes it, which approves it.
    teacher = make_client(w["teacher"])
    assert cli(app, "export-dataset", "--course", "HARV101").stdout == ""
    page = teacher.get(f"/teach/problems/{made[0].id}").get_data(as_text=True)
    assert "A wrong attempt of the model (run-benchmark), awaiting your key" in page
    resp = teacher.post(f"/teach/solutions/{solution.id}/approve", follow_redirects=True)
    assert "This key has no reason yet" in resp.get_data(as_text=True)  # not assignable before the key
    form = teacher.get(f"/teach/problems/{made[0].id}/edit").get_data(as_text=True)
    assert "Step 1: 3 + 4 = 8." in form
    resp = teacher.post(f"/teach/problems/{made[0].id}/edit", data={
        "title": made[0].title, "statement": APPLES, "reference_solution": "", "reference_answer": "7",
        "answer_mode": "auto", "steps-0": "Step 1: 3 + 4 = 8.", "steps-1": "The answer is 8.",
        "flawed_final_answer": "8", "first_wrong_step": "1", "reason": "3 + 4 is 7.", "error_kind": "arithmetic",
        "solution_format": "prose"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    dbs.expire_all()
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution.id)).one()
    assert (key.origin, key.origin_model, key.first_wrong_step) == ("harvested", "test-solver", 1)
    lines = [json.loads(x) for x in cli(app, "export-dataset", "--course", "HARV101").stdout.splitlines()]
    assert len(lines) == 1
    assert {k: lines[0][k] for k in ("origin", "model", "strategy_sha256", "sample_index", "critique_count")} == {
        "origin": "harvested", "model": "test-solver", "strategy_sha256": sha, "sample_index": 0,
        "critique_count": 0}
    # The file goes back into a course as it is.
    path = tmp_path / "d.jsonl"
    path.write_text(cli(app, "export-dataset", "--course", "HARV101").stdout, encoding="utf-8")
    world.course(w["teacher"], code="BACK101")
    assert cli(app, "import-bank", str(path), "--course", "BACK101").stdout.strip() == "imported 1 problem"


def test_clear_errors(app, world, exam, tmp_path, openai_server):
    w = world.classroom()
    code = w["course"].code
    result = cli(app, "run-benchmark", "--course", "NOPE999", "--problems", str(exam), "--samples", "1")
    assert result.exit_code != 0 and "No course has that code" in result.output
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(exam), "--samples", "1",
                 "--harvest-into", "NOPE999")
    assert result.exit_code != 0 and "No course has that code" in result.output
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(tmp_path / "none.jsonl"), "--samples", "1")
    assert result.exit_code != 0 and "Cannot read" in result.output
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(exam), "--samples", "0")
    assert result.exit_code != 0 and "--samples" in result.output

    bad = tmp_path / "bad.jsonl"
    bad.write_text(bank_line("a", TICKETS, "168") + "\n{\"id\": 2, \"question\": \n"
                   + bank_line("c", PENS, "") + "\n", encoding="utf-8")
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(bad), "--samples", "1")
    assert result.exit_code != 0
    assert "Nothing was run: 1 line of the bank needs fixing." in result.output
    assert "line 2: field question: not valid JSON" in result.output
    bad.write_text(bank_line("a", TICKETS, "168") + "\n" + bank_line("c", PENS, "") + "\n", encoding="utf-8")
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(bad), "--samples", "1")
    assert result.exit_code != 0 and "line 2: field reference_answer: is empty" in result.output
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(exam), "--samples", "1",
                 "--strategy", str(empty))
    assert result.exit_code != 0 and "The strategy file is empty" in result.output
    assert openai_server.chat_requests == []  # nothing ran

    app.config.update(SOLVER_MODEL=None, GRADER_MODEL=None)
    result = cli(app, "run-benchmark", "--course", code, "--problems", str(exam), "--samples", "1")
    assert result.exit_code != 0 and "No solver model is configured: set SOLVER_MODEL (or GRADER_MODEL)" \
        in result.output


def test_a_model_that_stops_answering_is_reported_with_what_was_measured(app, world, exam, openai_server):
    from openai_server import Status
    w = world.classroom()
    from openai_server import Reply
    openai_server.script([Reply(content="28 × 6 = 168.\nFINAL ANSWER: 168"), Status(500, "down")])
    result = cli(app, "run-benchmark", "--course", w["course"].code, "--problems", str(exam), "--samples", "2",
                 "--json")
    assert result.exit_code != 0
    assert "The solver model failed on 'tickets' (sample 2) after 1 attempts" in result.output
    assert "Overall: 1 of 1 attempts correct" in result.stdout
    assert not result.stdout.splitlines()[-1].startswith("{")  # no JSON line for a run that did not finish


def test_a_terminal_gets_a_progress_bar(tmp_path, openai_server):
    """The command as a person runs it, in a pseudo-terminal: a progress bar, then the same lines."""
    import os
    import pty
    import subprocess
    import sys

    from support import PROJECT_ROOT

    openai_server.responder = solver_reply
    exam = tmp_path / "exam.jsonl"
    exam.write_text(bank_line("apples", APPLES, 7, title="Apples") + "\n", encoding="utf-8")
    env = {**os.environ, "CLASSROOM_INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "", "REDIS_URL": "",
           "GRADER_MODEL": "", "SOLVER_MODEL": "test-solver", "OPENAI_BASE_URL": openai_server.base_url,
           "OPENAI_API_KEY": "k", "GRADER_MAX_ATTEMPTS": "1"}
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for setup in (["init-db"], ["seed-demo"]):
        assert subprocess.run(flask + setup, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=180).returncode == 0
    main, child = pty.openpty()
    proc = subprocess.Popen(flask + ["run-benchmark", "--course", "DEMO101", "--problems", str(exam),
                                     "--samples", "3"], cwd=PROJECT_ROOT, env=env, stdout=child,
                            stderr=subprocess.DEVNULL)
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed: the command has ended
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0
    text = seen.decode("utf-8", errors="replace")
    assert "Attempts" in text and "3/3" in text  # click's bar, with the position
    assert "apples: 0/3 correct" in text and "Overall: 0 of 3 attempts correct" in text
