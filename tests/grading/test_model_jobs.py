"""The grader model inside the background job: grades, provenance, cache, failures and retry."""
import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import Grade, GradingJob, ModelGradeCache
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft
from openai_server import Status
from tests.grading.helpers import good_reply


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update({"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": openai_server.base_url,
                       "OPENAI_API_KEY": "k", "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 2,
                       "GRADER_BACKOFF_BASE": 0.01})
    return app_config


def _submit(world, dbs, w, step=2, answer="168", correction="28 × 6 = 168"):
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(step, "28 × 6 is 168, not 158.", correction, answer))
        state = jobs.run_job(job.id)
    return sub, job, state


def _grades(dbs, sub_id):
    dbs.expire_all()
    return {g.component: g for g in dbs.exec(select(Grade).where(Grade.submission_id == sub_id))}


def test_model_grades_with_provenance(world, dbs, openai_server, make_client):
    w = world.classroom()
    openai_server.script([good_reply(explanation_score=0.9, correction_verdict="correct", correction_score=1.0,
                                     feedback="You found the slip in step 2.")])
    sub, job, state = _submit(world, dbs, w)
    assert state == "done"
    g = _grades(dbs, sub.id)
    assert g["explanation"].score == 0.9 and g["explanation"].decided_by == "model"
    assert g["explanation"].feedback == "You found the slip in step 2."
    assert g["explanation"].model_name == "test-grader" and g["explanation"].prompt_version
    assert g["explanation"].tokens_in > 0 and g["explanation"].tokens_out > 0
    assert g["explanation"].latency_ms is not None and "explanation_verdict" in g["explanation"].raw_reply
    assert g["correction"].score == 1.0
    assert g["location"].decided_by == "exact" and g["final_answer"].decided_by == "exact"
    # The student's text reached the model, the key too.
    text = openai_server.chat_requests[0].text
    assert "28 × 6 is 168" in text or "28 \\u00d7 6 is 168" in text
    page = make_client(w["teacher"]).get(f"/teach/submissions/{sub.id}").get_data(as_text=True)
    assert "test-grader" in page and "Model provenance" in page


def test_same_version_is_not_paid_for_twice(world, dbs, openai_server):
    w = world.classroom()
    sub, job, _ = _submit(world, dbs, w)
    assert len(openai_server.chat_requests) == 1
    # Grade the same version again (e.g. after grades were lost): served from the stored reply.
    for g in _grades(dbs, sub.id).values():
        dbs.delete(g)
    dbs.get(GradingJob, job.id).state = "queued"
    dbs.commit()
    with world.app.app_context():
        assert jobs.run_job(job.id) == "done"
    assert len(openai_server.chat_requests) == 1
    assert len(dbs.exec(select(ModelGradeCache)).all()) == 1
    assert _grades(dbs, sub.id)["explanation"].decided_by == "model"


def test_model_contradicting_the_exact_step_is_corrected_and_flagged(world, dbs, openai_server):
    w = world.classroom()
    openai_server.script([good_reply(location_correct=True)])
    sub, _job, _ = _submit(world, dbs, w, step=3)  # the key says step 2
    g = _grades(dbs, sub.id)
    assert g["location"].score == 0.0
    assert "contradicted_exact_location" in g["explanation"].flags


def test_endpoint_failure_fails_the_job_visibly_and_retry_works(world, dbs, openai_server, make_client):
    w = world.classroom()
    openai_server.script([Status(500), Status(500)])
    sub, job, state = _submit(world, dbs, w)
    assert state == "failed"
    dbs.expire_all()
    failed = dbs.get(GradingJob, job.id)
    assert "500" in failed.last_error
    assert _grades(dbs, sub.id) == {}  # no made-up score
    assert dbs.get(type(sub), sub.id) is not None  # the submission is kept
    tc = make_client(w["teacher"])
    page = tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert "1 failed" in page and "Retry" in page
    # The endpoint recovers; the instructor retries from the dashboard.
    resp = tc.post(f"/teach/jobs/{job.id}/retry")
    assert resp.status_code == 302
    dbs.expire_all()
    assert dbs.get(GradingJob, job.id).state == "done"
    assert _grades(dbs, sub.id)["explanation"].decided_by == "model"
    sc = make_client(w["alice"])
    assert sc.get(f"/learn/submissions/{sub.id}").status_code == 200


def test_malformed_reply_twice_fails_without_a_score(world, dbs, openai_server):
    w = world.classroom()
    openai_server.script(["not json at all", '{"location_correct": "maybe"}'])
    sub, job, state = _submit(world, dbs, w)
    assert state == "failed"
    dbs.expire_all()
    assert dbs.get(GradingJob, job.id).last_error
    assert _grades(dbs, sub.id) == {}


def test_a_second_run_of_the_same_version_uses_the_reply_stored_first(world, dbs, openai_server):
    """Two workers can grade one version at once when a lease lapses under load: the run that stores
    its reply second takes the first one instead of failing on the cache's unique key."""
    from sqlmodel import Session

    from classroom.grading.model_grading import PROMPT_VERSION

    w = world.classroom()
    engine = world.app.extensions["db_engine"]

    def other_worker_stores_first(req):
        with Session(engine) as other:  # the other worker's reply lands while this one waits for the model
            sub_id = other.exec(select(GradingJob.submission_id)).one()
            other.add(ModelGradeCache(submission_id=sub_id, model_name="test-grader", prompt_version=PROMPT_VERSION,
                                      reply=_stored_reply(explanation_score=0.25)))
            other.commit()
        return good_reply(explanation_score=0.9)

    openai_server.responder = other_worker_stores_first
    sub, job, state = _submit(world, dbs, w)
    assert state == "done", dbs.get(GradingJob, job.id).last_error
    assert _grades(dbs, sub.id)["explanation"].score == 0.25  # the first stored reply counts, for both runs
    assert len(dbs.exec(select(ModelGradeCache)).all()) == 1


def _stored_reply(**overrides) -> dict:
    """A cache row as the grader stores it: a good reply's verdict with its provenance."""
    import dataclasses

    from classroom.grading import ModelVerdict
    return dataclasses.asdict(ModelVerdict(**good_reply(**overrides), model_name="test-grader",
                                           prompt_version="stored-first"))
