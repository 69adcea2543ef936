from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired

from .. import db, form_errors
from ..services import accounts, lti, lti_link
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
                           missing_public_url=missing_public_url, action_form=ActionForm()), status


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


@bp.route("/lti/platforms/<int:platform_id>/active", methods=["POST"])
def lti_platform_active(platform_id):
    """Switches a registered LMS off (its launches are refused; nothing is deleted) or on again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("off", "on"):
        abort(400)
    platform = lti.set_platform_active(db.session(), current_user, platform_id, action == "on")
    flash(f"The LTI platform {platform.issuer} (client ID {platform.client_id}) is switched "
          + ("on again: its launches are accepted." if action == "on" else
             "off: its launches are refused from now on. Its accounts and courses are kept."), "success")
    return redirect(url_for("admin.lti_platforms"))


@bp.route("/lti/deployments/<int:deployment_id>/active", methods=["POST"])
def lti_deployment_active(deployment_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    action = request.form.get("action")
    if action not in ("off", "on"):
        abort(400)
    platform, deployment = lti.set_deployment_active(db.session(), current_user, deployment_id, action == "on")
    flash(f"Deployment {deployment.deployment_id} of {platform.issuer} is switched "
          + ("on again." if action == "on" else "off: launches through it are refused from now on."), "success")
    return redirect(url_for("admin.lti_platforms"))


@bp.route("/lti/accounts")
def lti_accounts():
    return render_template("admin/lti_accounts.html", rows=lti_link.lti_accounts(db.session(), current_user))


class LinkForm(FlaskForm):
    email = EmailField("E-mail address of the local account",
                       validators=[DataRequired(message="Give the e-mail address of the local account to link to.")])


@bp.route("/lti/accounts/<int:account_id>/link", methods=["GET", "POST"])
def link_lti_account(account_id):
    """Step 1 names the local account; step 2 shows what will happen and asks to confirm (services/lti_link.py)."""
    s = db.session()
    row = lti_link.find_account(s, account_id)
    if row is None:
        abort(404)
    form = LinkForm()
    if request.method == "GET":
        return render_template("admin/lti_link.html", row=row, form=form, plan=None)
    confirmed = request.form.get("step") == "confirm"
    plan = form_errors.submit(form, (lambda: lti_link.link(s, current_user, account_id, form.email.data)) if confirmed
                              else (lambda: lti_link.plan_link(s, current_user, account_id, form.email.data)))
    if plan is None:
        refusal = form_errors.refusal_of(form)
        return render_template("admin/lti_link.html", row=lti_link.find_account(s, account_id), form=form,
                               plan=None), (refusal.status if refusal else 400)
    if not confirmed:
        return render_template("admin/lti_link.html", row=row, form=form, plan=plan)
    flash(f"Linked: {row.platform.issuer} user {row.account.sub} signs in as {plan.local.email} from the next "
          f"launch. {plan.placeholder.email} is disabled; what it had moved to {plan.local.email}.", "success")
    return redirect(url_for("admin.lti_accounts"))
