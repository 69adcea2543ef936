import threading
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from .. import db, form_errors
from ..extensions import limiter
from ..links import password_link, public_url as _public_url
from ..services import accounts, invitations
from ..services.errors import ServiceError
from . import bp
from .forms import (ChangePasswordForm, ForgotForm, InstructorRequestForm, LoginForm, PlainForm, SetPasswordForm,
                    SignupByMailForm, SignupForm, TokenForm)


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so a login link cannot bounce elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _email_key() -> str:
    return (request.form.get("email") or "").strip().lower()[:254] or "anonymous"


def _login_failed(response) -> bool:
    # Only failures count: a class behind one school address logging in together is not an attack.
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=_email_key, deduct_when=_login_failed,
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
        elif not user.is_active:  # only someone who knows the password learns this
            form_errors.add_form_error(form, "This account has been disabled. Ask your administrator.")
        else:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
    return render_template("auth/login.html", form=form), (400 if request.method == "POST" else 200)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"],
               error_message="Too many sign-ups from your network. Try again later.")
@limiter.limit("5 per hour", methods=["POST"], key_func=_email_key,
               exempt_when=lambda: current_app.config["MAIL"] is None,
               error_message="Too many sign-ups for this address. Wait an hour and try again.")
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    if current_app.config["MAIL"] is not None:
        return _signup_by_mail()
    form = SignupForm()
    if request.method == "POST":
        s = db.session()
        typed = dict(email=form.email.data, name=form.name.data, password=form.password.data)
        user = form_errors.submit(form, lambda: accounts.create_user(s, **typed),
                                  lambda: accounts.validate_new_user(s, **typed))
        if user is not None:
            login_user(user)
            flash(f"Welcome, {user.name}.", "success")
            return redirect(url_for("web.home"))
    return render_template("auth/signup.html", form=form), (400 if request.method == "POST" else 200)


SIGNUP_SENT = ("Check your e-mail to finish signing up: a link to choose your password is on its way to {email}. "
               "Nothing arrived? Check the spam folder. If the address already has an account, the mail says so.")


def _signup_by_mail():
    """With e-mail set up, every address gets the same answer; the mail tells its owner what comes next
    (a link to choose the password, or that the address has an account already)."""
    form = SignupByMailForm()
    if request.method == "POST":
        s = db.session()
        found = form_errors.submit(form, lambda: accounts.signup_by_mail(
            s, email=form.email.data, name=form.name.data,
            lifetime=timedelta(days=current_app.config["INVITATION_DAYS"])) or False)
        if found is not None:
            if found:
                user, token = found
                url = password_link(token) if token else None
                forgot_url = _public_url(url_for("auth.forgot"))
                # Sent in the background, so the answer takes as long for an existing account as for a new one.
                threading.Thread(target=invitations.send_signup, daemon=True, name="signup-mail",
                                 args=(current_app.config["MAIL"], user.email, user.name, token,
                                       lambda _t: url, forgot_url)).start()
            flash(SIGNUP_SENT.format(email=form.email.data.strip()), "info")
            return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form, by_mail=True), (400 if request.method == "POST" else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # Every session of the account ends, not only this browser's: a copied cookie stops working too.
    accounts.end_sessions(db.session(), current_user._get_current_object())
    logout_user()
    flash("You are logged out (on every device).", "info")
    return redirect(url_for("auth.login"))


FORGOT_SENT = ("If an account uses that address, a link to choose a new password is on its way. "
               "It works once, for {minutes} minutes. Nothing arrived? Check the spam folder, then ask again.")
FORGOT_NO_MAIL = ("This server cannot send e-mail, so it cannot send you a link. Ask your instructor for a new "
                  "invitation link, or your school's administrator for a password link.")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_email_key,
               error_message="Too many password links asked for this address. Wait an hour and try again.")
@limiter.limit("20 per hour", methods=["POST"],
               error_message="Too many password links asked from your network. Try again later.")
def forgot():
    form = ForgotForm()
    settings = current_app.config["MAIL"]
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    if form.validate_on_submit():
        # The same answer whether or not the address has an account, so nobody can probe for accounts.
        if settings is not None:
            found = accounts.reset_link_for(db.session(), form.email.data, timedelta(minutes=minutes))
            if found is not None:
                user, token = found
                url = password_link(token)
                # Sent in the background, so the answer takes as long with an account as without.
                threading.Thread(target=invitations.send_reset, daemon=True, name="reset-mail",
                                 args=(settings, user.email, user.name, token, minutes, lambda _t: url)).start()
            flash(FORGOT_SENT.format(minutes=minutes), "info")
        else:
            flash(FORGOT_NO_MAIL, "info")
        return redirect(url_for("auth.login"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form, mail_ready=settings is not None), status


@bp.route("/password/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"],
               error_message="Too many tries from your network. Try again later.")
def set_password(token):
    """An invitation or reset link: its account's owner chooses the password (once)."""
    s = db.session()
    try:
        link, user = accounts.open_link(s, token)
    except ServiceError as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 404
    form = SetPasswordForm()
    if request.method == "POST":
        done = form_errors.submit(form, lambda: accounts.set_password_with_link(s, token, form.password.data))
        if done is not None:
            login_user(done)
            flash("Your password is set, and you are logged in.", "success")
            return redirect(url_for("web.home"))
    return render_template("auth/set_password.html", form=form, user=user, link=link), \
        (400 if request.method == "POST" else 200)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"],
               error_message="Too many tries from your network. Try again later.")
def invitation(token):
    """A course invitation's link. A new account (no password yet) chooses its password here and joins;
    an existing account's owner logs in as that account and accepts (or declines)."""
    s = db.session()
    try:
        found = invitations.open_invitation(s, token)
    except ServiceError as exc:
        return render_template("auth/link_invalid.html", message=exc.message, invitation=True), 404
    form = SetPasswordForm()
    if found.needs_password:
        if request.method == "POST":
            done = form_errors.submit(form, lambda: invitations.join_with_password(s, token, form.password.data))
            if done is not None:
                user, course = done
                login_user(user)
                flash(f"Your password is set, and you have joined {course.title}.", "success")
                return redirect(url_for("student.course", code=course.code))
        return render_template("auth/invitation.html", found=found, form=form), \
            (400 if request.method == "POST" else 200)
    signed_in_as_invitee = current_user.is_authenticated and current_user.id == found.user.id
    return render_template("auth/invitation.html", found=found, form=PlainForm(),
                           signed_in_as_invitee=signed_in_as_invitee)


@bp.route("/invitations/<int:invitation_id>/accept", methods=["POST"])
@login_required
def accept_invitation(invitation_id):
    course = invitations.accept(db.session(), current_user, invitation_id)
    flash(f"You have joined {course.title}.", "success")
    if current_user.is_instructor:  # an instructor's home is /teach/; /learn/ is for student accounts
        return redirect(url_for("web.home"))
    return redirect(url_for("student.course", code=course.code))


@bp.route("/invitations/<int:invitation_id>/decline", methods=["POST"])
@login_required
def decline_invitation(invitation_id):
    course = invitations.decline(db.session(), current_user, invitation_id)
    flash(f"You declined the invitation to {course.title}.", "info")
    return redirect(url_for("web.home"))


# ---------------------------------------------------------------- the account page

def _account_page(*, password_form=None, token_form=None, request_form=None, new_token=None, status=200):
    s = db.session()
    return render_template(
        "auth/account.html", password_form=password_form or ChangePasswordForm(),
        token_form=token_form or TokenForm(), request_form=request_form or InstructorRequestForm(),
        revoke_form=PlainForm(), tokens=accounts.tokens_of(s, current_user), new_token=new_token,
        access_request=accounts.latest_request_of(s, current_user)), status


@bp.route("/account")
@login_required
def account():
    return _account_page()


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=lambda: f"pw-change-{current_user.id}",
               error_message="Too many password changes. Wait an hour and try again.")
def change_password():
    form = ChangePasswordForm()
    s = db.session()
    user = current_user._get_current_object()
    done = form_errors.submit(form, lambda: accounts.change_password(
        s, user, current=form.current_password.data, new=form.new_password.data) or True)
    if done:
        login_user(user)  # this session goes on with the new session version; every other one ended
        flash("Your password is changed. Every other session of your account is logged out.", "success")
        return redirect(url_for("auth.account"))
    return _account_page(password_form=form, status=400)


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    token = form_errors.submit(form, lambda: accounts.new_token(db.session(), current_user, form.label.data or ""))
    if token is None:
        return _account_page(token_form=form, status=400)
    # Shown on this page only (not flashed: the session cookie is signed, not secret).
    return _account_page(new_token=token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    accounts.revoke_token(db.session(), current_user, token_id)
    flash("The token is revoked: it no longer works.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/instructor-request", methods=["POST"])
@login_required
def instructor_request():
    form = InstructorRequestForm()
    done = form_errors.submit(form, lambda: accounts.request_instructor_access(db.session(), current_user,
                                                                               form.note.data))
    if done is None:
        return _account_page(request_form=form, status=400)
    flash("Your request is sent. An administrator will look at it; this page shows the answer.", "success")
    return redirect(url_for("auth.account"))
