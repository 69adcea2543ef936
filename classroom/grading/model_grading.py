"""The grader model inside grading: ask it (llm/grader.py), make its reply agree with the
exact facts (reconcile.py), and never pay twice for the same submission version.

A reply is stored per (submission version, model, prompt version) the moment it arrives (the prompt
version carries a digest of the problem's grader notes and the worked examples it was shown), so
the same version is not paid for again: not when a job is retried, and not when a worker
dies after the call but before the grades were saved.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..llm import ModelSettings, client_for
from ..llm import grader as grader_role
from ..models import ModelGradeCache
from . import GradingInput, ModelVerdict
from .reconcile import reconcile

PROMPT_VERSION = grader_role.PROMPT_VERSION


class ModelGrader:
    """Grades one critique with the configured model: a reconciled verdict with provenance.

    Raises llm.ModelError (with a readable .reason) when the model gives no usable reply.
    Thread-safe: the evaluation runs many at once."""

    def __init__(self, settings: ModelSettings) -> None:
        self.settings = settings
        self.client = client_for(settings, "grader")

    def grade(self, inp: GradingInput) -> ModelVerdict:
        reply = grader_role.grade(self.client, inp)
        final, _added = reconcile(reply.verdict(), inp)
        return dataclasses.replace(reply, **final)


def verdict_for(s: Session, submission_id: int, inp: GradingInput,
                settings: Optional[ModelSettings]) -> Optional[ModelVerdict]:
    """The model's verdict on this version; None when no grader model is configured (then the
    review queue decides). A stored reply is used when there is one; a new one is stored and
    committed at once."""
    if settings is None:
        return None
    # The instructor's grader notes and worked examples are part of the key: new ones mean a new prompt.
    prompt_version = grader_role.prompt_version_for(inp)

    return reply_once(s, submission_id, settings.model, prompt_version, ModelVerdict,
                      lambda: ModelGrader(settings).grade(inp))


def reply_once(s: Session, submission_id: int, model: str, prompt_version: str, reply_type, ask):
    """A model's reply on one submission version, asked at most once per (model, prompt version): a stored
    reply is rebuilt as `reply_type`; otherwise `ask()` is called and its dataclass reply stored and
    committed at once."""
    def stored():
        reply = s.exec(select(ModelGradeCache.reply).where(
            ModelGradeCache.submission_id == submission_id, ModelGradeCache.model_name == model,
            ModelGradeCache.prompt_version == prompt_version)).first()
        return None if reply is None else reply_type(**reply)

    cached = stored()
    if cached is not None:
        return cached
    reply = ask()
    s.add(ModelGradeCache(submission_id=submission_id, model_name=model, prompt_version=prompt_version,
                          reply=dataclasses.asdict(reply)))
    try:
        s.commit()
    except IntegrityError:
        # Another worker graded the same version meanwhile (its lease lapsed under load): the first
        # stored reply is the one both runs use, so a job never fails for having run twice.
        s.rollback()
        return stored() or reply
    return reply
