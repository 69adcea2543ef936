"""One rule for numbers and true words for states, on the teacher's and the student's pages and in the CSV.

Points: whole numbers plain, anything with a fraction to two decimals (services/scoring.format_points).
States: queued, being graded, waiting for review (n), graded (services/scoring.grading_state).
"""
import csv
import io
import re

import pytest
from sqlmodel import select

from classroom.models import Grade, GradingJob, Submission
from classroom.services import submissions
from classroom.services.scoring import GradingState, SubmissionScore, format_percent, format_points, grading_state
from classroom.services.submissions import CritiqueDraft


@pytest.mark.parametrize("value, text", [
    (25, "25"), (25.0, "25"), (100.0, "100"), (0.0, "0"), (-0.0, "0"), (11.25, "11.25"), (92.5, "92.50"),
    (36.25, "36.25"), (100 / 3, "33.33"), (200 / 3, "66.67"), (24.999999, "25"), (0.005, "0.01"), (None, "—"),
    # Halves go up, as on paper (Python's round() would give 9.62 and 5.12).
    (9.625, "9.63"), (10 * 0.9625, "9.63"), (10 * 0.5125, "5.13"), (2.675, "2.68"),
])
def test_points_have_two_decimals_only_where_a_fraction_exists(value, text):
    assert format_points(value) == text


def test_percentages_follow_the_same_rule():
    assert [format_percent(v) for v in (1.0, 0.0, 0.5, 0.375, None)] == ["100%", "0%", "50%", "37.50%", "—"]


def test_grading_state_says_what_is_true():
    undecided = SubmissionScore(0.3, 7.5, 25, pending=["explanation", "correction"], graded=True)
    complete = SubmissionScore(1.0, 25, 25, pending=[], graded=True)
    not_yet = SubmissionScore(0.0, 0.0, 25, pending=["grading"], graded=False)
    assert grading_state("queued", not_yet) == GradingState("queued")
    assert grading_state("running", not_yet).label == "Being graded"
    assert grading_state("failed", not_yet).label == "Grading failed"
    assert grading_state("done", undecided).label == "Waiting for review (2)"
    assert grading_state("done", complete).label == "Graded"


def _submit(world, dbs, assignment, problem, student, *, step=2, answer="168", correction="Multiply: 168."):
    from classroom import jobs
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, assignment.id, problem.id,
                                      CritiqueDraft(step, "It multiplies wrong: $28 \\times 6 = 168$.",
                                                    correction, answer))
        jobs.run_job(job.id)
    return sub


def _grade(dbs, sub_id, component) -> Grade:
    dbs.expire_all()
    return dbs.exec(select(Grade).where(Grade.submission_id == sub_id, Grade.component == component)).one()


def _text(html: str) -> str:
    """The page's words without tags and with runs of white space as one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_quarter_points_read_the_same_on_every_page_and_in_the_csv(make_client, world, dbs):
    """100 points over 4 problems = 25 each; step and answer right, explanation and correction waiting
    = 45% of 25 = 11.25. The grid once said 11.2 / 25.0 while the gradebook said 11.25."""
    teacher = world.instructor()
    course = world.course(teacher)
    probs = [world.problem(teacher, course, title=f"Problem {i}") for i in range(4)]
    assignment = world.assignment(teacher, course, probs)
    alice = world.student(course, name="Alice Adams")
    sub = _submit(world, dbs, assignment, probs[0], alice)

    tc = make_client(teacher)
    grid = _text(tc.get(f"/teach/assignments/{assignment.id}").get_data(as_text=True))
    assert "11.25 / 25" in grid and "11.2 /" not in grid and "25.0" not in grid
    assert "Waiting for review (2)" in grid
    page = _text(tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True))
    assert "11.25 / 25 points" in page
    book = _text(tc.get(f"/teach/courses/{course.code}/gradebook").get_data(as_text=True))
    assert " 11.25 " in book and "11.250" not in book
    rows = list(csv.reader(io.StringIO(tc.get(f"/teach/courses/{course.code}/gradebook.csv").get_data(as_text=True))))
    assert rows[1][2:4] == ["11.25", "11.25"]

    tc.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release", "confirm": "yes"})
    sc = make_client(alice)
    mine = _text(sc.get(f"/learn/assignments/{assignment.id}").get_data(as_text=True))
    assert "11.25 / 25" in mine and "Waiting for review (2)" in mine
    result = _text(sc.get(f"/learn/submissions/{sub.id}").get_data(as_text=True))
    assert "11.25 / 25 points" in result


def test_a_half_point_has_two_decimals_everywhere(make_client, world, dbs):
    """30 + 40 + 15 + 15 × 50% = 92.5 of 100: written 92.50 / 100 on every page and 92.50 in the CSV."""
    w = world.classroom()
    sub = _submit(world, dbs, w["assignment"], w["problem"], w["alice"])
    tc = make_client(w["teacher"])
    tc.post(f"/teach/grades/{_grade(dbs, sub.id, 'explanation').id}/score", data={"score": "100"})
    tc.post(f"/teach/grades/{_grade(dbs, sub.id, 'correction').id}/score", data={"score": "50"})
    tc.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "release", "confirm": "yes"})
    pages = [tc.get(f"/teach/assignments/{w['assignment'].id}"), tc.get(f"/teach/submissions/{sub.id}"),
             make_client(w["alice"]).get(f"/learn/assignments/{w['assignment'].id}"),
             make_client(w["alice"]).get(f"/learn/submissions/{sub.id}")]
    for resp in pages:
        text = _text(resp.get_data(as_text=True))
        assert "92.50 / 100" in text, resp.request.path
        assert "92.5 /" not in text and "100.00" not in text and "100.0 " not in text, resp.request.path
    assert "92.50" in _text(tc.get(f"/teach/courses/{w['course'].code}/gradebook").get_data(as_text=True))
    rows = list(csv.reader(io.StringIO(tc.get(f"/teach/courses/{w['course'].code}/gradebook.csv")
                                       .get_data(as_text=True))))
    alice = next(r for r in rows if r[1] == w["alice"].email)
    assert alice[2:4] == ["92.50", "92.50"]
    canvas = tc.get(f"/teach/courses/{w['course'].code}/gradebook.csv?format=canvas").get_data(as_text=True)
    assert ",92.50" in canvas


def test_states_on_the_teachers_submission_page_follow_the_review(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w["assignment"], w["problem"], w["alice"])
    tc = make_client(w["teacher"])
    page = _text(tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True))
    assert "Waiting for review (2)" in page and " Graded " not in page
    tc.post(f"/teach/grades/{_grade(dbs, sub.id, 'explanation').id}/score", data={"score": "100"})
    page = _text(tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True))
    assert "Waiting for review (1)" in page
    tc.post(f"/teach/grades/{_grade(dbs, sub.id, 'correction').id}/score", data={"score": "100"})
    page = tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True)
    assert 'data-grading-state="graded">Graded<' in page and "Waiting for review (" not in page


@pytest.mark.real_queue  # submit() queues the job; no worker runs it here
def test_queued_and_running_jobs_show_as_such_on_both_sides(make_client, world, dbs):
    w = world.classroom()
    with world.app.app_context():  # saved, but no worker has run it yet
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, "It multiplies wrong.", "", "168"))
    tc, sc = make_client(w["teacher"]), make_client(w["alice"])
    for client, url in ((tc, f"/teach/submissions/{sub.id}"), (tc, f"/teach/assignments/{w['assignment'].id}"),
                        (sc, f"/learn/submissions/{sub.id}"), (sc, f"/learn/assignments/{w['assignment'].id}")):
        assert 'data-grading-state="queued">Queued for grading<' in client.get(url).get_data(as_text=True), url
    dbs.get(GradingJob, job.id).state = "running"
    dbs.commit()
    for client, url in ((tc, f"/teach/submissions/{sub.id}"), (sc, f"/learn/submissions/{sub.id}")):
        assert 'data-grading-state="grading">Being graded<' in client.get(url).get_data(as_text=True), url


def test_no_waiting_note_after_the_instructor_scored(make_client, world, dbs):
    """The student once read "Explanation: 100% (instructor)" and under it "Waiting for your instructor's review"."""
    w = world.classroom()
    sub = _submit(world, dbs, w["assignment"], w["problem"], w["alice"])
    tc = make_client(w["teacher"])
    # The review queue speaks to the instructor, not to the student.
    queue = tc.get(f"/teach/courses/{w['course'].code}/review").get_data(as_text=True)
    assert "Waiting for your instructor" not in queue
    tc.post(f"/teach/grades/{_grade(dbs, sub.id, 'explanation').id}/score", data={"score": "100"})
    tc.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "release", "confirm": "yes"})
    page = make_client(w["alice"]).get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    explanation = page[page.index("Explanation:"):page.index("Written correction:")]
    assert "100% <span class=\"small muted\">(instructor)</span>" in explanation
    assert "Waiting" not in explanation
    # The correction still waits, and says so once.
    correction = page[page.index("Written correction:"):]
    assert correction.count("Waiting for your instructor's review") == 1
    teacher_page = tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True)
    assert "Waiting for your instructor" not in teacher_page
    api = make_client(w["alice"])
    body = api.get(f"/learn/submissions/{sub.id}/state.json").get_json()
    assert body == {"state": "done", "released": True}


def test_key_reason_and_override_comments_are_rendered_as_markdown_with_math(make_client, world, dbs):
    w = world.classroom()
    problem = world.problem(w["teacher"], w["course"], title="Triangle", reference_answer="30",
                            reason=r"The area is $\frac{1}{2} b h$, **not** $b h$.")
    assignment = world.assignment(w["teacher"], w["course"], [problem], title="Areas")
    sub = _submit(world, dbs, assignment, problem, w["alice"], answer="30")
    tc = make_client(w["teacher"])
    rendered_key = r'<span class="math inline">\frac{1}{2} b h</span>, <strong>not</strong>'
    assert rendered_key in tc.get(f"/teach/courses/{w['course'].code}/review").get_data(as_text=True)
    assert rendered_key in tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True)

    comment = "Good, but write the unit: $30\\,\\text{cm}^2$.\n\n- area *halves*"
    tc.post(f"/teach/grades/{_grade(dbs, sub.id, 'correction').id}/score", data={"score": "80", "comment": comment})
    rendered_comment = '<span class="math inline">30\\,\\text{cm}^2</span>'
    page = tc.get(f"/teach/submissions/{sub.id}").get_data(as_text=True)
    assert rendered_comment in page and "<em>halves</em>" in page
    tc.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release", "confirm": "yes"})
    page = make_client(w["alice"]).get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert rendered_comment in page and "<li>area <em>halves</em></li>" in page
    assert "$30" not in page


def test_review_card_for_a_correction_shows_the_reference_answer(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w["assignment"], w["problem"], w["alice"], answer="170")
    page = make_client(w["teacher"]).get(f"/teach/courses/{w['course'].code}/review").get_data(as_text=True)
    # The correction's section names the reference answer above its critiques; the critique its final answer.
    section = page[page.index(f'id="a{w["assignment"].id}-p{w["problem"].id}-correction"'):]
    assert re.search(r"Reference answer:</strong> 168", section)
    card = page[page.index(f'id="grade-{_grade(dbs, sub.id, "correction").id}"'):]
    assert re.search(r"Final answer:</strong> 170", card)
    explanation_section = page[page.index(f'id="a{w["assignment"].id}-p{w["problem"].id}-explanation"'):
                               page.index(f'id="a{w["assignment"].id}-p{w["problem"].id}-correction"')]
    assert "Reference answer" not in explanation_section


def test_grid_state_counts_only_the_latest_version(make_client, world, dbs):
    w = world.classroom()
    first = _submit(world, dbs, w["assignment"], w["problem"], w["alice"])
    tc = make_client(w["teacher"])
    for comp in ("explanation", "correction"):
        tc.post(f"/teach/grades/{_grade(dbs, first.id, comp).id}/score", data={"score": "100"})
    assert "Waiting for review" not in tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    _submit(world, dbs, w["assignment"], w["problem"], w["alice"])  # a second version waits again
    grid = tc.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert "Waiting for review (2)" in grid and "v2: step 2" in grid
    assert dbs.exec(select(Submission).where(Submission.student_id == w["alice"].id)).all()[-1].version == 2
