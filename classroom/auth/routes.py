from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import db, form_errors
from ..extensions import limiter
from ..services import accounts
from . import bp
from .forms import LoginForm, SignupForm


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so a login link cannot bounce elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_key() -> str:
    return (request.form.get("email") or "").strip().lower()[:254] or "anonymous"


def _login_failed(response) -> bool:
    # Only failures count: a class behind one school address logging in together is not an attack.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=_login_key, deduct_when=_login_failed,
               error_message="Too many login attempts for this account. Wait a minute and try again.")
@limiter.limit("30 per minute", methods=["POST"], deduct_when=_login_failed,
               error_message="Too many login attempts from your network. Wait a minute and try again.")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(db.session(), form.email.data, form.password.data)
        if user is None:
            form_errors.add_form_error(form, "That email and password do not match an account.")
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
    return render_template("auth/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"],
               error_message="Too many sign-ups from your network. Try again later.")
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = SignupForm()
    if request.method == "POST":
        s = db.session()
        typed = dict(email=form.email.data, name=form.name.data, password=form.password.data, role=form.role.data)
        user = form_errors.submit(form, lambda: accounts.create_user(s, **typed),
                                  lambda: accounts.validate_new_user(s, **typed))
        if user is not None:
            login_user(user)
            flash(f"Welcome, {user.name}.", "success")
            return redirect(url_for("web.home"))
    return render_template("auth/signup.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
