"""The review queue: per assignment → problem → component, critiques in groups, one click per group.

Every action works as a plain form (a redirect back to the queue, with an undo button on the next
page); static/js/review.js sends the same forms with `Accept: application/json` and updates the page
in place."""
from urllib.parse import urlencode

from flask import flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from .. import db
from ..services import courses, review_groups
from ..services.errors import ServiceError
from ..services.reviews import RUBRIC_LEVELS
from ..models import utcnow
from . import bp
from .forms import PlainForm
from .helpers import flash_error

UNDO_SESSION_KEY = "review_undo"


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _back(code: str) -> str:
    """The queue with the filters the form was sent from (only a query string is taken, never a URL)."""
    query = request.form.get("filters", "")
    base = url_for("teacher.review", code=code)
    if query and len(query) < 500 and "\n" not in query and "/" not in query:
        return f"{base}?{query}"
    return base


@bp.route("/courses/<code>/review")
def review(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    filters, problems_seen = review_groups.Filters.from_args(request.args)
    for message in problems_seen:
        flash(message, "error")
    queue = review_groups.build_queue(s, c, filters)
    undo = session.pop(UNDO_SESSION_KEY, None)
    return render_template("teacher/review.html", course=c, queue=queue, filters=filters, levels=RUBRIC_LEVELS,
                           form=PlainForm(), undo=undo, states=review_groups.STATES,
                           deciders=review_groups.DECIDERS, components=review_groups.COMPONENT_PLURALS,
                           filter_query=urlencode(filters.query_args()), undo_seconds=review_groups.UNDO_SECONDS)


def _refused(message: str, status: int):
    if _wants_json():
        return jsonify({"error": message}), status
    flash(message, "error")
    return redirect(_back(request.view_args["code"]))


@bp.route("/courses/<code>/review/score", methods=["POST"])
def score_review_group(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    try:
        result = review_groups.score_group(s, current_user, c, request.form.getlist("grade_ids"),
                                           request.form.get("score"), request.form.getlist("leave_out"),
                                           only_waiting=request.form.get("only_waiting") == "1")
    except ServiceError as exc:
        if _wants_json():
            return jsonify({"error": exc.message}), exc.status
        flash_error(exc)
        return redirect(_back(code))
    n = len(result.scored)
    message = f"Scored {n} critique{'s' if n != 1 else ''} at {result.value:.0%}."
    if result.skipped:
        message += (f" {result.skipped} had been decided by someone else meanwhile and keep"
                    f"{'s' if result.skipped == 1 else ''} that score.")
    if _wants_json():
        return jsonify({"message": message, "batch": result.batch, "scored": [g.id for g in result.scored],
                        "skipped": result.skipped,
                        "counts": review_groups.section_counts(s, c, result.scored),
                        "undo_url": url_for("teacher.undo_review_group", code=code)})
    flash(message, "success")
    if result.scored:
        session[UNDO_SESSION_KEY] = {"batch": result.batch, "count": n, "at": utcnow().isoformat()}
    return redirect(_back(code))


@bp.route("/courses/<code>/review/undo", methods=["POST"])
def undo_review_group(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    try:
        grades = review_groups.undo_group(s, current_user, c, request.form.get("batch", ""))
    except ServiceError as exc:
        if _wants_json():
            return jsonify({"error": exc.message}), exc.status
        flash_error(exc)
        return redirect(_back(code))
    restored = len(grades)
    message = (f"Undone: {restored} critique{'s are' if restored != 1 else ' is'} as before."
               if restored else "Nothing was undone: those scores were changed since.")
    if _wants_json():
        return jsonify({"message": message, "restored": restored,
                        "counts": review_groups.section_counts(s, c, grades)})
    flash(message, "success")
    return redirect(_back(code))
