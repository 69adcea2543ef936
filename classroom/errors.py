"""Error pages and JSON errors: always a sentence a person can act on."""
from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "That page does not exist, or you do not have access to it.",
    405: "That action is not allowed here.",
    413: "What you sent is too large. Shorten it or upload a smaller file.",
    415: "This page takes a form, not JSON. The JSON API is under /api/v1/.",
    429: "Too many requests. Wait a minute and try again.",
    500: "Something went wrong on our side. Your saved work is safe; try again in a moment.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str | None = None, kept: dict | None = None):
    message = message or MESSAGES.get(status, "Something went wrong.")
    if wants_json():
        return jsonify(error={"status": status, "message": message}), status
    return render_template("error.html", status=status, message=message, kept=kept or {}), status


# Text fields worth handing back when a form could not be accepted (never passwords or tokens).
_NOT_KEPT = {"csrf_token", "password", "back", "action"}


def _typed_text() -> dict:
    kept = {}
    for name, value in request.form.items():
        if name in _NOT_KEPT or not value.strip():
            continue
        kept[name] = value[:20_000]
    return kept


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(400, "This form was open too long or was sent from elsewhere, so it was not saved. "
                                 "Nothing you saved before is lost: go back, reload the page and send it again.",
                            kept=_typed_text())

    for status in (400, 403, 404, 405, 413, 415, 500):
        app.register_error_handler(status, lambda exc, status=status: render_error(status))

    init_service_errors(app)

    @app.errorhandler(429)
    def too_many(exc):
        return render_error(429, getattr(exc, "description", None) or MESSAGES[429])


def init_service_errors(app: Flask) -> None:
    """A service refusal that no view caught becomes a page or JSON with its own message."""
    from .services.errors import ServiceError

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return render_error(exc.status, exc.message)
