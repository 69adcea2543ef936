from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import RadioField

from .. import db, form_errors
from ..security import LTI_FRAME, csp
from ..services import lti, lti_deep_linking, lti_frame
from ..services.errors import ServiceError
from . import bp


def _private_key() -> str:
    return lti.tool_private_key(current_app.config["LTI_PRIVATE_KEY_FILE"])


def _redis() -> str | None:
    return current_app.config.get("REDIS_URL")


def _launch_url() -> str:
    # The launch URL registered in the LMS must match exactly, so it comes from PUBLIC_URL as printed
    # by `flask lti-tool-config`.
    return lti.tool_urls(current_app.config.get("PUBLIC_URL"))["launch (redirect) URL"]


def _refused(message: str):
    return render_template("lti/refused.html", message=message), 400


@bp.after_request
def framed_by_platforms(resp):
    """The LMS shows these pages in its iframe (before any session exists: a refused launch must be
    readable there), so any registered platform may frame them; every other page keeps 'none' unless
    the session is an LTI launch's (classroom/security.py)."""
    if "Content-Security-Policy" not in resp.headers and request.endpoint != "lti.jwks":
        origins = set(lti_frame.registered_origins(db.session()))
        if session.get(LTI_FRAME):
            origins.update(session[LTI_FRAME])
        resp.headers["Content-Security-Policy"] = csp(sorted(origins))
    return resp


@bp.route("/jwks")
def jwks():
    return jsonify(lti.tool_jwks(_private_key()))


@bp.route("/login", methods=["GET", "POST"])
def login():
    try:
        return lti.login_redirect(db.session(), _private_key(), _launch_url(), _redis())
    except lti.LaunchRefused as exc:
        return _refused(exc.message)
    except ServiceError as exc:
        return _refused(exc.message)


@bp.route("/launch", methods=["POST"])
def launch():
    try:
        done = lti.launch(db.session(), _private_key(), _redis())
    except lti.LaunchRefused as exc:
        return _refused(exc.message)
    login_user(done.user)
    # This session lives in the LMS's iframe: its cookie goes SameSite=None (over https) and the LMS may
    # frame its pages (classroom/security.py).
    session[LTI_FRAME] = done.frame_origins
    if done.deep_link_id:
        return redirect(url_for("lti.deep_link", launch_id=done.deep_link_id))
    if done.assignment_id:
        endpoint = "teacher.assignment" if done.role == "instructor" else "student.assignment"
        return redirect(url_for(endpoint, assignment_id=done.assignment_id))
    if done.role == "instructor":
        return redirect(url_for("teacher.course", code=done.course.code))
    return redirect(url_for("student.course", code=done.course.code))


class DeepLinkForm(FlaskForm):
    assignment = RadioField("Which assignment should the LMS link to?", coerce=str, validate_choice=False)


@bp.route("/deep-link/<launch_id>", methods=["GET", "POST"])
@login_required
def deep_link(launch_id):
    """The LMS's "add external tool" dialog: the instructor picks one of the course's assignments."""
    s = db.session()
    try:
        pending = lti_deep_linking.choice(s, _private_key(), _redis(), launch_id, current_user)
    except lti.LaunchRefused as exc:
        return _refused(exc.message)
    form = DeepLinkForm()
    form.assignment.choices = [(str(a.id), a.title) for a in pending.assignments]
    if request.method == "POST":
        try:
            token = form_errors.submit(form, lambda: lti_deep_linking.respond(
                s, _redis(), pending, form.assignment.data, _launch_url()))
        except lti.LaunchRefused as exc:  # sent once already (another tab, a double click)
            return _refused(exc.message)
        if token is not None:
            # Posted to the LMS by the browser (static/js/lti-return.js, or the button without script):
            # the form's target is the LMS, so the CSP's form-action names it.
            resp = current_app.make_response(render_template(
                "lti/deep_link_return.html", return_url=pending.return_url, token=token))
            resp.headers["Content-Security-Policy"] = csp(
                session.get(LTI_FRAME) or lti_frame.registered_origins(s),
                form_action=lti_frame.origins_of([pending.return_url]))
            return resp
    status = 400 if request.method == "POST" else 200
    return render_template("lti/deep_link.html", form=form, course=pending.course,
                           assignments=pending.assignments), status
