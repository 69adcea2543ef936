"""View helpers shared by the teacher's route modules (which never import each other)."""
from __future__ import annotations

from typing import Optional

from flask import current_app, flash, request
from flask_login import current_user

from ..models import Course
from ..services import authoring, problems
from ..services.errors import ServiceError
from .authoring_forms import BankForm, CopyForm
from .forms import PlainForm


def flash_error(exc: ServiceError) -> None:
    """A service's refusal, with each of its row or field errors on a line of its own."""
    flash(exc.message, "error")
    for line in exc.errors:
        flash(line, "error")


def flash_form_errors(form) -> None:
    """Each field's validation errors, labelled with the field's label."""
    for field, errors in form.errors.items():
        label = getattr(getattr(form, field, None), "label", None)
        for e in errors if isinstance(errors, list) else [errors]:
            if isinstance(e, (list, dict)):  # a FieldList entry's errors
                flash(f"{label.text if label else field}: check this field.", "error")
            else:
                flash(f"{label.text if label else field}: {e}", "error")


def uploaded_bytes(form, field: str, missing: str, limit: Optional[int] = None) -> Optional[bytes]:
    """The uploaded file's bytes, or None after flashing why there are none (expired form, no file)."""
    if not form.validate_on_submit():
        flash("The upload form expired. Reload the page and choose the file again.", "error")
        return None
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        flash(missing, "error")
        return None
    return upload.read() if limit is None else upload.read(limit)


def model_ready() -> bool:
    return authoring.generation_available(current_app.config)


def apply_split(form) -> bool:
    """When the problem form came from "Split into steps": put the pasted answer's steps into the
    step boxes (nothing is saved) and return True, so the view shows the form again."""
    if "split" not in request.form:
        return False
    try:
        steps = authoring.split_steps(form.paste.data)
    except ServiceError as exc:
        flash_error(exc)
        return True
    form.steps.entries = []
    form.steps.last_index = -1
    for step in steps + ([""] if len(steps) < form.steps.max_entries else []):
        form.steps.append_entry(step)
    form.paste.data = ""
    flash(f"Split into {len(steps)} steps. Check them, then mark the first wrong step and write the key. "
          "Nothing is saved until you press Save problem.", "success")
    return True


def course_extras(s, c: Course) -> dict:
    """What the course page shows of authoring: the bank form, drafts and problems not ready for students."""
    ids = [p.id for p in problems.problems_of(s, c.id)]
    return {"bank_form": BankForm(), "ready_ids": authoring.ready_problem_ids(s, ids),
            "draft_counts": authoring.draft_counts(s, ids), "model_ready": model_ready()}


def problem_extras(s, p) -> dict:
    """The problem page's drafts, copy form and generation state."""
    form = CopyForm()
    form.course.choices = [(c.code, f"{c.title} ({c.code})") for c in authoring.copy_targets(s, current_user)]
    form.course.data = next((code for code, _ in form.course.choices if code != s.get(Course, p.course_id).code),
                            None)
    return {"drafts": authoring.drafts_of(s, p.id), "copy_form": form, "plain_form": PlainForm(),
            "model_ready": model_ready()}
