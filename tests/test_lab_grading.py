"""The AI lab's leaderboard, rubric grades and run recovery (docs/lab.md): who sees what, the numbers on
known data, and the gradebook column a lab's rubric makes."""
from datetime import timedelta

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import LabAttempt, LabRun, utcnow
from classroom.services import groups, lab, lab_grades
from classroom.services.lab import wilson_interval

from lab_support import APPLES, make_lab


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
    from classroom.rendering import render_markdown
    html = render_markdown("Teachers: \\(4 \\times 9 = 32\\).\n\n\\[\n28 + 4\n\\]\n\nTotal: \\boxed{200}")
    assert html.count('class="math inline"') == 2 and '<div class="math display">28 + 4</div>' in html
    assert '<span class="math inline">\\boxed{200}</span>' in html
    assert "\\boxed{1" in render_markdown("broken \\boxed{1")  # unbalanced: left as text
    assert "$5 and $10" in render_markdown("money $5 and $10")
    assert "after it" in render_markdown("\\[ z^2 \\] after it")  # a display ending mid-line keeps its text


def test_unclosed_tex_delimiters_in_any_text_render_in_linear_time():
    """Every text reads \\( \\) and \\boxed{} now (a student's critique too): thousands of unclosed ones render
    in a moment, where scanning to the end from each took minutes."""
    import time

    from classroom.rendering import render_markdown
    for text in ("\\(" * 25_000, "\\boxed{" * 10_000, "\\boxed{" * 5_000 + "}", "\\[\n" * 20_000):
        started = time.perf_counter()
        html = render_markdown(text + " end")
        assert time.perf_counter() - started < 5 and "end" in html, text[:12]


# --------------------------------------------------------------------------- rubric grades

def test_a_rubric_grades_groups_with_member_adjustments_into_the_gradebook(scene, world, dbs, make_client):
    w = scene
    the_lab = make_lab(world, dbs, w)
    teacher, alice, bob = make_client(w["teacher"]), make_client(w["alice"]), make_client(w["bob"])
    code = w["course"].code
    gradebook = teacher.get(f"/teach/courses/{code}/gradebook").get_data(as_text=True)
    assert "Lab 1" not in gradebook  # no rubric, no column
    resp = teacher.post(f"/teach/labs/{the_lab.id}/rubric", data={"title": "", "points": "0"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "Criterion cannot be empty." in page and "Points must be at least 1." in page
    for title, points in (("Synthetic problems", "10"), ("Strategy and runs", "20")):
        assert teacher.post(f"/teach/labs/{the_lab.id}/rubric", data={"title": title, "points": points}).status_code == 302
    with world.app.app_context():
        first, second = lab_grades.criteria_of(dbs, the_lab.id)
    url_a = f"/teach/labs/{the_lab.id}/groups/{w['group_a'].id}/grade"
    resp = teacher.post(url_a, data={f"points-{first.id}": "11", f"points-{second.id}": "abc",
                                     f"adjust-{w['alice'].id}": "+10", f"reason-{w['alice'].id}": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "must be between 0 and 10" in page and "must be a number, such as 7 or 7.5." in page
    assert "Say why Alice Adams gets 10 points more than the group." in page and 'value="abc"' in page
    assert teacher.post(url_a, data={
        f"points-{first.id}": "8", f"points-{second.id}": "15,5",
        f"adjust-{w['alice'].id}": "+10", f"reason-{w['alice'].id}": "Wrote the strategy **alone**.",
        f"adjust-{w['carol'].id}": "-3", f"reason-{w['carol'].id}": "Missed two sessions."}).status_code == 302
    assert teacher.post(f"/teach/labs/{the_lab.id}/groups/{w['group_b'].id}/grade", data={
        f"points-{first.id}": "5", f"points-{second.id}": "10"}).status_code == 302
    page = teacher.get(f"/teach/labs/{the_lab.id}/grades").get_data(as_text=True)
    assert "23.50 of 30 points" in page and "Missed two sessions." in page

    # The gradebook: a column of 30 points; Alice's 33.5 is kept at 30, Carol 20.5, Bob 15.
    gradebook = teacher.get(f"/teach/courses/{code}/gradebook").get_data(as_text=True)
    assert "Lab 1<div class=\"small\">of 30</div>" in gradebook
    csv_text = teacher.get(f"/teach/courses/{code}/gradebook.csv").get_data(as_text=True)
    header, *rows = csv_text.splitlines()
    assert "Lab 1 (30 pts)" in header
    by_name = {r.split(",")[0]: r for r in rows}
    assert by_name["Alice Adams"].split(",")[3] == "30" and by_name["Carol Clark"].split(",")[3] == "20.50"
    assert by_name["Bob Brown"].split(",")[3] == "15"
    found = teacher.get(f"/teach/courses/{code}/gradebook?q=carol").get_data(as_text=True)
    assert "20.50" in found and "Alice Adams" not in found
    canvas = teacher.get(f"/teach/courses/{code}/gradebook.csv?format=canvas").get_data(as_text=True)
    assert "Lab 1 (lab-" in canvas.splitlines()[0] and canvas.splitlines()[1].endswith(",30")

    # Students see their own grade once it is released, and no one else's adjustment.
    assert "Your grade" not in alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert "Lab 1" not in alice.get("/learn/progress.csv").get_data(as_text=True)
    teacher.post(f"/teach/labs/{the_lab.id}/grades/release", data={"released": "1"})
    page = alice.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert "Your grade: 30 of 30 points" in page and "Wrote the strategy" in page and "15.50 of 20" in page
    page = bob.get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert "Your grade: 15 of 30 points" in page and "Wrote the strategy" not in page
    page = make_client(w["carol"]).get(f"/learn/labs/{the_lab.id}").get_data(as_text=True)
    assert "Your grade: 20.50 of 30 points" in page and "Missed two sessions." in page
    # ... and in their own progress: the dashboard's chart and its CSV, as a percentage of the rubric.
    assert "Lab 1 68.33%" in make_client(w["carol"]).get("/learn/").get_data(as_text=True)
    assert ",Lab 1,,68.33" in make_client(w["carol"]).get("/learn/progress.csv").get_data(as_text=True)

    # Removing a criterion takes its points with it; clearing an adjustment removes it.
    teacher.post(f"/teach/labs/{the_lab.id}/rubric/{first.id}/remove")
    teacher.post(url_a, data={f"points-{second.id}": "20"})
    with world.app.app_context():
        _columns, points = lab_grades.gradebook_columns(dbs, w["course"].id)
    column = f"lab-{the_lab.id}"
    assert (points[w["alice"].id][column], points[w["carol"].id][column], points[w["bob"].id][column]) == (20, 20, 10)


def test_the_gradebook_with_lab_grades_costs_the_same_queries_whatever_the_number_of_students(
        world, dbs, make_client):
    from sqlalchemy import event
    engine = world.app.extensions["db_engine"]
    counts = []
    for n_students in (1, 6):
        teacher = world.instructor()
        course = world.course(teacher)
        problem = world.problem(teacher, course)
        students = [world.student(course) for _ in range(n_students)]
        with world.app.app_context():
            the_lab = lab.create_lab(dbs, teacher, course, lab.LabDraft(title="Lab", exam_problem_ids=[problem.id]))
            criterion = lab_grades.add_criterion(dbs, teacher, the_lab.id, "Work", 10)
            group = groups.create_group(dbs, teacher, course, name="G")
            for s in students:
                groups.add_member(dbs, teacher, group.id, s.id)
            lab_grades.grade_group(dbs, teacher, the_lab.id, group.id, lab_grades.GroupGradeDraft(
                points={criterion.id: "7"}, adjustments={students[0].id: "1"}, reasons={students[0].id: "Led."}))
        client = make_client(teacher)
        seen = []
        for path in (f"/teach/courses/{course.code}/gradebook", f"/teach/courses/{course.code}/gradebook.csv"):
            statements = []

            def record(*_args, statements=statements):
                statements.append(1)
            event.listen(engine, "before_cursor_execute", record)
            try:
                resp = client.get(path)
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert resp.status_code == 200 and b"8" in resp.data
            seen.append(len(statements))
        counts.append(seen)
    assert counts[0] == counts[1], counts
