"""The student's lab area: their group (and, in the lab, the group's problems, strategies, runs and harvests).
CSRF is checked on every POST by the app's CSRFProtect."""
from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from .. import db, form_errors
from ..models import Course, LabGroup, LabStrategy
from ..services import courses, groups, harvest, lab, lab_charts, lab_grades
from ..services.errors import ServiceError
from . import bp
from .lab_forms import HarvestForm, RunForm, StrategyForm, SyntheticForm


@bp.route("/courses/<code>/groups")
def lab_groups(code):
    s = db.session()
    c = courses.course_for_member(s, current_user, code)
    mine = groups.group_of_student(s, c.id, current_user.id)
    views = groups.groups_of(s, c.id)
    my_view = next((v for v in views if mine and v.group.id == mine.id), None)
    joinable = [v for v in views if v.group.open_to_join and not v.full and not mine]
    return render_template("student/lab/groups.html", course=c, my_view=my_view, joinable=joinable,
                           labs=lab.labs_of(s, c.id))


def _group_action(group_id: int, action, done: str):
    """Join or leave, then back to the course's groups page with what happened (a refusal in its words)."""
    s = db.session()
    try:
        group = action(s, current_user, group_id)
        flash(done.format(name=group.name), "success")
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
        group = s.get(LabGroup, group_id)
    return redirect(url_for("student.lab_groups", code=s.get(Course, group.course_id).code))


@bp.route("/groups/<int:group_id>/join", methods=["POST"])
def join_lab_group(group_id):
    return _group_action(group_id, groups.join_group, "You joined {name}.")


@bp.route("/groups/<int:group_id>/leave", methods=["POST"])
def leave_lab_group(group_id):
    return _group_action(group_id, groups.leave_group, "You left {name}. What you wrote stays with the group.")


# --------------------------------------------------------------------------- the lab

def _lab_page(s, lab_id, *, synthetic_form=None, strategy_form=None, run_form=None, status=200):
    access = lab.lab_for(s, current_user, lab_id)
    work = lab.group_work(s, access)
    exam = lab.exam_problems(s, access.lab.id) if access.sees_exam else []
    exam_count = len(exam) if access.sees_exam else len(lab.exam_problems(s, access.lab.id))
    synthetic_form = synthetic_form or SyntheticForm()
    # On a hidden exam even the titles stay hidden: the problems are named by their number only.
    synthetic_form.exam_problem_id.choices = [("", "Choose an exam problem")] + [
        (str(p.id), f"{n}. {p.title}" if access.sees_exam else f"Exam problem {n}")
        for n, p in enumerate(exam or lab.exam_problems(s, access.lab.id), start=1)]
    strategy_form = strategy_form or StrategyForm()
    run_form = run_form or RunForm()
    if work is not None:
        strategy_form.example_ids.choices = [(str(p.id), p.title) for p in work.synthetic]
        if not strategy_form.system_prompt.data and work.strategies:
            strategy_form.system_prompt.data = work.strategies[0].system_prompt
        run_form.strategy_id.choices = [(str(x.id), f"Version {x.version}") for x in work.strategies]
    return render_template("lab/work.html", access=access, work=work, exam=exam, exam_count=exam_count,
                           synthetic_form=synthetic_form, strategy_form=strategy_form, run_form=run_form,
                           model=lab.solver_model(current_app.config), chart=lab_charts.accuracy_chart(
                               work.points if work else []),
                           target_labels=lab.TARGET_LABELS, grade=lab_grades.own_grade(s, access, current_user)), status


@bp.route("/labs/<int:lab_id>")
def lab_work(lab_id):
    return _lab_page(db.session(), lab_id)


@bp.route("/labs/<int:lab_id>/problems", methods=["POST"])
def new_lab_problem(lab_id):
    s = db.session()
    form = SyntheticForm()
    draft = lab.SyntheticDraft(exam_problem_id=form.exam_problem_id.data, title=form.title.data,
                               statement=form.statement.data, reference_solution=form.reference_solution.data,
                               reference_answer=form.reference_answer.data, answer_mode=form.answer_mode.data,
                               answer_tolerance=form.answer_tolerance.data, answer_tests=form.answer_tests.data)
    saved = form_errors.submit(form, lambda: lab.create_synthetic(s, current_user, lab_id, draft),
                               lambda: lab.validate_synthetic(s, lab.lab_for(s, current_user, lab_id).lab, draft))
    if saved is None:
        return _lab_page(s, lab_id, synthetic_form=form, status=_status(form))
    flash(f"Synthetic problem “{saved.title}” saved.", "success")
    for result in lab.failing_tests(saved):
        flash(result.sentence(), "error")
    return redirect(url_for("student.lab_work", lab_id=lab_id) + "#synthetic")


@bp.route("/labs/<int:lab_id>/strategies", methods=["POST"])
def new_lab_strategy(lab_id):
    s = db.session()
    form = StrategyForm()
    saved = form_errors.submit(form, lambda: lab.save_strategy(s, current_user, lab_id, form.system_prompt.data,
                                                               form.example_ids.data))
    if saved is None:
        return _lab_page(s, lab_id, strategy_form=form, status=_status(form))
    flash(f"Strategy version {saved.version} saved.", "success")
    return redirect(url_for("student.lab_work", lab_id=lab_id) + "#strategies")


@bp.route("/labs/<int:lab_id>/runs", methods=["POST"])
def start_lab_run(lab_id):
    s = db.session()
    form = RunForm()
    run = form_errors.submit(form, lambda: lab.start_run(s, current_user, lab_id, form.target.data,
                                                         form.strategy_id.data,
                                                         model=lab.solver_model(current_app.config)))
    if run is None:
        return _lab_page(s, lab_id, run_form=form, status=_status(form))
    flash(f"Run {run.id} started: {run.total} attempts ({run.samples} per problem).", "success")
    return redirect(url_for("student.lab_run", run_id=run.id))


def _status(form) -> int:
    refusal = form_errors.refusal_of(form)
    return refusal.status if refusal is not None and refusal.status in (403, 404, 409) else 400


@bp.route("/runs/<int:run_id>")
def lab_run(run_id):
    s = db.session()
    run, access = lab.run_for(s, current_user, run_id)
    return render_template("lab/run.html", run=run, access=access, results=lab.run_results(s, access, run),
                           strategy=s.get(LabStrategy, run.strategy_id), progress=lab.progress(run),
                           target_labels=lab.TARGET_LABELS, active=lab.ACTIVE_STATES)


@bp.route("/runs/<int:run_id>/progress.json")
def lab_run_progress(run_id):
    run, _access = lab.run_for(db.session(), current_user, run_id)
    return jsonify(lab.progress(run))


@bp.route("/runs/<int:run_id>/cancel", methods=["POST"])
def cancel_lab_run(run_id):
    s = db.session()
    try:
        run = lab.cancel_run(s, current_user, run_id)
        flash(f"Run {run.id} is stopping; what it did so far is kept.", "success")
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    return redirect(url_for("student.lab_run", run_id=run_id))


@bp.route("/runs/<int:run_id>/resume", methods=["POST"])
def resume_lab_run(run_id):
    s = db.session()
    try:
        run = lab.resume_run(s, current_user, run_id, model=lab.solver_model(current_app.config))
        flash(f"Run {run.id} is queued again; it continues where it stopped.", "success")
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    return redirect(url_for("student.lab_run", run_id=run_id))


# --------------------------------------------------------------------------- harvesting failures

@bp.route("/attempts/<int:attempt_id>/harvest", methods=["GET", "POST"])
def harvest_attempt(attempt_id):
    s = db.session()
    attempt, run, access = harvest.attempt_for(s, current_user, attempt_id)
    existing = harvest.harvest_of_attempt(s, attempt.id)
    editable = attempt.verdict != "correct" and (existing is None or existing.state == "returned")
    form = HarvestForm() if editable else None
    status = 200
    if form is not None and request.method == "POST":
        saved = form_errors.submit(form, lambda: harvest.submit_harvest(
            s, current_user, attempt.id, first_wrong_step=form.first_wrong_step.data, reason=form.reason.data,
            error_kind=form.error_kind.data, exportable=form.exportable.data),
            lambda: harvest.validate_marking(harvest.candidate_steps(attempt), form.first_wrong_step.data,
                                             form.reason.data, form.error_kind.data))
        if saved is not None:
            flash("Submitted to your instructor, who approves it or sends it back with a comment.", "success")
            return redirect(url_for("student.harvest_attempt", attempt_id=attempt.id))
        status = 400
    elif request.method == "POST":
        flash("This attempt cannot be submitted: it is right, or already waiting for your instructor.", "error")
        status = 409
    elif form is not None and existing is not None:  # sent back: start from what the group wrote
        form.first_wrong_step.data, form.reason.data = existing.first_wrong_step, existing.reason
        form.error_kind.data, form.exportable.data = existing.error_kind, existing.exportable
    return render_template("lab/harvest.html", attempt=attempt, run=run, access=access, harvest=existing,
                           source=harvest.source_problem(s, attempt), steps=harvest.candidate_steps(attempt),
                           form=form, state_labels=harvest.STATE_LABELS), status


@bp.route("/harvests/<int:harvest_id>/dataset", methods=["POST"])
def harvest_dataset(harvest_id):
    """The group keeps its harvest out of the course's published dataset (include=0) or lets it in (1)."""
    h = harvest.set_exportable(db.session(), current_user, harvest_id, request.form.get("include") == "1")
    flash("It is in the course's published dataset again." if h.exportable else
          "It is kept out of the course's published dataset.", "success")
    return redirect(url_for("student.harvest_attempt", attempt_id=h.attempt_id))


@bp.route("/labs/<int:lab_id>/leaderboard")
def lab_leaderboard(lab_id):
    s = db.session()
    board = lab.leaderboard(s, current_user, lab_id)
    return render_template("lab/leaderboard.html", board=board, my_group=board.access.group)
