"""Security headers on every response, one size limit for every request body, and strict JSON."""
from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider

from . import strict_json


class StrictJSONProvider(DefaultJSONProvider):
    """request.get_json() refuses what strict_json refuses (NaN, lone surrogates, huge numbers, deep
    nesting) as a ValueError, which Flask answers with 400, instead of handing it on to crash later."""

    def loads(self, s, **kwargs):
        return strict_json.loads(s)

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",  # no inline script anywhere
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def init_app(app: Flask) -> None:
    app.json = StrictJSONProvider(app)

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
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return resp
