"""A student's day one: join, read, mark, explain, correct, submit, resubmit, see scores."""
from datetime import timedelta

from sqlmodel import select

from classroom.models import Enrollment, Grade, GradingJob, Submission


def _critique(**kw):
    data = {"error_step": "2", "explanation": "Step 2 says $28 \\times 6 = 158$; it is $168$.",
            "correction": "$28 \\times 6 = 168$ dollars.", "final_answer": "$168"}
    data.update(kw)
    return data


def test_join_with_code_and_see_open_assignment(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="ALG-2")
    problem = world.problem(teacher, course)
    world.assignment(teacher, course, [problem], title="Open now")
    world.assignment(teacher, course, [problem], title="Opens later", opens_in=timedelta(days=3),
                     due_in=timedelta(days=9))
    student = world.student()
    c = make_client(student)
    resp = c.post("/learn/join", data={"code": " alg-2 "})
    assert resp.status_code == 302
    assert dbs.exec(select(Enrollment).where(Enrollment.user_id == student.id)).one().role == "student"
    page = c.get("/learn/").get_data(as_text=True)
    assert "Open now" in page and "Opens later" not in page


def test_unknown_code_gives_a_message(make_client, world):
    c = make_client(world.student())
    resp = c.post("/learn/join", data={"code": "NOPE99"}, follow_redirects=True)
    assert b"No course has the code NOPE99" in resp.data


def test_problem_page_numbers_steps_and_hides_the_key(make_client, world):
    w = world.classroom()
    page = make_client(w["alice"]).get(
        f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}").get_data(as_text=True)
    assert "Step 1" in page and "Step 3" in page
    assert '<span class="math inline">28 \\times 6</span>' in page
    assert "not 158" not in page  # the key's reason
    assert "katex.min.js" in page


def test_submit_is_graded_in_a_job_and_state_is_shown(make_client, world, dbs):
    w = world.classroom()
    c = make_client(w["alice"])
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    resp = c.post(url, data=_critique())
    assert resp.status_code == 302
    sub = dbs.exec(select(Submission)).one()
    assert (sub.version, sub.error_step, sub.final_answer) == (1, 2, "$168")
    job = dbs.exec(select(GradingJob).where(GradingJob.submission_id == sub.id)).one()
    assert job.state == "done" and job.attempts == 1
    grades = {g.component: g for g in dbs.exec(select(Grade).where(Grade.submission_id == sub.id))}
    assert grades["location"].score == 1.0 and grades["location"].decided_by == "exact"
    assert grades["final_answer"].score == 1.0
    assert grades["explanation"].status == "needs_review" and grades["explanation"].score is None
    assert grades["correction"].status == "needs_review"
    page = c.get(resp.headers["Location"]).get_data(as_text=True)
    # Two components wait for a person: the page says so, not "Graded".
    assert "Waiting for review (2)" in page and ">Graded<" not in page
    assert "Scores appear here when your instructor releases grades" in page


def test_resubmission_keeps_every_version(make_client, world, dbs):
    w = world.classroom()
    c = make_client(w["alice"])
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    assert c.post(url, data=_critique(error_step="3", explanation="first try")).status_code == 302
    assert c.post(url, data=_critique(error_step="2", explanation="second try")).status_code == 302
    subs = dbs.exec(select(Submission).order_by(Submission.version)).all()
    assert [(s.version, s.error_step, s.explanation) for s in subs] == [(1, 3, "first try"), (2, 2, "second try")]
    page = c.get(url).get_data(as_text=True)
    assert "second try" in page  # the form starts from the latest version
    assert "Version 1" in page and "Version 2" in page


def test_deadline_refuses_without_late_work(make_client, world, dbs):
    w = world.classroom()
    closed = world.assignment(w["teacher"], w["course"], [w["problem"]], title="Past",
                              opens_in=timedelta(days=-5), due_in=timedelta(days=-1))
    resp = make_client(w["alice"]).post(f"/learn/assignments/{closed.id}/problems/{w['problem'].id}",
                                        data=_critique())
    assert resp.status_code == 403
    assert b"deadline for this assignment has passed" in resp.data
    assert dbs.exec(select(Submission)).all() == []


def test_late_work_is_marked_with_the_penalty(make_client, world, dbs):
    w = world.classroom()
    late = world.assignment(w["teacher"], w["course"], [w["problem"]], title="Late ok", opens_in=timedelta(days=-5),
                            due_in=timedelta(days=-1), allow_late=True, late_penalty_percent=20)
    resp = make_client(w["alice"]).post(f"/learn/assignments/{late.id}/problems/{w['problem'].id}",
                                        data=_critique(), follow_redirects=True)
    assert resp.status_code == 200 and b"late" in resp.data
    sub = dbs.exec(select(Submission)).one()
    assert sub.is_late and sub.late_penalty_percent == 20


def test_bad_critiques_are_refused_and_text_is_kept(make_client, world, dbs):
    w = world.classroom()
    c = make_client(w["alice"])
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    resp = c.post(url, data=_critique(error_step="9", explanation="my careful words"))
    assert resp.status_code == 400
    assert b"my careful words" in resp.data
    resp = c.post(url, data=_critique(explanation="   "))
    assert resp.status_code == 400 and b"Explain what is wrong" in resp.data
    resp = c.post(url, data=_critique(explanation="y" * 10_001))
    assert resp.status_code == 400 and b"too long" in resp.data.lower()
    assert dbs.exec(select(Submission)).all() == []


def test_unreadable_final_answer_gets_a_note_not_a_crash(make_client, world, dbs):
    w = world.classroom()
    c = make_client(w["alice"])
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    assert c.post(url, data=_critique(final_answer="about a hundred-ish")).status_code == 302
    g = dbs.exec(select(Grade).where(Grade.component == "final_answer")).one()
    assert g.score == 0.0 and "Could not read this answer" in g.feedback


def test_scores_and_feedback_only_after_release(make_client, world, dbs):
    w = world.classroom()
    sc = make_client(w["alice"])
    url = f"/learn/assignments/{w['assignment'].id}/problems/{w['problem'].id}"
    sub_url = sc.post(url, data=_critique()).headers["Location"]
    page = sc.get(sub_url).get_data(as_text=True)
    assert "is the first wrong step" not in page
    tc = make_client(w["teacher"])
    resp = tc.post(f"/teach/assignments/{w['assignment'].id}/release", data={"action": "release", "confirm": "yes"})
    assert resp.status_code == 302
    page = sc.get(sub_url).get_data(as_text=True)
    assert "Step 2 is the first wrong step." in page
    assert "Waiting for review" in page


def test_live_preview_renders_math_and_escapes_html(make_client, world):
    c = make_client(world.student())
    resp = c.post("/preview", data={"text": "Use $\\frac{1}{2}$ <script>alert(1)</script>"})
    html = resp.get_json()["html"]
    assert '<span class="math inline">\\frac{1}{2}</span>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
