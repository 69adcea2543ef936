"""JSON shapes of the API. The answer key appears only where a caller teaches the course."""
from __future__ import annotations

from datetime import timezone

from ..models import Assignment, Grade, GradingJob, Submission
from ..services.scoring import student_feedback, student_job_state


def iso(dt) -> str | None:
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if dt else None


def assignment_json(a: Assignment, problem_views: list[dict]) -> dict:
    return {
        "id": a.id,
        "title": a.title,
        "opens_at": iso(a.opens_at),
        "due_at": iso(a.due_at),
        "allow_late": a.allow_late,
        "late_penalty_percent": a.late_penalty_percent,
        "points": a.points,
        "weights": {"location": a.weight_location, "explanation": a.weight_explanation,
                    "correction": a.weight_correction, "lean": a.weight_lean},
        "grades_released": a.released_at is not None,
        "problems": [
            {"id": v["id"], "title": v["title"], "statement": v["statement"],
             "steps": v["steps"],  # [{"number": 1, "text": ...}, ...]
             # "prose" (Markdown + LaTeX) or a language: then each step is one line of the program.
             "solution_format": v["solution_format"],
             "flawed_final_answer": v["flawed_final_answer"],
             "lean_statement": v["lean_statement"] or None}
            for v in problem_views
        ],
    }


def submission_json(sub: Submission, job: GradingJob | None, a: Assignment, teaches: bool) -> dict:
    """A version as its author or an instructor reads it. Why grading failed is told to instructors
    only (it can quote the model's reply, and so the key): the author reads "needs_review"."""
    body = {
        "id": sub.id,
        "assignment_id": sub.assignment_id,
        "problem_id": sub.problem_id,
        "version": sub.version,
        "error_step": sub.error_step,
        "explanation": sub.explanation,
        "correction": sub.correction,
        "final_answer": sub.final_answer,
        "late": sub.is_late,
        "submitted_at": iso(sub.created_at),
        "state": (job.state if job else "unknown") if teaches else student_job_state(job.state if job else None),
        "grades_released": a.released_at is not None,
    }
    if teaches:
        body["grading_error"] = job.last_error if job and job.state == "failed" else None
    return body


def grade_json(g: Grade, teaches: bool) -> dict:
    body = {
        "score": g.effective_score,
        "status": g.status if g.override_score is None else "graded",
        "decided_by": "instructor" if g.override_score is not None else g.decided_by,
        "feedback": student_feedback(g),
    }
    if teaches:
        body.update({
            "machine_score": g.score, "machine_feedback": g.feedback, "override_score": g.override_score,
            "model_name": g.model_name, "prompt_version": g.prompt_version, "tokens_in": g.tokens_in,
            "tokens_out": g.tokens_out, "latency_ms": g.latency_ms, "flags": g.flags,
        })
    return body
