from flask import jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from .. import db
from ..rendering import render_markdown
from ..services.validation import LIMITS
from . import bp

PREVIEW_LIMIT = max(LIMITS["statement"], LIMITS["explanation"])


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return render_template("landing.html")
    if current_user.is_instructor:
        return redirect(url_for("teacher.dashboard"))
    return redirect(url_for("student.dashboard"))


@bp.route("/preview", methods=["POST"])
@login_required
def preview():
    """Live preview of Markdown + LaTeX, rendered by the same code as the saved text."""
    source = request.form.get("text", "")
    if len(source) > PREVIEW_LIMIT:
        return jsonify(html="", error=f"Too long to preview ({len(source):,} characters)."), 413
    return jsonify(html=str(render_markdown(source)))


@bp.route("/healthz")
def health():
    db.session().exec(text("SELECT 1"))
    return jsonify(status="ok")
