"""Item analysis: how a class did on each problem of an assignment, with false alarms apart from misses.

A miss is a flawed solution whose first wrong step the student did not mark (another step, or "no step is
wrong"); a false alarm is a step marked on a correct solution. The two are different failures of a critic
(too lenient, too suspicious), so they are counted apart. Counted over each student's counting (latest)
version, against the key of the solution that version answered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlmodel import Session, select

from ..models import AnswerKey, FlawedSolution, Problem, Submission


@dataclass
class ItemStats:
    problem: Problem
    correct_solution: bool  # the key students get now says no step is wrong
    answered: int = 0
    found: int = 0  # the key's step marked; on a correct solution, "no step is wrong"
    missed: int = 0  # flawed solution: another step marked, or "no step is wrong"
    false_alarms: int = 0  # correct solution: a step marked

    @property
    def found_percent(self) -> int | None:
        return round(100 * self.found / self.answered) if self.answered else None


def item_analysis(db: Session, problems: list[Problem], latest: Iterable[Submission]) -> list[ItemStats]:
    """One row per problem, in the assignment's order; two queries whatever the number of students."""
    latest = list(latest)
    answered_ids = {s.flawed_solution_id for s in latest}
    problem_ids = [p.id for p in problems]
    keys: dict[int, AnswerKey] = {}
    current: dict[int, tuple[int, AnswerKey]] = {}  # problem id -> (solution id, key) of the newest approved
    if problem_ids:
        rows = db.exec(select(FlawedSolution.id, FlawedSolution.problem_id, FlawedSolution.approved, AnswerKey)
                       .join(AnswerKey, AnswerKey.flawed_solution_id == FlawedSolution.id)
                       .where(FlawedSolution.problem_id.in_(problem_ids))).all()
        for solution_id, problem_id, approved, key in rows:
            if solution_id in answered_ids:
                keys[solution_id] = key
            if approved and solution_id > current.get(problem_id, (0, None))[0]:
                current[problem_id] = (solution_id, key)
    stats = {p.id: ItemStats(p, correct_solution=bool(p.id in current and current[p.id][1].first_wrong_step is None))
             for p in problems}
    for sub in latest:
        item, key = stats.get(sub.problem_id), keys.get(sub.flawed_solution_id)
        if item is None or key is None:
            continue
        item.answered += 1
        if sub.error_step == key.first_wrong_step:
            item.found += 1
        elif key.first_wrong_step is None:
            item.false_alarms += 1
        else:
            item.missed += 1
    return [stats[p.id] for p in problems]
