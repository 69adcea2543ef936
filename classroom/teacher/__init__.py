"""The instructor's dashboard: courses, problems, assignments, review, gradebook."""
from flask import Blueprint

bp = Blueprint("teacher", __name__)

from . import routes  # noqa: E402,F401
from . import authoring_routes  # noqa: E402,F401  (banks, generated drafts, preview, copy)
from . import lab_routes  # noqa: E402,F401  (groups and the AI lab)
from . import conversation_routes  # noqa: E402,F401  (teach mode's transcripts)
from . import review_routes  # noqa: E402,F401  (the grouped review queue)
from . import analysis_routes  # noqa: E402,F401  (item analysis, progress, their CSV)
from . import lti_routes  # noqa: E402,F401  (grades to the LMS again, the roster from the LMS)
