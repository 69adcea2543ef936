"""LTI Advantage on the instructor's pages (services/lti_sync.py): sending an assignment's scores to the LMS
again, and syncing the course's roster from the LMS."""
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from .. import db
from .forms import PlainForm
from ..services import assignments as assignment_service
from ..services import courses, lti, lti_sync
from ..services.errors import ServiceError
from . import bp


@bp.route("/assignments/<int:assignment_id>/lms-scores", methods=["POST"])
def send_lms_scores(assignment_id):
    s = db.session()
    a, _c = assignment_service.assignment_for_instructor(s, current_user, assignment_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        result = lti_sync.send_again(s, current_user, a)
    except ServiceError as exc:
        if exc.status not in (400, 409):
            raise
        flash(exc.message, "error")
    else:
        if result.queued:
            flash(f"Sending {result.queued} score{'s' if result.queued != 1 else ''} to the LMS again; this "
                  "page shows how it went.", "success")
        else:
            flash("The LMS already has every score it can take" + (
                f"; {result.skipped} student{'s have' if result.skipped != 1 else ' has'} no LMS account."
                if result.skipped else "."), "info")
    return redirect(url_for("teacher.assignment", assignment_id=a.id) + "#lms-scores")


@bp.route("/courses/<code>/lms-roster", methods=["POST"])
def sync_lms_roster(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        result = lti_sync.sync_roster(s, current_user, c, lti.tool_private_key(current_app.config["LTI_PRIVATE_KEY_FILE"]))
    except ServiceError as exc:
        if exc.status not in (400, 409):
            raise
        flash(exc.message, "error")
        return redirect(url_for("teacher.course", code=c.code) + "#lms-roster")
    return render_template("teacher/lms_roster_result.html", course=c, result=result)
