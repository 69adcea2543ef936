"""Template filters and globals: Markdown, local times, labels."""
from flask import Flask, current_app

from .models import ERROR_KINDS
from .rendering import render_markdown
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


def percent(value) -> str:
    if value is None:
        return "—"
    return f"{round(value * 100):d}%"


def lean_status_line() -> tuple[bool, str]:
    from .lean import lean_status

    return lean_status(current_app.config)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["lean_status"] = lean_status_line
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["input_time"] = input_time
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.globals["COMPONENT_LABELS"] = LABELS
    app.jinja_env.globals["SHORT_LABELS"] = {"location": "Step", "explanation": "Expl.", "final_answer": "Ans.",
                                             "correction": "Corr.", "lean": "Lean"}
    app.jinja_env.globals["ERROR_KINDS"] = ERROR_KINDS
