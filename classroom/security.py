"""Security headers on every response, one size limit for every request body, and strict JSON."""
from typing import Iterable, Optional

from flask import Flask, abort, has_request_context, request, session
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface

from . import strict_json


class StrictJSONProvider(DefaultJSONProvider):
    """request.get_json() refuses what strict_json refuses (NaN, lone surrogates, huge numbers, deep
    nesting) as a ValueError, which Flask answers with 400, instead of handing it on to crash later."""

    def loads(self, s, **kwargs):
        return strict_json.loads(s)

def csp(frame_ancestors: Optional[Iterable[str]] = None, form_action: Iterable[str] = ()) -> str:
    """The Content-Security-Policy. No page may be framed (`frame-ancestors 'none'`) except, inside an LTI
    session, by the registered LMS's origins (docs/lti.md); forms post to the app itself, plus the origins
    given (the LMS's deep-linking return address)."""
    ancestors = " ".join(frame_ancestors or ()) or "'none'"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",  # no inline script anywhere
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        " ".join(["form-action 'self'", *form_action]),
        f"frame-ancestors {ancestors}",
    ])


CSP = csp()
LTI_FRAME = "lti_frame"  # in the session an LTI launch made: the LMS origins that may frame the tool
API_PATH = "/api/"  # where the bearer-token API lives (the api blueprint's prefix)


def lti_framed() -> bool:
    """Whether this request belongs to a session an LTI launch established (inside the LMS's iframe)."""
    # Not for static files: reading the session would add `Vary: Cookie` to their answers. (The API's session
    # is Flask's null session, which holds nothing and is never saved: see SessionInterface.open_session.)
    return has_request_context() and request.endpoint != "static" and bool(session.get(LTI_FRAME))


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; a session an LTI launch established, served over https, gets its
    cookie `SameSite=None; Secure; Partitioned` so that it is sent inside the LMS's iframe (a Lax cookie
    is not sent there, and Partitioned keeps it to the LMS's site where third-party cookies are blocked).
    Every other session keeps SESSION_COOKIE_SAMESITE (Lax)."""

    def open_session(self, app, request):
        # The API signs callers in with bearer tokens and never reads or sets the cookie session: it gets
        # Flask's null session, which costs nothing to open or save (a tenth of a listing's time) and
        # refuses any write, so no API answer can ever set a cookie.
        if request.path.startswith(API_PATH):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def _iframe(self) -> bool:
        return lti_framed() and request.is_secure

    def get_cookie_samesite(self, app):
        return "None" if self._iframe() else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app):
        return True if self._iframe() else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app):
        return True if self._iframe() else super().get_cookie_partitioned(app)


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)
    app.session_interface = SessionInterface()

    from flask_login import user_logged_in, user_logged_out

    def leave_the_frame(_sender, **_kwargs):
        # A session is an LTI launch's only from that launch on: signing in any other way (or out) ends it;
        # the launch sets the mark again right after its own login.
        session.pop(LTI_FRAME, None)

    user_logged_in.connect(leave_the_frame, app, weak=False)
    user_logged_out.connect(leave_the_frame, app, weak=False)

    @app.before_request
    def refuse_oversized_bodies():
        # Werkzeug raises 413 only when a view reads the body; refusing on the declared length
        # first gives every route the same answer (and the API its JSON 413 before the token check).
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > limit:
            abort(413)

    @app.before_request
    def forms_take_no_json():
        # Flask-WTF would read a JSON body as the form's fields, and a list or an object where a field
        # expects text breaks it: the pages take forms, the API (/api/) takes JSON.
        if request.method == "POST" and request.is_json and not request.path.startswith("/api/"):
            abort(415)

    @app.after_request
    def headers(resp):
        if "Content-Security-Policy" not in resp.headers:
            resp.headers["Content-Security-Policy"] = csp(session.get(LTI_FRAME)) if lti_framed() else CSP
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        if "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]:
            resp.headers.setdefault("X-Frame-Options", "DENY")  # browsers without CSP; never beside an allow-list
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return resp
