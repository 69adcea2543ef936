"""The instructor's half of the API: what a TA's script needs, through the same services as the pages.

Every route here is for the course's instructors (students get 403, outsiders 404) and every change
is audit-logged by the service that makes it.
"""
from flask import current_app, g, request, url_for

from .. import db
from ..services import assignments as assignment_service
from ..models import MODE_TEACH, PROBLEM_MODES
from ..services import banks, conversations, courses, item_analysis, reviews, submissions
from ..services.assignments import AssignmentDraft
from ..services.errors import ErrorCollector, InvalidInput
from ..services.scoring import round_points, score_submission
from ..services.validation import parse_int, parse_iso_datetime
from . import bp
from .auth import token_required
from .serializers import grade_json, iso, submission_json

MODES = PROBLEM_MODES  # "critique" or "teach" (docs/teach.md)
WEIGHT_NAMES = ("location", "explanation", "correction", "lean", "revision", "teaching", "efficiency")
PER_PAGE_DEFAULT = 50
PER_PAGE_MAX = 200


def _body(what: str) -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(f"Send a JSON object: {what}.")
    return body


@bp.route("/courses/<code>/problems", methods=["POST"])
@token_required
def create_problem(code):
    s = db.session()
    course = courses.course_for_instructor(s, g.api_user, code)
    body = _body("one line of a problem bank (the fields of import-bank: id, question_type, question, "
                 "reference_solution, reference_answer, flawed_steps, first_error_step, error_reason)")
    problem = banks.import_problem(s, g.api_user, course, body)
    return {"id": problem.id, "title": problem.title, "external_id": problem.external_id}, 201


def _problem_ids(check: ErrorCollector, raw, modes: dict, teach_unavailable=None) -> list:
    """The problems' ids in order; each one's mode, turn limit and attempts go into `modes`."""
    if not isinstance(raw, list) or not raw:
        check.add("problems", 'problems must be a list of {"id": ..., "mode": "critique"}, at least one.')
        return []
    ids = []
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or "id" not in item:
            check.add("problems", f'problems item {n} must be an object with an "id" (and "mode": "critique").')
            continue
        mode = item.get("mode", "critique")
        if mode not in MODES:
            check.add("problems", f"problems item {n}: mode {str(mode)[:40]!r} is not available; "
                                  f"use {', '.join(repr(m) for m in MODES)}.")
            continue
        if mode == MODE_TEACH and teach_unavailable:
            check.add("problems", f"problems item {n}: mode 'teach' is not available on this server. "
                                  f"{teach_unavailable}")
            continue
        if isinstance(item["id"], bool) or not isinstance(item["id"], (int, str)):
            check.add("problems", f"problems item {n}: id must be a problem's number.")
            continue
        spec = {"mode": mode}
        for name in ("turn_limit", "attempts_allowed"):
            if name not in item:
                continue
            if isinstance(item[name], bool) or not isinstance(item[name], int):
                check.add("problems", f"problems item {n}: {name} must be a whole number.")
            else:
                spec[name] = item[name]
        ids.append(item["id"])
        modes[item["id"]] = spec
    return ids


@bp.route("/courses/<code>/assignments", methods=["POST"])
@token_required
def create_assignment(code):
    s = db.session()
    course = courses.course_for_instructor(s, g.api_user, code)
    body = _body('title, opens_at and due_at (ISO 8601), problems ([{"id": ..., "mode": "critique"}]), and '
                 "optionally instructions, points, allow_late, late_penalty_percent and weights")
    tz = current_app.config["CLASSROOM_TIMEZONE"]
    check = ErrorCollector()  # every wrong field at once; the service then checks the rest
    opens_at = check.check(parse_iso_datetime, body.get("opens_at"), "opens_at", tz, field="opens_at")
    due_at = check.check(parse_iso_datetime, body.get("due_at"), "due_at", tz, field="due_at")
    modes: dict = {}
    teach_unavailable = conversations.teach_unavailable_reason(current_app.config)
    problem_ids = _problem_ids(check, body.get("problems"), modes, teach_unavailable)
    weights = body.get("weights", {})
    if not isinstance(weights, dict):
        check.add("weights", "weights must be an object such as "
                             '{"location": 30, "explanation": 40, "correction": 30, "lean": 0}.')
        weights = {}
    unknown = sorted(set(weights) - set(WEIGHT_NAMES))
    if unknown:
        check.add("weights", f"weights has no {', '.join(unknown)}; use {', '.join(WEIGHT_NAMES)}.")
    allow_late = body.get("allow_late", False)
    if not isinstance(allow_late, bool):
        check.add("allow_late", "allow_late must be true or false.")
    for name in ("title", "instructions"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            check.add(name, f"{name} must be text.")
    check.raise_any()
    draft = AssignmentDraft(
        title=body.get("title") or "", instructions=body.get("instructions") or "", opens_at=opens_at,
        due_at=due_at, problem_ids=problem_ids, allow_late=allow_late,
        late_penalty_percent=body.get("late_penalty_percent", 0), points=body.get("points", 100),
        weight_location=weights.get("location", 30), weight_explanation=weights.get("explanation", 40),
        weight_correction=weights.get("correction", 30), weight_lean=weights.get("lean", 0),
        weight_revision=weights.get("revision", 50), weight_teaching=weights.get("teaching", 50),
        weight_efficiency=weights.get("efficiency", 0), problem_modes=modes,
        teach_unavailable=teach_unavailable,
    )
    a = assignment_service.create_assignment(s, g.api_user, course, draft, tz=tz)
    return {"id": a.id, "title": a.title, "opens_at": iso(a.opens_at), "due_at": iso(a.due_at)}, 201


@bp.route("/assignments/<int:assignment_id>/submissions")
@token_required
def list_submissions(assignment_id):
    s = db.session()
    a, _course = assignment_service.assignment_for_instructor(s, g.api_user, assignment_id)
    page = parse_int(request.args.get("page", "1"), "page", minimum=1, maximum=1_000_000, field="page")
    per_page = parse_int(request.args.get("per_page", str(PER_PAGE_DEFAULT)), "per_page", minimum=1,
                         maximum=PER_PAGE_MAX, field="per_page")
    total, rows, grades, jobs = submissions.counting_page(s, a.id, page, per_page)
    n_problems = len(assignment_service.problems_in(s, a.id))
    items = []
    for sub in rows:
        item = submission_json(sub, jobs.get(sub.id), a, True)
        item["student_id"] = sub.student_id
        score = score_submission(a, n_problems, sub, grades.get(sub.id, []))
        item["scores"] = {gr.component: grade_json(gr, True) for gr in grades.get(sub.id, [])}
        item["points"] = score.points
        item["max_points"] = round_points(score.max_points)
        item["pending"] = score.pending
        items.append(item)
    more = page * per_page < total
    return {
        "submissions": items, "page": page, "per_page": per_page, "total": total,
        "next": url_for("api.list_submissions", assignment_id=a.id, page=page + 1, per_page=per_page)
        if more else None,
    }


@bp.route("/submissions/<int:submission_id>/grades/<component>", methods=["POST"])
@token_required
def score_component(submission_id, component):
    s = db.session()
    body = _body('score (0 to 1, 1 = full credit) and optionally comment')
    grade = reviews.score_component(s, g.api_user, submission_id, component, body.get("score"),
                                    body.get("comment") or "")
    return {"submission_id": submission_id, "component": component, **grade_json(grade, True)}


@bp.route("/assignments/<int:assignment_id>/release", methods=["POST"])
@token_required
def release(assignment_id):
    s = db.session()
    a, _course = assignment_service.assignment_for_instructor(s, g.api_user, assignment_id)
    body = request.get_json(silent=True) or {}
    confirmed = isinstance(body, dict) and body.get("confirm") is True
    a = assignment_service.release_grades(s, g.api_user, a, release=True, confirmed=confirmed)
    return {"id": a.id, "grades_released": True, "released_at": iso(a.released_at)}


@bp.route("/assignments/<int:assignment_id>/item-analysis")
@token_required
def item_analysis_json(assignment_id):
    """What the class missed, per problem, with the score histogram (services/item_analysis.py)."""
    s = db.session()
    a, _c = assignment_service.assignment_for_instructor(s, g.api_user, assignment_id)
    return item_analysis.build(s, a, groups=True).as_json()
