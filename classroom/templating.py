"""Template filters and globals: Markdown, local times, labels."""
from flask import Flask, current_app

from .models import ERROR_KINDS
from .content import format_label, is_code
from .rendering import highlight_lines, render_code, render_markdown
from .services import accounts, agreement, scoring
from .services.scoring import LABELS
from .services.validation import to_local


def local_time(dt, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    if dt is None:
        return "—"
    tz = current_app.config["CLASSROOM_TIMEZONE"]
    return f"{to_local(dt, tz).strftime(fmt)} {tz}"


def input_time(dt) -> str:
    """For <input type=datetime-local>."""
    if dt is None:
        return ""
    return to_local(dt, current_app.config["CLASSROOM_TIMEZONE"]).strftime("%Y-%m-%dT%H:%M")


def lean_status_line() -> tuple[bool, str]:
    from .lean import lean_status

    return lean_status(current_app.config)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["lean_status"] = lean_status_line
    app.jinja_env.filters["markdown"] = render_markdown
    # Programs: Pygments on the server, one fragment per line (a step), or a whole block (a correction).
    app.jinja_env.filters["code_lines"] = highlight_lines
    app.jinja_env.filters["code"] = render_code
    app.jinja_env.tests["code_format"] = is_code
    app.jinja_env.filters["format_label"] = format_label
    app.jinja_env.filters["local_time"] = local_time
    # An account made from an LMS launch has a placeholder address: pages say "from the LMS" instead.
    app.jinja_env.filters["shown_email"] = accounts.shown_email
    app.jinja_env.filters["input_time"] = input_time
    # One way to write numbers and states on every page (and in the CSV): services/scoring.py.
    app.jinja_env.filters["percent"] = scoring.format_percent
    app.jinja_env.filters["points"] = scoring.format_points
    app.jinja_env.filters["student_feedback"] = scoring.student_feedback
    app.jinja_env.filters["machine_note"] = scoring.machine_note
    app.jinja_env.filters["machine_feedback"] = scoring.machine_feedback
    app.jinja_env.globals["COMPONENT_LABELS"] = LABELS
    app.jinja_env.globals["SHORT_LABELS"] = {"location": "Step", "explanation": "Expl.", "final_answer": "Ans.",
                                             "correction": "Corr.", "lean": "Lean"}
    app.jinja_env.globals["ERROR_KINDS"] = ERROR_KINDS
    app.jinja_env.globals["LEVEL_NAMES"] = agreement.LEVEL_NAMES
    app.jinja_env.globals["suggestion_level"] = agreement.level
