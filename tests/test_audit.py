"""Every instructor action that changes a score leaves an audit entry, readable only by the course's instructors."""
import html
import re

from sqlmodel import select

from classroom import jobs
from classroom.models import AuditLog, Grade, GradingJob
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft


def _entries(dbs, course_id):
    dbs.expire_all()
    return list(dbs.exec(select(AuditLog).where(AuditLog.course_id == course_id).order_by(AuditLog.id)))


def test_every_score_changing_action_is_logged(world, dbs, make_client):
    w = world.classroom()
    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(3, "It multiplies wrong.", "fixed", "168"))
        jobs.run_job(job.id)
    tc = make_client(w["teacher"])
    course_id, a_id = w["course"].id, w["assignment"].id
    start = len(_entries(dbs, course_id))
    loc = dbs.exec(select(Grade).where(Grade.submission_id == sub.id, Grade.component == "location")).one()
    expl = dbs.exec(select(Grade).where(Grade.submission_id == sub.id, Grade.component == "explanation")).one()

    assert tc.post(f"/teach/grades/{expl.id}/score", data={"score": "50"}).status_code == 302  # review
    assert tc.post(f"/teach/grades/{loc.id}/score", data={"score": "100", "comment": "fair"}).status_code == 302
    assert tc.post(f"/teach/grades/{loc.id}/clear").status_code == 302
    assert tc.post(f"/teach/assignments/{a_id}/release", data={"action": "release", "confirm": "yes"}).status_code == 302
    assert tc.post(f"/teach/assignments/{a_id}/release", data={"action": "withdraw"}).status_code == 302
    dbs.get(GradingJob, job.id).state = "failed"
    dbs.commit()
    assert tc.post(f"/teach/jobs/{job.id}/retry").status_code == 302
    edit = tc.post(f"/teach/assignments/{a_id}/edit", data={
        "title": "Week 1", "opens_at": "2020-01-01 09:00", "due_at": "2099-01-01 09:00",
        "problem_ids": str(w["problem"].id), "points": "50", "weight_location": "50", "weight_explanation": "40",
        "weight_correction": "10", "weight_lean": "0", "late_penalty_percent": "0"})
    assert edit.status_code == 302, edit.get_data(as_text=True)[:500]

    new = _entries(dbs, course_id)[start:]
    actions = [e.action for e in new]
    assert actions == ["grade.review", "grade.override", "grade.override_cleared", "grades.release",
                       "grades.withdraw", "job.retry", "assignment.update"], actions
    assert all(e.actor_id == w["teacher"].id for e in new)
    review, override, cleared = new[0], new[1], new[2]
    assert review.details["new_score"] == 0.5 and review.details["student_id"] == w["alice"].id
    assert override.details == {**override.details, "machine_score": 0.0, "new_score": 1.0, "comment": "fair"}
    assert cleared.details["previous_override"] == 1.0
    update = new[-1].details
    assert update["points"] == [100, 50] and update["weight_location"] == [30, 50]
    assert update["weight_correction"] == [30, 10] and "weight_explanation" not in update  # only what changed

    page = tc.get(f"/teach/courses/{w['course'].code}/audit").get_data(as_text=True)
    for action in actions:
        assert f'data-action="{action}"' in page
    # Sentences with names and links, not event codes, Python values or internal ids.
    teacher, alice = w["teacher"].name, "Alice Adams"
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page)))
    assert f"{teacher} scored {alice}'s explanation on Tickets (version 1): 50%." in text
    assert (f"{teacher} changed the score of {alice}'s first wrong step on Tickets (version 1) "
            "from the machine's 0% to 100%.") in text
    assert "Comment for the student: fair" in text
    assert (f"{teacher} removed their score (100%) for {alice}'s first wrong step on Tickets (version 1); "
            "the machine's 0% counts again.") in text
    assert f"{teacher} released the grades of Week 1." in text
    assert f"{teacher} hid the grades of Week 1 from students again." in text
    assert f"{teacher} asked for {alice}'s answer on Tickets (version 1) to be graded again." in text
    assert f"{teacher} changed the assignment Week 1." in text and "Points: 100 → 50" in text
    assert "Weight of the first wrong step: 30 → 50" in text
    assert f'<a href="/teach/submissions/{sub.id}">' in page and f'<a href="/teach/assignments/{a_id}">' in page
    for raw in ("grade.review", "None", "student_id", "[100, 50]", "submission " + str(sub.id)):
        assert raw not in text, raw


def test_only_the_course_instructors_read_the_audit_log(world, make_client):
    w = world.classroom()
    other = world.instructor()
    world.course(other, title="Another course")
    url = f"/teach/courses/{w['course'].code}/audit"
    assert make_client(w["teacher"]).get(url).status_code == 200
    resp = make_client(other).get(url)
    assert resp.status_code == 404 and "course.create" not in resp.get_data(as_text=True)
    assert make_client(w["alice"]).get(url).status_code == 403
    assert make_client().get(url).status_code == 302
