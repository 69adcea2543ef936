"""Grouped review through the API: the queue, its groups and one call per group, as the page has them."""
from flask import g, request, url_for

from .. import db
from ..services import courses, review_groups
from ..services.errors import InvalidInput
from . import bp
from .auth import token_required


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    return body


def _member(m: review_groups.Member) -> dict:
    grade = m.grade
    score = grade.override_score if grade.override_score is not None else grade.score
    return {"grade_id": grade.id, "submission_id": m.submission.id, "student_id": m.submission.student_id,
            "version": m.submission.version, "state": m.state, "decided_by": m.decider, "score": score,
            "late": m.submission.is_late, "flags": list(grade.flags or []), "text": m.text,
            "final_answer": m.submission.final_answer}


@bp.route("/courses/<code>/review")
@token_required
def review_queue(code):
    s = db.session()
    course = courses.course_for_instructor(s, g.api_user, code)
    filters, problems_seen = review_groups.Filters.from_args(request.args)
    if problems_seen:  # a script is told, not guessed for
        raise InvalidInput(problems_seen[0])
    queue = review_groups.build_queue(s, course, filters)
    return {"waiting": queue.waiting, "done": queue.done, "sections": [{
        "assignment_id": sec.assignment.id, "problem_id": sec.problem.id, "component": sec.component,
        "waiting": sec.waiting, "done": sec.done,
        "groups": [{"facts": {"solution_id": grp.facts.solution_id, "step": grp.facts.step,
                              "answer_verdict": grp.facts.verdict, "read_as": grp.facts.read_as},
                    "words": grp.words, "central_grade_id": grp.central.grade.id,
                    "members": [_member(m) for m in grp.members]} for grp in sec.groups],
    } for sec in queue.sections]}


@bp.route("/courses/<code>/review/score", methods=["POST"])
@token_required
def score_review_group(code):
    s = db.session()
    course = courses.course_for_instructor(s, g.api_user, code)
    body = _body()
    score = body.get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        raise InvalidInput("score must be a number from 0 to 1 (1 = full credit).", field="score")
    for name in ("grade_ids", "leave_out"):
        if not isinstance(body.get(name, []), list):
            raise InvalidInput(f"{name} must be a list of grade ids.", field=name)
    only_waiting = body.get("only_waiting", True)
    if not isinstance(only_waiting, bool):
        raise InvalidInput("only_waiting must be true or false.", field="only_waiting")
    result = review_groups.score_group(s, g.api_user, course, body.get("grade_ids", []), float(score),
                                       body.get("leave_out", []), only_waiting=only_waiting, via="api")
    return {"batch": result.batch, "scored": [gr.id for gr in result.scored], "skipped": result.skipped,
            "undo": url_for("api.undo_review_group", code=code)}


@bp.route("/courses/<code>/review/undo", methods=["POST"])
@token_required
def undo_review_group(code):
    s = db.session()
    course = courses.course_for_instructor(s, g.api_user, code)
    body = _body()
    restored = review_groups.undo_group(s, g.api_user, course, str(body.get("batch") or ""))
    return {"restored": [gr.id for gr in restored]}
