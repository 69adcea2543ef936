"""View helpers shared by the teacher's route modules (which never import each other): the course and
problem pages that several forms post to (a refused upload or copy shows its page again with what is
wrong beside the form's field), uploads, and splitting a pasted answer into steps."""
from __future__ import annotations

from typing import Optional

from flask import current_app, flash, render_template, request
from flask_login import current_user

from .. import form_errors
from ..content import format_label, is_code
from ..models import Course
from ..services import assignments as assignment_service
from ..services import answer_checks, authoring, courses, dataset, invitations, lti_sync, problems, reviews
from ..services.errors import ServiceError
from .authoring_forms import BankForm, CopyForm
from .forms import PlainForm, RosterForm


def flash_error(exc: ServiceError) -> None:
    """A service's refusal, with each of its row or field errors on a line of its own."""
    flash(exc.message, "error")
    for line in exc.errors:
        flash(line, "error")


def uploaded_bytes(form, field: str, missing: str, limit: Optional[int] = None) -> Optional[bytes]:
    """The uploaded file's bytes, or None after putting why there are none beside the file input
    (expired form, no file)."""
    if not form.validate_on_submit():
        form_errors.add_field_error(form, field, "The upload form expired. Reload the page and choose the file "
                                                 "again.")
        return None
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        form_errors.add_field_error(form, field, missing)
        return None
    return upload.read() if limit is None else upload.read(limit)


def model_ready() -> bool:
    return authoring.generation_available(current_app.config)


def offer_format(form, solution_format) -> None:
    """A solution imported in a language the list does not name keeps it as a choice when edited."""
    if solution_format and solution_format not in dict(form.solution_format.choices):
        form.solution_format.choices = list(form.solution_format.choices) + [
            (solution_format, f"{format_label(solution_format)}: one line per step, blank lines included")]


def apply_split(form) -> bool:
    """When the problem form came from "Split into steps": put the pasted answer's steps into the
    step boxes (nothing is saved) and return True, so the view shows the form again."""
    if "split" not in request.form:
        return False
    try:
        steps = authoring.split_steps(form.paste.data, form.solution_format.data)
    except ServiceError as exc:  # beside the paste box, which stays open with the text in it
        form_errors.attach(form, exc, aliases={"": "paste"})
        return True
    form.steps.entries = []
    form.steps.last_index = -1
    for step in steps + ([""] if len(steps) < form.steps.max_entries else []):
        form.steps.append_entry(step)
    form.paste.data = ""
    what = "lines" if is_code(form.solution_format.data) else "steps"
    flash(f"Split into {len(steps)} {what}. Check them, then mark the first wrong step and write the key. "
          "Nothing is saved until you press Save problem.", "success")
    return True


def course_page(s, c: Course, *, roster_form: RosterForm | None = None, bank_form: BankForm | None = None,
                status: int = 200):
    """The course page; `roster_form` or `bank_form` a refused upload, shown with its errors."""
    course_problems = problems.problems_of(s, c.id)
    ids = [p.id for p in course_problems]
    invited = invitations.open_rows(s, c)
    return render_template(
        "teacher/course.html", course=c, problems=course_problems,
        assignments=assignment_service.assignments_of(s, c.id), students=courses.students_of(s, c.id),
        queue=reviews.review_queue(s, c), roster_form=roster_form or RosterForm(), status=assignment_service.status,
        bank_form=bank_form or BankForm(), ready_ids=authoring.ready_problem_ids(s, ids),
        draft_counts=authoring.draft_counts(s, ids), model_ready=model_ready(), invited=invited,
        mail=invitations.mail_summary(invited) if current_app.config["MAIL"] is not None else None,
        plain_form=PlainForm(), lms_roster=lti_sync.roster_link(s, c.id) is not None,
        hidden_exam_problems=len(dataset.hidden_exam_problem_ids(s, c.id)),
    ), status


def copy_form_for(s, problem) -> CopyForm:
    """The copy form, offering only the instructor's other courses (the problem is already in its own)."""
    form = CopyForm()
    form.course.choices = [(c.code, f"{c.title} ({c.code})")
                           for c in authoring.copy_targets(s, current_user, exclude_course_id=problem.course_id)]
    if form.course.data is None and form.course.choices:
        form.course.data = form.course.choices[0][0]
    return form


def problem_page(s, p, *, copy_form: CopyForm | None = None, status: int = 200):
    """The problem page; `copy_form` a refused copy, shown with its error."""
    solution, key = problems.approved_solution_with_key(s, p.id)  # None while only drafts exist
    return render_template(
        "teacher/problem.html", problem=p, course=s.get(Course, p.course_id), solution=solution, key=key,
        drafts=authoring.drafts_of(s, p.id), copy_form=copy_form or copy_form_for(s, p), plain_form=PlainForm(),
        model_ready=model_ready(), answer_mode_labels=answer_checks.MODE_LABELS,
    ), status
