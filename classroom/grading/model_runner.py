"""Calls the grader model for a submission when one is configured.

A reply is stored per (submission version, model, prompt version) the moment
it arrives, so the same version is never paid for twice: not when a job is
retried, and not when a worker dies after the call but before the grades
were saved.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Mapping, Optional

from sqlmodel import Session, select

from ..models import ModelGradeCache, Submission
from . import ModelVerdict
from .model_grader import PROMPT_VERSION, GraderConfig, ModelGrader

_graders: dict[tuple, ModelGrader] = {}
_lock = threading.Lock()


def _grader(cfg: GraderConfig) -> ModelGrader:
    # One client per configuration: it remembers which structured-output mode the endpoint accepts.
    key = dataclasses.astuple(cfg)
    with _lock:
        if key not in _graders:
            _graders[key] = ModelGrader(cfg)
        return _graders[key]


def verdict_for(s: Session, submission: Submission, config: Mapping) -> Optional[ModelVerdict]:
    """None when no grader model is configured (then the review queue decides).

    Raises GraderError (with a readable .reason) when the model cannot answer.
    """
    cfg = GraderConfig.from_mapping(config)
    if cfg is None:
        return None
    cached = s.exec(select(ModelGradeCache).where(
        ModelGradeCache.submission_id == submission.id, ModelGradeCache.model_name == cfg.model,
        ModelGradeCache.prompt_version == PROMPT_VERSION)).first()
    if cached is not None:
        return ModelVerdict(**cached.reply)
    from .pipeline import grading_input

    inp = grading_input(s, submission)[0]
    verdict = _grader(cfg).grade(inp)
    s.add(ModelGradeCache(submission_id=submission.id, model_name=cfg.model, prompt_version=PROMPT_VERSION,
                          reply=dataclasses.asdict(verdict)))
    s.commit()
    return verdict
