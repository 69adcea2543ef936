"""JSON API, version 1, authenticated with bearer tokens (`flask create-token`)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from . import instructor_routes, openapi, routes  # noqa: E402,F401
from . import token_routes  # noqa: E402,F401  (the caller's own tokens)
from . import conversation_routes  # noqa: E402,F401  (teach mode)
from . import review_routes  # noqa: E402,F401  (grouped review)
