"""Grader agreement: the model's decisions beside the instructor's, on sets whose kappa is worked out by hand."""
import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import Grade
from classroom.services import accounts, agreement, reviews, submissions
from classroom.services.agreement import Pair
from classroom.services.submissions import CritiqueDraft
from tests.grading.helpers import good_reply


def _pairs(scores, component="explanation"):
    return [Pair(i, 1, i, component, "arithmetic", m, t) for i, (m, t) in enumerate(scores)]


# Model against instructor: 4 both correct, 3 both incorrect, 2 model-only correct, 1 instructor-only correct.
# Observed agreement 7/10; the model says correct 6/10, the instructor 5/10, so chance agreement is
# 0.6 * 0.5 + 0.4 * 0.5 = 0.5 and kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4. Mean |difference| = 3/10.
KNOWN = [(1.0, 1.0)] * 4 + [(0.0, 0.0)] * 3 + [(1.0, 0.0)] * 2 + [(0.0, 1.0)]


def test_figures_on_a_set_with_known_kappa():
    f = agreement.figures(_pairs(KNOWN))
    assert (f.pairs, f.agreement, f.kappa, f.mean_abs_diff) == (10, 0.7, 0.4, 0.3)
    assert f.confusion["correct"] == {"correct": 4, "partially_correct": 0, "incorrect": 2}
    assert f.confusion["incorrect"] == {"correct": 1, "partially_correct": 0, "incorrect": 3}


def test_partial_credit_is_its_own_level():
    # One more pair, both partially correct (0.5 and 0.75): 8/11 agree; chance = (6*5 + 4*5 + 1*1) / 121 = 51/121,
    # kappa = (88/121 - 51/121) / (70/121) = 37/70. Mean |difference| = (3 + 0.25) / 11.
    f = agreement.figures(_pairs(KNOWN + [(0.5, 0.75)]))
    assert f.pairs == 11 and f.agreement == round(8 / 11, 4)
    assert f.kappa == pytest.approx(37 / 70, abs=1e-4)
    assert f.mean_abs_diff == round(3.25 / 11, 4)
    assert f.confusion["partially_correct"]["partially_correct"] == 1


def test_no_pairs_and_undefined_kappa():
    empty = agreement.figures([])
    assert (empty.pairs, empty.agreement, empty.kappa, empty.mean_abs_diff) == (0, None, None, None)
    # Both sides always "correct": they agree every time, but chance agreement is 1 too, so kappa is undefined.
    same = agreement.figures(_pairs([(1.0, 1.0)] * 3))
    assert same.agreement == 1.0 and same.kappa is None
    assert [agreement.level(x) for x in (0.0, 0.3, 1.0)] == ["incorrect", "partially_correct", "correct"]


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update({"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": openai_server.base_url,
                       "OPENAI_API_KEY": "k", "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 1})
    return app_config


def _grade(dbs, sub_id, component):
    dbs.expire_all()
    return dbs.exec(select(Grade).where(Grade.submission_id == sub_id, Grade.component == component)).one()


def _submit(world, dbs, w, student, text):
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, text, "28 × 6 = 168", "168"))
        assert jobs.run_job(job.id) == "done"
    return sub


def test_report_pairs_model_grades_with_overrides_on_counting_versions(world, dbs, openai_server, make_client):
    """The grader model (the loopback server) scores ten explanations; the instructor overrides each one,
    reproducing the set above. An eleventh student's disagreement is on a version that no longer counts."""
    w = world.classroom()
    pairs = [(1.0, 1.0)] * 4 + [(0.0, 0.0)] * 3 + [(1.0, 0.0)] * 2 + [(0.0, 1.0)]
    students = [world.student(w["course"], name=f"Student {i}") for i in range(len(pairs) + 1)]
    subs = []
    for i, (model, _teacher) in enumerate(pairs):
        openai_server.script([good_reply(explanation_score=model,
                                         explanation_verdict="correct" if model else "incorrect",
                                         correction_verdict="correct", correction_score=1.0)])
        subs.append(_submit(world, dbs, w, students[i], f"Explanation number {i}."))
    with world.app.app_context():
        for sub, (_model, teacher) in zip(subs, pairs):
            reviews.set_score(dbs, w["teacher"], _grade(dbs, sub.id, "explanation").id, teacher, "checked")
        # One correction override, where the instructor agrees with the model.
        reviews.set_score(dbs, w["teacher"], _grade(dbs, subs[0].id, "correction").id, 1.0)
    # The eleventh: overridden on version 1, then a version 2 that nobody has checked yet.
    last = students[-1]
    openai_server.script([good_reply(explanation_score=1.0)])
    old = _submit(world, dbs, w, last, "First try.")
    with world.app.app_context():
        reviews.set_score(dbs, w["teacher"], _grade(dbs, old.id, "explanation").id, 0.0)
    openai_server.script([good_reply(explanation_score=1.0)])
    _submit(world, dbs, w, last, "Second try.")

    with world.app.app_context():
        token = accounts.create_token(dbs, w["teacher"].email)
    resp = make_client().get(f"/api/v1/assignments/{w['assignment'].id}/agreement",
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) >= {"components", "problems", "disagreements"}
    explanation = body["components"]["explanation"]
    assert set(explanation) == {"pairs", "agreement", "kappa", "mean_abs_diff", "confusion"}
    assert (explanation["pairs"], explanation["agreement"], explanation["kappa"], explanation["mean_abs_diff"]) \
        == (10, 0.7, 0.4, 0.3)
    assert explanation["confusion"]["correct"]["incorrect"] == 2
    correction = body["components"]["correction"]
    assert (correction["pairs"], correction["agreement"], correction["kappa"]) == (1, 1.0, None)
    assert body["problems"][0]["problem_id"] == w["problem"].id
    assert body["problems"][0]["components"]["explanation"]["kappa"] == 0.4
    assert body["error_kinds"][0]["error_kind"] == "arithmetic"
    assert sorted((d["submission_id"], d["model_score"], d["instructor_score"]) for d in body["disagreements"]) == \
        sorted((s.id, m, t) for s, (m, t) in zip(subs, pairs) if m != t)
    assert old.id not in {d["submission_id"] for d in body["disagreements"]}
    assert all(set(d) == {"submission_id", "component", "model_score", "instructor_score"}
               for d in body["disagreements"])

    page = make_client(w["teacher"]).get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert "Grader model and you" in page and "0.40" in page and "Disagreements (3)" in page
    assert f"/teach/submissions/{subs[7].id}" in page


def test_agreement_is_for_the_course_instructors_only(world, dbs, make_client):
    w = world.classroom()
    outsider = world.instructor()
    with world.app.app_context():
        tokens = {who: accounts.create_token(dbs, u.email)
                  for who, u in (("student", w["alice"]), ("outsider", outsider))}
    url = f"/api/v1/assignments/{w['assignment'].id}/agreement"
    c = make_client()
    assert c.get(url, headers={"Authorization": f"Bearer {tokens['student']}"}).status_code == 403
    assert c.get(url, headers={"Authorization": f"Bearer {tokens['outsider']}"}).status_code == 404
    assert c.get(url).status_code == 401
