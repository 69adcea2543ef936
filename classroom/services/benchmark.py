"""`run-benchmark`: the solver model on bank-format problems outside any lab ("how does the model do on my
exam?"), through the lab's own attempt code (grading/lab_runs.solve_and_check): the same prompt, sampling,
final-answer reading and answer checking as a lab run. Optionally every wrong attempt becomes a draft problem
of a course, awaiting the instructor's key (services/harvest.draft_from_benchmark).

No Flask here: the command (classroom/cli.py) reads the files and the settings, shows the progress bar and
prints; this module checks the input, runs and counts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from sqlmodel import Session, select

from ..grading.lab_runs import RunItem, solve_and_check
from ..llm import ModelError, ModelSettings, client_for
from ..models import Course, Problem, User, utcnow
from . import audit, banks, courses, harvest, lab
from .errors import InvalidInput, ServiceError

MAX_SAMPLES = 100
MAX_STRATEGY_CHARS = 20_000
JSON_FIELDS = ("n_problems", "samples", "attempts", "correct", "accuracy", "tokens_in", "tokens_out", "seconds")


class BenchmarkFailed(ServiceError):
    """The model stopped answering part way; `result` holds what was measured before."""
    status = 502

    def __init__(self, message: str, result: "BenchmarkResult"):
        super().__init__(message)
        self.result = result


@dataclass
class ProblemScore:
    id: str
    title: str
    correct: int = 0
    attempts: int = 0

    @property
    def accuracy(self) -> lab.Accuracy:
        return lab.Accuracy(self.correct, self.attempts)


@dataclass
class BenchmarkResult:
    samples: int
    strategy_sha256: str
    model: str
    problems: list[ProblemScore] = field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    harvested: int = 0  # draft problems made (--harvest-into)

    @property
    def attempts(self) -> int:
        return sum(p.attempts for p in self.problems)

    @property
    def correct(self) -> int:
        return sum(p.correct for p in self.problems)

    @property
    def accuracy(self) -> lab.Accuracy:
        return lab.Accuracy(self.correct, self.attempts)

    def as_json(self) -> dict:
        """The command's last line with --json (a contract: these fields, in this order)."""
        value = self.accuracy.value
        return {"n_problems": len(self.problems), "samples": self.samples, "attempts": self.attempts,
                "correct": self.correct, "accuracy": round(value, 4) if value is not None else None,
                "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "seconds": round(self.seconds, 2)}


def load_problems(raw: bytes) -> list[banks.BankEntry]:
    """Bank-format problems (the README's Problem banks), every line checked as `import-bank` checks it; a
    problem must have a reference answer, since the model's answers are checked against it."""
    try:
        entries = banks.parse_bank(raw)
    except banks.BankInvalid as exc:
        raise banks.BankInvalid(exc.message.replace("Nothing was imported", "Nothing was run"), field="problems",
                                errors=exc.errors) from None
    missing = [f"line {e.line}: field reference_answer: is empty; the model's answers are checked against it"
               for e in entries if not e.draft.reference_answer.strip()]
    if missing:
        raise banks.BankInvalid(f"Nothing was run: {len(missing)} problem{'' if len(missing) == 1 else 's'} "
                                "without a reference answer.", field="problems", errors=missing[:30])
    return entries


def load_strategy(text: Optional[str]) -> str:
    """A strategy file is the system prompt, as text; none: the solver's default prompt."""
    if text is None:
        return ""
    prompt = text.replace("\r\n", "\n").strip()
    if not prompt:
        raise InvalidInput("The strategy file is empty: write the system prompt in it, or leave --strategy out.",
                           field="strategy")
    if len(prompt) > MAX_STRATEGY_CHARS:
        raise InvalidInput(f"The strategy file is too long ({len(prompt):,} characters; the limit is "
                           f"{MAX_STRATEGY_CHARS:,}).", field="strategy")
    return prompt


def strategy_sha256(system_prompt: str) -> str:
    """As in a lab: the SHA-256 of what the model is told (the default prompt when none is given)."""
    from ..llm.solver import DEFAULT_SYSTEM_PROMPT
    return lab.strategy_sha256(system_prompt or DEFAULT_SYSTEM_PROMPT, [])


def _harvest_id(stamp: str, entry: banks.BankEntry, sample: int) -> str:
    suffix = f"-s{sample}"
    return f"benchmark-{stamp}-{entry.external_id}"[:banks.ID_LIMIT - len(suffix)] + suffix


def run_benchmark(db: Session, actor: User, course: Course, settings: ModelSettings,
                  entries: list[banks.BankEntry], samples: int, system_prompt: str = "", *,
                  harvest_into: Optional[tuple[User, Course]] = None,
                  on_attempt: Optional[Callable[[], None]] = None) -> BenchmarkResult:
    """Every problem solved `samples` times; `on_attempt` is called after each (the progress bar).
    `harvest_into` (an instructor and their course): each wrong attempt becomes a draft problem there."""
    courses.require_instructor(db, actor, course)
    if not 1 <= samples <= MAX_SAMPLES:
        raise InvalidInput(f"--samples must be 1 to {MAX_SAMPLES}.", field="samples")
    if harvest_into is not None:
        courses.require_instructor(db, harvest_into[0], harvest_into[1])
    sha = strategy_sha256(system_prompt)
    result = BenchmarkResult(samples=samples, strategy_sha256=sha, model=settings.model)
    client = client_for(settings, "solver")
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    taken: set = set()
    if harvest_into is not None:
        taken = set(db.exec(select(Problem.external_id).where(Problem.course_id == harvest_into[1].id,
                                                              Problem.external_id.is_not(None))).all())
    started = time.monotonic()
    try:
        for number, entry in enumerate(entries):
            d = entry.draft
            score = ProblemScore(entry.external_id, d.title)
            result.problems.append(score)
            item = RunItem("benchmark", number, d.statement, d.reference_answer, d.answer_mode, d.answer_tolerance)
            for sample in range(samples):
                try:
                    checked = solve_and_check(client, item, system_prompt)
                except ModelError as exc:
                    result.seconds = time.monotonic() - started
                    raise BenchmarkFailed(f"The solver model failed on {entry.external_id!r} (sample {sample + 1}) "
                                          f"after {result.attempts} attempts: {exc.reason}", result) from None
                attempt = checked.attempt
                score.attempts += 1
                score.correct += checked.verdict == "correct"
                result.tokens_in += attempt.tokens_in
                result.tokens_out += attempt.tokens_out
                if checked.verdict != "correct" and harvest_into is not None:
                    external_id = _harvest_id(stamp, entry, sample)
                    if external_id not in taken:
                        harvest.draft_from_benchmark(
                            db, harvest_into[0], harvest_into[1], d, attempt.text, attempt.final_answer,
                            model=settings.model, strategy_sha256=sha, sample_index=sample, external_id=external_id)
                        db.commit()
                        taken.add(external_id)
                        result.harvested += 1
                if on_attempt is not None:
                    on_attempt()
    finally:
        result.seconds = time.monotonic() - started
        details = {"model": settings.model, "problems": len(entries), "samples": samples,
                   "attempts": result.attempts, "correct": result.correct, "strategy_sha256": sha,
                   "harvested": result.harvested}
        if harvest_into is not None:
            details["harvest_into"] = harvest_into[1].code
        audit.record(db, actor, course.id, "lab.benchmark", f"course {course.code}", details)
        db.commit()
    return result
