"""Small view helpers shared by the teacher's route modules."""
from __future__ import annotations

from typing import Optional

from flask import flash, request

from ..services.errors import ServiceError


def flash_error(exc: ServiceError) -> None:
    """A service's refusal, with each of its row or field errors on a line of its own."""
    flash(exc.message, "error")
    for line in exc.errors:
        flash(line, "error")


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
