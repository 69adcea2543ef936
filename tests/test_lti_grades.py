"""LTI Advantage against the test LMS (tests/lti_platform.py): grades back to the LMS line item when an
assignment's grades are released (with retries, "Send again" and each student's record on the assignment
page), and the roster synced from the LMS (NRPS)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from classroom import jobs
from classroom.models import (SCORE_FAILED, SCORE_QUEUED, SCORE_SENT, SCORE_SKIPPED, Course, Enrollment, LtiAccount,
                              LtiResourceLink, LtiScoreSend, Submission, User, utcnow)
from classroom.services import reviews, submissions
from classroom.services.submissions import CritiqueDraft
from lti_platform import INSTRUCTOR, LEARNER, launch

CONTEXT = "lms-course-9"


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=lti_key_file, LTI_SCORE_ATTEMPTS=3,
                      LTI_SCORE_RETRY_SECONDS=0.0)
    return app_config


def _lms_course(app, dbs, lms, **claims):
    """The instructor opens the tool from the LMS course (the course is made); returns their client, the
    course and the instructor."""
    teacher = app.test_client()
    resp = launch(teacher, lms, ags=True, nrps=True, **claims)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:400]
    course = dbs.exec(select(Course)).one()
    ada = dbs.exec(select(User).join(LtiAccount, LtiAccount.user_id == User.id)
                   .where(LtiAccount.sub == "lms-user-1")).one()
    return teacher, course, ada


def _learner(app, lms, sub, name):
    assert launch(app.test_client(), lms, sub=sub, roles=(LEARNER,), name=name, ags=True).status_code == 302


def _graded(world, dbs, teacher, assignment, problem, student, percent):
    """A submission by `student`, every component scored `percent` by the instructor."""
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, assignment.id, problem.id,
                                      CritiqueDraft(2, "Step 2 is wrong: 28 × 6 is 168.", "", "168"),
                                      now=assignment.due_at - timedelta(hours=1))
        jobs.run_job(job.id)
        for g in submissions.grades_of(dbs, sub.id):
            reviews.set_score(dbs, teacher, g.id, percent, "")


def _scene(app, dbs, world, lms):
    """An LMS course opened by its instructor, two learners from the LMS (one answered, one did not) and a
    student who joined with the course code; a closed assignment of 40 points."""
    teacher, course, ada = _lms_course(app, dbs, lms)
    _learner(app, lms, "lms-user-2", "Bo Learner")
    _learner(app, lms, "lms-user-3", "Cy Learner")
    local = world.student(course, name="Dee Local")
    problem = world.problem(ada, course)
    assignment = world.assignment(ada, course, [problem], opens_in=timedelta(days=-9), due_in=timedelta(days=-1),
                                  points=40)
    bo = dbs.exec(select(User).where(User.name == "Bo Learner")).one()
    _graded(world, dbs, ada, assignment, problem, bo, 75)
    _graded(world, dbs, ada, assignment, problem, local, 100)
    return teacher, course, ada, assignment, local


def _sends(dbs, assignment):
    dbs.expire_all()
    return {dbs.get(User, r.user_id).name: r for r in dbs.exec(select(LtiScoreSend).where(
        LtiScoreSend.assignment_id == assignment.id))}


def test_releasing_grades_sends_each_score_and_retries_a_failing_lms(app, dbs, world, lms):
    teacher, course, ada, assignment, local = _scene(app, dbs, world, lms)
    link = dbs.exec(select(LtiResourceLink)).one()  # the launches' AGS and NRPS claims, kept for the link
    assert link.lineitems_url == lms.context_url(CONTEXT) + "/lineitems" and link.lineitem_url is None
    assert link.memberships_url == lms.context_url(CONTEXT) + "/memberships" and "score" in link.ags_scopes[-1]
    page = teacher.get(f"/teach/assignments/{assignment.id}").get_data(as_text=True)
    assert "Grades in the LMS" in page and "releasing this assignment's grades sends" in page

    lms.fail_scores(2)  # the gradebook is busy for the first two posts, then recovers
    resp = teacher.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release"})
    assert resp.status_code == 302
    # One line item made for the assignment (found by its resourceId next time), the scores posted to it.
    (item,) = lms.line_items.values()
    assert item["resourceId"] == f"assignment-{assignment.id}" and item["scoreMaximum"] == 40
    assert item["label"] == assignment.title
    assert lms.score_attempts == 4
    sends = _sends(dbs, assignment)
    stamp = {name: r.timestamp.isoformat() for name, r in sends.items()}
    assert sorted(lms.scores, key=lambda s: s["userId"]) == [
        {"lineitem": item["id"], "userId": "lms-user-2", "scoreGiven": 30.0, "scoreMaximum": 40.0,
         "activityProgress": "Completed", "gradingProgress": "FullyGraded", "timestamp": stamp["Bo Learner"]},
        {"lineitem": item["id"], "userId": "lms-user-3", "scoreGiven": 0.0, "scoreMaximum": 40.0,
         "activityProgress": "Initialized", "gradingProgress": "FullyGraded", "timestamp": stamp["Cy Learner"]},
    ]
    assert stamp["Bo Learner"].endswith("+00:00")
    assert sends["Bo Learner"].state == SCORE_SENT and sends["Bo Learner"].attempts == 2
    assert sends["Bo Learner"].error is None and sends["Bo Learner"].sent_at is not None
    assert sends["Bo Learner"].lineitem_url == item["id"]
    # The student who joined with the code has no LMS account: skipped, and said so.
    assert sends["Dee Local"].state == SCORE_SKIPPED and "No LMS account" in sends["Dee Local"].error
    assert "Ada Lovelace" not in sends  # instructors get no score

    page = teacher.get(f"/teach/assignments/{assignment.id}").get_data(as_text=True)
    assert "2 sent, 1 not sent" in page and "No LMS account" in page and "2 tries" in page
    assert "30 / 40" in page and "Send again" in page

    # Nothing changed: "Send again" sends nothing (the skipped student still has no LMS account).
    resp = teacher.post(f"/teach/assignments/{assignment.id}/lms-scores", follow_redirects=True)
    assert "The LMS already has every score it can take; 1 student has no LMS account." in resp.get_data(
        as_text=True)
    assert len(lms.scores) == 2


def test_a_score_that_keeps_failing_is_shown_and_sent_again(app, dbs, world, lms):
    teacher, course, ada, assignment, local = _scene(app, dbs, world, lms)
    item_url = lms.add_line_item(CONTEXT, label="Week 1 (made by deep linking)", score_maximum=40,
                                 resource_id=f"assignment-{assignment.id}")
    lms.fail_scores(6)  # three tries each for both learners: all fail
    assert teacher.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release"}).status_code == 302
    assert len(lms.line_items) == 1  # deep linking's line item was found by its resourceId, not made again
    sends = _sends(dbs, assignment)
    assert not lms.scores and lms.score_attempts == 6
    for name in ("Bo Learner", "Cy Learner"):
        assert sends[name].state == SCORE_FAILED and sends[name].attempts == 3
        assert sends[name].error.startswith("Try 3: The LMS answered HTTP 503")
        assert "the gradebook is busy" in sends[name].error
    page = teacher.get(f"/teach/assignments/{assignment.id}").get_data(as_text=True)
    assert "2 failed" in page and "The LMS answered HTTP 503" in page

    # The LMS is back: "Send again" sends the two that failed.
    resp = teacher.post(f"/teach/assignments/{assignment.id}/lms-scores")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/teach/assignments/{assignment.id}#lms-scores")
    assert sorted((s["userId"], s["scoreGiven"], s["lineitem"]) for s in lms.scores) == [
        ("lms-user-2", 30.0, item_url), ("lms-user-3", 0.0, item_url)]
    sends = _sends(dbs, assignment)
    assert sends["Bo Learner"].state == SCORE_SENT and sends["Bo Learner"].attempts == 1
    audit = teacher.get(f"/teach/courses/{course.code}/audit").get_data(as_text=True)
    assert "to the LMS again (2 queued)." in audit
    # A changed score is sent again; unchanged ones are not.
    bo = dbs.exec(select(User).where(User.name == "Bo Learner")).one()
    sub = dbs.exec(select(Submission).where(Submission.student_id == bo.id)).one()
    with app.app_context():
        for g in submissions.grades_of(dbs, sub.id):
            reviews.set_score(dbs, ada, g.id, 50, "")
    teacher.post(f"/teach/assignments/{assignment.id}/lms-scores")
    assert [(s["userId"], s["scoreGiven"]) for s in lms.scores[2:]] == [("lms-user-2", 20.0)]


def test_scores_go_to_the_line_item_of_a_link_that_opens_the_assignment(app, dbs, world, lms):
    teacher, course, ada = _lms_course(app, dbs, lms)
    problem = world.problem(ada, course)
    assignment = world.assignment(ada, course, [problem], opens_in=timedelta(days=-9), due_in=timedelta(days=-1))
    own = lms.add_line_item(CONTEXT, label="Linked", score_maximum=100, resource_link_id="link-7")
    # A learner opens the deep-linked link: its custom parameter names the assignment, its claim its line item.
    assert launch(app.test_client(), lms, sub="lms-user-2", roles=(LEARNER,), resource_link_id="link-7",
                  ags={"lineitem": own},
                  **{"https://purl.imsglobal.org/spec/lti/claim/custom":
                     {"classroom_assignment_id": str(assignment.id)}}).status_code == 302
    link = dbs.exec(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "link-7")).one()
    assert link.assignment_id == assignment.id and link.lineitem_url == own
    assert teacher.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release"}).status_code == 302
    assert [(s["lineitem"], s["userId"], s["activityProgress"]) for s in lms.scores] == [
        (own, "lms-user-2", "Initialized")]
    assert len(lms.line_items) == 1


def test_no_lms_no_grades_section_and_send_again_refuses(app, dbs, world, make_client):
    w = world.classroom()
    client = make_client(w["teacher"])
    assert "Grades in the LMS" not in client.get(f"/teach/assignments/{w['assignment'].id}").get_data(as_text=True)
    assert "Sync roster from the LMS" not in client.get(f"/teach/courses/{w['course'].code}").get_data(as_text=True)
    resp = client.post(f"/teach/assignments/{w['assignment'].id}/lms-scores", follow_redirects=True)
    assert "Release the grades first" in resp.get_data(as_text=True)
    client.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "release", "confirm": "yes"})
    resp = client.post(f"/teach/assignments/{w['assignment'].id}/lms-scores", follow_redirects=True)
    assert "No LMS takes this course&#39;s grades" in resp.get_data(as_text=True)
    resp = client.post(f"/teach/courses/{w['course'].code}/lms-roster", follow_redirects=True)
    assert "The LMS has not offered this course&#39;s roster" in resp.get_data(as_text=True)
    assert not dbs.exec(select(LtiScoreSend)).all()


def test_send_again_is_for_the_courses_instructors_only(app, dbs, world, lms, make_client):
    teacher, course, ada, assignment, local = _scene(app, dbs, world, lms)
    lms.fail_scores(6)
    teacher.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release"})
    url = f"/teach/assignments/{assignment.id}/lms-scores"
    other = world.instructor()
    world.course(other, title="Elsewhere")
    assert make_client(other).post(url).status_code == 404
    assert make_client(local).post(url).status_code == 403
    assert make_client().post(url).status_code == 302  # to the login page
    assert not lms.scores
    # Without the CSRF token the instructor's own post is refused.
    app.config["WTF_CSRF_ENABLED"] = True
    assert teacher.post(url).status_code == 400
    assert not lms.scores


def test_roster_sync_enrols_lms_members_by_their_lms_id(app, dbs, world, lms):
    teacher, course, ada = _lms_course(app, dbs, lms)
    _learner(app, lms, "lms-user-2", "Bo Learner")  # already in through a launch
    namesake = world.student(email="cy@school.test", name="Cy Local")  # the same e-mail as an LMS member
    lms.set_roster(CONTEXT, [
        {"user_id": "lms-user-1", "roles": [INSTRUCTOR], "name": "Ada Lovelace"},
        {"user_id": "lms-user-2", "roles": [LEARNER], "name": "Bo Learner"},
        {"user_id": "lms-user-3", "roles": [LEARNER], "name": "Cy Learner", "email": "cy@school.test"},
        {"user_id": "lms-user-4", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
         "name": "Eve Teacher"},
        {"user_id": "lms-user-5", "roles": [LEARNER], "name": "Fay Gone", "status": "Inactive"},
        {"user_id": "lms-user-6", "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"],
         "name": "Gus Mentor"},
        {"roles": [LEARNER], "name": "No Id"},
    ])
    lms.page_size, lms.page_param = 3, "pageToken"  # three pages, the Link headers followed exactly as written
    page = teacher.get(f"/teach/courses/{course.code}").get_data(as_text=True)
    assert "Sync roster from the LMS" in page
    resp = teacher.post(f"/teach/courses/{course.code}/lms-roster")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200, body[:500]
    assert "The LMS listed 7 members" in body and "2 added" in body and "2 already enrolled" in body
    assert "3 left out" in body
    for why in ("inactive in the LMS", "neither a learner nor an instructor", "the LMS gave no usable user id"):
        assert why in body
    assert sum(1 for _m, path in lms.service_requests if "memberships" in path) == 3

    dbs.expire_all()
    roles = {dbs.get(User, e.user_id).name: e.role for e in dbs.exec(select(Enrollment).where(
        Enrollment.course_id == course.id))}
    assert roles == {"Ada Lovelace": "instructor", "Bo Learner": "student", "Cy Learner": "student",
                     "Eve Teacher": "instructor"}
    audit = teacher.get(f"/teach/courses/{course.code}/audit").get_data(as_text=True)
    assert "synced the roster from the LMS: 2 added, 2 already enrolled, 0 with a new role, 3 left out." in audit
    cy = dbs.exec(select(User).join(LtiAccount, LtiAccount.user_id == User.id)
                  .where(LtiAccount.sub == "lms-user-3")).one()
    assert cy.id != namesake.id and cy.email.endswith("@lti.invalid") and not cy.has_password  # never by e-mail

    # Again: nobody new; the LMS renamed Bo, and the account made from the LMS follows.
    lms.rosters[CONTEXT][1]["name"] = "Bo Renamed"
    body = teacher.post(f"/teach/courses/{course.code}/lms-roster").get_data(as_text=True)
    assert "0 added" in body and "4 already enrolled" in body
    assert dbs.exec(select(User).where(User.name == "Bo Renamed")).one()
    assert len(dbs.exec(select(LtiAccount)).all()) == 4


def test_a_failing_roster_read_says_why(app, dbs, world, lms):
    teacher, course, ada = _lms_course(app, dbs, lms)
    lms.tool_jwks = lambda: {"keys": []}  # the LMS no longer knows the tool's key
    resp = teacher.post(f"/teach/courses/{course.code}/lms-roster", follow_redirects=True)
    body = resp.get_data(as_text=True)
    assert "The LMS&#39;s roster could not be read: The LMS&#39;s access-token endpoint answered HTTP 401" in body


def test_roster_sync_is_for_the_courses_instructors_only(app, dbs, world, lms, make_client):
    teacher, course, ada = _lms_course(app, dbs, lms)
    lms.set_roster(CONTEXT, [{"user_id": "lms-user-9", "roles": [LEARNER], "name": "Hal"}])
    url = f"/teach/courses/{course.code}/lms-roster"
    other = world.instructor()
    world.course(other, title="Elsewhere")
    student = world.student(course)
    assert make_client(other).post(url).status_code == 404
    assert make_client(student).post(url).status_code == 403
    assert make_client().post(url).status_code == 302
    app.config["WTF_CSRF_ENABLED"] = True
    assert teacher.post(url).status_code == 400
    assert not dbs.exec(select(User).where(User.name == "Hal")).all()


def test_scores_left_queued_by_a_dead_worker_are_sent_by_the_workers_recovery(app, dbs, world, lms):
    teacher, course, ada, assignment, local = _scene(app, dbs, world, lms)
    assert teacher.post(f"/teach/assignments/{assignment.id}/release", data={"action": "release"}).status_code == 302
    assert len(lms.scores) == 2
    # A send of Bo's score whose worker died mid-job long ago, and one of Cy's queued a moment ago (its job
    # is still to come): both still "queued".
    lease = timedelta(seconds=app.config["JOB_LEASE_SECONDS"])
    sends = _sends(dbs, assignment)
    now = utcnow()
    for name, queued_at in (("Bo Learner", now - lease - timedelta(seconds=5)), ("Cy Learner", now)):
        row = sends[name]
        row.state, row.queued_at, row.sent_at, row.attempts = SCORE_QUEUED, queued_at, None, 0
        dbs.add(row)
    dbs.commit()
    with app.app_context():
        assert jobs.recover_jobs(now) == 0  # no grading job to recover; the scores are recovered with them
    assert [s["userId"] for s in lms.scores[2:]] == ["lms-user-2"]
    sends = _sends(dbs, assignment)
    assert sends["Bo Learner"].state == SCORE_SENT and sends["Bo Learner"].attempts == 1
    assert sends["Cy Learner"].state == SCORE_QUEUED and sends["Cy Learner"].attempts == 0
    # Past the lease, Cy's is stale too; a sent score is never sent again by the recovery.
    with app.app_context():
        assert jobs.recover_lti_scores(now + lease + timedelta(seconds=1)) == [sends["Cy Learner"].id]
        assert jobs.recover_lti_scores(now + 3 * lease) == []
    assert [s["userId"] for s in lms.scores[2:]] == ["lms-user-2", "lms-user-3"]
    sends = _sends(dbs, assignment)
    assert sends["Cy Learner"].state == SCORE_SENT
    page = teacher.get(f"/teach/assignments/{assignment.id}").get_data(as_text=True)
    assert "2 sent" in page
