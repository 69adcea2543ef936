"""JSON API, version 1, authenticated with bearer tokens (`flask create-token`)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from . import instructor_routes, openapi, routes  # noqa: E402,F401
