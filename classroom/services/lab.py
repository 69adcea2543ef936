"""The AI lab (docs/lab.md): lab assignments with a practice exam, groups' synthetic problems,
strategies, model runs and their results.

Who sees what:
- a lab and its exam's titles: the course's members; an exam's problems (statements): instructors, and
  students only when the exam is not hidden;
- a group's synthetic problems, strategies, runs and attempts: that group's members and the course's
  instructors. Everyone else gets "not found", in the words a missing thing gets;
- on a hidden exam a group sees only its scores: no statements, no per-problem results, no attempts.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Optional

from sqlalchemy import Integer, cast, func, update
from sqlmodel import Session, select

from .. import jobs
from ..models import (
    LAB_TARGETS, ROLE_STUDENT, RUN_DONE, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, Course, Lab, LabAttempt, LabExamProblem, LabGroup,
    LabProblem, LabRun, LabStrategy, Problem, User, utcnow,
)
from . import answer_checks, audit, courses, groups
from .errors import Conflict, ErrorCollector, Forbidden, InvalidInput, NotFound
from .validation import clean_text, parse_int

LAB_NOT_FOUND = "No such lab, or you are not in its course."
RUN_NOT_FOUND = "No such run, or it belongs to another group."
MAX_SAMPLES = 20
MAX_BUDGET = 100_000_000
MAX_EXAMPLES = 5
TARGET_LABELS = {"synthetic": "your synthetic problems", "exam": "the practice exam"}
ACTIVE_STATES = (RUN_QUEUED, RUN_RUNNING)
Z95 = 1.959963984540054  # the normal quantile for a two-sided 95 % interval


# --------------------------------------------------------------------------- labs

@dataclass
class LabDraft:
    title: str = ""
    instructions: str = ""
    exam_problem_ids: list = field(default_factory=list)
    exam_hidden: bool = False
    samples: object = 3
    token_budget: object = 200_000
    leaderboard_visible: bool = False


def validate_lab(db: Session, course: Course, draft: LabDraft) -> dict:
    check = ErrorCollector()
    title = check.check(clean_text, draft.title, "Title", "title", field="title")
    instructions = check.check(clean_text, draft.instructions, "Instructions", "instructions", required=False,
                               field="instructions")
    samples = check.check(parse_int, draft.samples, "Samples per problem (k)", minimum=1, maximum=MAX_SAMPLES,
                          field="samples")
    budget = check.check(parse_int, draft.token_budget, "Token budget per group", minimum=1, maximum=MAX_BUDGET,
                         field="token_budget")
    ids = []
    for raw in draft.exam_problem_ids or []:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            check.add("exam_problem_ids", "Choose the exam's problems from the list.")
    ids = list(dict.fromkeys(ids))
    if not ids:
        check.add("exam_problem_ids", "Choose at least one problem for the practice exam.")
    else:
        found = set(db.exec(select(Problem.id).where(Problem.course_id == course.id, Problem.id.in_(ids))))
        if len(found) != len(ids):
            check.add("exam_problem_ids", "Choose the exam's problems from this course's problems.")
    check.raise_any()
    return dict(title=title, instructions=instructions or "", samples=samples, token_budget=budget,
                exam_hidden=bool(draft.exam_hidden), leaderboard_visible=bool(draft.leaderboard_visible),
                exam_problem_ids=ids)


def create_lab(db: Session, actor: User, course: Course, draft: LabDraft) -> Lab:
    courses.require_instructor(db, actor, course)
    values = validate_lab(db, course, draft)
    ids = values.pop("exam_problem_ids")
    lab = Lab(course_id=course.id, **values)
    db.add(lab)
    db.flush()
    for position, pid in enumerate(ids):
        db.add(LabExamProblem(lab_id=lab.id, problem_id=pid, position=position))
    audit.record(db, actor, course.id, "lab.create", f"lab {lab.id}",
                 {"title": lab.title, "exam_hidden": lab.exam_hidden, "problems": len(ids)})
    db.commit()
    return lab


def labs_of(db: Session, course_id: int) -> list[Lab]:
    return list(db.exec(select(Lab).where(Lab.course_id == course_id).order_by(Lab.id)))


def exam_problems(db: Session, lab_id: int) -> list[Problem]:
    return list(db.exec(select(Problem).join(LabExamProblem, LabExamProblem.problem_id == Problem.id)
                        .where(LabExamProblem.lab_id == lab_id).order_by(LabExamProblem.position)))


@dataclass
class LabAccess:
    """A lab as one person may see it: `group` is the group whose work is shown (the student's own, or
    the one an instructor opened); `teaches` for the course's instructors."""
    lab: Lab
    course: Course
    teaches: bool
    group: Optional[LabGroup]

    @property
    def sees_exam(self) -> bool:
        return self.teaches or not self.lab.exam_hidden


def lab_for(db: Session, actor: User, lab_id: int, group_id: Optional[int] = None) -> LabAccess:
    """The lab for a course member. A student sees their own group's work (None before they are in a
    group); an instructor names the group (or none, for the lab's overview)."""
    lab = db.get(Lab, lab_id)
    course = db.get(Course, lab.course_id) if lab else None
    e = courses.enrollment(db, actor, course.id) if course else None
    if e is None:
        raise NotFound(LAB_NOT_FOUND)
    teaches = e.role != ROLE_STUDENT
    if teaches:
        group = None
        if group_id is not None:
            group = db.get(LabGroup, group_id)
            if group is None or group.course_id != course.id:
                raise NotFound(groups.GROUP_NOT_FOUND)
        return LabAccess(lab, course, True, group)
    return LabAccess(lab, course, False, groups.group_of_student(db, course.id, actor.id))


def lab_for_instructor(db: Session, actor: User, lab_id: int, group_id: Optional[int] = None) -> LabAccess:
    access = lab_for(db, actor, lab_id, group_id)
    if not access.teaches:
        raise Forbidden("Only the course's instructors can do that.")
    return access


def _group_member_access(db: Session, actor: User, lab_id: int) -> LabAccess:
    """For a student's own group's writing: refuses a student without a group, in words."""
    access = lab_for(db, actor, lab_id)
    if access.teaches:
        raise Forbidden("The lab's work is written by its groups' students.")
    if access.group is None:
        raise Forbidden("Join a lab group first: your group's work is kept together.")
    return access


# --------------------------------------------------------------------------- synthetic problems

@dataclass
class SyntheticDraft:
    exam_problem_id: object = None
    title: str = ""
    statement: str = ""
    reference_solution: str = ""
    reference_answer: str = ""
    answer_mode: str = "auto"
    answer_tolerance: str = ""
    answer_tests: object = ""


def validate_synthetic(db: Session, lab: Lab, draft: SyntheticDraft) -> dict:
    check = ErrorCollector()
    title = check.check(clean_text, draft.title, "Title", "title", field="title")
    statement = check.check(clean_text, draft.statement, "Problem statement", "statement", field="statement")
    solution = check.check(clean_text, draft.reference_solution, "Reference solution", "reference_solution",
                           field="reference_solution")
    answer = check.check(clean_text, draft.reference_answer, "Reference answer", "final_answer",
                         field="reference_answer")
    mode_tol = check.check(answer_checks.validate_mode, draft.answer_mode, draft.answer_tolerance or None)
    tests = check.check(answer_checks.parse_answer_tests, draft.answer_tests)
    exam_ids = {p.id for p in exam_problems(db, lab.id)}
    try:
        exam_id = int(draft.exam_problem_id)
    except (TypeError, ValueError):
        exam_id = None
    if exam_id not in exam_ids:
        check.add("exam_problem_id", "Choose the exam problem this one imitates.")
    check.raise_any()
    mode, tolerance = mode_tol
    return dict(title=title, statement=statement, reference_solution=solution, reference_answer=answer,
                answer_mode=mode, answer_tolerance=tolerance, answer_tests=tests or [], exam_problem_id=exam_id)


def create_synthetic(db: Session, actor: User, lab_id: int, draft: SyntheticDraft) -> LabProblem:
    """A group's variant of an exam problem. Its answer tests run when saved; each failure is kept as a
    count (and named by `failing_tests`), as for the course's own problems."""
    access = _group_member_access(db, actor, lab_id)
    values = validate_synthetic(db, access.lab, draft)
    problem = LabProblem(lab_id=access.lab.id, group_id=access.group.id, author_id=actor.id, **values)
    problem.answer_tests_failed = len(failing_tests(problem))
    db.add(problem)
    db.flush()
    audit.record(db, actor, access.course.id, "lab.problem", f"lab problem {problem.id}",
                 {"lab": access.lab.id, "group": access.group.id})
    db.commit()
    return problem


def failing_tests(problem: LabProblem) -> list[answer_checks.AnswerTestResult]:
    return [r for r in answer_checks.run_answer_tests(problem.reference_answer, problem.answer_mode,
                                                      problem.answer_tolerance, problem.answer_tests)
            if not r.passed]


def synthetic_of(db: Session, lab_id: int, group_id: int) -> list[LabProblem]:
    return list(db.exec(select(LabProblem).where(LabProblem.lab_id == lab_id, LabProblem.group_id == group_id)
                        .order_by(LabProblem.id)))


def authors(db: Session, ids) -> dict[int, str]:
    """Names of the people who wrote a group's records (shown to the group and its instructors)."""
    ids = {i for i in ids if i is not None}
    return {u.id: u.name for u in db.exec(select(User).where(User.id.in_(ids)))} if ids else {}


# --------------------------------------------------------------------------- strategies

def strategy_sha256(system_prompt: str, examples: list[tuple[str, str]]) -> str:
    """A fingerprint of what the model is told: the prompt and the examples' texts (not their ids)."""
    payload = json.dumps({"system_prompt": system_prompt, "examples": examples}, ensure_ascii=False,
                         sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def save_strategy(db: Session, actor: User, lab_id: int, system_prompt, example_ids) -> LabStrategy:
    """The group's next strategy version (versions are never edited, so every run names what it used)."""
    access = _group_member_access(db, actor, lab_id)
    check = ErrorCollector()
    prompt = check.check(clean_text, system_prompt, "System prompt", "instructions", field="system_prompt")
    own = {p.id: p for p in synthetic_of(db, access.lab.id, access.group.id)}
    chosen = []
    for raw in example_ids or []:
        try:
            chosen.append(int(raw))
        except (TypeError, ValueError):
            chosen.append(-1)
    chosen = list(dict.fromkeys(chosen))
    if any(i not in own for i in chosen):
        check.add("example_ids", "Worked examples come from your group's own synthetic problems.")
    elif len(chosen) > MAX_EXAMPLES:
        check.add("example_ids", f"Choose at most {MAX_EXAMPLES} worked examples.")
    check.raise_any()
    version = 1 + (db.exec(select(func.max(LabStrategy.version)).where(
        LabStrategy.lab_id == access.lab.id, LabStrategy.group_id == access.group.id)).one() or 0)
    sha = strategy_sha256(prompt, [(own[i].statement, own[i].reference_solution) for i in chosen])
    strategy = LabStrategy(lab_id=access.lab.id, group_id=access.group.id, version=version, author_id=actor.id,
                           system_prompt=prompt, example_ids=chosen, sha256=sha)
    db.add(strategy)
    db.flush()
    audit.record(db, actor, access.course.id, "lab.strategy", f"lab strategy {strategy.id}",
                 {"lab": access.lab.id, "group": access.group.id, "version": version})
    db.commit()
    return strategy


def strategies_of(db: Session, lab_id: int, group_id: int) -> list[LabStrategy]:
    return list(db.exec(select(LabStrategy).where(LabStrategy.lab_id == lab_id, LabStrategy.group_id == group_id)
                        .order_by(LabStrategy.version.desc())))


# --------------------------------------------------------------------------- runs

def tokens_used(db: Session, lab_id: int, group_id: int) -> int:
    return int(db.exec(select(func.coalesce(func.sum(LabRun.tokens_in + LabRun.tokens_out), 0))
                       .where(LabRun.lab_id == lab_id, LabRun.group_id == group_id)).one())


def start_run(db: Session, actor: User, lab_id: int, target, strategy_id, *, model: Optional[str]) -> LabRun:
    """Queue a run of the group's strategy on its synthetic set or on the practice exam (k samples each).
    `model` is the solver model's name, None when none is configured (then nothing can run)."""
    access = _group_member_access(db, actor, lab_id)
    lab, group = access.lab, access.group
    if not model:
        raise Conflict("No solver model is configured, so the model cannot be run. Ask your instructor: the "
                       "server needs SOLVER_MODEL (or GRADER_MODEL) and OPENAI_BASE_URL.")
    check = ErrorCollector()
    if target not in LAB_TARGETS:
        check.add("target", "Choose what to run the model on: your synthetic problems or the practice exam.")
    strategy = None
    try:
        strategy = db.get(LabStrategy, int(strategy_id))
    except (TypeError, ValueError):
        pass
    if strategy is None or strategy.lab_id != lab.id or strategy.group_id != group.id:
        check.add("strategy_id", "Choose one of your group's strategies (save one first).")
    check.raise_any()
    if target == "exam":
        items = [["exam", p.id] for p in exam_problems(db, lab.id)]
    else:
        items = [["synthetic", p.id] for p in synthetic_of(db, lab.id, group.id)]
    if not items:
        raise InvalidInput("Your group has no synthetic problems yet: write one first.", field="target")
    used = tokens_used(db, lab.id, group.id)
    if used >= lab.token_budget:
        raise Conflict(f"Your group has used its token budget ({used:,} of {lab.token_budget:,} tokens). "
                       "Ask your instructor for more.")
    if db.exec(select(LabRun.id).where(LabRun.lab_id == lab.id, LabRun.group_id == group.id,
                                       LabRun.state.in_(ACTIVE_STATES))).first():
        raise Conflict("Your group already has a run going. Wait for it, or cancel it, before starting another.")
    run = LabRun(lab_id=lab.id, group_id=group.id, strategy_id=strategy.id, target=target, samples=lab.samples,
                 items=items, total=len(items) * lab.samples, model=model, started_by_id=actor.id, heartbeat_at=utcnow())
    db.add(run)
    db.flush()
    audit.record(db, actor, access.course.id, "lab.run", f"lab run {run.id}",
                 {"lab": lab.id, "group": group.id, "target": target, "strategy": strategy.version})
    db.commit()
    jobs.enqueue_lab_run(run.id)
    db.refresh(run)
    return run


def run_for(db: Session, actor: User, run_id: int) -> tuple[LabRun, LabAccess]:
    """A run for its group's members and the course's instructors; "not found" for everyone else."""
    run = db.get(LabRun, run_id)
    if run is None:
        raise NotFound(RUN_NOT_FOUND)
    try:
        access = lab_for(db, actor, run.lab_id, run.group_id if _teaches(db, actor, run) else None)
    except NotFound:
        raise NotFound(RUN_NOT_FOUND)
    if not access.teaches and (access.group is None or access.group.id != run.group_id):
        raise NotFound(RUN_NOT_FOUND)
    return run, access


def _teaches(db: Session, actor: User, run: LabRun) -> bool:
    lab = db.get(Lab, run.lab_id)
    return courses.is_instructor_of(db, actor, lab.course_id)


def cancel_run(db: Session, actor: User, run_id: int) -> LabRun:
    """Ask a queued or running run to stop: it stops before its next sample; what it did is kept."""
    run, access = run_for(db, actor, run_id)
    if run.state not in ACTIVE_STATES:
        raise Conflict("This run has already finished.")
    db.exec(update(LabRun).where(LabRun.id == run.id).values(cancel_requested=True))
    if run.state == RUN_QUEUED:  # no worker has it: it stops now
        db.exec(update(LabRun).where(LabRun.id == run.id, LabRun.state == RUN_QUEUED)
                .values(state="cancelled"))
    audit.record(db, actor, access.course.id, "lab.cancel", f"lab run {run.id}", {"lab": run.lab_id})
    db.commit()
    db.refresh(run)
    return run


def resume_run(db: Session, actor: User, run_id: int, *, model: Optional[str]) -> LabRun:
    """Run again a run that failed (the model refused, or it stopped making progress): it is queued once
    more and continues where it stopped; the samples it stored are kept and not paid for again."""
    run, access = run_for(db, actor, run_id)
    if access.teaches:
        raise Forbidden("The lab's runs are started by its groups' students.")
    if run.state != RUN_FAILED:
        raise Conflict("Only a run that failed can be run again.")
    if not model:
        raise Conflict("No solver model is configured, so the model cannot be run. Ask your instructor: the "
                       "server needs SOLVER_MODEL (or GRADER_MODEL) and OPENAI_BASE_URL.")
    used = tokens_used(db, run.lab_id, run.group_id)
    if used >= access.lab.token_budget:
        raise Conflict(f"Your group has used its token budget ({used:,} of {access.lab.token_budget:,} tokens). "
                       "Ask your instructor for more.")
    if db.exec(select(LabRun.id).where(LabRun.lab_id == run.lab_id, LabRun.group_id == run.group_id,
                                       LabRun.state.in_(ACTIVE_STATES))).first():
        raise Conflict("Your group already has a run going. Wait for it, or cancel it, before starting another.")
    done = db.exec(update(LabRun).where(LabRun.id == run.id, LabRun.state == RUN_FAILED).values(
        state=RUN_QUEUED, error=None, finished_at=None, cancel_requested=False, recoveries=0, model=model,
        heartbeat_at=utcnow()))
    if done.rowcount != 1:
        db.rollback()
        raise Conflict("This run was already sent again.")
    audit.record(db, actor, access.course.id, "lab.resume", f"lab run {run.id}", {"lab": run.lab_id})
    db.commit()
    jobs.enqueue_lab_run(run.id)
    db.refresh(run)
    return run


def runs_of(db: Session, lab_id: int, group_id: int) -> list[LabRun]:
    return list(db.exec(select(LabRun).where(LabRun.lab_id == lab_id, LabRun.group_id == group_id)
                        .order_by(LabRun.id.desc())))


def progress(run: LabRun) -> dict:
    """What the progress bar shows (and progress.json answers)."""
    return {"state": run.state, "completed": run.completed, "total": run.total, "correct": run.correct,
            "tokens": run.tokens_in + run.tokens_out, "finished": run.state not in ACTIVE_STATES,
            "error": run.error or ""}


# --------------------------------------------------------------------------- results

def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for a proportion: sensible at 0 %, 100 % and small n, where the
    textbook p ± z·sqrt(p(1-p)/n) collapses to a point."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Accuracy:
    correct: int
    n: int

    @property
    def value(self) -> Optional[float]:
        return self.correct / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.correct, self.n)


@dataclass
class ItemResult:
    number: int
    title: str
    accuracy: Accuracy
    attempts: list[LabAttempt]


@dataclass
class RunResults:
    run: LabRun
    overall: Accuracy
    items: list[ItemResult]  # empty when the viewer may see only the score (a hidden exam)


def run_results(db: Session, access: LabAccess, run: LabRun) -> RunResults:
    attempts = list(db.exec(select(LabAttempt).where(LabAttempt.run_id == run.id)
                            .order_by(LabAttempt.item, LabAttempt.sample_index)))
    overall = Accuracy(sum(a.verdict == "correct" for a in attempts), len(attempts))
    if run.target == "exam" and not access.sees_exam:
        return RunResults(run, overall, [])
    titles = _item_titles(db, run)
    by_item: dict[int, list[LabAttempt]] = {}
    for a in attempts:
        by_item.setdefault(a.item, []).append(a)
    items = []
    for number, _ in enumerate(run.items):
        rows = by_item.get(number, [])
        items.append(ItemResult(number + 1, titles.get(number, "(deleted)"),
                                Accuracy(sum(a.verdict == "correct" for a in rows), len(rows)), rows))
    return RunResults(run, overall, items)


def _item_titles(db: Session, run: LabRun) -> dict[int, str]:
    exam_ids = [i for kind, i in run.items if kind == "exam"]
    syn_ids = [i for kind, i in run.items if kind == "synthetic"]
    exam = {p.id: p.title for p in db.exec(select(Problem).where(Problem.id.in_(exam_ids)))} if exam_ids else {}
    syn = {p.id: p.title for p in db.exec(select(LabProblem).where(LabProblem.id.in_(syn_ids)))} if syn_ids else {}
    return {n: (exam if kind == "exam" else syn).get(i, "(deleted)") for n, (kind, i) in enumerate(run.items)}


@dataclass
class StrategyPoint:
    version: int
    target: str
    accuracy: Accuracy


def accuracy_by_strategy(db: Session, lab_id: int, group_id: int) -> list[StrategyPoint]:
    """Accuracy per strategy version and target, pooled over that version's runs (every stored attempt)."""
    rows = db.exec(select(LabStrategy.version, LabRun.target, func.count(LabAttempt.id),
                          func.coalesce(func.sum(cast(LabAttempt.verdict == "correct", Integer)), 0))
                   .join(LabRun, LabRun.strategy_id == LabStrategy.id)
                   .join(LabAttempt, LabAttempt.run_id == LabRun.id)
                   .where(LabRun.lab_id == lab_id, LabRun.group_id == group_id)
                   .group_by(LabStrategy.version, LabRun.target)
                   .order_by(LabStrategy.version, LabRun.target))
    return [StrategyPoint(v, t, Accuracy(int(c), int(n))) for v, t, n, c in rows]


def solver_model(config) -> Optional[str]:
    """The solver model's name (SOLVER_MODEL, else GRADER_MODEL), or None: then nothing can run."""
    from ..config import model_settings
    settings = model_settings(config, "SOLVER_MODEL")
    return settings.model if settings else None


@dataclass
class GroupWork:
    """Everything of one group in one lab, for its page."""
    access: LabAccess
    exam: list[Problem]
    synthetic: list[LabProblem]
    strategies: list[LabStrategy]
    runs: list[LabRun]
    points: list[StrategyPoint]
    tokens_used: int
    names: dict[int, str]
    members: list[User]


def group_work(db: Session, access: LabAccess) -> Optional[GroupWork]:
    exam = exam_problems(db, access.lab.id) if access.sees_exam else []
    if access.group is None:
        return None
    lab, group = access.lab, access.group
    synthetic = synthetic_of(db, lab.id, group.id)
    strategies = strategies_of(db, lab.id, group.id)
    runs = runs_of(db, lab.id, group.id)
    names = authors(db, [p.author_id for p in synthetic] + [s.author_id for s in strategies]
                    + [r.started_by_id for r in runs])
    return GroupWork(access, exam, synthetic, strategies, runs, accuracy_by_strategy(db, lab.id, group.id),
                     tokens_used(db, lab.id, group.id), names, groups.members_of(db, group.id))


# --------------------------------------------------------------------------- the leaderboard

@dataclass
class LeaderboardRow:
    group: LabGroup
    run: Optional[LabRun]  # the group's best complete run on the practice exam; None before its first
    accuracy: Optional[Accuracy]
    strategy_version: Optional[int]

    @property
    def k(self) -> Optional[int]:
        return self.run.samples if self.run else None


@dataclass
class Leaderboard:
    access: LabAccess
    rows: list[LeaderboardRow]  # best first; groups without a complete exam run last, by name


def leaderboard(db: Session, actor: User, lab_id: int) -> Leaderboard:
    """Each group's best accuracy on the practice exam (hidden or not), with k and the 95 % interval.
    Only runs that solved the whole exam count (a cancelled or stopped run measured part of it); the best
    is the highest accuracy, then the most attempts, then the earliest. The course's instructors always
    see it; students when the lab's `leaderboard_visible` is on, and then only the scores: never an exam
    problem or an attempt. Two queries whatever the number of groups and runs."""
    access = lab_for(db, actor, lab_id)
    if not access.teaches and not access.lab.leaderboard_visible:
        raise Forbidden("Your instructor has not opened this lab's leaderboard to the class.")
    best: dict[int, tuple[LabRun, int]] = {}
    for run, version in db.exec(
            select(LabRun, LabStrategy.version).join(LabStrategy, LabStrategy.id == LabRun.strategy_id)
            .where(LabRun.lab_id == access.lab.id, LabRun.target == "exam", LabRun.state == RUN_DONE,
                   LabRun.completed == LabRun.total, LabRun.total > 0)
            .order_by(LabRun.id)):
        current = best.get(run.group_id)
        if current is None or _beats(run, current[0]):
            best[run.group_id] = (run, version)
    rows = []
    for group in db.exec(select(LabGroup).where(LabGroup.course_id == access.course.id).order_by(LabGroup.name)):
        run, version = best.get(group.id, (None, None))
        rows.append(LeaderboardRow(group, run, Accuracy(run.correct, run.completed) if run else None, version))
    rows.sort(key=lambda r: (r.run is None, -(r.accuracy.value if r.accuracy else 0),
                             -(r.accuracy.n if r.accuracy else 0), r.run.id if r.run else 0, r.group.name))
    return Leaderboard(access, rows)


def _beats(run: LabRun, other: LabRun) -> bool:
    """A higher accuracy, or the same with more attempts (compared exactly: correct/n as fractions)."""
    mine, theirs = run.correct * other.completed, other.correct * run.completed
    return mine > theirs or (mine == theirs and run.completed > other.completed)


def set_leaderboard_visible(db: Session, actor: User, lab_id: int, visible: bool) -> Lab:
    access = lab_for_instructor(db, actor, lab_id)
    access.lab.leaderboard_visible = bool(visible)
    db.add(access.lab)
    audit.record(db, actor, access.course.id, "lab.leaderboard", f"lab {access.lab.id}",
                 {"visible": bool(visible)})
    db.commit()
    return access.lab
