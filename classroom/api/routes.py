from flask import Response, current_app, g, request

from .. import db
from ..models import ROLE_INSTRUCTOR, FlawedSolution
from ..services import assignments as assignment_service
from ..services import agreement, answer_checks, courses, gradebook, problems, submissions
from ..services.errors import ServiceError
from ..services.scoring import round_points, score_submission, student_job_state
from ..services.submissions import MISSING, CritiqueDraft
from . import bp, listing_cache
from .auth import api_error, course_member_required, token_required
from .bodies import json_object as _json_object
from .serializers import assignment_json, grade_json, submission_json


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    extra = {"field": exc.field} if exc.field else {}
    if len(exc.field_errors) > 1:  # every wrong field at once, as the web forms show them
        extra["fields"] = {name: messages for name, messages in exc.field_errors.items() if name}
    if exc.errors:
        extra["errors"] = exc.errors
    return api_error(exc.status, exc.message, **extra)


@bp.route("/courses/<code>/assignments")
@db.autocommit
@course_member_required  # the token and the course in one read: this is the API's busiest request
def list_assignments(code):
    s = db.session()
    c = g.api_course
    teaches = g.api_membership.role == ROLE_INSTRUCTOR

    def build():
        found, until = assignment_service.listing_until(s, c.id, only_open_to_students=not teaches)
        items = [assignment_json(a, [problems.student_view(s, p, solution) for p, solution in ready])
                 for a, ready in found]
        return {"course": {"code": c.code, "title": c.title}, "assignments": items}, until

    # Every student of the course gets the same listing: it is built once per version of the course
    # (api/listing_cache.py), and its ETag lets a client that has it already get 304 and no body;
    # no-cache makes it ask each time, as an assignment may open any minute.
    listing = listing_cache.cached_listing(c, teaches, build)
    resp = Response(listing.body, mimetype=current_app.json.mimetype)
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.vary.add("Authorization")
    resp.set_etag(listing.etag)
    return resp.make_conditional(request)


@bp.route("/assignments/<int:assignment_id>/problems/<int:problem_id>/submissions", methods=["POST"])
@db.autocommit  # the submission and its job are one INSERT (services/submissions.py)
@token_required
def create_submission(assignment_id, problem_id):
    body = _json_object("Send a JSON object with error_step, explanation, correction and final_answer.")
    s = db.session()
    draft = CritiqueDraft(
        # The field must be there; null is the answer "no step is wrong".
        error_step=body["error_step"] if "error_step" in body else MISSING, explanation=_text(body.get("explanation")),
        correction=_text(body.get("correction")), final_answer=_text(body.get("final_answer")),
        lean_proof=_text(body.get("lean_proof")),
    )
    sub, job = submissions.submit(s, g.api_user, assignment_id, problem_id, draft)
    return {"id": sub.id, "version": sub.version, "state": student_job_state(job.state), "late": sub.is_late}, 201


@bp.route("/assignments/<int:assignment_id>/problems/<int:problem_id>/read-answer")
@token_required
def read_answer(assignment_id, problem_id):
    """How a final answer is read, before submitting: ?answer=2%201/2 -> {"readable", "read_as", "note"}."""
    return answer_checks.read_in_assignment(db.session(), g.api_user, assignment_id, problem_id,
                                            request.args.get("answer", ""))


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise ServiceError("Text fields must be strings.")
    return str(value)


@bp.route("/submissions/<int:submission_id>")
@token_required
def get_submission(submission_id):
    s = db.session()
    sub, a, teaches = submissions.submission_for(s, g.api_user, submission_id)
    job = submissions.job_of(s, sub.id)
    body = submission_json(sub, job, a, teaches)
    held = None if teaches or not a.released_at else assignment_service.still_asked_elsewhere(s, a).get(sub.problem_id)
    if held is not None:
        # Released feedback shows the key's step: it waits while another assignment asks this problem.
        body["withheld"] = (f"Scores and feedback on this problem appear once {held.title} stops taking answers; "
                            "it asks the same problem.")
    elif teaches or a.released_at:
        grades = submissions.grades_of(s, sub.id)
        score = score_submission(a, len(assignment_service.problems_in(s, a.id)), sub, grades)
        body["scores"] = {g_.component: grade_json(g_, teaches) for g_ in grades}
        body["points"] = score.points
        body["max_points"] = round_points(score.max_points)
        body["pending"] = score.pending
    if teaches:
        key = problems.key_for(s, sub.flawed_solution_id)
        body["key"] = {"first_wrong_step": key.first_wrong_step, "reason": key.reason, "kind": key.error_kind}
        body["steps"] = s.get(FlawedSolution, sub.flawed_solution_id).steps
    return body


@bp.route("/courses/<code>/gradebook.csv")
@token_required
def gradebook_csv(code):
    s = db.session()
    c = courses.course_for_instructor(s, g.api_user, code)
    fmt = request.args.get("format", "plain")
    body = gradebook.export_csv(s, g.api_user, c, fmt)
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{c.code}-gradebook-{fmt}.csv"'})


@bp.route("/assignments/<int:assignment_id>/agreement")
@token_required
def assignment_agreement(assignment_id):
    """The grader model's decisions beside the instructors' (see services/agreement.py)."""
    s = db.session()
    a, _c = assignment_service.assignment_for_instructor(s, g.api_user, assignment_id)
    return agreement.report(s, a).as_json()
