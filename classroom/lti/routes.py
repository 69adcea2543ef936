from flask import current_app, jsonify, redirect, render_template, url_for
from flask_login import login_user

from .. import db
from ..services import lti
from ..services.errors import ServiceError
from . import bp


def _private_key() -> str:
    return lti.tool_private_key(current_app.config["LTI_PRIVATE_KEY_FILE"])


def _refused(message: str):
    return render_template("lti/refused.html", message=message), 400


@bp.route("/jwks")
def jwks():
    return jsonify(lti.tool_jwks(_private_key()))


@bp.route("/login", methods=["GET", "POST"])
def login():
    try:
        # The launch URL registered in the LMS must match exactly, so it comes from PUBLIC_URL as printed
        # by `flask lti-tool-config`.
        launch_url = lti.tool_urls(current_app.config.get("PUBLIC_URL"))["launch (redirect) URL"]
        return lti.login_redirect(db.session(), _private_key(), launch_url)
    except lti.LaunchRefused as exc:
        return _refused(exc.message)
    except ServiceError as exc:
        return _refused(exc.message)


@bp.route("/launch", methods=["POST"])
def launch():
    try:
        done = lti.launch(db.session(), _private_key())
    except lti.LaunchRefused as exc:
        return _refused(exc.message)
    login_user(done.user)
    if done.role == "instructor":
        return redirect(url_for("teacher.course", code=done.course.code))
    return redirect(url_for("student.course", code=done.course.code))
