"""Bearer-token authentication for the API."""
from functools import wraps

from flask import g, jsonify, request

from .. import db
from ..services import accounts


def api_error(status: int, message: str, **extra):
    body = {"error": {"status": status, "message": message, **extra}}
    return jsonify(body), status


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            resp = api_error(401, "Send your API token as 'Authorization: Bearer <token>'. "
                                  "Create one with: flask --app app create-token EMAIL")
            resp[0].headers["WWW-Authenticate"] = "Bearer"
            return resp
        found = accounts.token_owner(db.session(), token.strip())
        if found is None:
            return api_error(401, "That API token is not valid. Create a new one with: flask --app app create-token EMAIL")
        g.api_user, g.api_token_id = found
        return view(*args, **kwargs)

    return wrapper
