"""The AI lab's leaderboard, rubric grades and run recovery (docs/lab.md): who sees what, the numbers on
known data, and the gradebook column a lab's rubric makes."""
from datetime import timedelta

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import LabAttempt, LabRun, utcnow
from classroom.services import groups, lab
from classroom.services.lab import wilson_interval

APPLES = "Anna has 3 apples and buys 4 more. How many apples does she have?"


@pytest.fixture
def scene(world, dbs):
    w = world.classroom()
    w["apples"] = world.problem(w["teacher"], w["course"], title="Apples", statement=APPLES, reference_answer="7")
    w["carol"] = world.student(w["course"], name="Carol Clark")
    with world.app.app_context():
        ga = groups.create_group(dbs, w["teacher"], w["course"], name="Group A")
        groups.add_member(dbs, w["teacher"], ga.id, w["alice"].id)
        groups.add_member(dbs, w["teacher"], ga.id, w["carol"].id)
        gb = groups.create_group(dbs, w["teacher"], w["course"], name="Group B")
        groups.add_member(dbs, w["teacher"], gb.id, w["bob"].id)
        gc = groups.create_group(dbs, w["teacher"], w["course"], name="Group C")
    w.update(group_a=ga, group_b=gb, group_c=gc)
    return w


def make_lab(world, dbs, w, **overrides):
    values = dict(title="Lab 1", exam_problem_ids=[w["problem"].id, w["apples"].id], samples=3)
    values.update(overrides)
    with world.app.app_context():
        return lab.create_lab(dbs, w["teacher"], w["course"], lab.LabDraft(**values))


def add_run(dbs, the_lab, w, group, author, *, correct, completed, total=6, state="done", target="exam",
            samples=3):
    """A run as the run job leaves it (the counters are what the leaderboard reads)."""
    strategy = dbs.exec(select(lab.LabStrategy).where(lab.LabStrategy.lab_id == the_lab.id,
                                                      lab.LabStrategy.group_id == group.id)).first()
    if strategy is None:
        strategy = lab.save_strategy(dbs, author, the_lab.id, "Go.", [])
    run = LabRun(lab_id=the_lab.id, group_id=group.id, strategy_id=strategy.id, target=target, samples=samples,
                 items=[["exam", w["problem"].id], ["exam", w["apples"].id]], total=total, completed=completed,
                 correct=correct, model="m", state=state, started_by_id=author.id)
    dbs.add(run)
    dbs.commit()
    return run


def test_the_leaderboard_ranks_each_groups_best_complete_exam_run(scene, world, dbs, make_client):
    w = scene
    the_lab = make_lab(world, dbs, w, exam_hidden=True)
    with world.app.app_context():
        add_run(dbs, the_lab, w, w["group_a"], w["alice"], correct=4, completed=6)
        add_run(dbs, the_lab, w, w["group_a"], w["alice"], correct=3, completed=3, state="cancelled")  # part
        add_run(dbs, the_lab, w, w["group_a"], w["alice"], correct=6, completed=6, target="synthetic")  # not exam
        best_a = add_run(dbs, the_lab, w, w["group_a"], w["alice"], correct=5, completed=6)
        add_run(dbs, the_lab, w, w["group_b"], w["bob"], correct=1, completed=2, total=2, samples=1)
        add_run(dbs, the_lab, w, w["group_b"], w["bob"], correct=0, completed=1, total=6, state="failed")
    teacher, alice, bob = make_client(w["teacher"]), make_client(w["alice"]), make_client(w["bob"])
    with world.app.app_context():
        board = lab.leaderboard(dbs, w["teacher"], the_lab.id)
    assert [(r.group.name, r.run.id if r.run else None, r.k) for r in board.rows] == [
        ("Group A", best_a.id, 3), ("Group B", board.rows[1].run.id, 1), ("Group C", None, None)]
    assert board.rows[0].accuracy.interval == wilson_interval(5, 6)
    page = teacher.get(f"/teach/labs/{the_lab.id}/leaderboard").get_data(as_text=True)
    low, high = wilson_interval(5, 6)
    assert "83.3%" in page and f"{100 * low:.1f}–{100 * high:.1f}%" in page and "5 of 6" in page
    assert "No complete run on the exam yet" in page and "Only the course's instructors see" in page

    # Closed to the class until the instructor opens it; then scores only, never the hidden exam.
    resp = alice.get(f"/learn/labs/{the_lab.id}/leaderboard")
    assert resp.status_code == 403 and "has not opened this lab&#39;s leaderboard" in resp.get_data(as_text=True)
    assert "/leaderboard" not in alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    resp = teacher.post(f"/teach/labs/{the_lab.id}/leaderboard", data={"visible": "1"}, follow_redirects=True)
    assert "The class sees this leaderboard" in resp.get_data(as_text=True)
    assert f"/learn/labs/{the_lab.id}/leaderboard" in alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    page = bob.get(f"/learn/labs/{the_lab.id}/leaderboard").get_data(as_text=True)
    assert "83.3%" in page and "50.0%" in page and "(your group)" in page
    for secret in (APPLES, "Apples", "Tickets", "/learn/runs/", "/teach/runs/"):
        assert secret not in page, secret
    teacher.post(f"/teach/labs/{the_lab.id}/leaderboard", data={"visible": "0"})
    assert alice.get(f"/learn/labs/{the_lab.id}/leaderboard").status_code == 403


def test_a_leaderboard_tie_goes_to_the_run_with_more_attempts(scene, world, dbs):
    w = scene
    the_lab = make_lab(world, dbs, w)
    with world.app.app_context():
        add_run(dbs, the_lab, w, w["group_a"], w["alice"], correct=1, completed=2, total=2, samples=1)
        add_run(dbs, the_lab, w, w["group_b"], w["bob"], correct=3, completed=6)
        board = lab.leaderboard(dbs, w["teacher"], the_lab.id)
    assert [r.group.name for r in board.rows] == ["Group B", "Group A", "Group C"]


# --------------------------------------------------------------------------- runs that lost their worker

def solver_reply(req):
    """Right on the tickets (168), wrong on the apples (8 instead of 7)."""
    return "3 + 4 = 8.\nThe answer is 8." if "apples" in req.contents("user")[-1] else "28 × 6 = 168.\n\\boxed{168}"


@pytest.fixture
def solver(app, openai_server):
    app.config.update(SOLVER_MODEL="test-solver", OPENAI_BASE_URL=openai_server.base_url, OPENAI_API_KEY="k",
                      GRADER_TIMEOUT=2.0, GRADER_MAX_ATTEMPTS=1, GRADER_BACKOFF_BASE=0.01)
    openai_server.responder = solver_reply
    return openai_server


def stale_run(dbs, the_lab, w, *, state="queued", recoveries=0, minutes=60):
    with_strategy = add_run(dbs, the_lab, w, w["group_a"], w["alice"], correct=0, completed=0, total=2, samples=1,
                            state=state)
    with_strategy.heartbeat_at = utcnow() - timedelta(minutes=minutes)
    with_strategy.recoveries = recoveries
    dbs.add(with_strategy)
    dbs.commit()
    return with_strategy


def test_a_run_whose_queue_message_was_lost_is_sent_again(scene, world, dbs, solver):
    w = scene
    the_lab = make_lab(world, dbs, w, samples=1)
    with world.app.app_context():
        lost = stale_run(dbs, the_lab, w)
        fresh = add_run(dbs, the_lab, w, w["group_b"], w["bob"], correct=0, completed=0, total=2, samples=1,
                        state="queued")
        fresh.heartbeat_at = utcnow()
        dbs.add(fresh)
        dbs.commit()
        assert jobs.recover_lab_runs() == ([lost.id], [])  # the fresh one is waiting its turn: left alone
    dbs.expire_all()
    run = dbs.get(LabRun, lost.id)
    assert (run.state, run.completed, run.correct, run.recoveries) == ("done", 2, 1, 1)
    assert dbs.get(LabRun, fresh.id).state == "queued"


def test_a_second_message_for_a_run_a_worker_has_does_nothing(scene, world, dbs, solver):
    w = scene
    the_lab = make_lab(world, dbs, w, samples=1)
    with world.app.app_context():
        busy = stale_run(dbs, the_lab, w, state="running", minutes=0)
        assert jobs.run_lab(busy.id) == "running"
    assert solver.chat_requests == []


def test_a_run_without_progress_fails_with_its_reason_and_runs_again_from_where_it_stopped(
        scene, world, dbs, make_client, solver):
    w = scene
    the_lab = make_lab(world, dbs, w, samples=1)
    with world.app.app_context():
        stuck = stale_run(dbs, the_lab, w, state="running", recoveries=2)
        dbs.add(LabAttempt(run_id=stuck.id, item=0, sample_index=0, problem_id=w["problem"].id, text="168",
                           final_answer="168", verdict="correct", model="m", strategy_id=stuck.strategy_id))
        stuck.completed, stuck.correct = 1, 1
        dbs.add(stuck)
        lost = stale_run(dbs, the_lab, w, recoveries=2)
        lost.group_id = w["group_b"].id
        dbs.add(lost)
        dbs.commit()
        assert jobs.recover_lab_runs() == ([], [stuck.id, lost.id])
    dbs.expire_all()
    assert "No worker took this run in 5 minutes" in dbs.get(LabRun, lost.id).error
    alice, bob = make_client(w["alice"]), make_client(w["bob"])
    page = alice.get(f"/learn/runs/{stuck.id}").get_data(as_text=True)
    assert "The run stopped making progress (no sample in 5 minutes" in page and "Run again" in page
    assert bob.post(f"/learn/runs/{stuck.id}/resume").status_code == 404  # another group's run
    assert make_client(w["teacher"]).post(f"/learn/runs/{stuck.id}/resume").status_code == 403
    resp = alice.post(f"/learn/runs/{stuck.id}/resume", follow_redirects=True)
    assert "queued again; it continues where it stopped" in resp.get_data(as_text=True)
    dbs.expire_all()
    run = dbs.get(LabRun, stuck.id)
    assert (run.state, run.completed, run.correct, run.error, run.recoveries) == ("done", 2, 1, None, 0)
    assert len(solver.chat_requests) == 1  # only the sample it had not done
    resp = alice.post(f"/learn/runs/{stuck.id}/resume", follow_redirects=True)
    assert "Only a run that failed can be run again." in resp.get_data(as_text=True)


def test_harvest_pages_typeset_the_models_math(scene, world, dbs, make_client):
    from classroom.rendering import render_model_markdown
    html = render_model_markdown("Teachers: \\(4 \\times 9 = 32\\).\n\n\\[\n28 + 4\n\\]\n\nTotal: \\boxed{200}")
    assert html.count('class="math inline"') == 2 and '<div class="math display">28 + 4</div>' in html
    assert '<span class="math inline">\\boxed{200}</span>' in html
    assert "\\boxed{1" in render_model_markdown("broken \\boxed{1")  # unbalanced: left as text
    assert "$5 and $10" in render_model_markdown("money $5 and $10")
