"""The course's dataset of model mistakes (`export-dataset` and the course page's download): harvested failures
as bank lines with their provenance, taken back by `import-bank` as they are; a group's opt-out respected;
no student's name, email or id anywhere. The model runs against the loopback OpenAI-compatible server with a
scripted solver (right on the tickets, wrong on the apples), through the real `openai` client."""
import json

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import LabAttempt, LabHarvest, LabRun, LabStrategy, Problem
from classroom.services import banks, dataset, groups, harvest, lab, submissions
from classroom.services.submissions import CritiqueDraft

from lab_support import APPLES, solver_reply, solver_settings


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update(solver_settings(openai_server))
    return app_config


def cli(app, *args):
    """The command as `flask` runs it: inside the application's context."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def harvested(world, dbs, openai_server, make_client):
    """A lab whose exam the model solved twice per problem; group A harvested both wrong attempts on the apples,
    keeping the second out of the dataset; the instructor approved both; Bob critiqued the first."""
    openai_server.responder = solver_reply
    w = world.classroom()
    apples = world.problem(w["teacher"], w["course"], title="Apples", statement=APPLES, reference_answer="7",
                           reference_solution="3 + 4 = 7", steps=["3 + 4 = 8"], flawed_final_answer="8",
                           first_wrong_step=1, reason="3 + 4 is 7.")
    with world.app.app_context():
        group = groups.create_group(dbs, w["teacher"], w["course"], name="Group Aardvark")
        groups.add_member(dbs, w["teacher"], group.id, w["alice"].id)
        the_lab = lab.create_lab(dbs, w["teacher"], w["course"], lab.LabDraft(
            title="Lab 1", exam_problem_ids=[w["problem"].id, apples.id], samples=2))
        strategy = lab.save_strategy(dbs, w["alice"], the_lab.id, "Go.", [])
    alice, teacher = make_client(w["alice"]), make_client(w["teacher"])
    alice.post(f"/learn/labs/{the_lab.id}/runs", data={"target": "exam", "strategy_id": str(strategy.id)})
    run = dbs.exec(select(LabRun).where(LabRun.lab_id == the_lab.id)).one()
    wrong = dbs.exec(select(LabAttempt).where(LabAttempt.run_id == run.id, LabAttempt.verdict == "incorrect")
                     .order_by(LabAttempt.sample_index)).all()
    assert len(wrong) == 2
    for attempt, keep in zip(wrong, (True, False)):
        data = {"first_wrong_step": "1", "reason": "3 + 4 is 7, not 8.", "error_kind": "arithmetic"}
        if keep:
            data["exportable"] = "y"
        assert alice.post(f"/learn/attempts/{attempt.id}/harvest", data=data).status_code == 302
    for h in dbs.exec(select(LabHarvest)).all():
        teacher.post(f"/teach/harvests/{h.id}/decide", data={"decision": "approve"})
    dbs.expire_all()
    kept = dbs.exec(select(LabHarvest).where(LabHarvest.exportable == True)).one()  # noqa: E712
    assert kept.state == "approved" and kept.problem_id
    problem = dbs.get(Problem, kept.problem_id)
    assignment = world.assignment(w["teacher"], w["course"], [problem], title="Real mistakes")
    with world.app.app_context():
        _sub, job = submissions.submit(dbs, w["bob"], assignment.id, problem.id,
                                       CritiqueDraft(1, "3 + 4 is 7.", "3 + 4 = 7", "7"))
        jobs.run_job(job.id)
    w.update(apples=apples, group=group, lab=the_lab, strategy=dbs.get(LabStrategy, strategy.id), kept=kept,
             kept_attempt=dbs.get(LabAttempt, kept.attempt_id), harvested_problem=problem)
    return w


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_export_writes_the_harvested_failures_with_provenance(harvested, app):
    w = harvested
    result = cli(app, "export-dataset", "--course", w["course"].code)
    assert result.exit_code == 0, result.output
    lines = records(result.stdout)
    assert len(lines) == 1  # the second harvest was kept out by its group
    assert "Exported 1 problem (1 harvested, 0 planted); 1 harvested failure left out at the group's request" \
        in result.stderr
    line = lines[0]
    assert list(line)[:len(banks.BANK_FIELDS)] == list(banks.BANK_FIELDS)
    assert line["id"] == f"lab-harvest-{w['kept'].id}" and line["question"] == APPLES
    assert line["flawed_steps"] == ["Step 1: 3 + 4 = 8.", "The answer is 8."]
    assert (line["first_error_step"], line["error_reason"], line["error_kind"]) == (1, "3 + 4 is 7, not 8.",
                                                                                     "arithmetic")
    assert (line["reference_answer"], line["flawed_final_answer"]) == ("7", "8")
    attempt = w["kept_attempt"]
    assert {k: line[k] for k in dataset.PROVENANCE_FIELDS} == {
        "origin": "harvested", "model": "test-solver", "strategy_sha256": w["strategy"].sha256,
        "sample_index": attempt.sample_index, "created_at": attempt.created_at.replace(microsecond=0).strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "critique_count": 1}
    assert len(line["strategy_sha256"]) == 64

    planted = records(cli(app, "export-dataset", "--course", w["course"].code, "--include-planted").stdout)
    assert [(x["title"], x["origin"]) for x in planted] == [
        ("Tickets", "planted"), ("Apples", "planted"), ("Apples (harvested)", "harvested")]
    assert planted[0]["strategy_sha256"] is None and planted[0]["sample_index"] is None
    assert planted[0]["critique_count"] == 0 and planted[0]["model"] is None


def test_the_export_names_no_student(harvested, app, dbs, make_client):
    w = harvested
    text = cli(app, "export-dataset", "--course", w["course"].code, "--include-planted").stdout
    download = make_client(w["teacher"]).get(f"/teach/courses/{w['course'].code}/dataset.jsonl?planted=1")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True) == text  # the course page's download is the command's output
    students = [w["alice"], w["bob"]]
    assert students and text.count("\n") == 3
    for student in students:
        for personal in (student.name, student.email, student.email.split("@")[0], student.name.split()[0]):
            assert personal.lower() not in text.lower(), personal
    assert w["group"].name not in text
    allowed = set(banks.BANK_FIELDS) | set(banks.OPTIONAL_FIELDS) | set(dataset.PROVENANCE_FIELDS)
    for line in records(text):
        assert set(line) <= allowed, set(line) - allowed
        # The only numbers are step numbers, sample indexes and counts; no field holds a person's id.
        assert not any(k.endswith("_id") or k in ("author", "student", "user", "group") for k in line)


def test_import_bank_takes_the_export_back_unchanged(harvested, app, world, tmp_path):
    w = harvested
    text = cli(app, "export-dataset", "--course", w["course"].code, "--include-planted").stdout
    path = tmp_path / "dataset.jsonl"
    path.write_text(text, encoding="utf-8")
    other = world.course(w["teacher"], code="DATA101", title="Dataset")
    result = cli(app, "import-bank", str(path), "--course", "DATA101")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "imported 3 problems"
    # What comes back out as a bank is every dataset line without its provenance: nothing lost, nothing changed.
    back = records(cli(app, "export-bank", "--course", other.code).stdout)
    bare = [{k: v for k, v in line.items() if k not in dataset.PROVENANCE_FIELDS} for line in records(text)]
    assert back == bare
    assert cli(app, "import-bank", str(path), "--course", "DATA101").stdout.startswith("imported 0 problems")


def test_errors_and_who_may_download(harvested, app, make_client):
    w = harvested
    result = cli(app, "export-dataset", "--course", "NOPE999")
    assert result.exit_code != 0 and "No course has that code" in result.output
    code = w["course"].code
    assert make_client(w["alice"]).get(f"/teach/courses/{code}/dataset.jsonl").status_code == 403
    page = make_client(w["teacher"]).get(f"/teach/courses/{code}").get_data(as_text=True)
    assert f"/teach/courses/{code}/dataset.jsonl" in page and "Download the harvested failures" in page
    # A harvest still waiting for the instructor is no item of the dataset yet.
    assert len(records(cli(app, "export-dataset", "--course", code).stdout)) == 1


def test_a_group_opts_out_on_its_harvest_form(harvested, dbs):
    w = harvested
    out = dbs.exec(select(LabHarvest).where(LabHarvest.exportable == False)).one()  # noqa: E712
    assert out.state == "approved" and out.problem_id is not None
    with_planted = dataset.export_dataset(dbs, w["teacher"], w["course"], include_planted=True)
    assert f"lab-harvest-{out.id}" not in with_planted.text and with_planted.opted_out == 1
    assert harvest.harvest_of_attempt(dbs, out.attempt_id).exportable is False


def test_a_group_changes_its_mind_after_the_approval(harvested, app, dbs, make_client):
    w = harvested
    alice, bob = make_client(w["alice"]), make_client(w["bob"])
    kept = w["kept"]
    page = alice.get(f"/learn/attempts/{kept.attempt_id}/harvest").get_data(as_text=True)
    assert "Keep it out of the dataset" in page
    assert bob.post(f"/learn/harvests/{kept.id}/dataset", data={"include": "0"}).status_code == 404  # not his group
    resp = alice.post(f"/learn/harvests/{kept.id}/dataset", data={"include": "0"}, follow_redirects=True)
    assert "It is kept out of the course&#39;s published dataset." in resp.get_data(as_text=True)
    assert "Include it in the dataset" in resp.get_data(as_text=True)
    result = cli(app, "export-dataset", "--course", w["course"].code)
    assert result.stdout == "" and "2 harvested failures left out at the group's request" in result.stderr
    from classroom.models import AuditLog
    log = dbs.exec(select(AuditLog).where(AuditLog.action == "lab.harvest_dataset")).one()
    assert log.actor_id == w["alice"].id and log.details["exportable"] is False
    alice.post(f"/learn/harvests/{kept.id}/dataset", data={"include": "1"})
    assert len(records(cli(app, "export-dataset", "--course", w["course"].code).stdout)) == 1


def test_a_hidden_exam_stays_out_of_the_dataset_unless_asked_for(harvested, app, dbs, make_client):
    w = harvested
    code = w["course"].code
    the_lab = dbs.get(type(w["lab"]), w["lab"].id)
    the_lab.exam_hidden = True  # Tickets and Apples are now the benchmark nobody should tune to
    dbs.add(the_lab)
    dbs.commit()
    result = cli(app, "export-dataset", "--course", code, "--include-planted")
    assert result.exit_code == 0, result.output
    assert [x["title"] for x in records(result.stdout)] == ["Apples (harvested)"]
    assert "2 problems of a hidden lab exam left out (--include-hidden-exams writes them)" in result.stderr
    everything = cli(app, "export-dataset", "--course", code, "--include-planted", "--include-hidden-exams")
    assert [x["title"] for x in records(everything.stdout)] == ["Tickets", "Apples", "Apples (harvested)"]
    assert "hidden lab exam" not in everything.stderr
    # The course page's download leaves them out too, and the page says so.
    teacher = make_client(w["teacher"])
    download = teacher.get(f"/teach/courses/{code}/dataset.jsonl?planted=1").get_data(as_text=True)
    assert download == result.stdout
    page = teacher.get(f"/teach/courses/{code}").get_data(as_text=True)
    assert "The 2 problems of a hidden lab exam are left out while the exam stays hidden." in page
    # Shown to the students again, the exam is part of the dataset.
    the_lab.exam_hidden = False
    dbs.add(the_lab)
    dbs.commit()
    assert len(records(cli(app, "export-dataset", "--course", code, "--include-planted").stdout)) == 3
    assert "hidden lab exam" not in teacher.get(f"/teach/courses/{code}").get_data(as_text=True)
