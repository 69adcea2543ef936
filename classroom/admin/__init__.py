"""The administrator's page: instructor access requests, and disabling accounts."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import routes  # noqa: E402,F401  (routes attach to bp)
