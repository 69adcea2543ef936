"""The audit log: every score change, override, release and enrolment change."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from sqlmodel import Session, select

from ..models import ERROR_KINDS, AuditLog, User


def record(db: Session, actor: Optional[User], course_id: Optional[int], action: str, target: str,
           details: dict) -> None:
    """Adds an entry to the caller's transaction, so it commits or rolls back with the change."""
    db.add(AuditLog(course_id=course_id, actor_id=actor.id if actor else None, action=action,
                    target=target[:200], details=details))


def entries(db: Session, course_id: int, limit: int = 200) -> list[AuditLog]:
    q = select(AuditLog).where(AuditLog.course_id == course_id).order_by(AuditLog.id.desc()).limit(limit)
    return list(db.exec(q))


# --------------------------------------------------------------------------- the log as sentences

@dataclass
class Piece:
    """Part of a sentence; `kind` and `ref` make it a link (problem, assignment, submission, solution)."""
    text: str
    kind: Optional[str] = None
    ref: Optional[int] = None


@dataclass
class Event:
    entry: AuditLog
    sentence: list[Piece]
    notes: list[str] = field(default_factory=list)  # what changed
    comment: str = ""  # an instructor's comment for the student (Markdown with math)


_FIELD_NAMES = {"points": "points", "weight_location": "weight of the first wrong step",
                "weight_explanation": "weight of the explanation", "weight_correction": "weight of the correction",
                "weight_lean": "weight of the Lean proof"}


def _pct(value) -> str:
    from .scoring import format_percent
    return format_percent(value) if isinstance(value, (int, float)) else "no score"


def _target_id(target: str, kind: str) -> Optional[int]:
    """'submission 12 explanation' -> 12 for kind 'submission'."""
    words = (target or "").split()
    if len(words) >= 2 and words[0] == kind and words[1].isdigit():
        return int(words[1])
    return None


def describe(db: Session, log: list[AuditLog]) -> list[Event]:
    """Each entry as a sentence with names and links ("Dana Okafor scored Ria Patel's explanation on Field
    trip tickets: 100%"), looking everything up in a fixed number of queries."""
    from ..models import Assignment, FlawedSolution, GradingJob, Problem, Submission
    from .scoring import LABELS

    def ids(kind, extra=()):
        found = {_target_id(e.target, kind) for e in log} | set(extra)
        return [i for i in found if i is not None]

    job_ids = ids("job")
    jobs = {j.id: j for j in db.exec(select(GradingJob).where(GradingJob.id.in_(job_ids)))} if job_ids else {}
    sub_ids = ids("submission", [j.submission_id for j in jobs.values()])
    subs = {s.id: s for s in db.exec(select(Submission).where(Submission.id.in_(sub_ids)))} if sub_ids else {}
    problem_ids = ids("problem", [s.problem_id for s in subs.values()]
                      + [p for e in log for p in (e.details.get("problems_added", []) + e.details.get(
                          "problems_removed", [])) if isinstance(p, int)])
    problems = {p.id: p for p in db.exec(select(Problem).where(Problem.id.in_(problem_ids)))} if problem_ids else {}
    assignment_ids = ids("assignment", [s.assignment_id for s in subs.values()])
    assignments = ({a.id: a for a in db.exec(select(Assignment).where(Assignment.id.in_(assignment_ids)))}
                   if assignment_ids else {})
    user_ids = {e.actor_id for e in log if e.actor_id} | {s.student_id for s in subs.values()}
    course_ids = {e.course_id for e in log}
    if len(course_ids) == 1:  # a course's log names its students as the course lists them (the roster's name)
        from .courses import listed_people
        users = listed_people(db, course_ids.pop(), user_ids)
    else:
        users = {u.id: u for u in db.exec(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    solution_ids = [e.details.get("solution") for e in log if isinstance(e.details.get("solution"), int)]
    solutions = set(db.exec(select(FlawedSolution.id).where(FlawedSolution.id.in_(solution_ids)))) \
        if solution_ids else set()

    def problem(pid, fallback="a problem") -> Piece:
        p = problems.get(pid)
        return Piece(p.title, "problem", p.id) if p else Piece(fallback)

    def assignment(aid) -> Piece:
        a = assignments.get(aid)
        return Piece(a.title, "assignment", a.id) if a else Piece("an assignment that was deleted")

    def answer(sub_id, component=None) -> Piece:
        s = subs.get(sub_id)
        if s is None:
            return Piece("a submission that was deleted")
        student = users.get(s.student_id)
        p = problems.get(s.problem_id)
        what = LABELS.get(component, component).lower() if component else "answer"
        return Piece(f"{student.name if student else 'a student'}'s {what} on {p.title if p else 'a problem'}"
                     f" (version {s.version})", "submission", s.id)

    events = []
    for e in log:
        d = e.details or {}
        actor = users.get(e.actor_id)
        who = Piece(actor.name if actor else "The system")
        words = (e.target or "").split()
        component = words[2] if len(words) > 2 else None
        notes: list[str] = []
        comment = ""
        a = e.action
        if a == "course.create":
            sentence = [who, Piece(f" created the course {d.get('title', '')}.")]
        elif a == "course.join":
            sentence = [who, Piece(" joined the course with its code.")]
        elif a == "roster.import":
            made = (f"{d['invitations']} invitation links made" if "invitations" in d
                    else f"{d.get('created', 0)} of them new accounts")
            if d.get("enrolled") or "invitations" not in d:  # entries from before course invitations
                sentence = [who, Piece(f" imported a roster: {d.get('enrolled', 0)} students enrolled, {made}.")]
            else:
                sentence = [who, Piece(f" imported a roster of {d.get('rows', 0)} rows: {d['invitations']} "
                                       "invitations made.")]
        elif a == "roster.lti_sync":
            sentence = [who, Piece(f" synced the roster from the LMS: {d.get('added', 0)} added, "
                                   f"{d.get('already', 0)} already enrolled, {d.get('role_changed', 0)} with a new "
                                   f"role, {d.get('left_out', 0)} left out.")]
        elif a == "lti.scores_again":
            sentence = [who, Piece(" sent the scores of "), assignment(_target_id(e.target, "assignment")),
                        Piece(f" to the LMS again ({d.get('queued', 0)} queued).")]
        elif a == "invitation.accept":
            sentence = [who, Piece(" accepted the invitation and joined the course.")]
        elif a == "invitation.resend":
            sentence = [who, Piece(f" sent {d.get('count', 0)} invitations again, with fresh links.")]
        elif a in ("problem.create", "problem.update"):
            verb = " wrote the problem " if a == "problem.create" else " edited the problem "
            sentence = [who, Piece(verb), problem(_target_id(e.target, "problem"), d.get("title", "a problem")),
                        Piece(".")]
        elif a == "problem.copy":
            sentence = [who, Piece(" copied "), problem(_target_id(e.target, "problem")),
                        Piece(f" here from the course {d.get('from_course', '')}.")]
        elif a in ("solution.approve", "solution.discard", "solution.generate", "solution.propose_reason"):
            pid = _target_id(e.target, "problem")
            sid = d.get("solution")
            draft = Piece("a draft", "solution", sid) if sid in solutions else Piece("a draft")
            if a == "solution.approve":
                sentence = [who, Piece(" approved "), draft, Piece(" as the flawed solution of "), problem(pid),
                            Piece(".")]
            elif a == "solution.discard":
                sentence = [who, Piece(" discarded a draft of "), problem(pid), Piece(".")]
            elif a == "solution.propose_reason":
                sentence = [who, Piece(f" had the model {d.get('model', '')} propose the key's reason for "), draft,
                            Piece(" of "), problem(pid), Piece(".")]
            elif d.get("error_kind") == "correct":
                sentence = [who, Piece(f" had the model {d.get('model', '')} write "), draft,
                            Piece(" of a correct solution for "), problem(pid), Piece(".")]
            else:
                kind = ERROR_KINDS.get(d.get("error_kind"), "an error").lower()
                sentence = [who, Piece(f" had the model {d.get('model', '')} write "), draft,
                            Piece(f" with a planted error ({kind}) for "), problem(pid), Piece(".")]
        elif a == "bank.import":
            sentence = [who, Piece(f" imported {d.get('imported', 0)} problems from a bank"
                                   + (f" ({d['skipped']} already here were skipped)." if d.get("skipped") else "."))]
        elif a in ("assignment.create", "assignment.update"):
            verb = " created the assignment " if a == "assignment.create" else " changed the assignment "
            sentence = [who, Piece(verb), assignment(_target_id(e.target, "assignment")), Piece(".")]
            for name, label in _FIELD_NAMES.items():
                if isinstance(d.get(name), list) and len(d[name]) == 2:
                    notes.append(f"{label[:1].upper()}{label[1:]}: {d[name][0]} → {d[name][1]}")
            for key, verb_ in (("problems_added", "Problems added"), ("problems_removed", "Problems removed")):
                if d.get(key):
                    notes.append(f"{verb_}: " + ", ".join(problems[p].title if p in problems else "a deleted problem"
                                                         for p in d[key]))
        elif a in ("grades.release", "grades.withdraw"):
            verb = " released the grades of " if a == "grades.release" else " hid the grades of "
            sentence = [who, Piece(verb), assignment(_target_id(e.target, "assignment")),
                        Piece("." if a == "grades.release" else " from students again.")]
        elif a in ("grade.review", "grade.override"):
            target = answer(_target_id(e.target, "submission"), component)
            new = _pct(d.get("new_score"))
            if a == "grade.review" and d.get("previous_override") is None:
                sentence = [who, Piece(" scored "), target, Piece(f": {new}.")]
            else:
                before = (f"their earlier {_pct(d['previous_override'])}" if d.get("previous_override") is not None
                          else f"the machine's {_pct(d.get('machine_score'))}")
                sentence = [who, Piece(" changed the score of "), target, Piece(f" from {before} to {new}.")]
            comment = d.get("comment") or ""
            if d.get("via") == "api":
                notes.append("Through the API")
            elif d.get("via") == "group" and (d.get("group_size") or 0) > 1:
                notes.append(f"One click for a group of {d['group_size']} in the review queue")
        elif a == "grade.undo":
            target = answer(_target_id(e.target, "submission"), component)
            back = (f"back to {_pct(d['restored_score'])}" if d.get("restored_score") is not None
                    else "so it waits for review again")
            sentence = [who, Piece(f" undid their score ({_pct(d.get('undone_score'))}) of "), target,
                        Piece(f", {back}.")]
        elif a == "grade.override_cleared":
            target = answer(_target_id(e.target, "submission"), component)
            after = (f"the machine's {_pct(d['machine_score'])} counts again" if d.get("machine_score") is not None
                     else "it waits for review again")
            sentence = [who, Piece(f" removed their score ({_pct(d.get('previous_override'))}) for "), target,
                        Piece(f"; {after}.")]
        elif a == "answer.recheck":
            target = answer(_target_id(e.target, "submission"), "final_answer")
            kept = " The instructor's own score still counts." if d.get("overridden") else ""
            sentence = [Piece("Checking again after the problem's reference answer or answer mode changed moved "),
                        target, Piece(f" from {_pct(d.get('from'))} to {_pct(d.get('to'))}.{kept}")]
        elif a == "job.retry":
            job = jobs.get(_target_id(e.target, "job"))
            sub_id = job.submission_id if job else d.get("submission_id")
            sentence = [who, Piece(" asked for "), answer(sub_id), Piece(" to be graded again.")]
        else:  # an action this page does not know yet still reads as words, never as Python
            sentence = [who, Piece(f": {a.replace('.', ' ').replace('_', ' ')} {e.target}.".replace(" .", "."))]
            notes = [f"{k.replace('_', ' ')}: {'none' if v is None else v}" for k, v in d.items()]
        events.append(Event(e, sentence, notes, comment))
    return events
