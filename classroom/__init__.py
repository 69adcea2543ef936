"""The critique classroom: a Flask application factory.

Areas are blueprints (auth, teacher, student, api); business rules live in
classroom/services and are shared by the web views and the JSON API.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from flask import Flask, request

from . import db
from .config import lean_settings, load_config, mail_settings
from .extensions import csrf, limiter, login_manager
from .security import API_PATH

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Optional[Mapping[str, Any]] = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(load_config(Path(app.instance_path)))
    if overrides:
        app.config.update(overrides)
    # After the overrides, so a test or an embedding app can set LEAN_* like the environment does.
    app.config["LEAN"] = lean_settings(app.config)
    app.config["MAIL"] = mail_settings(app.config)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("LTI_PRIVATE_KEY_FILE"):
        app.config["LTI_PRIVATE_KEY_FILE"] = str(Path(app.config["INSTANCE_DIR"]) / "lti_private_key.pem")
    if app.config.get("TRUSTED_PROXIES"):
        # Behind a proxy every request comes from the proxy's address; take the client's address
        # (for the per-address login limit) and scheme from the headers the trusted proxies set.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    db.init_app(app)
    _init_extensions(app)

    from . import jobs
    jobs.init_app(app)

    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .teacher import bp as teacher_bp
    from .student import bp as student_bp
    from .api import bp as api_bp
    from .web import bp as web_bp
    from .lti import bp as lti_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(teacher_bp, url_prefix="/teach")
    app.register_blueprint(student_bp, url_prefix="/learn")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(lti_bp, url_prefix="/lti")
    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, not cookies
    csrf.exempt(lti_bp)  # the LMS posts here; the signed id_token with its state and nonce stand in for a CSRF token

    from . import cli, errors, form_errors, security, templating
    errors.init_app(app)
    form_errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    cli.register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"

    from .services import accounts

    @login_manager.user_loader
    def load_user(session_id: str):
        # The session names the account and its session version; logging out elsewhere, a new
        # password or an administrator disabling the account raises the version and ends this session.
        return accounts.user_for_session(db.session(), session_id)

    # Every form POST outside /api and /lti is refused before its view without a valid CSRF token
    # (errors.py answers with the typed text kept), so views do not check the token again.
    csrf.init_app(app)
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://"
    )
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)

    _no_limiter_hook_for_the_api(app)


def _no_limiter_hook_for_the_api(app: Flask) -> None:
    """The limits guard sign-in, password and join forms; the bearer-token API has none, yet Flask-Limiter's
    before_request hook looked every API request up: a tenth of a listing's time. The hook is wrapped so
    that API requests skip it; every other request is checked as before. (tests/test_rate_limits.py fails
    if Flask-Limiter ever hooks in some other way, or if a limit is written on an API view.)"""
    hooks = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit
    if check not in hooks:  # the limiter is off (RATELIMIT_ENABLED=False) and added no hook
        return
    place = hooks.index(check)

    def check_outside_the_api() -> None:
        if not request.path.startswith(API_PATH):
            check()

    hooks[place] = check_outside_the_api
