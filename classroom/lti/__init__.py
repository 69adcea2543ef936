"""LTI 1.3: the tool's endpoints an LMS calls (login initiation, launch, the tool's public keys)."""
from flask import Blueprint

bp = Blueprint("lti", __name__)

from . import routes  # noqa: E402,F401  (routes attach to bp)
