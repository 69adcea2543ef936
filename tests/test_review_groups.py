"""Grouped review: clustering on a constructed set, group scoring with exceptions, audit and undo."""
from datetime import timedelta

import pytest
from sqlmodel import select

from classroom.models import AuditLog, Grade
from classroom.services import review_groups, submissions
from classroom.services.errors import Conflict, InvalidInput, NotFound
from classroom.services.review_groups import Filters, cluster_texts
from classroom.services.submissions import CritiqueDraft

# Three reasons said three ways each, one said twice, and one that says nothing.
MULTIPLY = ["They multiplied 12 by 4 instead of adding 12 and 4.",
            "Step 2 multiplies 12 by 4 when it should add them.",
            "multiplying 12 and 4 is wrong, the numbers should be added"]
SIGN = ["The sign is wrong when the 5 moves to the other side of the equation.",
        "Moving 5 across the equals sign should flip its sign.",
        "sign error: moving the 5 to the other side keeps a plus sign"]
UNITS = ["They forgot to convert minutes to hours.", "The minutes were never converted into hours."]
NOTHING = ["I don't know."]


def test_clustering_finds_the_constructed_groups_and_their_words():
    texts = MULTIPLY + SIGN + NOTHING + UNITS
    clusters = cluster_texts(texts)
    assert [c.members for c in clusters] == [[0, 1, 2], [3, 4, 5], [7, 8], [6]]
    assert {"12", "4"} <= set(clusters[0].words) and "sign" in clusters[1].words
    assert {"hours", "minutes"} <= set(clusters[2].words)
    assert clusters[1].central in (3, 4, 5)
    # The exact facts come first: a partition is never crossed, however alike the words.
    split = cluster_texts(texts, [[0, 1], [2, 3, 4, 5, 6, 7, 8]])
    assert [0, 1] in [c.members for c in split] and [3, 4, 5] in [c.members for c in split]
    # Identical texts (blanks too) share a group; nothing but stop words still gives groups, not an error.
    assert [c.members for c in cluster_texts(["", " ", "It is", "it  is"])] == [[0, 1, 2, 3]]
    assert cluster_texts([]) == []


def test_filters_from_a_query_string_name_what_they_cannot_read():
    f, problems = Filters.from_args({"state": "done", "step": "none", "decided_by": "model", "flagged": "1",
                                     "component": "explanation", "assignment": "7"})
    assert problems == [] and (f.state, f.step, f.decided_by, f.flagged, f.assignment_id) == (
        "done", "none", "model", True, 7)
    assert Filters.from_args(f.query_args())[0] == f
    f, problems = Filters.from_args({"state": "soon", "step": "two", "component": "essay", "problem": "x"})
    assert f == Filters() and len(problems) == 4 and any("step 'two'" in p for p in problems)


def _submit(world, dbs, w, student, step, explanation, answer="168"):
    from classroom import jobs
    with world.app.app_context():
        sub, job = submissions.submit(dbs, student, w["assignment"].id, w["problem"].id,
                                      CritiqueDraft(step, explanation, "28 × 6 = 168", answer))
        jobs.run_job(job.id)
    return sub


def _class_of_eight(world, dbs):
    """Eight students: three say 'multiply' on step 2, three say 'sign' on step 2, two mark step 3."""
    w = world.classroom()
    texts = [(2, t) for t in MULTIPLY + SIGN] + [(3, t) for t in UNITS]
    subs = []
    for i, (step, text) in enumerate(texts):
        student = w["alice"] if i == 0 else w["bob"] if i == 1 else world.student(w["course"])
        subs.append(_submit(world, dbs, w, student, step, text))
    return w, subs


def _explanation_grades(dbs, subs):
    dbs.expire_all()
    return [dbs.exec(select(Grade).where(Grade.submission_id == s.id, Grade.component == "explanation")).one()
            for s in subs]


def test_queue_groups_by_facts_then_words_and_scores_a_group_with_exceptions_and_undo(world, dbs):
    w, subs = _class_of_eight(world, dbs)
    teacher, course = w["teacher"], w["course"]
    with world.app.app_context():
        queue = review_groups.build_queue(dbs, course, Filters(component="explanation"))
    (section,) = queue.sections
    assert (section.waiting, section.done) == (8, 0)
    assert section.heading == "Explanations, Tickets"
    sizes = [(g.facts.step, len(g.members)) for g in section.groups]
    assert sizes == [(2, 3), (2, 3), (3, 2)]
    assert section.groups[0].facts.verdict == "correct" and section.groups[0].facts.read_as == "168"
    multiply = next(g for g in section.groups if "12" in g.words)

    grades = _explanation_grades(dbs, subs)
    taken_out = multiply.members[1].grade.id
    with world.app.app_context():
        result = review_groups.score_group(dbs, teacher, course, multiply.grade_ids, "50", leave_out=[taken_out])
    assert len(result.scored) == 2 and result.skipped == 0
    grades = _explanation_grades(dbs, subs)
    by_id = {g.id: g for g in grades}
    assert by_id[taken_out].override_score is None
    scored_ids = [i for i in multiply.grade_ids if i != taken_out]
    assert [by_id[i].override_score for i in scored_ids] == [0.5, 0.5]
    entries = dbs.exec(select(AuditLog).where(AuditLog.action == "grade.review")).all()
    assert sorted(e.details["grade_id"] for e in entries) == sorted(scored_ids)  # one entry per submission
    assert {e.details["batch"] for e in entries} == {result.batch}

    with world.app.app_context():
        counts = review_groups.section_counts(dbs, course, result.scored)
        assert counts == {section.anchor: {"waiting": 6, "done": 2}}
        # Scored while the page was open: a second group click leaves decided members as they are.
        again = review_groups.score_group(dbs, teacher, course, multiply.grade_ids, "100")
        assert len(again.scored) == 1 and again.skipped == 2
        assert len(review_groups.undo_group(dbs, teacher, course, again.batch)) == 1
        # Undo puts the first batch back, and refuses a second undo.
        assert len(review_groups.undo_group(dbs, teacher, course, result.batch)) == 2
        with pytest.raises(Conflict):
            review_groups.undo_group(dbs, teacher, course, result.batch)
    assert all(g.override_score is None for g in _explanation_grades(dbs, subs))
    assert len(dbs.exec(select(AuditLog).where(AuditLog.action == "grade.undo")).all()) == 3

    with world.app.app_context():
        with pytest.raises(InvalidInput, match="taken out"):
            review_groups.score_group(dbs, teacher, course, [taken_out], "100", leave_out=[taken_out])
        with pytest.raises(InvalidInput):
            review_groups.score_group(dbs, teacher, course, [taken_out], "150")
        other = world.course(teacher, title="Other")
        with pytest.raises(NotFound):
            review_groups.score_group(dbs, teacher, other, [taken_out], "100")


def test_undo_only_for_a_short_while_and_never_over_a_later_score(world, dbs):
    w, subs = _class_of_eight(world, dbs)
    teacher, course = w["teacher"], w["course"]
    grades = _explanation_grades(dbs, subs)
    with world.app.app_context():
        first = review_groups.score_group(dbs, teacher, course, [grades[0].id, grades[1].id], "100")
        # A later score of one member stands; undo restores only the other.
        review_groups.score_group(dbs, teacher, course, [grades[0].id], "0", only_waiting=False)
        assert len(review_groups.undo_group(dbs, teacher, course, first.batch)) == 1
        late = review_groups.score_group(dbs, teacher, course, [grades[2].id], "100")
        for e in dbs.exec(select(AuditLog)).all():
            e.created_at = e.created_at - timedelta(seconds=review_groups.UNDO_SECONDS + 5)
            dbs.add(e)
        dbs.commit()
        with pytest.raises(Conflict, match="Too late"):
            review_groups.undo_group(dbs, teacher, course, late.batch)
    grades = _explanation_grades(dbs, subs)
    assert (grades[0].override_score, grades[1].override_score, grades[2].override_score) == (0.0, None, 1.0)


def test_review_page_and_plain_forms(make_client, world, dbs):
    w, subs = _class_of_eight(world, dbs)
    tc = make_client(w["teacher"])
    code = w["course"].code
    page = tc.get(f"/teach/courses/{code}/review").get_data(as_text=True)
    assert "Explanations, Tickets" in page and "8 waiting, 0 done" in page
    assert "Corrections, Tickets" in page and "for all <span class=\"count\">3</span>" in page
    assert page.count('class="card review-group"') == 5  # three explanation groups; corrections: one per step
    grades = _explanation_grades(dbs, subs)
    resp = tc.post(f"/teach/courses/{code}/review/score",
                   data={"grade_ids": [str(g.id) for g in grades[:3]], "leave_out": [str(grades[2].id)],
                         "score": "100", "only_waiting": "1", "filters": "component=explanation"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/review?component=explanation")
    page = tc.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Scored 2 critiques at 100%." in page and "6 waiting, 2 done" in page
    assert 'name="batch"' in page and "Undo" in page  # the no-script undo, once
    assert 'name="batch"' not in tc.get(resp.headers["Location"]).get_data(as_text=True)
    body = tc.post(f"/teach/courses/{code}/review/score", headers={"Accept": "application/json"},
                   data={"grade_ids": [str(grades[3].id)], "score": "0", "only_waiting": "1"}).get_json()
    assert body["scored"] == [grades[3].id] and body["message"] == "Scored 1 critique at 0%."
    assert list(body["counts"].values()) == [{"waiting": 5, "done": 3}]
    undone = tc.post(f"/teach/courses/{code}/review/undo", headers={"Accept": "application/json"},
                     data={"batch": body["batch"]}).get_json()
    assert undone["restored"] == 1 and list(undone["counts"].values()) == [{"waiting": 6, "done": 2}]
    log = tc.get(f"/teach/courses/{code}/audit").get_data(as_text=True)
    assert "One click for a group of 2 in the review queue" in log and "undid their score (0%)" in log
    bad = tc.post(f"/teach/courses/{code}/review/score", headers={"Accept": "application/json"},
                  data={"grade_ids": ["abc"], "score": "100"})
    assert bad.status_code == 400 and "reload the page" in bad.get_json()["error"]
    # Filters: done, decided by an instructor; a step nobody marked; a filter it cannot read is named.
    done = tc.get(f"/teach/courses/{code}/review?state=done&decided_by=instructor&component=explanation")
    assert done.get_data(as_text=True).count('class="review-card review-member"') == 2
    page = tc.get(f"/teach/courses/{code}/review?step=1&component=explanation").get_data(as_text=True)
    assert "Nothing here matches the filters." in page
    page = tc.get(f"/teach/courses/{code}/review?step=first").get_data(as_text=True)
    assert "is not a step number" in page

    # The API: the same queue and groups, one call per group, undo; a filter it cannot read is a 400.
    from classroom.services import accounts
    with world.app.app_context():
        token = accounts.create_token(dbs, w["teacher"].email)
    api = make_client()
    auth = {"Authorization": f"Bearer {token}"}
    body = api.get(f"/api/v1/courses/{code}/review?component=explanation", headers=auth).get_json()
    (section,) = body["sections"]
    assert (body["waiting"], body["done"], section["waiting"]) == (6, 2, 6)
    group = section["groups"][0]
    assert group["facts"] == {"solution_id": group["facts"]["solution_id"], "step": 2, "answer_verdict": "correct",
                              "read_as": "168"}
    ids = [m["grade_id"] for m in group["members"]]
    scored = api.post(f"/api/v1/courses/{code}/review/score", headers=auth,
                      json={"grade_ids": ids, "leave_out": ids[:1], "score": 0.5}).get_json()
    assert scored["scored"] == ids[1:] and scored["skipped"] == 0
    assert api.post(f"/api/v1/courses/{code}/review/score", headers=auth,
                    json={"grade_ids": ids, "score": 50}).status_code == 400  # a fraction, never a percentage
    undone = api.post(scored["undo"], headers=auth, json={"batch": scored["batch"]}).get_json()
    assert sorted(undone["restored"]) == sorted(ids[1:])
    assert api.get(f"/api/v1/courses/{code}/review?state=later", headers=auth).status_code == 400
