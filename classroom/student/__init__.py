"""The student's side: join a course, read a flawed solution, submit a critique."""
from flask import Blueprint

bp = Blueprint("student", __name__)

from . import conversation_routes, routes  # noqa: E402,F401
from . import lab_routes  # noqa: E402,F401  (groups and the AI lab)
