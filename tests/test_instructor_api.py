"""The instructor's API: a TA's script adds a problem, makes an assignment, reads submissions, scores, releases."""
import re

from sqlmodel import select

from classroom import jobs
from classroom.models import AuditLog, Grade, GradingJob, Problem
from classroom.services import accounts, submissions
from classroom.services.submissions import CritiqueDraft

BANK_LINE = {"id": "gsm-7", "question_type": "original", "question": "Tom has 3 boxes of 4 apples and gives 5 away.",
             "reference_solution": "3 * 4 = 12; 12 - 5 = 7.", "reference_answer": "7",
             "flawed_steps": ["3 * 4 = 12 apples.", "12 + 5 = 17 apples left.", "#### 17"],
             "first_error_step": 2, "error_reason": "Giving away is subtraction: 12 - 5 = 7.",
             "error_kind": "wrong_formula"}


def _h(world, dbs, user):
    with world.app.app_context():
        return {"Authorization": f"Bearer {accounts.create_token(dbs, user.email)}"}


def test_a_script_runs_a_whole_assignment(world, dbs, make_client):
    w = world.classroom()
    teacher = _h(world, dbs, w["teacher"])
    c = make_client()
    code = w["course"].code

    resp = c.post(f"/api/v1/courses/{code}/problems", json=BANK_LINE, headers=teacher)
    assert resp.status_code == 201, resp.get_json()
    pid = resp.get_json()["id"]
    problem = dbs.get(Problem, pid)
    assert problem.external_id == "gsm-7" and problem.course_id == w["course"].id
    # The same line again adds nothing and says so.
    again = c.post(f"/api/v1/courses/{code}/problems", json=BANK_LINE, headers=teacher)
    assert again.status_code == 409 and "already in this course" in again.get_json()["error"]["message"]

    resp = c.post(f"/api/v1/courses/{code}/assignments", headers=teacher, json={
        "title": "Scripted week", "opens_at": "2020-01-01T08:00:00Z", "due_at": "2099-01-01T08:00:00+02:00",
        "allow_late": True, "late_penalty_percent": 10, "weights": {"location": 20, "explanation": 50,
                                                                      "correction": 30},
        "problems": [{"id": pid, "mode": "critique"}, {"id": w["problem"].id, "mode": "critique"}]})
    assert resp.status_code == 201, resp.get_json()
    aid = resp.get_json()["id"]
    assert resp.get_json()["due_at"] == "2099-01-01T06:00:00Z"
    listed = c.get(f"/api/v1/courses/{code}/assignments", headers=teacher).get_json()["assignments"]
    made = next(a for a in listed if a["id"] == aid)
    assert made["weights"] == {"location": 20, "explanation": 50, "correction": 30, "lean": 0}
    assert [p["id"] for p in made["problems"]] == [pid, w["problem"].id] and made["late_penalty_percent"] == 10

    # Three students answer; one answers twice (only the latest version is listed).
    for student, text in ((w["alice"], "First."), (w["bob"], "Bob's."), (w["alice"], "Second.")):
        with world.app.app_context():
            sub, job = submissions.submit(dbs, student, aid, pid, CritiqueDraft(2, text, "12 - 5 = 7", "7"))
            jobs.run_job(job.id)
    page1 = c.get(f"/api/v1/assignments/{aid}/submissions?per_page=1", headers=teacher).get_json()
    assert page1["total"] == 2 and len(page1["submissions"]) == 1 and page1["next"]
    page2 = c.get(page1["next"], headers=teacher).get_json()
    assert page2["next"] is None and page2["page"] == 2
    listed = page1["submissions"] + page2["submissions"]
    assert sorted(s["explanation"] for s in listed) == ["Bob's.", "Second."]
    alice = next(s for s in listed if s["explanation"] == "Second.")
    assert alice["version"] == 2 and alice["scores"]["location"]["score"] == 1.0
    assert alice["scores"]["explanation"]["status"] == "needs_review" and "explanation" in alice["pending"]

    # A review score (the component waited for a person), then an override of an exact check.
    resp = c.post(f"/api/v1/submissions/{alice['id']}/grades/explanation", headers=teacher,
                  json={"score": 0.5, "comment": "Names the slip, not the fix."})
    assert resp.status_code == 200 and resp.get_json()["score"] == 0.5
    resp = c.post(f"/api/v1/submissions/{alice['id']}/grades/location", headers=teacher, json={"score": 0})
    body = resp.get_json()
    assert (body["score"], body["machine_score"], body["decided_by"]) == (0.0, 1.0, "instructor")
    actions = [e.action for e in dbs.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["grade.review", "grade.override"]
    assert dbs.exec(select(AuditLog).where(AuditLog.action == "grade.override")).one().details["via"] == "api"

    # Released while open: refused with the reason until the script confirms.
    refused = c.post(f"/api/v1/assignments/{aid}/release", headers=teacher)
    assert refused.status_code == 409
    resp = c.post(f"/api/v1/assignments/{aid}/release", headers=teacher, json={"confirm": True})
    assert resp.status_code == 200 and resp.get_json()["grades_released"] is True
    assert dbs.exec(select(AuditLog).where(AuditLog.action == "grades.release")).one()


def test_bad_input_is_named(world, dbs, make_client):
    w = world.classroom()
    teacher = _h(world, dbs, w["teacher"])
    c = make_client()
    code = w["course"].code
    resp = c.post(f"/api/v1/courses/{code}/problems", json={**BANK_LINE, "first_error_step": 9}, headers=teacher)
    err = resp.get_json()["error"]
    assert resp.status_code == 400 and err["field"] == "first_error_step"
    resp = c.post(f"/api/v1/courses/{code}/problems", json=["not", "an", "object"], headers=teacher)
    assert resp.status_code == 400 and "JSON object" in resp.get_json()["error"]["message"]

    resp = c.post(f"/api/v1/courses/{code}/assignments", headers=teacher, json={
        "title": "x", "opens_at": "next tuesday", "due_at": "2020-01-01", "problems": [{"id": w["problem"].id,
                                                                                         "mode": "teach"}]})
    err = resp.get_json()["error"]
    assert resp.status_code == 400 and set(err["fields"]) == {"opens_at", "problems"}
    assert "ISO 8601" in err["fields"]["opens_at"][0] and "'teach' is not available" in err["fields"]["problems"][0]
    resp = c.post(f"/api/v1/courses/{code}/assignments", headers=teacher, json={
        "title": "x", "opens_at": "2030-01-02T00:00", "due_at": "2030-01-01T00:00", "problems": [{"id": 99999}]})
    err = resp.get_json()["error"]
    assert resp.status_code == 400 and {"due_at", "problem_ids"} <= set(err["fields"])

    with world.app.app_context():
        sub, job = submissions.submit(dbs, w["alice"], w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(2, "e", "", "168"))
    # Not graded yet (the queue runs at once in tests, so take its grades away to stand for a queued job).
    for g in dbs.exec(select(Grade).where(Grade.submission_id == sub.id)):
        dbs.delete(g)
    dbs.commit()
    url = f"/api/v1/submissions/{sub.id}/grades/explanation"
    assert c.post(url, headers=teacher, json={"score": 1}).status_code == 409
    dbs.get(GradingJob, job.id).state = "queued"
    dbs.commit()
    with world.app.app_context():
        jobs.run_job(job.id)
    for bad in ({"score": 50}, {"score": "1"}, {"score": True}, {}, {"score": -0.1}):
        resp = c.post(url, headers=teacher, json=bad)
        assert resp.status_code == 400 and resp.get_json()["error"]["field"] == "score", bad
    resp = c.post(f"/api/v1/submissions/{sub.id}/grades/style", headers=teacher, json={"score": 1})
    assert resp.status_code == 404 and "explanation" in resp.get_json()["error"]["message"]
    bad_page = c.get(f"/api/v1/assignments/{w['assignment'].id}/submissions?per_page=500", headers=teacher)
    assert bad_page.status_code == 400 and bad_page.get_json()["error"]["field"] == "per_page"


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule[len("/api/v1"):])


def test_openapi_lists_exactly_the_api_routes(app, make_client):
    doc = make_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and doc["servers"] == [{"url": "/api/v1"}]
    documented = {(path, method.upper()) for path, item in doc["paths"].items()
                  for method in item if method != "parameters"}
    routes = {(_openapi_path(r.rule), m) for r in app.url_map.iter_rules() if r.rule.startswith("/api/")
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes, {"undocumented": routes - documented, "not a route": documented - routes}
    for path, item in doc["paths"].items():  # every path parameter is declared
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{([a-z_]+)}", path)), path
