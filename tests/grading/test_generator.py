"""Model-generated flawed solutions against the loopback OpenAI-compatible server:
the reply's shape, the three checks, drafts with provenance, approval, and no model at all."""
import json

import pytest
from sqlmodel import select

from classroom.grading import generation as generator
from classroom.grading.generation import GenerationRejected
from classroom.llm import ModelError
from classroom.llm.generator import GenerationInput
from classroom.models import AnswerKey, FlawedSolution, Problem
from classroom.services import authoring, problems
from openai_server import Status
from tests.grading.helpers import config_for

GOOD = {
    "steps": ["There are 28 students and each ticket costs \\$6.",
              "So the tickets cost $28 \\times 6 = 158$ dollars.",
              "The answer is 158."],
    "final_answer": "158",
    "first_wrong_step": 2,
    "reason": "28 × 6 is 168, not 158.",
    "error_kind": "arithmetic",
}


def reply(**overrides) -> dict:
    out = json.loads(json.dumps(GOOD))
    out.update(overrides)
    return out


INP = GenerationInput(statement="Costs \\$6 each for $n=28$ students.", reference_solution="28 × 6 = 168",
                      reference_answer="168", error_kind="arithmetic")


# --------------------------------------------------------------------------- the generator alone

def test_good_reply_passes_all_three_checks(openai_server):
    openai_server.script([reply()])
    out = generator.generate(config_for(openai_server, model="gen-model"), INP)
    assert out.steps == GOOD["steps"] and out.first_wrong_step == 2 and out.final_answer == "158"
    assert [c.name for c in out.checks] == ["step_exists", "prefix_agrees", "answer_differs"]
    assert all(c.passed for c in out.checks)
    req = openai_server.chat_requests[0]
    assert req.body["model"] == "gen-model"
    assert req.format_type == "json_schema"
    assert req.response_format["json_schema"]["name"] == "flawed_solution"
    assert "28 × 6 = 168" in req.text and "arithmetic slip" in req.text  # reference and the kind asked for


@pytest.mark.parametrize("bad, check, words", [
    (reply(first_wrong_step=7), "step_exists", "names step 7 as the first wrong step, but its solution has 3 steps"),
    (reply(steps=["There are 29 students at \\$6 each.", "So they pay $29 \\times 6 = 174$.", "The answer is 174."],
           final_answer="174"), "prefix_agrees", "step 1, before the first wrong step 2, uses the number 29"),
    (reply(final_answer="168"), "answer_differs",
     "its final answer 168 equals the reference answer 168, but an arithmetic slip should change the final answer"),
    (reply(final_answer="$168.00"), "answer_differs", "equals the reference answer 168"),
])
def test_each_check_refuses_with_its_message(openai_server, bad, check, words):
    openai_server.script([bad])
    with pytest.raises(GenerationRejected) as err:
        generator.generate(config_for(openai_server), INP)
    assert err.value.check == check
    assert words in err.value.reason
    assert len(openai_server.chat_requests) == 1  # a check failure is reported, not silently retried


def test_answer_check_is_skipped_for_kinds_that_may_keep_the_answer(openai_server):
    openai_server.script([reply(final_answer="168", error_kind="logical_gap")])
    inp = GenerationInput(**{**INP.__dict__, "error_kind": "logical_gap"})
    out = generator.generate(config_for(openai_server), inp)
    assert out.checks[2].passed and "Not required" in out.checks[2].message


def test_numbers_rule_accepts_thousands_percentages_and_number_words():
    inp = GenerationInput(statement="A dozen boxes hold 7,000 pens; 60% are blue.",
                          reference_solution="0.6 * 7000 = 4200 blue pens.", reference_answer="4200",
                          error_kind="arithmetic")
    steps = ["There are 12 boxes and 7000 pens.", "Blue pens are 0.60 of them, 60 percent.", "So 7,000 * 0.6 = 4100."]
    checks = generator.run_checks(inp, steps=steps, final_answer="4100", first_wrong_step=3, error_kind="arithmetic")
    assert all(c.passed for c in checks), checks


def test_malformed_reply_is_sent_back_once(openai_server):
    openai_server.script(["Sure! Here is a flawed solution: step 1 ...", reply()])
    out = generator.generate(config_for(openai_server), INP)
    assert out.final_answer == "158"
    second = openai_server.chat_requests[1]
    assert "could not be used" in second.contents("user")[-1]


def test_wrong_kind_is_sent_back_and_twice_is_an_error(openai_server):
    openai_server.script([reply(error_kind="sign"), reply(error_kind="sign")])
    with pytest.raises(ModelError) as err:
        generator.generate(config_for(openai_server), INP)
    assert '"error_kind" must be "arithmetic"' in err.value.reason


def test_numbered_steps_lose_their_numbers(openai_server):
    openai_server.script([reply(steps=["Step 1: There are 28 students at \\$6.", "2. So $28 \\times 6 = 158$.",
                                       "Step 3: The answer is 158."])])
    out = generator.generate(config_for(openai_server), INP)
    assert out.steps[0] == "There are 28 students at \\$6." and out.steps[1].startswith("So $28")


def test_endpoint_without_structured_output_still_works(openai_server):
    openai_server.rejected_formats = {"json_schema", "json_object"}
    openai_server.script([reply()])
    cfg = config_for(openai_server, model="plain-model")
    out = generator.generate(cfg, INP)
    assert out.final_answer == "158"
    assert openai_server.chat_requests[-1].format_type is None


# --------------------------------------------------------------------------- through the web

@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update({"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": openai_server.base_url,
                       "OPENAI_API_KEY": "k", "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 2,
                       "GRADER_BACKOFF_BASE": 0.01})
    return app_config


def _solutions(dbs, problem_id):
    dbs.expire_all()
    return list(dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == problem_id)
                         .order_by(FlawedSolution.id)))


def test_generated_solution_becomes_a_draft_with_provenance(world, dbs, openai_server, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    openai_server.script([reply()])
    resp = teacher.post(f"/teach/problems/{w['problem'].id}/generate", data={"error_kind": "arithmetic"})
    assert resp.status_code == 302 and "/teach/solutions/" in resp.headers["Location"]
    sols = _solutions(dbs, w["problem"].id)
    assert len(sols) == 2
    draft = sols[-1]
    assert draft.approved is False and draft.steps == GOOD["steps"] and draft.final_answer == "158"
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == draft.id)).one()
    assert key.origin == "model" and key.origin_model == "test-grader"
    assert key.first_wrong_step == 2 and key.error_kind == "arithmetic" and "168" in key.reason
    # Students still get the approved solution.
    assert problems.current_solution(dbs, w["problem"].id).id == sols[0].id
    student = make_client(w["alice"]).get(f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}")
    assert "each ticket costs" not in student.get_data(as_text=True)

    page = teacher.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Draft flawed solution" in page and "test-grader" in page and "Approve" in page
    assert "Step 2 is one of the 3 steps." in page and "differs from the reference answer 168" in page
    problem_page = teacher.get(f"/teach/problems/{w['problem'].id}").get_data(as_text=True)
    assert "Drafts waiting for your review (1)" in problem_page


def test_approve_makes_the_draft_the_current_solution(world, dbs, openai_server, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    openai_server.script([reply()])
    teacher.post(f"/teach/problems/{w['problem'].id}/generate", data={"error_kind": "arithmetic"})
    draft = _solutions(dbs, w["problem"].id)[-1]
    resp = teacher.post(f"/teach/solutions/{draft.id}/approve")
    assert resp.status_code == 302
    dbs.expire_all()
    current = problems.current_solution(dbs, w["problem"].id)
    assert current.id == draft.id and current.approved
    page = make_client(w["alice"]).get(f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}")
    assert "each ticket costs" in page.get_data(as_text=True)
    assert "28 × 6 is 168, not 158." not in page.get_data(as_text=True)  # the key stays hidden


def test_each_check_refuses_through_the_web(world, dbs, openai_server, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    for bad, words in ((reply(first_wrong_step=9), "names step 9 as the first wrong step"),
                       (reply(steps=["There are 30 students.", "So $30 \\times 6 = 170$.", "170"],
                              final_answer="170"), "uses the number 30"),
                       (reply(final_answer="168"), "equals the reference answer 168")):
        openai_server.script([bad])
        resp = teacher.post(f"/teach/problems/{w['problem'].id}/generate", data={"error_kind": "arithmetic"})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400
        assert "solution was not kept" in body and words in body
    assert len(_solutions(dbs, w["problem"].id)) == 1  # nothing stored


def test_model_failure_is_explained(world, dbs, openai_server, make_client):
    w = world.classroom()
    openai_server.script([Status(401, "bad key")])
    resp = make_client(w["teacher"]).post(f"/teach/problems/{w['problem'].id}/generate",
                                          data={"error_kind": "arithmetic"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "The model could not make a solution" in body and "OPENAI_API_KEY" in body


def test_a_new_problem_with_a_generated_draft(world, dbs, openai_server, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    code = w["course"].code
    data = {"title": "Museum", "statement": "Costs \\$6 each for $n=28$ students.",
            "reference_solution": "28 × 6 = 168", "reference_answer": "168", "error_kind": "arithmetic"}
    openai_server.script([reply(final_answer="168")])  # refused: nothing is created
    resp = teacher.post(f"/teach/courses/{code}/problems/generate", data=data)
    assert resp.status_code == 400 and "equals the reference answer" in resp.get_data(as_text=True)
    assert dbs.exec(select(Problem).where(Problem.title == "Museum")).first() is None

    openai_server.script([reply()])
    resp = teacher.post(f"/teach/courses/{code}/problems/generate", data=data)
    assert resp.status_code == 302
    problem = dbs.exec(select(Problem).where(Problem.title == "Museum")).one()
    (draft,) = _solutions(dbs, problem.id)
    assert draft.approved is False
    # Only a draft: the instructor's pages work, students would not see it, and assignments refuse it.
    assert teacher.get(f"/teach/problems/{problem.id}").status_code == 200
    assert teacher.get(f"/teach/problems/{problem.id}/edit").status_code == 200
    assert "draft only" in teacher.get(f"/teach/courses/{code}/assignments/new").get_data(as_text=True)
    resp = teacher.post(f"/teach/courses/{code}/assignments/new", data={
        "title": "W2", "opens_at": "2026-01-01T10:00", "due_at": "2099-01-01T10:00", "problem_ids": [problem.id],
        "points": 100, "weight_location": 30, "weight_explanation": 40, "weight_correction": 30, "weight_lean": 0})
    assert resp.status_code == 400 and "no approved flawed solution yet" in resp.get_data(as_text=True)
    teacher.post(f"/teach/solutions/{draft.id}/approve")
    dbs.expire_all()
    assert problems.current_solution(dbs, problem.id).id == draft.id


class TestWithoutAModel:
    @pytest.fixture
    def app_config(self, app_config):
        app_config.update({"GRADER_MODEL": None, "OPENAI_BASE_URL": None})
        return app_config

    def test_the_page_explains_how_to_configure_one(self, world, dbs, make_client, openai_server):
        w = world.classroom()
        teacher = make_client(w["teacher"])
        for url in (f"/teach/problems/{w['problem'].id}/generate", f"/teach/courses/{w['course'].code}/problems/generate"):
            page = teacher.get(url)
            body = page.get_data(as_text=True)
            assert page.status_code == 200
            assert "No grader model is configured" in body and "GRADER_MODEL" in body and "OPENAI_BASE_URL" in body
        resp = teacher.post(f"/teach/problems/{w['problem'].id}/generate", data={"error_kind": "arithmetic"})
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and "GRADER_MODEL" in body and "OPENAI_BASE_URL" in body
        assert "Internal" not in body and len(_solutions(dbs, w["problem"].id)) == 1
        assert openai_server.chat_requests == []

    def test_the_service_says_so_too(self, world, dbs, app):
        w = world.classroom()
        with app.app_context():
            with pytest.raises(authoring.ModelNotConfigured) as err:
                authoring.generate_draft(dbs, w["teacher"], w["problem"], "sign", app.config)
        assert "GRADER_MODEL" in err.value.message


# --------------------------------------------------------------------------- programs and correct solutions

PROGRAM = {
    "steps": ["students = 28", "price = 6", "", "# the tickets for everyone", "total = students * price - 10",
              "print(total)"],
    "final_answer": "158",
    "first_wrong_step": 5,
    "reason": "Line 5 subtracts 10 that the problem never mentions: 28 * 6 is 168.",
    "error_kind": "arithmetic",
}
CORRECT = {
    "steps": ["There are 28 students and each ticket costs \\$6.", "So the tickets cost $28 \\times 6 = 168$ dollars."],
    "final_answer": "168",
    "first_wrong_step": None,
    "reason": "28 × 6 = 168 is right; a student may doubt the product, but 28 × 6 = 120 + 48.",
}


def test_a_program_is_asked_for_line_by_line_and_kept_with_its_blank_lines(openai_server):
    openai_server.script([PROGRAM])
    inp = GenerationInput(**{**INP.__dict__, "solution_format": "python"})
    out = generator.generate(config_for(openai_server), inp)
    assert out.steps == PROGRAM["steps"] and out.first_wrong_step == 5 and all(c.passed for c in out.checks)
    system = openai_server.chat_requests[0].contents("system")[0]
    assert "Python program" in system and "ONE LINE of the program" in system and 'empty string ""' in system
    assert "never a blank line" in system and '"# bug"' in system
    assert '"solution_format": "python"' in openai_server.chat_requests[0].text


def test_a_program_reply_is_held_to_one_line_per_step(openai_server):
    inp = GenerationInput(**{**INP.__dict__, "solution_format": "python"})
    # The whole program in one string goes back to the model once; leading blank lines move the numbers up.
    openai_server.script([dict(PROGRAM, steps=["students = 28\nprice = 6", "print(1)"]),
                          dict(PROGRAM, steps=["", ""] + PROGRAM["steps"] + ["", ""], first_wrong_step=7)])
    out = generator.generate(config_for(openai_server), inp)
    assert out.steps == PROGRAM["steps"] and out.first_wrong_step == 5
    assert "step 1 holds several lines" in openai_server.chat_requests[1].contents("user")[-1]
    # A blank line named as the first wrong step fails check 1.
    openai_server.script([dict(PROGRAM, first_wrong_step=3)])
    with pytest.raises(GenerationRejected) as err:
        generator.generate(config_for(openai_server), inp)
    assert err.value.check == "step_exists" and "that line of the program is blank" in err.value.reason


def test_a_correct_solution_names_no_step_and_must_reach_the_reference(openai_server):
    inp = GenerationInput(**{**INP.__dict__, "error_kind": "other", "correct": True})
    openai_server.script([dict(CORRECT, first_wrong_step=2), CORRECT])
    out = generator.generate(config_for(openai_server), inp)
    assert out.first_wrong_step is None and out.reason == CORRECT["reason"]
    assert [c.name for c in out.checks] == ["step_exists", "prefix_agrees", "answer_equals"]
    assert all(c.passed for c in out.checks)
    first = openai_server.chat_requests[0]
    assert first.response_format["json_schema"]["name"] == "correct_solution"
    assert "correct in every step" in first.contents("system")[0] and "error_to_plant" not in first.text
    assert '"first_wrong_step" must be null' in openai_server.chat_requests[1].contents("user")[-1]

    openai_server.script([dict(CORRECT, final_answer="158")])
    with pytest.raises(GenerationRejected) as err:
        generator.generate(config_for(openai_server), inp)
    assert err.value.check == "answer_equals"
    assert "differs from the reference answer 168, so the solution is not correct" in err.value.reason


def test_the_web_asks_for_a_correct_program_and_keeps_it_as_a_draft(world, dbs, openai_server, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    page = teacher.get(f"/teach/problems/{w['problem'].id}/generate").get_data(as_text=True)
    assert '<option value="correct">None: a correct solution (no step is wrong)</option>' in page
    assert '<option selected value="prose">' in page  # the problem's solution is prose
    program = dict(CORRECT, steps=["students = 28", "", "print(students * 6)"])
    openai_server.script([program])
    resp = teacher.post(f"/teach/problems/{w['problem'].id}/generate",
                        data={"error_kind": "correct", "solution_format": "python"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    draft = _solutions(dbs, w["problem"].id)[-1]
    assert draft.solution_format == "python" and draft.steps == program["steps"] and not draft.approved
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == draft.id)).one()
    assert key.first_wrong_step is None and key.reason == CORRECT["reason"] and key.origin == "model"
    assert "Python program" in openai_server.chat_requests[0].contents("system")[0]
    page = teacher.get(resp.headers["Location"]).get_data(as_text=True)
    assert "This solution is correct" in page and "equals the reference answer 168" in page
    assert 'class="program highlight"' in page
    # The next generation for this problem starts in the newest solution's format.
    page = teacher.get(f"/teach/problems/{w['problem'].id}/generate").get_data(as_text=True)
    assert '<option selected value="python">' in page
    teacher.post(f"/teach/solutions/{draft.id}/approve")
    dbs.expire_all()
    assert problems.current_solution(dbs, w["problem"].id).id == draft.id


def test_a_new_problem_can_be_a_generated_program(world, dbs, openai_server, make_client):
    w = world.classroom()
    teacher = make_client(w["teacher"])
    openai_server.script([PROGRAM])
    resp = teacher.post(f"/teach/courses/{w['course'].code}/problems/generate", data={
        "title": "Museum code", "statement": "Costs \\$6 each for $n=28$ students.",
        "reference_solution": "28 × 6 = 168", "reference_answer": "168", "error_kind": "arithmetic",
        "solution_format": "python"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    problem = dbs.exec(select(Problem).where(Problem.title == "Museum code")).one()
    (draft,) = _solutions(dbs, problem.id)
    assert draft.solution_format == "python" and draft.steps[2] == ""
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == draft.id)).one()
    assert key.first_wrong_step == 5
