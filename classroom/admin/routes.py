from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from .. import db
from ..services import accounts
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
