"""Review queue, overrides beside the machine score, release, and the gradebook CSV."""
import csv
import io

from sqlmodel import select

from classroom.models import AuditLog, Grade
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft


def _submit(world, dbs, w, student, step=2, answer="168", correction="fixed"):
    from classroom import jobs
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(step, "It multiplies wrong.", correction, answer))
        jobs.run_job(job.id)
    return sub


def _grade(dbs, sub_id, component):
    dbs.expire_all()
    return dbs.exec(select(Grade).where(Grade.submission_id == sub_id, Grade.component == component)).one()


def test_review_queue_lists_undecided_and_one_click_scores(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w, w["alice"])
    tc = make_client(w["teacher"])
    page = tc.get(f"/teach/courses/{w['course'].code}/review").get_data(as_text=True)
    assert "Explanation" in page and "It multiplies wrong." in page and "Full credit" in page
    g = _grade(dbs, sub.id, "explanation")
    resp = tc.post(f"/teach/grades/{g.id}/score", data={"score": "50",
                                                        "back": f"/teach/courses/{w['course'].code}/review"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/review")
    g = _grade(dbs, sub.id, "explanation")
    assert g.override_score == 0.5 and g.score is None and g.override_by_id == w["teacher"].id
    page = tc.get(f"/teach/courses/{w['course'].code}/review").get_data(as_text=True)
    assert f'id="grade-{g.id}"' not in page


def test_override_keeps_machine_score_and_is_audited(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w, w["alice"], step=3)  # wrong step: machine gives 0
    loc = _grade(dbs, sub.id, "location")
    assert loc.score == 0.0
    tc = make_client(w["teacher"])
    tc.post(f"/teach/grades/{loc.id}/score", data={"score": "100", "comment": "Step 3 is defensible here."})
    loc = _grade(dbs, sub.id, "location")
    assert (loc.score, loc.override_score, loc.decided_by) == (0.0, 1.0, "exact")
    entry = dbs.exec(select(AuditLog).where(AuditLog.action == "grade.override")).one()
    assert entry.details["machine_score"] == 0.0 and entry.details["new_score"] == 1.0
    page = tc.get(f"/teach/courses/{w['course'].code}/audit").get_data(as_text=True)
    assert "grade.override" in page
    # Removing the override brings the machine's score back.
    tc.post(f"/teach/grades/{loc.id}/clear")
    assert _grade(dbs, sub.id, "location").effective_score == 0.0


def test_bad_override_scores_are_refused(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w, w["alice"])
    g = _grade(dbs, sub.id, "explanation")
    tc = make_client(w["teacher"])
    resp = tc.post(f"/teach/grades/{g.id}/score", data={"score": "150"}, follow_redirects=True)
    assert b"between 0 and 100" in resp.data
    resp = tc.post(f"/teach/grades/{g.id}/score", data={"score": "lots"}, follow_redirects=True)
    assert b"must be a number" in resp.data
    assert _grade(dbs, sub.id, "explanation").override_score is None


def test_gradebook_csv_plain_and_canvas(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w, w["alice"])  # right step and answer; explanation/correction pending
    tc = make_client(w["teacher"])
    for comp in ("explanation", "correction"):
        tc.post(f"/teach/grades/{_grade(dbs, sub.id, comp).id}/score", data={"score": "100"})
    resp = tc.get(f"/teach/courses/{w['course'].code}/gradebook.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["Student", "Email", "Week 1 (100 pts)", "Total", "Awaiting review"]
    by_email = {r[1]: r for r in rows[1:]}
    assert by_email[w["alice"].email][2:4] == ["100", "100"]
    assert by_email[w["bob"].email][2:4] == ["0", "0"]

    resp = tc.get(f"/teach/courses/{w['course'].code}/gradebook.csv?format=canvas")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert rows[0][5] == f"Week 1 ({w['assignment'].id})"
    assert rows[1][0].strip() == "Points Possible" and rows[1][5] == "100"
    alice = next(r for r in rows[2:] if r[3] == w["alice"].email)
    assert alice[0] == "Adams, Alice" and alice[5] == "100"


def test_partial_scores_follow_the_weights_and_late_penalty(make_client, world, dbs):
    from datetime import timedelta
    w = world.classroom()
    late = world.assignment(w["teacher"], w["course"], [w["problem"]], title="Late", opens_in=timedelta(days=-3),
                            due_in=timedelta(days=-1), allow_late=True, late_penalty_percent=50, points=10)
    from classroom import jobs
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], late.id, w["problem"].id,
                                      CritiqueDraft(2, "wrong product", "", "168"))
        jobs.run_job(job.id)
    # location 30 ✓, final answer 15 ✓, written correction 15 absent → 0, explanation 40 pending → 0
    from classroom.services import gradebook
    with world.app.app_context():
        _assignments, rows = gradebook.build(dbs, w["teacher"], w["course"])
    alice = next(r for r in rows if r.student.id == w["alice"].id)
    assert alice.points[late.id] == round(10 * 0.45 * 0.5, 2)
    assert alice.pending[late.id] == 1


def test_release_lets_students_see_scores(make_client, world, dbs):
    w = world.classroom()
    sub = _submit(world, dbs, w, w["alice"])
    sc = make_client(w["alice"])
    assert "Scores appear here" in sc.get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    tc = make_client(w["teacher"])
    tc.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "release", "confirm": "yes"})
    page = sc.get(f"/learn/submissions/{sub.id}").get_data(as_text=True)
    assert "points" in page and "First wrong step" in page
    tc.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "withdraw"})
    assert "Scores appear here" in sc.get(f"/learn/submissions/{sub.id}").get_data(as_text=True)


def test_assignment_page_shows_submissions_and_progress(make_client, world, dbs):
    w = world.classroom()
    _submit(world, dbs, w, w["alice"])
    page = make_client(w["teacher"]).get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert "0 queued, 0 running, 1 done, 0 failed" in page
    assert "Alice Adams" in page and "v1: step 2" in page
    resp = make_client(w["teacher"]).get(f"/teach/assignments/{w['assignment'].id}/progress.json")
    assert resp.get_json() == {"queued": 0, "running": 0, "done": 1, "failed": 0, "held": 0, "pilot": 0,
                               "pilot_finished": 0, "text": "0 queued, 0 running, 1 done, 0 failed"}
