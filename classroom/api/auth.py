"""Bearer-token authentication for the API."""
from functools import wraps

from flask import g, jsonify, request

from .. import db
from ..services import accounts, courses


def api_error(status: int, message: str, **extra):
    body = {"error": {"status": status, "message": message, **extra}}
    return jsonify(body), status


def _bearer_token():
    """The request's bearer token, or None where the header is missing or is not a bearer token."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _no_token():
    resp = api_error(401, "Send your API token as 'Authorization: Bearer <token>'. "
                          "Create one with: flask --app app create-token EMAIL")
    resp[0].headers["WWW-Authenticate"] = "Bearer"
    return resp


def _invalid_token():
    return api_error(401, "That API token is not valid. Create a new one with: flask --app app create-token EMAIL")


def token_required(view):
    """The caller's account in g.api_user (and the token's id in g.api_token_id), or 401."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _bearer_token()
        if token is None:
            return _no_token()
        found = accounts.token_owner(db.session(), token)
        if found is None:
            return _invalid_token()
        g.api_user, g.api_token_id = found
        return view(*args, **kwargs)

    return wrapper


def course_member_required(view):
    """@token_required for a view taking the course's `code`, with the course and the caller's enrolment
    read together with the token (one query, courses.member_for_token): g.api_course and
    g.api_membership besides g.api_user. 401 comes first; a course the caller is not in is 404."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = _bearer_token()
        if token is None:
            return _no_token()
        found = courses.member_for_token(db.session(), token, kwargs["code"])
        if found is None:
            return _invalid_token()
        g.api_user, g.api_token_id, g.api_course, g.api_membership = found
        return view(*args, **kwargs)

    return wrapper
