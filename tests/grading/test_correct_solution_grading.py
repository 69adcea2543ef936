"""A correct solution graded by the grader model (the loopback server): the prompt says the solution is
correct and whether the student said so; no correction grade is kept; the exact location still wins."""
import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import Grade
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft
from tests.grading.helpers import good_reply

RIGHT = dict(title="Right tickets", steps=["Multiply $28 \\times 6$.", "That is $168$.", "So 168 dollars."],
             flawed_final_answer="168", first_wrong_step=None, correct=True,
             reason="Every product is right: $28 \\times 6 = 168$.")


def _grades(dbs, sub_id) -> dict:
    dbs.expire_all()
    return {g.component: g for g in dbs.exec(select(Grade).where(Grade.submission_id == sub_id))}


def _submit(world, dbs, student, assignment, problem, step, explanation, correction="", answer=""):
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, assignment.id, problem.id,
                                      CritiqueDraft(step, explanation, correction, answer))
        jobs.run_job(job.id)
    return sub


@pytest.fixture
def app_config(app_config, openai_server):
    app_config.update({"GRADER_MODEL": "test-grader", "OPENAI_BASE_URL": openai_server.base_url,
                       "OPENAI_API_KEY": "k", "GRADER_TIMEOUT": 2.0, "GRADER_MAX_ATTEMPTS": 2,
                       "GRADER_BACKOFF_BASE": 0.01})
    return app_config


def test_grader_model_judges_a_correct_solution(world, dbs, openai_server):
    teacher = world.instructor()
    course = world.course(teacher)
    right = world.problem(teacher, course, **RIGHT)
    assignment = world.assignment(teacher, course, [right])
    alice = world.student(course)
    # The model says a correction was written and scores it: a correct solution keeps no correction grade.
    openai_server.script([good_reply(explanation_score=0.9, correction_verdict="correct", correction_score=1.0,
                                     feedback="Your check of each product is sound.")])
    sub = _submit(world, dbs, alice, assignment, right, None, "Each product checks out.", "", "168")
    g = _grades(dbs, sub.id)
    assert set(g) == {"location", "explanation"}
    assert g["explanation"].score == 0.9 and g["explanation"].decided_by == "model"
    assert not g["explanation"].flags  # nothing contradicted an exact fact
    sent = openai_server.chat_requests[0].text
    assert '"solution_is_correct": true' in sent and '"student_said_no_step_is_wrong": true' in sent
    assert "why_it_is_right" in sent and "why_it_is_wrong" not in sent.split("Instructor's materials")[1]


def test_grader_model_cannot_credit_a_false_alarm_location(world, dbs, openai_server):
    teacher = world.instructor()
    course = world.course(teacher)
    right = world.problem(teacher, course, **RIGHT)
    assignment = world.assignment(teacher, course, [right])
    alice = world.student(course)
    openai_server.script([good_reply(location_correct=True, explanation_verdict="incorrect",
                                     explanation_score=0.0, feedback="Check step 2 again: is it wrong?")])
    sub = _submit(world, dbs, alice, assignment, right, 2, "Step 2 is wrong.")
    g = _grades(dbs, sub.id)
    assert g["location"].score == 0.0
    assert "contradicted_exact_location" in g["explanation"].flags
    assert '"marked_step_is_key_step": false' in openai_server.chat_requests[0].text


def test_grader_model_is_told_the_solution_is_a_program(world, dbs, openai_server):
    teacher = world.instructor()
    course = world.course(teacher)
    program = world.problem(teacher, course, title="Votes", solution_format="python", first_wrong_step=3,
                            steps=["votes = 120", "", "yes = votes * 3 // 5 + 1", "print(yes)"],
                            flawed_final_answer="73", reason="3/5 of 120 is 72; the + 1 is invented.")
    assignment = world.assignment(teacher, course, [program])
    alice = world.student(course)
    openai_server.script([good_reply()])
    _submit(world, dbs, alice, assignment, program, 3, "Line 3 adds one vote for nothing.",
            "yes = votes * 3 // 5\nprint(yes)", "72")
    sent = openai_server.chat_requests[0]
    assert '"solution_format": "python"' in sent.text
    assert '"2": ""' in sent.text and '"3": "yes = votes * 3 // 5 + 1"' in sent.text  # the blank line is step 2
    assert "each step is one line of the" in sent.contents("system")[0]
