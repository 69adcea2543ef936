"""Calls the grader model for a submission when one is configured, with the
per-version cache so the same version, model and prompt is paid for once."""
from __future__ import annotations

from typing import Mapping, Optional

from sqlmodel import Session

from ..models import Submission
from . import ModelVerdict


def verdict_for(s: Session, submission: Submission, config: Mapping) -> Optional[ModelVerdict]:
    """None when no grader model is configured (then the review queue decides)."""
    if not config.get("GRADER_MODEL"):
        return None
    raise NotImplementedError("grader model integration arrives with the grader issue")
