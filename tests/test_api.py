"""The JSON API with bearer tokens."""
from sqlmodel import select

from classroom.models import Submission
from classroom.services import accounts


def _token(world, dbs, user):
    with world.app.app_context():
        return accounts.create_token(dbs, user.email)


def _h(token):
    return {"Authorization": f"Bearer {token}"}


def test_assignments_list_has_numbered_steps_and_no_key(client, world, dbs):
    w = world.classroom()
    token = _token(world, dbs, w["alice"])
    resp = client.get(f"/api/v1/courses/{w['course'].code}/assignments", headers=_h(token))
    assert resp.status_code == 200
    body = resp.get_json()
    problem = body["assignments"][0]["problems"][0]
    assert problem["id"] == w["problem"].id
    assert [s["number"] for s in problem["steps"]] == [1, 2, 3]
    text = resp.get_data(as_text=True)
    assert "first_wrong_step" not in text and "not 158" not in text and "reference_answer" not in text


def test_submit_then_read_state_and_released_scores(client, world, dbs):
    w = world.classroom()
    token = _token(world, dbs, w["alice"])
    url = f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/submissions"
    resp = client.post(url, json={"error_step": 2, "explanation": "6 × 28 is 168", "correction": "168",
                                  "final_answer": "168"}, headers=_h(token))
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["state"] == "done" and body["version"] == 1
    got = client.get(f"/api/v1/submissions/{body['id']}", headers=_h(token)).get_json()
    assert got["state"] == "done" and "scores" not in got
    teacher_token = _token(world, dbs, w["teacher"])
    got = client.get(f"/api/v1/submissions/{body['id']}", headers=_h(teacher_token)).get_json()
    assert got["scores"]["location"]["score"] == 1.0 and got["key"]["first_wrong_step"] == 2
    from classroom.services import assignments
    with world.app.app_context():
        assignments.release_grades(dbs, w["teacher"], w["assignment"], confirmed=True)
    got = client.get(f"/api/v1/submissions/{body['id']}", headers=_h(token)).get_json()
    assert got["scores"]["location"]["score"] == 1.0 and "key" not in got
    assert "machine_score" not in got["scores"]["location"]


def test_api_errors_are_json_with_status(client, world, dbs):
    w = world.classroom()
    token = _token(world, dbs, w["alice"])
    url = f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/submissions"
    resp = client.post(url, json={"error_step": 7, "explanation": "x"}, headers=_h(token))
    assert resp.status_code == 400
    assert resp.get_json()["error"]["field"] == "error_step"
    assert "between 1 and 3" in resp.get_json()["error"]["message"]
    resp = client.post(url, data="not json", headers={**_h(token), "Content-Type": "application/json"})
    assert resp.status_code == 400 and "JSON object" in resp.get_json()["error"]["message"]
    resp = client.post(url, json={"error_step": 2, "explanation": ""}, headers=_h(token))
    assert resp.status_code == 400
    resp = client.post(url, json={"error_step": 2, "explanation": ["a"]}, headers=_h(token))
    assert resp.status_code == 400
    assert client.get("/api/v1/submissions/999", headers=_h(token)).status_code == 404
    assert client.get("/api/v1/nope", headers=_h(token)).get_json()["error"]["status"] == 404
    assert dbs.exec(select(Submission)).all() == []


def test_api_needs_a_valid_token(client, world, dbs):
    w = world.classroom()
    resp = client.get(f"/api/v1/courses/{w['course'].code}/assignments")
    assert resp.status_code == 401 and "Bearer" in resp.get_json()["error"]["message"]
    resp = client.get(f"/api/v1/courses/{w['course'].code}/assignments", headers=_h("cc_forged"))
    assert resp.status_code == 401


def test_students_cannot_read_others_or_the_gradebook(client, world, dbs):
    w = world.classroom()
    alice, bob = _token(world, dbs, w["alice"]), _token(world, dbs, w["bob"])
    url = f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/submissions"
    sid = client.post(url, json={"error_step": 2, "explanation": "e"}, headers=_h(alice)).get_json()["id"]
    assert client.get(f"/api/v1/submissions/{sid}", headers=_h(bob)).status_code == 404
    assert client.get(f"/api/v1/courses/{w['course'].code}/gradebook.csv", headers=_h(alice)).status_code == 403
    outsider_teacher = world.instructor()
    other = _token(world, dbs, outsider_teacher)
    assert client.get(f"/api/v1/courses/{w['course'].code}/gradebook.csv", headers=_h(other)).status_code == 404
    assert client.get(f"/api/v1/submissions/{sid}", headers=_h(other)).status_code == 404
    teacher = _token(world, dbs, w["teacher"])
    resp = client.get(f"/api/v1/courses/{w['course'].code}/gradebook.csv", headers=_h(teacher))
    assert resp.status_code == 200 and w["alice"].email in resp.get_data(as_text=True)


def test_instructors_cannot_submit(client, world, dbs):
    w = world.classroom()
    token = _token(world, dbs, w["teacher"])
    url = f"/api/v1/assignments/{w['assignment'].id}/problems/{w['problem'].id}/submissions"
    resp = client.post(url, json={"error_step": 2, "explanation": "e"}, headers=_h(token))
    assert resp.status_code == 403
