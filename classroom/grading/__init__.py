"""Grading: exact checks, the grader model's verdicts, and the pipeline that combines them.

A leaf below the services: it uses the models, llm/ (model clients) and lean/, never
classroom.services (tests/test_layers.py holds it to that).

Modules:
- answers.py        final answers checked as a mathematician would, in a bounded worker process
- answer_math.py    what that worker runs: classroom rewriting around Math-Verify, answer modes
- pipeline.py       grades one submission version: its input is built once, exact facts first,
                    then the model's verdict (when configured) or the review queue, then Lean
- model_grading.py  the grader model's verdict: llm/grader.py asks, reconcile.py makes it agree
                    with the exact facts, one stored reply per version
- reconcile.py      exact facts outrank the model; suspicious text is flagged
- generation.py     model-written flawed solutions (llm/generator.py) and their three checks
- evaluation.py     `evaluate-grader`: agreement of a grader with labelled critiques
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..llm.grader import GraderReply, GradingInput  # noqa: F401  (GradingInput: grading's input too)

ANSWER_CORRECT = "correct"
ANSWER_INCORRECT = "incorrect"
ANSWER_UNREADABLE = "unreadable"
ANSWER_ABSENT = "absent"


@dataclass(frozen=True)
class AnswerCheck:
    """Result of comparing a student's final answer with the reference, exactly."""
    verdict: str  # correct | incorrect | unreadable | absent
    note: str = ""
    read_as: str = ""  # LaTeX of the answer as it was read ("\\frac{5}{2}" for "2 1/2")

    @property
    def score(self) -> Optional[float]:
        if self.verdict == ANSWER_CORRECT:
            return 1.0
        if self.verdict in (ANSWER_INCORRECT, ANSWER_UNREADABLE):
            return 0.0
        return None


# A grader model's reply once reconcile.py has made it agree with the exact facts: the reply
# contract's fields plus provenance (model, prompt version, tokens, latency, raw reply).
ModelVerdict = GraderReply
