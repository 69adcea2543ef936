"""Agreement of a grader with labelled critiques (`flask evaluate-grader`).

Each labelled critique is graded as if a student had submitted it: the critique's
step is the marked step, its reason is the explanation, there is no correction.
The grader's `explanation_verdict == "correct"` is compared with the label.
Input files follow the MR-GSM8K layout (problems.jsonl and critiques.jsonl).
"""
from __future__ import annotations

import json
import math
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Protocol

from . import GradingInput, ModelVerdict
from .answers import check_answer

PROBLEM_FIELDS = ("id", "question", "reference_solution", "reference_answer", "flawed_steps",
                  "first_error_step", "error_reason")
CRITIQUE_FIELDS = ("id", "problem_id", "critique_step", "critique_reason", "label")
LABELS = ("correct", "incorrect")


class EvaluationDataError(ValueError):
    """A problem with an input file; the message names the file and line."""


class EvaluationAborted(RuntimeError):
    """The grader failed on every one of the first requests; no point going on."""


class Grader(Protocol):
    def grade(self, inp: GradingInput) -> ModelVerdict: ...


# --------------------------------------------------------------------------- reading

@dataclass
class EvalItem:
    line_no: int
    critique_id: str
    problem_id: str
    critic: str
    label_correct: bool
    inp: GradingInput


def _jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvaluationDataError(f"{path.name} line {line_no}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise EvaluationDataError(f"{path.name} line {line_no}: expected a JSON object")
            yield line_no, obj


def _require(obj: dict, fields, where: str) -> None:
    missing = [f for f in fields if f not in obj or obj[f] is None]
    if missing:
        raise EvaluationDataError(f"{where}: missing field(s) {', '.join(missing)}")


def _step_number(value, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise EvaluationDataError(f"{where}: {name} must be a step number (1 or more), got {value!r}")
    return value


def load_problems(path: Path) -> dict[str, dict]:
    path = Path(path)
    problems: dict[str, dict] = {}
    for line_no, obj in _jsonl(path):
        where = f"{path.name} line {line_no}"
        _require(obj, PROBLEM_FIELDS, where)
        if not isinstance(obj["flawed_steps"], list) or not all(isinstance(s, str) for s in obj["flawed_steps"]):
            raise EvaluationDataError(f"{where}: flawed_steps must be a list of strings")
        step = _step_number(obj["first_error_step"], where, "first_error_step")
        if step > len(obj["flawed_steps"]):
            raise EvaluationDataError(f"{where}: first_error_step {step} is beyond the "
                                      f"{len(obj['flawed_steps'])} flawed steps")
        pid = str(obj["id"])
        if pid in problems:
            raise EvaluationDataError(f"{where}: problem id {pid!r} appears twice")
        problems[pid] = obj
    return problems


def grading_input(problem: dict, critique: dict) -> GradingInput:
    """A critique as a student's submission: its step and reason, no correction."""
    reference_answer = str(problem["reference_answer"])
    return GradingInput(
        problem_statement=str(problem["question"]),
        reference_solution=str(problem["reference_solution"]),
        reference_answer=reference_answer,
        steps=list(problem["flawed_steps"]),
        key_first_wrong_step=int(problem["first_error_step"]),
        key_reason=str(problem["error_reason"]),
        key_error_kind=str(problem.get("error_kind") or ""),
        student_step=int(critique["critique_step"]),
        student_explanation=str(critique["critique_reason"]),
        student_correction="",
        student_final_answer="",
        answer_check=check_answer("", reference_answer),
    )


def load_items(problems_path: Path, critiques_path: Path, limit: Optional[int] = None) -> list[EvalItem]:
    """Critiques in file order (the first `limit` of them), each joined to its problem."""
    problems = load_problems(Path(problems_path))
    critiques_path = Path(critiques_path)
    items: list[EvalItem] = []
    seen: set[str] = set()
    for line_no, obj in _jsonl(critiques_path):
        if limit is not None and len(items) >= limit:
            break
        where = f"{critiques_path.name} line {line_no}"
        _require(obj, CRITIQUE_FIELDS, where)
        pid = str(obj["problem_id"])
        if pid not in problems:
            raise EvaluationDataError(f"{where}: problem_id {pid!r} is not in {Path(problems_path).name}")
        _step_number(obj["critique_step"], where, "critique_step")
        if obj["label"] not in LABELS:
            raise EvaluationDataError(f"{where}: label must be \"correct\" or \"incorrect\", got {obj['label']!r}")
        if not isinstance(obj["critique_reason"], str):
            raise EvaluationDataError(f"{where}: critique_reason must be text")
        cid = str(obj["id"])
        if cid in seen:
            raise EvaluationDataError(f"{where}: critique id {cid!r} appears twice")
        seen.add(cid)
        items.append(EvalItem(line_no=line_no, critique_id=cid, problem_id=pid,
                              critic=str(obj.get("critic") or ""),
                              label_correct=obj["label"] == "correct",
                              inp=grading_input(problems[pid], obj)))
    return items


# --------------------------------------------------------------------------- graders

class ExactBaselineGrader:
    """No model: an explanation counts as correct iff its step is the key's first wrong step.

    This judges the step only, never the reason; it is the floor a model must beat.
    """
    name = "exact"

    def grade(self, inp: GradingInput) -> ModelVerdict:
        same = inp.student_step == inp.key_first_wrong_step
        return ModelVerdict(
            location_correct=same,
            explanation_verdict="correct" if same else "incorrect",
            explanation_score=1.0 if same else 0.0,
            correction_verdict="absent",
            correction_score=0.0,
            feedback="Step-only baseline: the reason was not judged.",
            flags=["step_only_baseline"],
            model_name="exact-step-baseline",
        )


# --------------------------------------------------------------------------- metrics

@dataclass(frozen=True)
class Confusion:
    """Positive class = "correct". tp: grader and label both say correct."""
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @classmethod
    def from_pairs(cls, pairs) -> "Confusion":
        tp = fp = fn = tn = 0
        for predicted, label in pairs:
            if predicted and label:
                tp += 1
            elif predicted:
                fp += 1
            elif label:
                fn += 1
            else:
                tn += 1
        return cls(tp, fp, fn, tn)


def accuracy(c: Confusion) -> float:
    return (c.tp + c.tn) / c.n if c.n else 0.0


def mcc(c: Confusion) -> float:
    """Matthews correlation; 0.0 when a row or column is empty (undefined)."""
    denom = (c.tp + c.fp) * (c.tp + c.fn) * (c.tn + c.fp) * (c.tn + c.fn)
    if denom == 0:
        return 0.0
    return (c.tp * c.tn - c.fp * c.fn) / math.sqrt(denom)


def cohen_kappa(c: Confusion) -> float:
    """Agreement beyond chance; 0.0 when chance agreement is already total (undefined)."""
    n = c.n
    if n == 0:
        return 0.0
    observed = (c.tp + c.tn) / n
    expected = ((c.tp + c.fp) * (c.tp + c.fn) + (c.fn + c.tn) * (c.fp + c.tn)) / (n * n)
    if expected >= 1.0:
        return 0.0
    return (observed - expected) / (1.0 - expected)


# --------------------------------------------------------------------------- running

@dataclass
class ItemResult:
    item: EvalItem
    verdict: Optional[ModelVerdict] = None
    error: Optional[str] = None

    @property
    def predicted_correct(self) -> Optional[bool]:
        return None if self.verdict is None else self.verdict.explanation_verdict == "correct"


@dataclass
class EvaluationResult:
    grader: str
    model: str
    prompt_version: str
    results: list[ItemResult]
    seconds: float
    concurrency: int
    total: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def graded(self) -> list[ItemResult]:
        return [r for r in self.results if r.verdict is not None]

    @property
    def errors(self) -> list[ItemResult]:
        return [r for r in self.results if r.error is not None]

    @property
    def confusion(self) -> Confusion:
        return Confusion.from_pairs((r.predicted_correct, r.item.label_correct) for r in self.graded)

    @property
    def tokens_in(self) -> int:
        return sum(r.verdict.tokens_in for r in self.graded)

    @property
    def tokens_out(self) -> int:
        return sum(r.verdict.tokens_out for r in self.graded)

    def metrics(self) -> dict:
        c = self.confusion
        labels_correct = c.tp + c.fn
        majority = max(labels_correct, c.n - labels_correct) / c.n if c.n else 0.0
        return {
            "grader": self.grader,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "n": c.n,
            "errors": len(self.errors),
            "accuracy": round(accuracy(c), 4),
            "mcc": round(mcc(c), 4),
            "kappa": round(cohen_kappa(c), 4),
            "majority_baseline_accuracy": round(majority, 4),
            "confusion": {"tp": c.tp, "fp": c.fp, "fn": c.fn, "tn": c.tn},
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "seconds": round(self.seconds, 2),
            "concurrency": self.concurrency,
        }


def run_evaluation(items: list[EvalItem], grader: Grader, *, concurrency: int = 8,
                   progress: Optional[Callable[[int, int], None]] = None,
                   grader_name: str = "openai", model: str = "", prompt_version: str = "",
                   abort_after_failures: int = 5) -> EvaluationResult:
    """Grade every item with up to `concurrency` requests in flight.

    A failed item is recorded with its reason and left out of the metrics. If the
    first `abort_after_failures` items all fail (a wrong URL or key, say), the rest
    are cancelled and EvaluationAborted carries the first reason.
    """
    concurrency = max(1, int(concurrency))
    started = time.monotonic()
    results: list[Optional[ItemResult]] = [None] * len(items)
    done = successes = failures = 0
    first_error: Optional[str] = None

    def work(index: int) -> ItemResult:
        item = items[index]
        try:
            return ItemResult(item, verdict=grader.grade(item.inp))
        except Exception as exc:  # one bad item must not sink a 400-item run
            reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
            return ItemResult(item, error=reason)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="evaluate-grader") as pool:
        pending = {pool.submit(work, i): i for i in range(len(items))}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    index = pending.pop(fut)
                    result = fut.result()
                    results[index] = result
                    done += 1  # only this thread counts; workers just return results
                    if result.error is None:
                        successes += 1
                    else:
                        failures += 1
                        first_error = first_error or result.error
                    if progress is not None:
                        progress(done, len(items))
                if successes == 0 and failures >= min(abort_after_failures, len(items)):
                    for fut in pending:
                        fut.cancel()
                    raise EvaluationAborted(
                        f"the grader failed on the first {failures} critiques; first reason: {first_error}")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    seconds = time.monotonic() - started
    return EvaluationResult(grader=grader_name, model=model, prompt_version=prompt_version,
                            results=[r for r in results if r is not None], seconds=seconds,
                            concurrency=concurrency, total=len(items))


# --------------------------------------------------------------------------- report

def format_report(result: EvaluationResult) -> str:
    m = result.metrics()
    c = result.confusion
    lines: list[str] = []
    if result.grader == "exact":
        lines.append("Grader: exact STEP-ONLY BASELINE (no model). An explanation counts as correct")
        lines.append("whenever the critique marks the key's first wrong step; the reason itself is NOT judged.")
    else:
        lines.append(f"Grader: model {result.model or '?'} (prompt {result.prompt_version or '?'})")
    lines.append(f"Critiques graded: {m['n']} of {result.total or len(result.results)}"
                 + (f" ({m['errors']} failed, left out of the metrics)" if m["errors"] else ""))
    lines.append(f"Accuracy:              {m['accuracy']:.3f}   (always answering the more common label: "
                 f"{m['majority_baseline_accuracy']:.3f})")
    lines.append(f"Matthews correlation:  {m['mcc']:+.3f}   (0 = no better than chance, 1 = perfect)")
    lines.append(f"Cohen's kappa:         {m['kappa']:+.3f}   (agreement beyond chance)")
    lines.append("Confusion matrix (rows: reference label, columns: grader's verdict):")
    lines.append(f"  {'':18}{'grader correct':>16}{'grader incorrect':>18}")
    lines.append(f"  {'label correct':18}{c.tp:>16}{c.fn:>18}")
    lines.append(f"  {'label incorrect':18}{c.fp:>16}{c.tn:>18}")
    lines.append(f"Tokens: {m['tokens_in']:,} in, {m['tokens_out']:,} out")
    lines.append(f"Wall time: {result.seconds:.1f} s (concurrency {result.concurrency})")
    if result.errors:
        lines.append("Failures:")
        for r in result.errors[:10]:
            lines.append(f"  critiques line {r.item.line_no} ({r.item.critique_id}): {r.error}")
        if len(result.errors) > 10:
            lines.append(f"  ... and {len(result.errors) - 10} more")
    lines.extend(result.notes)
    return "\n".join(lines)
