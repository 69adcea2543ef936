"""The course's dataset of model mistakes (docs/lab.md, "Publishing the dataset"): JSON Lines of its
harvested failures (and, when asked, the mistakes planted by the instructor), for `export-dataset` and the
course page's download.

Each line is the problem as a bank line (banks.bank_record: `import-bank` takes the file back as it is; the
fields below are extra and an import ignores them) plus its provenance:

- `origin`: "harvested" (a model's real mistake, from a lab or `run-benchmark --harvest-into`) or "planted"
- `model`: the model that wrote the flawed solution (null when a person wrote it)
- `strategy_sha256`, `sample_index`: the strategy the model was given and which of the k samples it was
  (null for planted mistakes)
- `created_at`: when the model wrote the attempt (a planted mistake: when the problem was made), UTC ISO 8601
- `critique_count`: how many critiques students have sent on the problem (a count, never who)

Nothing names a student: no names, emails or user ids, no group names. A harvest whose group unticked
"Include it in the course's published dataset" is left out (and counted, so the instructor is told).
Only approved problems are exported: a harvest still waiting, or a draft waiting for the instructor's key,
is not a finished item of the dataset. A problem of a hidden lab exam is left out (and counted) unless asked
for explicitly: the hidden exam is the benchmark nobody should be able to tune to.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from ..models import Course, Lab, LabAttempt, LabExamProblem, LabHarvest, LabStrategy, Problem, Submission, User
from . import banks, courses, problems

ORIGIN_HARVESTED = "harvested"
ORIGIN_PLANTED = "planted"
PROVENANCE_FIELDS = ("origin", "model", "strategy_sha256", "sample_index", "created_at", "critique_count")


@dataclass
class DatasetResult:
    text: str
    exported: int
    harvested: int
    planted: int
    opted_out: int  # harvests their group kept out of the dataset
    hidden_exam: int = 0  # problems left out because they are in a hidden lab exam

    def summary(self) -> str:
        text = (f"exported {self.exported} problem{'' if self.exported == 1 else 's'} ({self.harvested} harvested, "
                f"{self.planted} planted)")
        if self.opted_out:
            text += f"; {self.opted_out} harvested failure{'' if self.opted_out == 1 else 's'} left out at the " \
                    "group's request"
        if self.hidden_exam:
            text += f"; {self.hidden_exam} problem{'' if self.hidden_exam == 1 else 's'} of a hidden lab exam " \
                    "left out (--include-hidden-exams writes them)"
        return text


def _iso(moment: Optional[datetime]) -> Optional[str]:
    if moment is None:
        return None
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z") if moment.tzinfo else \
        moment.replace(microsecond=0).isoformat() + "Z"


def hidden_exam_problem_ids(db: Session, course_id: int) -> set[int]:
    """The course's problems that are in a lab exam hidden from the students."""
    return set(db.exec(select(LabExamProblem.problem_id).join(Lab, Lab.id == LabExamProblem.lab_id)
                       .where(Lab.course_id == course_id, Lab.exam_hidden == True)))  # noqa: E712


def _critique_counts(db: Session, problem_ids: list[int]) -> dict[int, int]:
    if not problem_ids:
        return {}
    rows = db.exec(select(Submission.problem_id, func.count(Submission.id))
                   .where(Submission.problem_id.in_(problem_ids)).group_by(Submission.problem_id))
    return {pid: int(n) for pid, n in rows}


def _harvests(db: Session, problem_ids: list[int]) -> dict[int, tuple[LabHarvest, LabAttempt, LabStrategy]]:
    """The lab harvest each approved harvested problem came from, with its attempt and strategy."""
    if not problem_ids:
        return {}
    rows = db.exec(select(LabHarvest, LabAttempt, LabStrategy)
                   .join(LabAttempt, LabAttempt.id == LabHarvest.attempt_id)
                   .join(LabStrategy, LabStrategy.id == LabAttempt.strategy_id)
                   .where(LabHarvest.problem_id.in_(problem_ids)))
    return {h.problem_id: (h, a, st) for h, a, st in rows}


def provenance(p: Problem, key, harvest_row, critique_count: int) -> dict:
    if key.origin != ORIGIN_HARVESTED:
        return {"origin": ORIGIN_PLANTED, "model": key.origin_model, "strategy_sha256": None, "sample_index": None,
                "created_at": _iso(p.created_at), "critique_count": critique_count}
    if harvest_row is not None:  # from a lab: the attempt says everything
        _harvest, attempt, strategy = harvest_row
        return {"origin": ORIGIN_HARVESTED, "model": key.origin_model or attempt.model,
                "strategy_sha256": strategy.sha256, "sample_index": attempt.sample_index,
                "created_at": _iso(attempt.created_at), "critique_count": critique_count}
    # From `run-benchmark --harvest-into`: the problem keeps what the run recorded.
    return {"origin": ORIGIN_HARVESTED, "model": key.origin_model, "strategy_sha256": p.origin_strategy_sha256,
            "sample_index": p.origin_sample_index, "created_at": _iso(p.created_at),
            "critique_count": critique_count}


def export_dataset(db: Session, actor: User, course: Course, include_planted: bool = False,
                   include_hidden_exams: bool = False) -> DatasetResult:
    """The course's approved harvested failures (and planted mistakes if asked), one JSON object a line;
    a hidden lab exam's problems only if `include_hidden_exams`."""
    courses.require_instructor(db, actor, course)
    hidden = set() if include_hidden_exams else hidden_exam_problem_ids(db, course.id)
    chosen, hidden_exam = [], 0
    for p in problems.problems_of(db, course.id):
        solution, key = problems.approved_solution_with_key(db, p.id)
        if solution is None:
            continue
        if key.origin == ORIGIN_HARVESTED or include_planted:
            if p.id in hidden:
                hidden_exam += 1
                continue
            chosen.append((p, solution, key))
    ids = [p.id for p, _s, _k in chosen]
    harvests = _harvests(db, ids)
    counts = _critique_counts(db, ids)
    lines, harvested, planted, opted_out = [], 0, 0, 0
    for p, solution, key in chosen:
        row = harvests.get(p.id)
        if key.origin == ORIGIN_HARVESTED and row is not None and not row[0].exportable:
            opted_out += 1
            continue
        record = banks.bank_record(course, p, solution, key)
        record.update(provenance(p, key, row, counts.get(p.id, 0)))
        if record["origin"] == ORIGIN_HARVESTED:
            harvested += 1
        else:
            planted += 1
        lines.append(json.dumps(record, ensure_ascii=False))
    return DatasetResult(text="".join(line + "\n" for line in lines), exported=len(lines), harvested=harvested,
                         planted=planted, opted_out=opted_out, hidden_exam=hidden_exam)
