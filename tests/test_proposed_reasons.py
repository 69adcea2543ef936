"""The grader model proposes the reasons a ProcessBench import lacks (the loopback OpenAI-compatible server,
the real openai client): on a draft's page or with `propose-reasons` for a whole course. A proposal is kept on
the draft with the model's name; the instructor approves it (or rewrites it, and the model's name goes)."""
import json

import pytest
from sqlmodel import select

from classroom.models import AnswerKey, FlawedSolution, Problem
from classroom.services import banks, problems
from openai_server import Status

ITEMS = [
    {"id": "pb-0", "generator": "Qwen2-7B-Instruct",
     "problem": "Ann buys 3 pens at \\$2 each and a book at \\$5. How much does she pay?",
     "steps": ["The pens cost $3 \\times 2 = 6$ dollars.", "With the book: $6 + 5 = 12$ dollars.",
               "So she pays $\\boxed{12}$."],
     "final_answer_correct": False, "label": 1},
    {"id": "pb-1", "generator": "Llama-3.1-8B-Instruct", "problem": "What is $7 \\times 8$?",
     "steps": ["$7 \\times 8 = 56$.", "The answer is $\\boxed{56}$."], "final_answer_correct": True, "label": -1},
]
PROPOSAL = {"reason": "Step 2 adds wrongly: $6 + 5 = 11$, not 12.", "error_kind": "arithmetic"}


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update({"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": openai_server.base_url,
                       "OPENAI_API_KEY": "k", "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 1,
                       "GRADER_BACKOFF_BASE": 0.01})
    return app_config


def _command(app, *args):
    """The command as `flask` runs it: inside the application's context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def _imported(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="PBR")
    with app.app_context():
        banks.import_bank(dbs, teacher, course, "".join(json.dumps(i) + "\n" for i in ITEMS), "processbench")
    drafts = {}
    for p in dbs.exec(select(Problem)).all():
        drafts[p.external_id] = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == p.id)).one()
    return teacher, course, drafts


def _key(dbs, solution_id) -> AnswerKey:
    dbs.expire_all()
    return dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution_id)).one()


def test_the_model_proposes_a_reason_and_the_instructor_approves_it(app, world, dbs, openai_server, make_client):
    teacher, _course, drafts = _imported(app, world, dbs)
    flawed = drafts["pb-0"]
    c = make_client(teacher)
    page = c.get(f"/teach/solutions/{flawed.id}").get_data(as_text=True)
    assert "Ask the model for a reason" in page and ">Approve</button>" not in page

    openai_server.script([PROPOSAL])
    resp = c.post(f"/teach/solutions/{flawed.id}/propose-reason")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/teach/solutions/{flawed.id}")
    key = _key(dbs, flawed.id)
    assert (key.reason, key.error_kind, key.reason_model) == (PROPOSAL["reason"], "arithmetic", "test-grader")
    assert key.first_wrong_step == 2 and key.origin_model == "Qwen2-7B-Instruct"  # the label and author stay
    assert not dbs.get(FlawedSolution, flawed.id).approved  # still a draft
    sent = openai_server.chat_requests[0]
    assert sent.response_format["json_schema"]["name"] == "answer_key_reason"
    assert '"label_first_wrong_step": 2' in sent.text and '"2": "With the book: $6 + 5 = 12$ dollars."' in sent.text
    assert "what is wrong in step 2" in sent.text and "do not move it" in sent.contents("system")[0]

    page = c.get(f"/teach/solutions/{flawed.id}").get_data(as_text=True)
    assert "Reason proposed by the model <strong>test-grader</strong>: read it before approving" in page
    assert ">Approve</button>" in page and "Ask the model for a reason" not in page
    # Asking again changes nothing: the key has its reason.
    again = c.post(f"/teach/solutions/{flawed.id}/propose-reason", follow_redirects=True).get_data(as_text=True)
    assert "already has its reason" in again and len(openai_server.chat_requests) == 1

    assert c.post(f"/teach/solutions/{flawed.id}/approve").status_code == 302
    dbs.expire_all()
    solution, key = problems.current_solution_with_key(dbs, flawed.problem_id)
    assert solution.id == flawed.id and key.reason_model == "test-grader"
    assert "Reason proposed by the model test-grader." in c.get(f"/teach/problems/{flawed.problem_id}").get_data(
        as_text=True)


def test_a_correct_solution_gets_why_it_is_right_and_a_rewrite_drops_the_models_name(
        app, world, dbs, openai_server, make_client):
    teacher, _course, drafts = _imported(app, world, dbs)
    right = drafts["pb-1"]
    c = make_client(teacher)
    page = c.get(f"/teach/solutions/{right.id}").get_data(as_text=True)
    assert "optional for a correct solution" in page and "Ask the model for a reason" in page
    openai_server.script([{"reason": "7 × 8 is 56, and 56 is what the last step boxes.", "error_kind": "sign"}])
    c.post(f"/teach/solutions/{right.id}/propose-reason")
    key = _key(dbs, right.id)
    assert key.first_wrong_step is None and key.error_kind == "other" and key.reason.startswith("7 × 8 is 56")
    assert "Explain why the solution is right." in openai_server.chat_requests[0].text
    assert "Every step is right." in openai_server.chat_requests[0].contents("system")[0]

    # The flawed one: the instructor writes a reason of their own on the edit form; the model's name goes.
    flawed = drafts["pb-0"]
    openai_server.script([PROPOSAL])
    c.post(f"/teach/solutions/{flawed.id}/propose-reason")
    assert _key(dbs, flawed.id).reason_model == "test-grader"
    p = dbs.get(Problem, flawed.problem_id)
    resp = c.post(f"/teach/problems/{p.id}/edit", data={
        "title": p.title, "statement": p.statement, "steps-0": ITEMS[0]["steps"][0], "steps-1": ITEMS[0]["steps"][1],
        "steps-2": ITEMS[0]["steps"][2], "first_wrong_step": "2", "reason": "Six and five make eleven.",
        "error_kind": "arithmetic"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    key = _key(dbs, flawed.id)
    assert key.reason == "Six and five make eleven." and key.reason_model is None


def test_propose_reasons_command_does_a_whole_course(app, world, dbs, openai_server):
    _teacher, course, drafts = _imported(app, world, dbs)
    # The first draft's request fails (GRADER_MAX_ATTEMPTS is 1), the second is answered.
    openai_server.script([Status(500, "overloaded"), {"reason": "Both lines are right.", "error_kind": "other"}])
    result = _command(app, "propose-reasons", "--course", course.code)
    assert result.exit_code == 1, result.output
    assert "The model proposed 1 reason; 1 failed; approve them on each draft's page." in result.output
    assert f"problem {drafts['pb-0'].problem_id} (" in result.output and "could not propose a reason" in result.output
    assert _key(dbs, drafts["pb-0"].id).reason == "" and _key(dbs, drafts["pb-1"].id).reason == "Both lines are right."
    # Run again: only the one still without a reason is asked about.
    openai_server.script([PROPOSAL])
    result = _command(app, "propose-reasons", "--course", course.code)
    assert result.exit_code == 0 and "The model proposed 1 reason;" in result.output
    assert len(openai_server.chat_requests) == 3


class TestWithoutAModel:
    @pytest.fixture
    def app_config(self, app_config):
        app_config.update({"GRADER_MODEL": None, "OPENAI_BASE_URL": None})
        return app_config

    def test_no_button_and_the_route_says_how_to_configure_one(self, app, world, dbs, make_client):
        teacher, course, drafts = _imported(app, world, dbs)
        c = make_client(teacher)
        page = c.get(f"/teach/solutions/{drafts['pb-0'].id}").get_data(as_text=True)
        assert "Write the reason</a>" in page and "Ask the model" not in page
        page = c.post(f"/teach/solutions/{drafts['pb-0'].id}/propose-reason",
                      follow_redirects=True).get_data(as_text=True)
        assert "GRADER_MODEL" in page and _key(dbs, drafts["pb-0"].id).reason == ""
        result = _command(app, "propose-reasons", "--course", course.code)
        assert result.exit_code != 0 and "GRADER_MODEL" in result.output
