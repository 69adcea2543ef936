from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from .. import db, form_errors
from ..services import accounts, lti
from ..services.errors import ServiceError
from . import bp


class ActionForm(FlaskForm):
    """A button with its CSRF token; the action is the button's value."""


@bp.before_request
@login_required
def administrators_only():
    if not current_user.is_admin:
        abort(403)


@bp.route("/")
def dashboard():
    s = db.session()
    query = (request.args.get("q") or "").strip()[:120]
    return render_template("admin/dashboard.html", requests=accounts.pending_requests(s, current_user),
                           query=query, found=accounts.search_users(s, current_user, query), form=ActionForm())


@bp.route("/requests/<int:request_id>", methods=["POST"])
def decide_request(request_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    decision = request.form.get("decision")
    if decision not in ("approve", "decline"):
        abort(400)
    _req, user = accounts.decide_request(db.session(), current_user, request_id, decision == "approve")
    flash(f"{user.name} ({user.email}) now has instructor access." if decision == "approve"
          else f"The request of {user.name} ({user.email}) is declined.", "success")
    return redirect(url_for("admin.dashboard"))


@bp.route("/users/<int:user_id>/access", methods=["POST"])
def user_access(user_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("disable", "enable"):
        abort(400)
    user = accounts.set_disabled(db.session(), current_user, user_id, action == "disable")
    flash(f"{user.email} is disabled: every session and API token of it stopped working." if action == "disable"
          else f"{user.email} can log in again.", "success")
    return redirect(url_for("admin.dashboard", q=request.form.get("q") or user.email))


class PlatformForm(FlaskForm):
    """An LMS to register, with the same checks as `flask lti-add-platform` (services/lti.add_platform)."""
    issuer = StringField("Issuer (Platform ID)", validators=[DataRequired(message="Give the LMS's issuer.")])
    client_id = StringField("Client ID", validators=[DataRequired(message="Give the client ID the LMS gave the tool.")])
    auth_login_url = StringField("Authentication request URL (OIDC login)",
                                 validators=[DataRequired(message="Give the LMS's authentication request URL.")])
    auth_token_url = StringField("Access token URL",
                                 validators=[DataRequired(message="Give the LMS's access token URL.")])
    key_set_url = StringField("Public keyset (JWKS) URL",
                              validators=[DataRequired(message="Give the LMS's public keyset URL.")])
    deployment_id = StringField("Deployment ID", validators=[DataRequired(message="Give the deployment ID.")])


def _lti_page(form: PlatformForm, status: int = 200):
    from flask import current_app

    try:
        tool = lti.tool_urls(current_app.config.get("PUBLIC_URL"))
        missing_public_url = None
    except ServiceError as exc:
        tool, missing_public_url = {}, exc.message
    return render_template("admin/lti.html", form=form, platforms=lti.platforms(db.session()), tool=tool,
                           missing_public_url=missing_public_url), status


@bp.route("/lti")
def lti_platforms():
    return _lti_page(PlatformForm())


@bp.route("/lti/platforms", methods=["POST"])
def add_lti_platform():
    form = PlatformForm()
    fields = {name: form[name].data for name in ("issuer", "client_id", "auth_login_url", "auth_token_url",
                                                 "key_set_url", "deployment_id")}
    done = form_errors.submit(form, lambda: lti.add_platform(db.session(), **fields),
                              lambda: lti.check_platform(**fields))
    if done is None:
        return _lti_page(form, 400)
    platform, new_deployment = done
    deployment = "added" if new_deployment else "was already registered"
    flash(f"Registered the LTI platform {platform.issuer} (client ID {platform.client_id}); deployment "
          f"{form.deployment_id.data.strip()} {deployment}.", "success")
    return redirect(url_for("admin.lti_platforms"))
