"""What the class missed: item analysis, progress and their downloads, on a class where every figure is
known by hand, on SQLite and PostgreSQL.

The class: five students (A-E), three problems worth the same. P1 is flawed (key: step 2, arithmetic),
P2 is flawed (key: step 1, missed case), P3 is correct ("no step is wrong"). Every answer is either
wholly right (full credit on every component) or wholly wrong (0 on every component), so each
problem's score is 1 or 0:

        P1  P2  P3
    A    1   1   1      A first sent a wrong P1, then resubmitted: only the latest version counts.
    B    1   0   1
    C    1   1   0      C and E mark a step on the correct P3: false alarms.
    D    0   0   1
    E    0   1   0

Difficulty (share of full credit) is 3/5 = 0.6 for each problem. Discrimination is the point-biserial
correlation of a problem's 0/1 with the rest of the assignment (the other two problems' sum):
P1: x = 1 1 1 0 0, rest = 2 1 1 1 1: sum dx*dy = 0.4, sum dx^2 = 1.2, sum dy^2 = 0.8 -> 0.4/sqrt(0.96) = 0.4082
P2: x = 1 0 1 0 1, rest = 2 2 1 1 0: -0.6/sqrt(1.2 * 2.8) = -0.3273 (negative)
P3: x = 1 1 0 1 0, rest = 2 1 2 0 1: -0.6/sqrt(1.2 * 2.8) = -0.3273 (negative)
Scores: A 100 %, B and C 66.67 %, D and E 33.33 %.
"""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from classroom.models import Grade, utcnow
from classroom.services import accounts, assignments, item_analysis, reviews, submissions
from classroom.services.submissions import CritiqueDraft
from test_query_budget import count_queries  # noqa: F401  (the fixture)

WHOLE = {  # student -> (P1, P2, P3) full credit or not
    "A": (1, 1, 1), "B": (1, 0, 1), "C": (1, 1, 0), "D": (0, 0, 1), "E": (0, 1, 0),
}
# What each student marked and answered: (step, final answer) per problem.
MARKED = {
    "A": ((2, "168"), (1, "10"), (None, "")),
    "B": ((2, "168"), (2, "9"), (None, "")),
    "C": ((2, "168"), (1, "10"), (1, "")),
    "D": ((3, "158"), (2, "9"), (None, "")),
    "E": ((None, "158"), (1, "10"), (3, "")),
}


def _answer(world, teacher, student, assignment, problem, step, final, full: bool, now=None):
    s = world.s
    with world.app.app_context():
        sub, _job = submissions.submit(s, student, assignment.id, problem.id, CritiqueDraft(
            step, "What I found." if full else "A guess.", "Corrected." if full else "", final), now=now)
        for g in s.exec(select(Grade).where(Grade.submission_id == sub.id)):
            if g.effective_score is None:  # explanation and written correction wait for a person
                reviews.set_score(s, teacher, g.id, 1.0 if full else 0.0, "")
    return sub


@pytest.fixture
def known_class(world):
    teacher = world.instructor()
    course = world.course(teacher)
    p1 = world.problem(teacher, course, title="P1 tickets")  # key step 2, arithmetic, answer 168
    p2 = world.problem(teacher, course, title="P2 evens", statement="How many even numbers below 20?",
                       reference_solution="2, 4, ..., 18: 9", reference_answer="10",
                       steps=["They start at 2.", "2 to 18 is 9 numbers.", "So 9."], flawed_final_answer="9",
                       first_wrong_step=1, reason="0 is even too: 10 numbers.", error_kind="missed_case")
    p3 = world.problem(teacher, course, title="P3 speed", statement="150 km in 2.5 h?", reference_answer="60",
                       steps=["Speed is distance over time.", "So 150 / 2.5.", "That is 60."], flawed_final_answer="60",
                       first_wrong_step=None, correct=True, reason="All right.", error_kind="other")
    now = utcnow()
    work = world.assignment(teacher, course, [p1, p2, p3], due_in=timedelta(hours=5), points=30)
    people = {name: world.student(course, name=f"Student {name}") for name in WHOLE}
    sent = now - timedelta(minutes=30)
    # A's first try at P1 was wrong; the resubmission is what counts.
    _answer(world, teacher, people["A"], work, p1, 3, "158", False, now=sent - timedelta(hours=3))
    for name, fulls in WHOLE.items():
        for problem, (step, final), full in zip((p1, p2, p3), MARKED[name], fulls):
            _answer(world, teacher, people[name], work, problem, step, final, bool(full), now=sent)
    return dict(teacher=teacher, course=course, problems=(p1, p2, p3), assignment=work, people=people)


def test_figures_known_by_hand(known_class, dbs, app):
    p1, p2, p3 = known_class["problems"]
    with app.app_context():
        report = item_analysis.build(dbs, known_class["assignment"])
    assert report.students == 5 and report.answered_students == 5
    f1, f2, f3 = report.problems
    assert [f.submissions for f in (f1, f2, f3)] == [5, 5, 5]  # A's two versions of P1 count once
    assert f1.marked_steps == {"1": 0, "2": 3, "3": 1, "none": 1} and f1.key_step == 2
    assert f2.marked_steps == {"1": 3, "2": 2, "3": 0, "none": 0} and f2.key_step == 1
    assert f3.marked_steps == {"1": 1, "2": 0, "3": 1, "none": 3} and f3.key_step is None
    assert [f.difficulty for f in (f1, f2, f3)] == [0.6, 0.6, 0.6]
    assert f1.discrimination == pytest.approx(0.4082, abs=1e-4) and f1.discrimination_flag is None
    assert f2.discrimination == pytest.approx(-0.3273, abs=1e-4) and f2.discrimination_flag == "negative"
    assert f3.discrimination == pytest.approx(-0.3273, abs=1e-4)
    # Per component: on P1 every component is right exactly when the whole problem is.
    assert {c: (f.decided, f.difficulty) for c, f in f1.components.items()} == {
        "location": (5, 0.6), "explanation": (5, 0.6), "final_answer": (5, 0.6), "correction": (5, 0.6)}
    assert f1.components["location"].discrimination == pytest.approx(0.4082, abs=1e-4)
    assert set(f3.components) == {"location", "explanation"}  # nothing to correct on a correct solution
    assert (f1.location_correct_share, f1.explanation_correct_share, f1.answer_correct_share) == (0.6, 0.6, 0.6)
    assert f1.common_wrong_answers == [{"answer": "158", "count": 2}]
    assert f2.common_wrong_answers == [{"answer": "9", "count": 2}]
    # False alarms: only on the correct solution, C and E marked a step.
    assert (f3.false_alarms, f3.false_alarm_rate, f3.location_correct_share) == (2, 0.4, 0.6)
    assert f1.false_alarm_rate is None and f3.answer_correct_share is None
    assert report.score_histogram == [
        {"from": lo, "to": lo + 10, "count": {30: 2, 60: 2, 90: 1}.get(lo, 0)} for lo in range(0, 100, 10)]
    assert [(k.error_kind, k.answered, k.caught) for k in report.error_kinds] == [
        ("arithmetic", 5, 3), ("missed_case", 5, 3)]
    # Timeline: A's early try 3 hours before the rest; 16 versions in all, none late; all five started.
    assert sum(h.on_time for h in report.timeline) == 16 and sum(h.late for h in report.timeline) == 0
    assert report.timeline[0].on_time == 1 and report.timeline[0].started == 1
    assert report.timeline[-1].started == 5
    assert all(f.explanation_groups == [] for f in report.problems)  # only built when asked for


def test_explanation_groups_known_by_hand(known_class, dbs, app):
    """The grouped review's groups of each problem's explanations, with their sizes: the same marked step
    and final answer's verdict, then the same words ("What I found." / "A guess.")."""
    with app.app_context():
        report = item_analysis.build(dbs, known_class["assignment"], groups=True)
    f1, f2, f3 = report.problems

    def shape(f):
        return [(g.size, g.marked_step, g.answer_verdict, g.full_credit_share, g.example) for g in f.explanation_groups]

    # P1: A, B and C found step 2 and answered 168; D marked step 3, E no step, both answered 158.
    assert shape(f1) == [(3, 2, "correct", 1.0, "What I found."), (1, 3, "incorrect", 0.0, "A guess."),
                         (1, None, "incorrect", 0.0, "A guess.")]
    # P2: A, C and E found step 1 and answered 10; B and D marked step 2 and answered 9.
    assert shape(f2) == [(3, 1, "correct", 1.0, "What I found."), (2, 2, "incorrect", 0.0, "A guess.")]
    # P3 (correct, no final answer asked): A, B, D said no step is wrong; C marked 1, E marked 3.
    assert shape(f3) == [(3, None, "absent", 1.0, "What I found."), (1, 1, "absent", 0.0, "A guess."),
                         (1, 3, "absent", 0.0, "A guess.")]
    assert [f.grouped_explanations for f in (f1, f2, f3)] == [5, 5, 5]
    assert all(g.waiting == 0 for f in (f1, f2, f3) for g in f.explanation_groups)
    assert f2.explanation_groups[0].as_json()["size"] == 3 and f2.explanation_groups[0].rank == 1


def test_statistics_helpers():
    # Point-biserial on the textbook case and where it is undefined.
    assert item_analysis.point_biserial([1, 1, 1, 0, 0], [2, 1, 1, 1, 1]) == pytest.approx(0.4082, abs=1e-4)
    assert item_analysis.point_biserial([1, 1, 1], [1, 2, 3]) is None  # everyone at full credit
    assert item_analysis.point_biserial([1, 0], [1, 0]) is None  # too few students
    assert item_analysis.point_biserial([1, 0, 1], [2, 2, 2]) is None  # the rest the same for all
    assert [item_analysis.discrimination_flag(v) for v in (None, -0.1, 0.0, 0.19, 0.2)] == [
        None, "negative", "low", "low", None]
    bins = item_analysis.histogram([0, 9.99, 10, 55, 100, 100])
    assert [b["count"] for b in bins] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]  # 100 % falls in the last bin


def _api_contract(known_class, make_client, world):
    with world.app.app_context():
        token = accounts.create_token(world.s, known_class["teacher"].email, "items")
    resp = make_client().get(f"/api/v1/assignments/{known_class['assignment'].id}/item-analysis",
                             headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    p1, _p2, p3 = known_class["problems"]
    first, _second, third = body["problems"]
    contract = {"id", "submissions", "key_step", "marked_steps", "location_correct_share",
                "explanation_correct_share", "answer_correct_share", "common_wrong_answers", "difficulty",
                "discrimination"}
    assert contract <= set(first)
    assert first["id"] == p1.id and first["submissions"] == 5 and first["key_step"] == 2
    assert first["marked_steps"] == {"1": 0, "2": 3, "3": 1, "none": 1}
    assert first["common_wrong_answers"] == [{"answer": "158", "count": 2}]
    assert first["difficulty"] == 0.6 and first["discrimination"] == pytest.approx(0.4082, abs=1e-4)
    assert third["id"] == p3.id and third["key_step"] is None and third["false_alarm_rate"] == 0.4
    assert third["answer_correct_share"] is None
    assert [(g["size"], g["marked_step"]) for g in first["explanation_groups"]] == [(3, 2), (1, 3), (1, None)]
    assert [b["count"] for b in body["score_histogram"]] == [0, 0, 0, 2, 0, 0, 2, 0, 0, 1]
    assert body["score_histogram"][0] == {"from": 0, "to": 10, "count": 0}


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _csv_downloads_carry_every_chart(known_class, make_client):
    c = make_client(known_class["teacher"])
    base = f"/teach/assignments/{known_class['assignment'].id}/analysis"
    p1, p2, p3 = known_class["problems"]
    got = {}
    for chart in item_analysis.CHARTS:
        resp = c.get(f"{base}/{chart}.csv")
        assert resp.status_code == 200 and resp.mimetype == "text/csv", chart
        assert "attachment" in resp.headers["Content-Disposition"]
        got[chart] = _rows(resp.get_data(as_text=True))
    assert [(r["title"], r["difficulty"], r["discrimination_flag"]) for r in got["problems"]] == [
        ("P1 tickets", "0.6", ""), ("P2 evens", "0.6", "negative"), ("P3 speed", "0.6", "negative")]
    assert got["problems"][2]["false_alarm_rate"] == "0.4" and got["problems"][2]["key_step"] == "none"
    steps = {(r["problem_id"], r["marked"]): (r["students"], r["is_key"]) for r in got["steps"]}
    assert steps[(str(p1.id), "2")] == ("3", "yes") and steps[(str(p3.id), "none")] == ("3", "yes")
    assert steps[(str(p1.id), "none")] == ("1", "no")
    assert [(r["title"], r["answer"], r["count"]) for r in got["wrong-answers"]] == [
        ("P1 tickets", "158", "2"), ("P2 evens", "9", "2")]
    assert [r["students"] for r in got["histogram"]] == ["0", "0", "0", "2", "0", "0", "2", "0", "0", "1"]
    assert sum(int(r["on_time"]) for r in got["timeline"]) == 16
    assert [(r["error_kind"], r["caught_share"]) for r in got["error-kinds"]] == [
        ("arithmetic", "0.6"), ("missed_case", "0.6")]
    assert [(r["title"], r["group"], r["size"], r["share"], r["marked_step"], r["full_credit_share"])
            for r in got["explanation-groups"] if r["title"] == "P2 evens"] == [
        ("P2 evens", "1", "3", "0.6", "1", "1.0"), ("P2 evens", "2", "2", "0.4", "2", "0.0")]
    missing = c.get(f"{base}/pie.csv")
    assert missing.status_code == 404 and "the charts are problems" in missing.get_data(as_text=True)


def _pages_draw_charts_with_tables(known_class, make_client):
    c = make_client(known_class["teacher"])
    page = c.get(f"/teach/assignments/{known_class['assignment'].id}/analysis").get_data(as_text=True)
    p1 = known_class["problems"][0]
    # 3 problems' steps and explanation groups, the histogram, the timeline, the kinds of error
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 9
    assert f'aria-labelledby="groups-{p1.id}-title"' in page and "5 explanations in 3 groups" in page
    assert "Read them in the review queue" in page and f"problem={p1.id}&amp;component=explanation" in page
    assert f'aria-labelledby="steps-{p1.id}-title" aria-describedby="steps-{p1.id}-desc"' in page
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither
    assert "Step 2 <span class=\"badge ok\">key</span>" in page and "<code>158</code>" in page
    assert "negative" in page and "False alarms" in page


def _progress_page_sorts_and_highlights(known_class, make_client):
    c = make_client(known_class["teacher"])
    code = known_class["course"].code
    page = c.get(f"/teach/courses/{code}/progress?sort=average&order=asc&below=50").get_data(as_text=True)
    # Lowest average first: D and E (33 %) before B and C (67 %) before A (100 %).
    positions = {n: page.index(f"Student {n}") for n in "ABCDE"}
    assert max(positions["D"], positions["E"]) < min(positions["B"], positions["C"]) < positions["A"]
    assert page.count("below 50%</span>") == 2  # D and E highlighted, in words, not colour alone
    assert 'aria-sort="ascending"' in page
    # Averages over the term (one assignment): D and E at 33 %, B and C at 67 %, A at 100 %.
    assert all(f'{lo}–{lo + 10}%</th><td class="num">{n}</td>' in page for lo, n in ((30, 2), (60, 2), (90, 1)))
    rows = _rows(c.get(f"/teach/courses/{code}/progress.csv").get_data(as_text=True))
    by_name = {r["Student"]: r for r in rows}
    assert by_name["Student A"]["Week 1 (%)"] == "100.0" and by_name["Student D"]["Average (%)"] == "33.33"
    assert by_name["Student C"]["First wrong step (mean score)"] == "0.6667"


def _progress_pages_search_and_only_below(known_class, make_client, monkeypatch):
    """Paged like the gradebook (two a page here): the order runs across pages, the search and the
    "only below" choice narrow it, and every link keeps the choices."""
    from classroom.services import progress
    monkeypatch.setattr(progress, "PAGE_SIZE", 2)
    c = make_client(known_class["teacher"])
    base = f"/teach/courses/{known_class['course'].code}/progress"

    def names(page):
        return [n for n in "ABCDE" if f">Student {n}" in page]

    first = c.get(f"{base}?sort=average&order=asc&below=50").get_data(as_text=True)
    assert sorted(names(first)) == ["D", "E"] and "Students 1–2 of 5, by average." in first
    assert "<strong>2 of 5</strong> students are below 50% on average." in first
    assert "Page 1 of 3" in first and "Previous 2" not in first
    assert 'href="/teach/courses/%s/progress?page=2&amp;sort=average&amp;order=asc&amp;below=50"' % (
        known_class["course"].code) in first
    second = c.get(f"{base}?sort=average&order=asc&below=50&page=2").get_data(as_text=True)
    assert sorted(names(second)) == ["B", "C"] and "Students 3–4 of 5" in second
    last = c.get(f"{base}?sort=average&order=asc&below=50&page=99").get_data(as_text=True)  # past the end: the last
    assert names(last) == ["A"] and "Page 3 of 3" in last and "Next 2" not in last
    top = c.get(f"{base}?sort=average&order=desc").get_data(as_text=True)
    assert top.index(">Student A") < top.index(">Student B") and ">Student C" not in top  # ties by name
    found = c.get(f"{base}?q=student+d&below=50").get_data(as_text=True)
    assert names(found) == ["D"] and "Students 1–1 of 1 matching “student d” (5 in the course)" in found
    assert "progress?sort=average&amp;order=asc&amp;below=50&amp;q=student+d" in found  # the sort links keep it
    below = c.get(f"{base}?only=below&below=50&sort=name").get_data(as_text=True)
    assert names(below) == ["D", "E"] and "of 2 below 50%" in below and 'name="only" value="below" checked' in below
    nobody = c.get(f"{base}?only=below&below=0").get_data(as_text=True)
    assert names(nobody) == [] and "No student's average is below 0%." in nobody
    missing = c.get(f"{base}?q=nobody").get_data(as_text=True)
    assert "No student's name or e-mail contains “nobody”" in missing and names(missing) == []
    # Odd arguments fall back rather than fail.
    assert c.get(f"{base}?page=abc&sort=height&below=900").status_code == 200


def test_course_completion_lateness_and_hours(known_class, make_client, world, dbs, app):
    """A second assignment, due an hour ago (late answers allowed): A answers both problems half an hour before
    the deadline, B one of them, C one before and one half an hour late; D and E nothing."""
    from classroom.services import progress
    teacher, course = known_class["teacher"], known_class["course"]
    p1, p2, _p3 = known_class["problems"]
    now = utcnow()
    week2 = world.assignment(teacher, course, [p1, p2], due_in=timedelta(hours=-1), title="Week 2", allow_late=True)
    people = known_class["people"]
    early, late = now - timedelta(minutes=90), now - timedelta(minutes=30)
    for who, problem, when in (("A", p1, early), ("A", p2, early), ("B", p1, early), ("C", p1, early),
                               ("C", p2, late)):
        _answer(world, teacher, people[who], week2, problem, 2, "168", True, now=when)
    with app.app_context():
        report = progress.course_progress(dbs, teacher, course)
    # In order of the deadlines: Week 2 (an hour ago) before Week 1 (in five hours).
    assert [(c.assignment.title, c.on_time, c.late, c.partly, c.nothing) for c in report.completion] == [
        ("Week 2", 1, 1, 1, 2), ("Week 1", 5, 0, 0, 0)]
    # Hours from each version's own deadline: Week 1's 15 counting versions 5.5 hours before (hour -6),
    # Week 2's four early ones in hour -1 and C's late one in hour 0; answered pairs 5, then 8.
    hours = {h.hours_to_due: (h.on_time, h.late, h.started) for h in report.timeline}
    assert hours[-6] == (15, 0, 5) and hours[-1] == (4, 0, 8) and hours[0] == (0, 1, 8)
    assert all(v[:2] == (0, 0) for h, v in hours.items() if h not in (-6, -1, 0)) and min(hours) == -6
    c = make_client(teacher)
    base = f"/teach/courses/{course.code}/progress"
    page = c.get(base).get_data(as_text=True)
    assert 'aria-labelledby="completion-title"' in page and 'aria-labelledby="course-timeline-title"' in page
    assert '<th scope="row">Week 2</th><td class="num">1</td><td class="num">1</td><td class="num">1</td>' \
           '<td class="num">2</td>' in page
    rows = _rows(c.get(f"{base}/completion.csv").get_data(as_text=True))
    assert [(r["title"], r["problems"], r["complete_on_time"], r["complete_some_late"], r["partly"], r["nothing"])
            for r in rows] == [("Week 2", "2", "1", "1", "1", "2"), ("Week 1", "3", "5", "0", "0", "0")]
    hourly = {r["hours_to_due"]: r for r in _rows(c.get(f"{base}/timeline.csv").get_data(as_text=True))}
    assert (hourly["0"]["late"], hourly["0"]["answered_so_far"], hourly["-6"]["on_time"]) == ("1", "8", "15")
    averages = _rows(c.get(f"{base}/averages.csv").get_data(as_text=True))
    assert sum(int(r["students"]) for r in averages) == 5
    kinds = _rows(c.get(f"{base}/error-kinds.csv").get_data(as_text=True))
    # Week 2's five answers all marked step 2: P1's key (arithmetic) caught 3 more times, P2's (step 1) missed.
    assert [(r["error_kind"], r["answered"], r["caught"]) for r in kinds] == [
        ("missed_case", "7", "3"), ("arithmetic", "8", "6")]
    missing = c.get(f"{base}/pie.csv")
    assert missing.status_code == 404 and "the charts are averages" in missing.get_data(as_text=True)


def _student_sees_only_released_scores(known_class, make_client, world):
    student = known_class["people"]["B"]
    c = make_client(student)
    assert "Your progress" not in c.get("/learn/").get_data(as_text=True)
    assert _rows(c.get("/learn/progress.csv").get_data(as_text=True)) == []
    with world.app.app_context():
        assignments.release_grades(world.s, known_class["teacher"], known_class["assignment"], confirmed=True)
    page = c.get("/learn/").get_data(as_text=True)
    assert "Your progress" in page and 'id="progress-' in page and "Week 1 66.67%" in page
    assert [(r["Assignment"], r["Score (%)"]) for r in _rows(c.get("/learn/progress.csv").get_data(as_text=True))] \
        == [("Week 1", "66.67")]


# One class serves several checks: building it is most of the time these tests take.
def test_api_and_csv_downloads(known_class, make_client, world):
    _api_contract(known_class, make_client, world)
    _csv_downloads_carry_every_chart(known_class, make_client)


def test_pages_progress_and_the_students_own_chart(known_class, make_client, world, monkeypatch):
    _pages_draw_charts_with_tables(known_class, make_client)
    _progress_page_sorts_and_highlights(known_class, make_client)
    _progress_pages_search_and_only_below(known_class, make_client, monkeypatch)
    _student_sees_only_released_scores(known_class, make_client, world)


def test_analysis_takes_a_fixed_number_of_queries(known_class, make_client, world, count_queries):  # noqa: F811
    c = make_client(known_class["teacher"])
    urls = (f"/teach/assignments/{known_class['assignment'].id}/analysis",
            f"/teach/courses/{known_class['course'].code}/progress?sort=average",
            f"/teach/courses/{known_class['course'].code}/progress.csv")
    before = {}
    for url in urls:
        c.get(url)
        with count_queries() as before[url]:
            assert c.get(url).status_code == 200
    # Three more students answer everything, and a second assignment opens: the counts stay.
    p1, p2, p3 = known_class["problems"]
    for k in range(3):
        extra = world.student(known_class["course"], name=f"Extra {k}")
        for problem, step in ((p1, 2), (p2, 1), (p3, None)):
            _answer(world, known_class["teacher"], extra, known_class["assignment"], problem, step, "1", k % 2 == 0)
    second = world.assignment(known_class["teacher"], known_class["course"], [p1, p2], due_in=timedelta(hours=9),
                              points=20, title="Week 2")
    _answer(world, known_class["teacher"], extra, second, p1, 2, "168", True)
    for url in urls:
        with count_queries() as after:
            assert c.get(url).status_code == 200
        assert after.n == before[url].n, f"{url}\n{before[url]}\n---\n{after}"
        assert after.n <= 11, str(after)


def test_the_students_own_progress_takes_a_fixed_number_of_queries(known_class, make_client, world,
                                                                    count_queries):  # noqa: F811
    teacher, course = known_class["teacher"], known_class["course"]
    student = known_class["people"]["B"]
    c = make_client(student)
    with world.app.app_context():
        assignments.release_grades(world.s, teacher, known_class["assignment"], confirmed=True)
    c.get("/learn/progress.csv")
    with count_queries() as before:
        rows = _rows(c.get("/learn/progress.csv").get_data(as_text=True))
    assert [r["Score (%)"] for r in rows] == ["66.67"]
    # A second released assignment, answered: one more row, the same statements.
    p1, p2, _p3 = known_class["problems"]
    week2 = world.assignment(teacher, course, [p1, p2], due_in=timedelta(hours=9), title="Week 2")
    _answer(world, teacher, student, week2, p1, 2, "168", True)
    with world.app.app_context():
        assignments.release_grades(world.s, teacher, week2, confirmed=True)
    with count_queries() as after:
        rows = _rows(c.get("/learn/progress.csv").get_data(as_text=True))
    assert [(r["Assignment"], r["Score (%)"]) for r in rows] == [("Week 1", "66.67"), ("Week 2", "50.0")]
    assert after.n == before.n, f"{before}\n---\n{after}"
