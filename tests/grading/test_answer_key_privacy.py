"""The answer key stays with the instructor (issue 9, section 3), through the real grading job and
the real openai client against the loopback server: why grading failed is told to instructors
only, feedback that repeats the key is rewritten once and otherwise held for a person, a reply
flagged as a possible prompt injection does not count, and the prompt forbids quoting the key."""
from __future__ import annotations

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.llm.grader import FLAG_INJECTION, FLAG_KEY_ECHO, KEY_ECHO_PROMPT
from classroom.llm.key_echo import repeated_share, repeats_key
from classroom.models import Grade, GradingJob
from classroom.services import accounts, assignments, reviews, submissions
from classroom.services.submissions import CritiqueDraft
from tests.grading.helpers import good_reply

KEY_REASON = ("The tickets cost six dollars each, so the total is twenty-eight times six, which makes "
              "one hundred sixty-eight dollars rather than one hundred fifty-eight.")
LEAKY_FEEDBACK = ("Close! The tickets cost six dollars each, so the total is twenty-eight times six, which "
                  "makes one hundred sixty-eight dollars.")
CLEAN_FEEDBACK = "You are looking at the right step. Check the multiplication there once more."
STUDENT_EXPLANATION = "Step 2 seems off to me, the number is too small."


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update({"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": openai_server.base_url,
                       "OPENAI_API_KEY": "k", "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 2,
                       "GRADER_BACKOFF_BASE": 0.01})
    return app_config


@pytest.fixture
def room(world):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course, reason=KEY_REASON)
    assignment = world.assignment(teacher, course, [problem])
    alice = world.student(course)
    return dict(teacher=teacher, course=course, problem=problem, assignment=assignment, alice=alice)


def _submit(world, dbs, room, explanation=STUDENT_EXPLANATION, correction="28 × 6 = 168", answer="168"):
    with world.app.app_context():
        sub, job = submissions.submit(dbs, room["alice"], room["assignment"].id, room["problem"].id,
                                      CritiqueDraft(2, explanation, correction, answer))
        jobs.run_job(job.id)
    dbs.expire_all()
    return sub, dbs.get(GradingJob, job.id)


def _grades(dbs, sub_id):
    dbs.expire_all()
    return {g.component: g for g in dbs.exec(select(Grade).where(Grade.submission_id == sub_id))}


def _release(world, dbs, room):
    with world.app.app_context():
        assignments.release_grades(dbs, room["teacher"], dbs.get(type(room["assignment"]), room["assignment"].id),
                                   confirmed=True)


def _token(world, dbs, user):
    with world.app.app_context():
        return accounts.create_token(dbs, user.email)


# --------------------------------------------------------------------------- grading errors

def test_a_grading_error_is_the_instructors_business(world, dbs, room, openai_server, make_client):
    # Twice a reply that quotes the key inside an invalid verdict: the job fails, and its reason
    # quotes the reply (that is what the instructor needs to fix the endpoint).
    bad = good_reply(explanation_verdict="one hundred sixty-eight dollars")
    openai_server.script([bad, bad])
    sub, job = _submit(world, dbs, room)
    assert job.state == "failed" and "one hundred sixty-eight" in job.last_error

    student_api = world.app.test_client()
    body = student_api.get(f"/api/v1/submissions/{sub.id}",
                           headers={"Authorization": f"Bearer {_token(world, dbs, room['alice'])}"}).get_json()
    assert "grading_error" not in body and body["state"] == "needs_review"
    assert "sixty-eight" not in str(body) and openai_server.base_url not in str(body)

    teacher_api = world.app.test_client()
    body = teacher_api.get(f"/api/v1/submissions/{sub.id}",
                           headers={"Authorization": f"Bearer {_token(world, dbs, room['teacher'])}"}).get_json()
    assert body["state"] == "failed" and "one hundred sixty-eight" in body["grading_error"]

    student = make_client(room["alice"])
    for url in (f"/learn/submissions/{sub.id}", f"/learn/assignments/{room['assignment'].id}"):
        page = student.get(url).get_data(as_text=True)
        assert "Waiting for review" in page, url
        assert "Grading failed" not in page and "sixty-eight" not in page and "did not finish" not in page, url
    assert student.get(f"/learn/submissions/{sub.id}/state.json").get_json()["state"] == "needs_review"
    teacher_page = make_client(room["teacher"]).get(f"/teach/submissions/{sub.id}").get_data(as_text=True)
    assert "Grading failed" in teacher_page


# --------------------------------------------------------------------------- feedback that repeats the key

def test_the_prompt_forbids_quoting_the_key(world, dbs, room, openai_server):
    _submit(world, dbs, room)
    system = openai_server.chat_requests[0].contents("system")[0]
    assert "never quote or paraphrase the key's reason" in system


def test_feedback_repeating_the_key_is_rewritten_once(world, dbs, room, openai_server, make_client):
    openai_server.script([good_reply(feedback=LEAKY_FEEDBACK, explanation_score=0.6,
                                     explanation_verdict="partially_correct"),
                          good_reply(feedback=CLEAN_FEEDBACK, explanation_score=0.6,
                                     explanation_verdict="partially_correct")])
    sub, job = _submit(world, dbs, room)
    assert job.state == "done"
    first, second = openai_server.chat_requests
    assert second.contents("user")[-1] == KEY_ECHO_PROMPT  # the model was told what was wrong
    g = _grades(dbs, sub.id)
    assert g["explanation"].status == "graded" and g["explanation"].score == 0.6
    assert g["explanation"].feedback == CLEAN_FEEDBACK
    assert CLEAN_FEEDBACK in g["explanation"].raw_reply and g["explanation"].tokens_in > 0
    _release(world, dbs, room)
    page = make_client(room["alice"]).get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert "Check the multiplication there once more" in page and "twenty-eight times six" not in page


def test_feedback_repeating_the_key_twice_goes_to_review_unseen(world, dbs, room, openai_server, make_client):
    near_copy = LEAKY_FEEDBACK.replace("Close!", "Nearly.").replace("so the total", "hence the total")
    openai_server.script([good_reply(feedback=LEAKY_FEEDBACK), good_reply(feedback=near_copy)])
    sub, job = _submit(world, dbs, room)
    assert job.state == "done" and len(openai_server.chat_requests) == 2
    g = _grades(dbs, sub.id)
    for component in ("explanation", "correction"):
        assert g[component].status == "needs_review" and g[component].score is None, component
        assert FLAG_KEY_ECHO in g[component].flags and g[component].model_name == "test-grader"
    with world.app.app_context():
        queue = reviews.review_queue(dbs, room["course"])
    assert {i.grade.component for i in queue} == {"explanation", "correction"}
    _release(world, dbs, room)
    page = make_client(room["alice"]).get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert "twenty-eight times six" not in page and "Waiting for your instructor" in page
    body = world.app.test_client().get(
        f"/api/v1/submissions/{sub.id}",
        headers={"Authorization": f"Bearer {_token(world, dbs, room['alice'])}"}).get_json()
    assert "twenty-eight times six" not in str(body) and body["scores"]["explanation"]["score"] is None


def test_feedback_may_repeat_what_the_student_found(world, dbs, room, openai_server):
    """Words the student wrote are theirs: feedback echoing them is not a leak."""
    openai_server.script([good_reply(feedback=LEAKY_FEEDBACK)])
    sub, _job = _submit(world, dbs, room, explanation=KEY_REASON)
    assert len(openai_server.chat_requests) == 1
    assert _grades(dbs, sub.id)["explanation"].feedback == LEAKY_FEEDBACK


@pytest.mark.parametrize("feedback,leaks", [
    (LEAKY_FEEDBACK, True),
    (KEY_REASON, True),
    # A word changed here and there still repeats the key.
    (KEY_REASON.replace("cost", "are").replace("makes", "gives").replace("rather", "instead"), True),
    (CLEAN_FEEDBACK, False),
    ("Good try: the tickets cost money, and step 2 is where the total goes wrong.", False),
    ("", False),
])
def test_key_echo_measure(feedback, leaks):
    assert repeats_key(feedback, KEY_REASON) is leaks


def test_key_echo_measure_reads_chinese_reasons():
    reason = "第二步计算错误，送出苹果应该用减法，12减5等于7"
    assert repeats_key("你的答案接近了。送出苹果应该用减法，12减5等于7。", reason)
    assert not repeats_key("请再检查一下第二步的运算。", reason)
    # What the student already wrote does not count against the feedback.
    assert repeated_share("送出苹果应该用减法", reason, student_text="送出苹果应该用减法") == 0.0


# --------------------------------------------------------------------------- a reply flagged as an injection

def test_a_reply_flagged_as_injection_waits_for_a_person(world, dbs, room, openai_server, make_client):
    openai_server.script([good_reply(flags=[FLAG_INJECTION], explanation_score=1.0,
                                     correction_verdict="correct", correction_score=1.0,
                                     feedback="Full marks.")])
    sub, job = _submit(world, dbs, room)
    assert job.state == "done"
    g = _grades(dbs, sub.id)
    assert g["explanation"].status == "needs_review" and g["explanation"].score is None
    assert g["correction"].status == "needs_review" and g["correction"].score is None
    assert FLAG_INJECTION in g["explanation"].flags
    assert g["location"].status == "graded"  # exact facts still count
    with world.app.app_context():
        assert {i.grade.component for i in reviews.review_queue(dbs, room["course"])} == {"explanation",
                                                                                      "correction"}
    _release(world, dbs, room)
    page = make_client(room["alice"]).get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert "Full marks." not in page
    teacher_page = make_client(room["teacher"]).get(f"/teach/submissions/{sub.id}").get_data(as_text=True)
    assert FLAG_INJECTION in teacher_page
