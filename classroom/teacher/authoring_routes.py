"""Authoring pages: bank import and export, generated drafts, preview as a student, copying.

The rules are in services/authoring.py and services/banks.py; these views only translate.
"""
from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import db, form_errors
from ..forms import critique_form
from ..models import Course
from ..services import authoring, banks, courses, dataset, problems
from ..services.errors import ServiceError
from . import bp
from .authoring_forms import BankForm, GenerateForm, GenerateProblemForm
from .forms import PlainForm
from .helpers import copy_form_for, course_page, flash_error, model_ready, offer_format, problem_page, uploaded_bytes

_SWITCHED_OFF = ("Generating is switched off on this server: no grader model is configured. "
                 "The box below says how to set one up.")


# --------------------------------------------------------------------------- banks

@bp.route("/courses/<code>/bank", methods=["POST"])
def import_bank(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = BankForm()
    raw = uploaded_bytes(form, "bank", "Choose a bank file (.jsonl) to upload.", limit=banks.MAX_BANK_BYTES + 1)
    if raw is None:
        return course_page(s, c, bank_form=form, status=400)
    try:
        result = banks.import_bank(s, current_user, c, raw, form.format.data or banks.DEFAULT_FORMAT)
    except ServiceError as exc:  # the course page again, each bad line listed beside the file input
        form_errors.attach_to(form, "bank", exc)
        return course_page(s, c, bank_form=form, status=400)
    summary = result.summary()
    flash(summary[:1].upper() + summary[1:] + ".", "success")
    return redirect(url_for("teacher.course", code=c.code))


@bp.route("/help/bank-format")
def bank_format():
    """The bank format for teachers (they never see the README), with a line to copy."""
    return render_template("teacher/bank_format.html", required=banks.BANK_FIELDS, optional=banks.OPTIONAL_FIELDS,
                           meaning=banks.FIELD_HELP, example=banks.example_line(),
                           program_example=banks.example_line(banks.PROGRAM_EXAMPLE), max_problems=banks.MAX_BANK_PROBLEMS,
                           max_mb=banks.MAX_BANK_BYTES // (1024 * 1024), courses=courses.courses_of(
                               db.session(), current_user, role="instructor"))


@bp.route("/courses/<code>/bank.jsonl")
def export_bank(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    result = banks.export_bank(s, current_user, c)
    return Response(result.text, mimetype="application/jsonl",
                    headers={"Content-Disposition": f'attachment; filename="{c.code}-bank.jsonl"'})


@bp.route("/courses/<code>/dataset.jsonl")
def export_dataset(code):
    """The course's dataset of model mistakes, as `export-dataset` writes it (planted ones with ?planted=1)."""
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    planted = request.args.get("planted") == "1"
    result = dataset.export_dataset(s, current_user, c, include_planted=planted)
    name = f"{c.code}-dataset{'-with-planted' if planted else ''}.jsonl"
    return Response(result.text, mimetype="application/jsonl",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --------------------------------------------------------------------------- generation

@bp.route("/courses/<code>/problems/generate", methods=["GET", "POST"])
def generate_problem(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = GenerateProblemForm()
    status = 200
    if request.method == "POST":
        status = 400
        req = authoring.NewProblemRequest(
            title=form.title.data, statement=form.statement.data, reference_solution=form.reference_solution.data,
            reference_answer=form.reference_answer.data, error_kind=form.error_kind.data,
            solution_format=form.solution_format.data)
        if not model_ready():
            form_errors.add_form_error(form, _SWITCHED_OFF)
        else:
            made = form_errors.submit(form, lambda: authoring.generate_problem(s, current_user, c, req,
                                                                               current_app.config))
            if made is not None:
                flash("The model's solution passed the checks. Review it: students see it only after you "
                      "approve it.", "success")
                return redirect(url_for("teacher.solution", solution_id=made[1].id))
    return render_template("teacher/generate.html", form=form, course=c, problem=None,
                           model_ready=model_ready(), not_configured=authoring.NOT_CONFIGURED), status


@bp.route("/problems/<int:problem_id>/generate", methods=["GET", "POST"])
def generate_solution(problem_id):
    s = db.session()
    p = problems.problem_for_instructor(s, current_user, problem_id)
    c = s.get(Course, p.course_id)
    form = GenerateForm()
    offer_format(form, authoring.generation_format(s, p))
    status = 200
    if request.method == "GET":
        form.solution_format.data = authoring.generation_format(s, p)
    else:
        status = 400
        if not model_ready():
            form_errors.add_form_error(form, _SWITCHED_OFF)
        else:
            solution = form_errors.submit(form, lambda: authoring.generate_draft(
                s, current_user, p, form.error_kind.data, current_app.config, form.solution_format.data))
            if solution is not None:
                flash("The model's solution passed the checks. Review it: students see it only after you "
                      "approve it.", "success")
                return redirect(url_for("teacher.solution", solution_id=solution.id))
            p = problems.problem_for_instructor(s, current_user, problem_id)  # the failed attempt rolled back
            c = s.get(Course, p.course_id)
    return render_template("teacher/generate.html", form=form, course=c, problem=p, model_ready=model_ready(),
                           not_configured=authoring.NOT_CONFIGURED), status


# --------------------------------------------------------------------------- drafts

@bp.route("/solutions/<int:solution_id>")
def solution(solution_id):
    s = db.session()
    sol, p, c = authoring.solution_for_instructor(s, current_user, solution_id)
    key = problems.key_for(s, sol.id)
    checks = authoring.checks_for(s, sol) if key.origin == "model" else []
    current, _ = problems.approved_solution_with_key(s, p.id)
    return render_template("teacher/solution.html", solution=sol, key=key, problem=p, course=c, checks=checks,
                           current=current, form=PlainForm(), wants_reason=authoring.wants_reason(sol, key),
                           model_ready=model_ready())


@bp.route("/solutions/<int:solution_id>/approve", methods=["POST"])
def approve_solution(solution_id):
    s = db.session()
    sol, p, _c = authoring.solution_for_instructor(s, current_user, solution_id)
    try:
        authoring.approve_draft(s, current_user, sol.id)
    except ServiceError as exc:
        flash_error(exc)
    else:
        flash("Approved: this is now the flawed solution students see.", "success")
    return redirect(url_for("teacher.problem", problem_id=p.id))


@bp.route("/solutions/<int:solution_id>/propose-reason", methods=["POST"])
def propose_reason(solution_id):
    """The model proposes the reason of a key imported without one; the draft waits for approval."""
    s = db.session()
    sol, _p, _c = authoring.solution_for_instructor(s, current_user, solution_id)
    try:
        authoring.propose_reason(s, current_user, sol.id, current_app.config)
    except ServiceError as exc:
        flash_error(exc)
    else:
        flash("The model proposed a reason. Read it: approving makes it the key; to change it, edit the "
              "problem.", "success")
    return redirect(url_for("teacher.solution", solution_id=solution_id))


@bp.route("/solutions/<int:solution_id>/discard", methods=["POST"])
def discard_solution(solution_id):
    s = db.session()
    sol, p, _c = authoring.solution_for_instructor(s, current_user, solution_id)
    try:
        authoring.discard_draft(s, current_user, sol.id)
    except ServiceError as exc:
        flash_error(exc)
        return redirect(url_for("teacher.solution", solution_id=sol.id))
    flash("Draft discarded.", "success")
    return redirect(url_for("teacher.problem", problem_id=p.id))


# --------------------------------------------------------------------------- preview and copy

@bp.route("/problems/<int:problem_id>/preview")
def preview_problem(problem_id):
    s = db.session()
    p = problems.problem_for_instructor(s, current_user, problem_id)
    solution_id = request.args.get("solution", type=int)
    view = authoring.preview_view(s, current_user, p, solution_id)
    form = critique_form(view)
    return render_template("teacher/preview.html", problem=p, course=s.get(Course, p.course_id), view=view,
                           form=form, draft_id=solution_id)


@bp.route("/problems/<int:problem_id>/copy", methods=["POST"])
def copy_problem(problem_id):
    s = db.session()
    p = problems.problem_for_instructor(s, current_user, problem_id)
    form = copy_form_for(s, p)
    copy = form_errors.submit(form, lambda: authoring.copy_problem(s, current_user, p, form.course.data),
                              aliases={"": "course"})
    if copy is None:  # the problem page again, with what is wrong beside the course list
        return problem_page(s, p, copy_form=form, status=400)
    target = s.get(Course, copy.course_id)
    flash(f"Copied to {target.title}.", "success")
    return redirect(url_for("teacher.problem", problem_id=copy.id))
