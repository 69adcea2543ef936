"""The caller's own API tokens: list them, revoke one (the token in use included)."""
from datetime import timezone

from flask import g

from .. import db
from ..services import accounts
from . import bp
from .auth import token_required


def _iso(dt):
    if dt is None:
        return None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)  # SQLite hands back naive UTC
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@bp.route("/tokens")
@token_required
def list_tokens():
    rows = accounts.tokens_of(db.session(), g.api_user)
    return {"tokens": [{"id": t.id, "label": t.label, "created_at": _iso(t.created_at),
                        "last_used_at": _iso(t.last_used_at), "current": t.id == g.api_token_id} for t in rows]}


@bp.route("/tokens/<int:token_id>", methods=["DELETE"])
@token_required
def revoke_token(token_id):
    accounts.revoke_token(db.session(), g.api_user, token_id)
    return "", 204
