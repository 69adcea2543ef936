"""The AI lab: synthetic problems, strategies and model runs against the loopback OpenAI-compatible
server (the real openai client over HTTP), with a scripted solver that is right on some problems and
wrong on others; accuracy with intervals on known data; progress, cancellation and budgets; who sees what."""
import pytest
from sqlmodel import Session, select

from classroom.llm.solver import extract_final_answer
from classroom import jobs
from classroom.models import AnswerKey, FlawedSolution, Grade, LabAttempt, LabHarvest, LabRun, LabStrategy, Problem
from classroom.services import groups, lab, submissions
from classroom.services.lab import wilson_interval
from classroom.services.submissions import CritiqueDraft

from lab_support import APPLES, PENS, make_lab, solver_reply, solver_settings


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update(solver_settings(openai_server))
    return app_config


@pytest.fixture
def scene(world, dbs, openai_server):
    openai_server.responder = solver_reply
    w = world.classroom()
    apples = world.problem(w["teacher"], w["course"], title="Apples", statement=APPLES, reference_answer="7",
                           reference_solution="3 + 4 = 7", steps=["3 + 4 = 8"], flawed_final_answer="8",
                           first_wrong_step=1, reason="3 + 4 is 7.")
    with world.app.app_context():
        ga = groups.create_group(dbs, w["teacher"], w["course"], name="Group A")
        groups.add_member(dbs, w["teacher"], ga.id, w["alice"].id)
        gb = groups.create_group(dbs, w["teacher"], w["course"], name="Group B")
        groups.add_member(dbs, w["teacher"], gb.id, w["bob"].id)
    w.update(apples=apples, group_a=ga, group_b=gb)
    return w


def write_pens(client, the_lab, w, tests=""):
    return client.post(f"/learn/labs/{the_lab.id}/problems", data={
        "exam_problem_id": str(w["problem"].id), "title": "Pens", "statement": PENS,
        "reference_solution": "5 × 2 = 10", "reference_answer": "10", "answer_mode": "auto", "answer_tests": tests})


def test_final_answers_are_read_from_boxes_and_last_lines():
    assert extract_final_answer("so \\boxed{\\frac{1}{2}} and then \\boxed{\\frac{3}{4}}.") == "\\frac{3}{4}"
    assert extract_final_answer("Adding up.\nThe answer is 42.") == "42"
    assert extract_final_answer("Work.\n**Final answer:** $3.5$") == "3.5"
    assert extract_final_answer("FINAL ANSWER: x = 4") == "x = 4"
    assert extract_final_answer("I am not sure.") == ""


def test_wilson_interval_on_known_values():
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_a_group_writes_a_problem_and_a_strategy_and_measures_the_model(scene, world, dbs, make_client,
                                                                        openai_server):
    w = scene
    the_lab = make_lab(world, dbs, w)
    alice = make_client(w["alice"])
    page = alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert APPLES in page  # a visible exam shows its statements
    # A synthetic problem whose answer test fails is saved and named.
    resp = write_pens(alice, the_lab, w, tests="10 dollars -> correct\n11 -> correct")
    assert resp.status_code == 302
    flashed = alice.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Answer test “11” should be correct" in flashed and "1 answer test failing" in flashed
    # Bad input: every field named, nothing saved.
    resp = alice.post(f"/learn/labs/{the_lab.id}/problems", data={"title": "", "statement": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Write the problem statement." in page and "Choose the exam problem" in page
    pens = lab.synthetic_of(dbs, the_lab.id, w["group_a"].id)
    assert [p.title for p in pens] == ["Pens"]
    resp = alice.post(f"/learn/labs/{the_lab.id}/strategies", data={
        "system_prompt": "Multiply carefully. End with \\boxed{}.", "example_ids": [str(pens[0].id)]})
    assert resp.status_code == 302
    strategy = dbs.exec(select(LabStrategy).where(LabStrategy.lab_id == the_lab.id)).one()
    assert strategy.version == 1 and len(strategy.sha256) == 64 and strategy.author_id == w["alice"].id

    resp = alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    assert resp.status_code == 302
    run = dbs.exec(select(LabRun).where(LabRun.lab_id == the_lab.id)).one()
    assert (run.state, run.total, run.completed, run.correct) == ("done", 6, 6, 3)
    attempts = dbs.exec(select(LabAttempt).where(LabAttempt.run_id == run.id).order_by(LabAttempt.id)).all()
    assert [a.verdict for a in attempts] == ["correct"] * 3 + ["incorrect"] * 3
    assert {a.final_answer for a in attempts} == {"168", "8"}
    assert all(a.model == "test-solver" and a.strategy_id == strategy.id and a.tokens_in > 0 and a.text
               for a in attempts)
    # The prompt is the strategy: its system prompt and worked example; never an exam's reference or key.
    first = openai_server.chat_requests[0]
    assert first.contents("system") == ["Multiply carefully. End with \\boxed{}."]
    assert first.contents("user")[0] == PENS and first.contents("assistant") == ["5 × 2 = 10"]
    everything = "\n".join(r.text for r in openai_server.chat_requests)
    assert "28 × 6 = 168, not 158." not in everything and "3 + 4 is 7." not in everything
    assert first.body["model"] == "test-solver"

    page = alice.get(f"/learn/runs/{run.id}").get_data(as_text=True)
    assert "Accuracy <strong>50.0%</strong> (3 of 6 attempts correct)" in page
    assert "95 % interval 18.8–81.2%" in page  # Wilson, 3 of 6
    assert "3 / 3" in page and "0 / 3" in page and "The answer is 8." in page
    assert alice.get(f"/learn/runs/{run.id}/progress.json").get_json() == {
        "state": "done", "completed": 6, "total": 6, "correct": 3, "tokens": run.tokens_in + run.tokens_out,
        "finished": True, "error": ""}
    # The synthetic set: right every time. The chart has a mark per version and target, and no script.
    alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "synthetic", "strategy_id": str(strategy.id)})
    page = alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count('class="mark series-exam"') == 2 and svg.count('class="mark series-synthetic"') == 2  # + legend
    assert "version 1, practice exam: 50%" in svg and "<script" not in svg and "style=" not in svg
    # The instructor sees the group's work, its authors and its attempts.
    teacher = make_client(w["teacher"])
    page = teacher.get(f"/teach/labs/{the_lab.id}/groups/{w['group_a'].id}").get_data(as_text=True)
    assert "Pens" in page and "Alice Adams" in page
    assert "The answer is 8." in teacher.get(f"/teach/runs/{run.id}").get_data(as_text=True)


def test_other_groups_and_hidden_exams(scene, world, dbs, make_client):
    w = scene
    the_lab = make_lab(world, dbs, w, exam_hidden=True, samples=1)
    alice, bob = make_client(w["alice"]), make_client(w["bob"])
    page = alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert APPLES not in page and "Costs" not in page and "The practice exam is hidden: 2 problems" in page
    assert "Apples" not in page  # not even the titles
    write_pens(alice, the_lab, w)
    alice.post(f"/learn/labs/{the_lab.id}/strategies", data={"system_prompt": "Be careful."})
    strategy = dbs.exec(select(LabStrategy).where(LabStrategy.lab_id == the_lab.id)).one()
    alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    run = dbs.exec(select(LabRun).where(LabRun.lab_id == the_lab.id)).one()
    page = alice.get(f"/learn/runs/{run.id}").get_data(as_text=True)
    assert "Accuracy <strong>50.0%</strong> (1 of 2 attempts correct)" in page
    for secret in ("The answer is 8.", "FINAL ANSWER", "Apples", "Tickets", APPLES):
        assert secret not in page, secret
    # Group B sees none of it: not the problem, the strategy, the run or its progress.
    page = bob.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert "Pens" not in page and "Be careful." not in page and f"Run {run.id}" not in page
    assert bob.get(f"/learn/runs/{run.id}").status_code == 404
    assert bob.get(f"/learn/runs/{run.id}/progress.json").status_code == 404
    assert bob.post(f"/learn/runs/{run.id}/cancel").status_code == 404
    resp = bob.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    assert resp.status_code == 400 and "Choose one of your group&#39;s strategies" in resp.get_data(as_text=True)
    # The instructor sees the hidden exam's attempts.
    assert "The answer is 8." in make_client(w["teacher"]).get(f"/teach/runs/{run.id}").get_data(as_text=True)


def test_cancelling_stops_a_run_and_keeps_what_it_did(scene, world, dbs, make_client, openai_server):
    w = scene
    the_lab = make_lab(world, dbs, w, samples=3)
    with world.app.app_context():
        strategy = lab.save_strategy(dbs, w["alice"], the_lab.id, "Go.", [])
    engine = world.app.extensions["db_engine"]

    def cancel_during_the_second_sample(req):
        if len(openai_server.chat_requests) == 2:  # the group presses Cancel while sample 2 is being solved
            with Session(engine) as s, world.app.app_context():
                run = s.exec(select(LabRun)).one()
                lab.cancel_run(s, w["alice"], run.id)
        return solver_reply(req)

    openai_server.responder = cancel_during_the_second_sample
    alice = make_client(w["alice"])
    alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    dbs.expire_all()
    run = dbs.exec(select(LabRun)).one()
    assert (run.state, run.completed, run.total) == ("cancelled", 2, 6)
    assert len(dbs.exec(select(LabAttempt).where(LabAttempt.run_id == run.id)).all()) == 2
    page = alice.get(f"/learn/runs/{run.id}").get_data(as_text=True)
    assert "2 of 6 attempts" in page and "Cancel the run" not in page


def test_the_token_budget_stops_runs_and_refuses_new_ones(scene, world, dbs, make_client, openai_server):
    from openai_server import Reply
    w = scene
    the_lab = make_lab(world, dbs, w, samples=3, token_budget=250)
    with world.app.app_context():
        strategy = lab.save_strategy(dbs, w["alice"], the_lab.id, "Go.", [])
    openai_server.responder = lambda req: Reply(content=solver_reply(req), prompt_tokens=80, completion_tokens=20)
    alice = make_client(w["alice"])
    alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    run = dbs.exec(select(LabRun)).one()
    assert (run.state, run.completed, run.tokens_in + run.tokens_out) == ("budget", 3, 300)
    assert "token budget (250 tokens) is used up" in alice.get(f"/learn/runs/{run.id}").get_data(as_text=True)
    resp = alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    assert resp.status_code == 409 and "used its token budget (300 of 250 tokens)" in resp.get_data(as_text=True)
    assert len(openai_server.chat_requests) == 3


def test_without_a_model_the_lab_says_why_and_runs_nothing(scene, world, dbs, make_client, app):
    w = scene
    app.config.update(SOLVER_MODEL=None, GRADER_MODEL=None)
    the_lab = make_lab(world, dbs, w)
    with world.app.app_context():
        strategy = lab.save_strategy(dbs, w["alice"], the_lab.id, "Go.", [])
    alice = make_client(w["alice"])
    assert "No solver model is configured" in alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    resp = alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    assert resp.status_code == 409 and "No solver model is configured" in resp.get_data(as_text=True)
    assert dbs.exec(select(LabRun)).first() is None


# --------------------------------------------------------------------------- harvesting failures

def run_exam(world, dbs, w, client, **lab_settings):
    the_lab = make_lab(world, dbs, w, samples=1, **lab_settings)
    with world.app.app_context():
        strategy = lab.save_strategy(dbs, w["alice"], the_lab.id, "Go.", [])
    client.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    run = dbs.exec(select(LabRun).where(LabRun.lab_id == the_lab.id)).one()
    attempts = dbs.exec(select(LabAttempt).where(LabAttempt.run_id == run.id)).all()
    return the_lab, run, {a.verdict: a for a in attempts}


def test_harvest_is_approved_and_becomes_a_critique_problem(scene, world, dbs, make_client):
    w = scene
    alice, bob, teacher = make_client(w["alice"]), make_client(w["bob"]), make_client(w["teacher"])
    the_lab, run, by_verdict = run_exam(world, dbs, w, alice)
    wrong, right = by_verdict["incorrect"], by_verdict["correct"]
    assert f"/learn/attempts/{wrong.id}/harvest" in alice.get(f"/learn/runs/{run.id}").get_data(as_text=True)
    page = alice.get(f"/learn/attempts/{wrong.id}/harvest").get_data(as_text=True)
    assert "Step 1: 3 + 4 = 8." in page and "The answer is 8." in page  # split by the step editor's rule
    # A right attempt is no failure; another group never sees the attempt.
    assert alice.post(f"/learn/attempts/{right.id}/harvest", data={"first_wrong_step": "1"}).status_code == 409
    assert bob.get(f"/learn/attempts/{wrong.id}/harvest").status_code == 404
    resp = alice.post(f"/learn/attempts/{wrong.id}/harvest", data={"first_wrong_step": "5", "reason": "",
                                                                     "error_kind": "arithmetic"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "must be at most 2" in page and "Say why the step is wrong." in page
    good = {"first_wrong_step": "1", "reason": "3 + 4 is 7, not 8.", "error_kind": "arithmetic", "exportable": "y"}
    assert alice.post(f"/learn/attempts/{wrong.id}/harvest", data=good).status_code == 302
    h = dbs.exec(select(LabHarvest)).one()
    assert (h.state, h.first_wrong_step, h.steps, h.author_id) == (
        "submitted", 1, ["Step 1: 3 + 4 = 8.", "The answer is 8."], w["alice"].id)

    page = teacher.get(f"/teach/labs/{the_lab.id}/harvests").get_data(as_text=True)
    assert "3 + 4 is 7, not 8." in page and "Alice Adams" in page and "Group A" in page
    resp = teacher.post(f"/teach/harvests/{h.id}/decide", data={"decision": "return"}, follow_redirects=True)
    assert "Comment cannot be empty" in resp.get_data(as_text=True)
    teacher.post(f"/teach/harvests/{h.id}/decide", data={"decision": "return", "comment": "Name the kind too."})
    page = alice.get(f"/learn/attempts/{wrong.id}/harvest").get_data(as_text=True)
    assert "Name the kind too." in page and "3 + 4 is 7, not 8." in page  # what they wrote is kept
    assert alice.post(f"/learn/attempts/{wrong.id}/harvest", data=good).status_code == 302
    resp = teacher.post(f"/teach/harvests/{h.id}/decide", data={"decision": "approve"}, follow_redirects=True)
    assert "now a problem of the course" in resp.get_data(as_text=True)
    dbs.expire_all()
    h = dbs.get(LabHarvest, h.id)
    solution = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == h.problem_id)).one()
    key = dbs.exec(select(AnswerKey).where(AnswerKey.flawed_solution_id == solution.id)).one()
    assert (key.origin, key.origin_model, key.first_wrong_step) == ("harvested", "test-solver", 1)
    assert solution.final_answer == "8" and solution.steps == h.steps

    # Used like any problem: a critique assignment, a student's critique, graded against the harvested key.
    problem = dbs.get(Problem, h.problem_id)
    assignment = world.assignment(w["teacher"], w["course"], [problem], title="Real mistakes")
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["bob"], assignment.id, problem.id,
                                      CritiqueDraft(1, "3 + 4 is 7.", "3 + 4 = 7", "7"))
        jobs.run_job(job.id)
    grades = {g.component: g for g in dbs.exec(select(Grade).where(Grade.submission_id == sub.id))}
    assert grades["location"].score == 1.0 and grades["final_answer"].score == 1.0


def test_a_hidden_exams_attempts_cannot_be_harvested_by_students(scene, world, dbs, make_client):
    w = scene
    alice = make_client(w["alice"])
    _lab, _run, by_verdict = run_exam(world, dbs, w, alice, exam_hidden=True)
    assert alice.get(f"/learn/attempts/{by_verdict['incorrect'].id}/harvest").status_code == 404


def test_a_harvested_problems_math_is_typeset_wherever_it_is_shown(scene, world, dbs, make_client, openai_server):
    """The model's \\( \\), \\[ \\] and bare \\boxed{} read as math on the student's critique page and on the
    instructor's problem, preview and solution pages, as on the harvest page: one renderer for every text."""
    w = scene
    openai_server.responder = lambda req: (
        "Step 1: \\(3 + 4 = 8\\).\n\\[ 3 + 4 = 8 \\]\nThe answer is \\boxed{8}."
        if "apples" in req.contents("user")[-1] else solver_reply(req))
    alice, bob, teacher = make_client(w["alice"]), make_client(w["bob"]), make_client(w["teacher"])
    _lab, _run, by_verdict = run_exam(world, dbs, w, alice)
    wrong = by_verdict["incorrect"]
    good = {"first_wrong_step": "1", "reason": "3 + 4 is 7, not 8.", "error_kind": "arithmetic"}
    assert alice.post(f"/learn/attempts/{wrong.id}/harvest", data=good).status_code == 302
    h = dbs.exec(select(LabHarvest)).one()
    teacher.post(f"/teach/harvests/{h.id}/decide", data={"decision": "approve"})
    dbs.expire_all()
    problem = dbs.get(Problem, dbs.get(LabHarvest, h.id).problem_id)
    solution = dbs.exec(select(FlawedSolution).where(FlawedSolution.problem_id == problem.id)).one()
    assignment = world.assignment(w["teacher"], w["course"], [problem], title="Real mistakes")

    typeset = ['<span class="math inline">3 + 4 = 8</span>', '<div class="math display">3 + 4 = 8</div>',
               '<span class="math inline">\\boxed{8}</span>']
    pages = {"student": bob.get(f"/learn/assignments/{assignment.id}/problems/{problem.id}"),
             "problem": teacher.get(f"/teach/problems/{problem.id}"),
             "preview": teacher.get(f"/teach/problems/{problem.id}/preview"),
             "solution": teacher.get(f"/teach/solutions/{solution.id}")}
    for name, resp in pages.items():
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200, name
        for html in typeset:
            assert html in page, (name, html)
        assert "\\(" not in page and "\\[" not in page, name  # no delimiter left for the reader to see
