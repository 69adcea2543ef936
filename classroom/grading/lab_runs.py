"""Running the solver model in the AI lab: the body of one background job per LabRun.

`solve_and_check` is one checked sample; `run-benchmark` (services/benchmark.py) uses it too, so the command
measures the model exactly as a lab run does.

The LabRun row is the source of truth, as for grading jobs: each attempt is committed as soon as it is
checked, with the run's counters, so the progress bar moves, a cancel takes effect before the next
sample, and a run taken up again (its worker died) skips the samples already stored (unique run, item,
sample). The final answer of each attempt is checked with the classroom's answer checker, against the
problem's reference answer, answer mode and tolerance. The group's token budget is checked before every
sample; a run that meets it stops with the state `budget`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional, Sequence

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..llm import ModelError, ModelSettings, client_for, solver
from ..models import (
    RUN_BUDGET, RUN_CANCELLED, RUN_DONE, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, Lab, LabAttempt, LabProblem, LabRun,
    LabStrategy, Problem, utcnow,
)
from .answers import check_answer

log = logging.getLogger(__name__)

NO_SOLVER = ("No solver model is configured: set SOLVER_MODEL (or GRADER_MODEL) and OPENAI_BASE_URL, then start "
             "the run again.")


@dataclass(frozen=True)
class RunItem:
    """One problem of a run, as the solver sees it (statement) and as the checker needs it (reference)."""
    kind: str  # "exam" or "synthetic"
    id: int
    statement: str
    reference_answer: str
    answer_mode: str
    answer_tolerance: Optional[str]


@dataclass
class CheckedAttempt:
    """One sample and the answer checker's verdict on its final answer ("absent" when it gives none)."""
    attempt: solver.Attempt
    verdict: str


def solve_and_check(client, item: RunItem, system_prompt: str = "",
                    examples: Sequence[solver.WorkedExample] = ()) -> CheckedAttempt:
    """One sample of one problem, checked: what a lab run and `run-benchmark` both do for every attempt.
    Raises ModelError when the endpoint gives no completion."""
    attempt = solver.solve(client, item.statement, system_prompt, examples)
    check = check_answer(attempt.final_answer, item.reference_answer, item.answer_mode, item.answer_tolerance)
    return CheckedAttempt(attempt, check.verdict if attempt.final_answer else "absent")


def load_items(s: Session, run: LabRun) -> list[RunItem]:
    exam_ids = [i for kind, i in run.items if kind == "exam"]
    synthetic_ids = [i for kind, i in run.items if kind == "synthetic"]
    exam = {p.id: p for p in s.exec(select(Problem).where(Problem.id.in_(exam_ids)))} if exam_ids else {}
    synthetic = ({p.id: p for p in s.exec(select(LabProblem).where(LabProblem.id.in_(synthetic_ids)))}
                 if synthetic_ids else {})
    items = []
    for kind, i in run.items:
        p = (exam if kind == "exam" else synthetic).get(i)
        if p is None:  # deleted since: its place is kept so item numbers stay stable
            items.append(RunItem(kind, i, "", "", "auto", None))
        else:
            items.append(RunItem(kind, i, p.statement, p.reference_answer, p.answer_mode, p.answer_tolerance))
    return items


def worked_examples(s: Session, strategy: LabStrategy) -> list[solver.WorkedExample]:
    ids = [int(i) for i in strategy.example_ids or []]
    rows = {p.id: p for p in s.exec(select(LabProblem).where(LabProblem.id.in_(ids)))} if ids else {}
    return [solver.WorkedExample(rows[i].statement, rows[i].reference_solution) for i in ids if i in rows]


def tokens_used(s: Session, lab_id: int, group_id: int) -> int:
    return int(s.exec(select(func.coalesce(func.sum(LabRun.tokens_in + LabRun.tokens_out), 0))
                      .where(LabRun.lab_id == lab_id, LabRun.group_id == group_id)).one())


def _claim(s: Session, run_id: int) -> bool:
    """Take a queued run (one sent again by `recover_runs` is queued too). A second message for a run that
    a worker already has finds it running and leaves it alone. Atomic."""
    now = utcnow()
    result = s.exec(update(LabRun).where(LabRun.id == run_id, LabRun.state == RUN_QUEUED)
                    .values(state=RUN_RUNNING, started_at=func.coalesce(LabRun.started_at, now), heartbeat_at=now))
    s.commit()
    return result.rowcount == 1


def _finish(s: Session, run_id: int, state: str, error: Optional[str] = None) -> str:
    s.exec(update(LabRun).where(LabRun.id == run_id).values(state=state, finished_at=utcnow(),
                                                              error=(error or None) and error[:2000]))
    s.commit()
    return state


def run_lab(engine, run_id: int, settings: Optional[ModelSettings]) -> str:
    """Solve every item of the run k times; returns the run's final state."""
    with Session(engine, expire_on_commit=False) as s:
        if not _claim(s, run_id):
            run = s.get(LabRun, run_id)
            return run.state if run else "missing"
        run = s.get(LabRun, run_id)
        if settings is None:
            return _finish(s, run_id, RUN_FAILED, NO_SOLVER)
        lab = s.get(Lab, run.lab_id)
        strategy = s.get(LabStrategy, run.strategy_id)
        items = load_items(s, run)
        examples = worked_examples(s, strategy)
        done = set(s.exec(select(LabAttempt.item, LabAttempt.sample_index).where(LabAttempt.run_id == run_id)))
        client = client_for(settings, "solver")
        for number, item in enumerate(items):
            for sample in range(run.samples):
                if (number, sample) in done or not item.statement:
                    continue
                s.refresh(run)
                if run.cancel_requested:
                    return _finish(s, run_id, RUN_CANCELLED)
                if tokens_used(s, run.lab_id, run.group_id) >= lab.token_budget:
                    return _finish(s, run_id, RUN_BUDGET, f"The group's token budget ({lab.token_budget:,} tokens) "
                                                          "is used up.")
                try:
                    checked = solve_and_check(client, item, strategy.system_prompt, examples)
                except ModelError as exc:
                    log.warning("lab run %s failed: %s", run_id, exc.reason)
                    return _finish(s, run_id, RUN_FAILED, exc.reason)
                attempt, verdict = checked.attempt, checked.verdict
                row = LabAttempt(run_id=run_id, item=number, sample_index=sample,
                                 problem_id=item.id if item.kind == "exam" else None,
                                 lab_problem_id=item.id if item.kind == "synthetic" else None,
                                 text=attempt.text, final_answer=attempt.final_answer, verdict=verdict,
                                 model=settings.model, strategy_id=strategy.id, tokens_in=attempt.tokens_in,
                                 tokens_out=attempt.tokens_out, latency_ms=attempt.latency_ms)
                s.add(row)
                s.exec(update(LabRun).where(LabRun.id == run_id).values(
                    completed=LabRun.completed + 1, correct=LabRun.correct + int(verdict == "correct"),
                    tokens_in=LabRun.tokens_in + attempt.tokens_in, tokens_out=LabRun.tokens_out + attempt.tokens_out,
                    heartbeat_at=utcnow()))
                try:
                    s.commit()
                except IntegrityError:  # another worker stored this sample first
                    s.rollback()
                    continue
        return _finish(s, run_id, RUN_DONE)


MAX_RUN_RECOVERIES = 2  # times a run without a sign of life is sent to the queue again before it fails


def stale_reason(run: LabRun, minutes: float) -> str:
    wait = f"{minutes:g} minute{'s' if minutes != 1 else ''}"
    if run.state == RUN_QUEUED:
        return (f"No worker took this run in {wait}, even after it was sent to the queue again: the queue may "
                "have lost it, or no worker is running. Nothing was spent. Use Run again to send it once more; if "
                "it fails again, tell your instructor.")
    return (f"The run stopped making progress (no sample in {wait}, even after it was sent to the queue again): "
            "its worker was probably stopped. The samples it did are kept; Run again continues from there.")


def recover_runs(engine, now, stale_seconds: float, enqueue) -> tuple[list[int], list[int]]:
    """Queued or running runs whose last sign of life is older than `stale_seconds` (a lost queue message,
    a worker that died): each is queued and sent again (`enqueue(run_id)`), up to MAX_RUN_RECOVERIES times;
    then it fails with the reason, and its group can Run again. Returns (sent again, failed)."""
    stale_before = now - timedelta(seconds=stale_seconds)
    sent, failed = [], []
    with Session(engine, expire_on_commit=False) as s:
        stale = s.exec(select(LabRun).where(LabRun.state.in_((RUN_QUEUED, RUN_RUNNING)),
                                            func.coalesce(LabRun.heartbeat_at, LabRun.created_at) < stale_before))
        for run in list(stale):
            alive = func.coalesce(LabRun.heartbeat_at, LabRun.created_at) < stale_before
            where = (LabRun.id == run.id, LabRun.state == run.state, alive)
            if run.recoveries < MAX_RUN_RECOVERIES:
                done = s.exec(update(LabRun).where(*where).values(state=RUN_QUEUED, heartbeat_at=now,
                                                                  recoveries=LabRun.recoveries + 1))
                if done.rowcount == 1:
                    sent.append(run.id)
            else:
                done = s.exec(update(LabRun).where(*where).values(
                    state=RUN_FAILED, finished_at=now, error=stale_reason(run, stale_seconds / 60)))
                if done.rowcount == 1:
                    failed.append(run.id)
        s.commit()
    for run_id in sent:
        enqueue(run_id)
    if sent or failed:
        log.info("lab runs without progress: %d sent again, %d failed", len(sent), len(failed))
    return sent, failed
