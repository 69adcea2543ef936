"""The instructor's lab area: groups (and, in the lab, practice exams, runs and harvested failures)."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import db, form_errors
from ..content import ERROR_KINDS
from ..models import LabAttempt, LabStrategy
from ..services import accounts, courses, groups, harvest, lab, lab_charts, lab_grades, problems
from ..services.errors import InvalidInput, ServiceError
from . import bp
from .lab_forms import GroupForm, LabForm, MemberForm


def _groups_page(s, c, form=None, status=200):
    views = groups.groups_of(s, c.id)
    grouped = {u.id for v in views for u in v.members}
    students = courses.students_of(s, c.id)
    member_form = MemberForm()
    member_form.student.choices = [("", "Choose a student")] + [
        (str(u.id), f"{u.name} ({accounts.shown_email(u.email)})" + ("" if u.id not in grouped else " · in a group")) for u in students]
    ungrouped = [u for u in students if u.id not in grouped]
    return render_template("teacher/lab/groups.html", course=c, groups=views, form=form or GroupForm(),
                           member_form=member_form, ungrouped=ungrouped, labs=lab.labs_of(s, c.id)), status


@bp.route("/courses/<code>/groups")
def lab_groups(code):
    s = db.session()
    return _groups_page(s, courses.course_for_instructor(s, current_user, code))


@bp.route("/courses/<code>/groups", methods=["POST"])
def create_lab_group(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = GroupForm()
    typed = lambda: dict(name=form.name.data, max_size=form.max_size.data,  # noqa: E731
                         open_to_join=form.open_to_join.data)
    group = form_errors.submit(form, lambda: groups.create_group(s, current_user, c, **typed()),
                               lambda: groups.validate_group(s, c, name=form.name.data, max_size=form.max_size.data))
    if group is None:
        return _groups_page(s, c, form, 400)
    flash(f"Group {group.name} created.", "success")
    return redirect(url_for("teacher.lab_groups", code=c.code))


@bp.route("/groups/<int:group_id>/members", methods=["POST"])
def add_lab_group_member(group_id):
    s = db.session()
    group, c = groups.group_for_instructor(s, current_user, group_id)
    form = MemberForm()
    form.student.choices = []
    if not form.validate_on_submit():
        return _groups_page(s, c, status=400)
    try:
        group, student = groups.add_member(s, current_user, group.id, form.student.data)
    except ServiceError as exc:
        flash(exc.message, "error")
        return _groups_page(s, c, status=exc.status)
    flash(f"{student.name} is in {group.name}.", "success")
    return redirect(url_for("teacher.lab_groups", code=c.code))


@bp.route("/groups/<int:group_id>/members/<int:user_id>/remove", methods=["POST"])
def remove_lab_group_member(group_id, user_id):
    s = db.session()
    form = MemberForm()
    group, c = groups.group_for_instructor(s, current_user, group_id)
    if not form.validate_on_submit():
        return _groups_page(s, c, status=400)
    group, student = groups.remove_member(s, current_user, group.id, user_id)
    flash(f"{student.name} left {group.name}. What they wrote stays with the group.", "success")
    return redirect(url_for("teacher.lab_groups", code=c.code))


# --------------------------------------------------------------------------- labs

def _lab_form_page(s, c, form, status=200):
    form.exam_problem_ids.choices = [(p.id, p.title) for p in problems.problems_of(s, c.id)]
    return render_template("teacher/lab/lab_form.html", course=c, form=form), status


@bp.route("/courses/<code>/labs/new", methods=["GET", "POST"])
def new_lab(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = LabForm()
    if request.method == "GET":
        return _lab_form_page(s, c, form)
    form.exam_problem_ids.choices = [(p.id, p.title) for p in problems.problems_of(s, c.id)]
    draft = lab.LabDraft(title=form.title.data, instructions=form.instructions.data,
                         exam_problem_ids=form.exam_problem_ids.data or [], exam_hidden=form.exam_hidden.data,
                         samples=form.samples.data, token_budget=form.token_budget.data,
                         leaderboard_visible=form.leaderboard_visible.data)
    saved = form_errors.submit(form, lambda: lab.create_lab(s, current_user, c, draft),
                               lambda: lab.validate_lab(s, c, draft))
    if saved is None:
        return _lab_form_page(s, c, form, 400)
    flash(f"Lab “{saved.title}” created. Its groups can start now.", "success")
    return redirect(url_for("teacher.lab_overview", lab_id=saved.id))


@bp.route("/labs/<int:lab_id>")
def lab_overview(lab_id):
    s = db.session()
    access = lab.lab_for_instructor(s, current_user, lab_id)
    rows = []
    for view in groups.groups_of(s, access.course.id):
        runs = lab.runs_of(s, access.lab.id, view.group.id)
        rows.append((view, len(lab.synthetic_of(s, access.lab.id, view.group.id)), runs,
                     lab.tokens_used(s, access.lab.id, view.group.id)))
    return render_template("teacher/lab/overview.html", access=access, exam=lab.exam_problems(s, access.lab.id),
                           rows=rows, model=lab.solver_model(current_app.config))


@bp.route("/labs/<int:lab_id>/groups/<int:group_id>")
def lab_group_work(lab_id, group_id):
    s = db.session()
    access = lab.lab_for_instructor(s, current_user, lab_id, group_id)
    work = lab.group_work(s, access)
    return render_template("lab/work.html", access=access, work=work, exam=work.exam, exam_count=len(work.exam),
                           model=lab.solver_model(current_app.config), chart=lab_charts.accuracy_chart(work.points),
                           target_labels=lab.TARGET_LABELS)


@bp.route("/runs/<int:run_id>")
def lab_run(run_id):
    s = db.session()
    run, access = lab.run_for(s, current_user, run_id)
    if not access.teaches:
        abort(404)
    return render_template("lab/run.html", run=run, access=access, results=lab.run_results(s, access, run),
                           strategy=s.get(LabStrategy, run.strategy_id), progress=lab.progress(run),
                           target_labels=lab.TARGET_LABELS, active=lab.ACTIVE_STATES)


# --------------------------------------------------------------------------- harvested failures

@bp.route("/labs/<int:lab_id>/harvests")
def lab_harvests(lab_id):
    s = db.session()
    access = lab.lab_for_instructor(s, current_user, lab_id)
    names = {v.group.id: v.group.name for v in groups.groups_of(s, access.course.id)}
    items = harvest.harvests_of(s, access.lab.id)
    authors = lab.authors(s, [h.author_id for h in items])
    rows = []
    for h in sorted(items, key=lambda h: (h.state != "submitted", h.id)):
        attempt = s.get(LabAttempt, h.attempt_id)
        rows.append((h, attempt, harvest.source_problem(s, attempt), names.get(h.group_id, ""),
                     authors.get(h.author_id, "")))
    return render_template("teacher/lab/harvests.html", access=access, rows=rows,
                           state_labels=harvest.STATE_LABELS, error_kinds=ERROR_KINDS)


@bp.route("/harvests/<int:harvest_id>/decide", methods=["POST"])
def decide_lab_harvest(harvest_id):
    s = db.session()
    h, _access = harvest.harvest_for_instructor(s, current_user, harvest_id)
    try:
        h = harvest.decide(s, current_user, h.id, request.form.get("decision", ""), request.form.get("comment", ""))
        flash("Approved: it is now a problem of the course, ready for critique assignments."
              if h.state == "approved" else "Sent back to the group with your comment.", "success")
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(exc.message, "error")
    return redirect(url_for("teacher.lab_harvests", lab_id=h.lab_id))


# --------------------------------------------------------------------------- the leaderboard

@bp.route("/labs/<int:lab_id>/leaderboard")
def lab_leaderboard(lab_id):
    s = db.session()
    lab.lab_for_instructor(s, current_user, lab_id)
    return render_template("lab/leaderboard.html", board=lab.leaderboard(s, current_user, lab_id), my_group=None)


@bp.route("/labs/<int:lab_id>/leaderboard", methods=["POST"])
def lab_leaderboard_visibility(lab_id):
    s = db.session()
    saved = lab.set_leaderboard_visible(s, current_user, lab_id, request.form.get("visible") == "1")
    flash("The class now sees the leaderboard (scores only)." if saved.leaderboard_visible
          else "The leaderboard is now for the course's instructors only.", "success")
    return redirect(url_for("teacher.lab_leaderboard", lab_id=lab_id))


# --------------------------------------------------------------------------- rubric grades

def _grades_page(s, lab_id, *, errors=None, typed=None, group_id=None, criterion_error=None, status=200):
    """The lab's rubric and every group's grade. After a refused save: that group's fields as typed,
    with the messages beside them (`errors`: field -> messages)."""
    return render_template("teacher/lab/grades.html", grading=lab_grades.grading(s, current_user, lab_id),
                           errors=errors or {}, typed=typed or {}, error_group=group_id,
                           criterion_error=criterion_error or {}, max_points=lab_grades.MAX_CRITERION_POINTS), status


@bp.route("/labs/<int:lab_id>/grades")
def lab_grades_page(lab_id):
    return _grades_page(db.session(), lab_id)


@bp.route("/labs/<int:lab_id>/rubric", methods=["POST"])
def add_lab_criterion(lab_id):
    s = db.session()
    try:
        criterion = lab_grades.add_criterion(s, current_user, lab_id, request.form.get("title"),
                                             request.form.get("points"))
    except InvalidInput as exc:
        s.rollback()
        return _grades_page(s, lab_id, criterion_error=exc.field_errors, typed=request.form.to_dict(), status=400)
    flash(f"“{criterion.title}” ({criterion.points} points) added to the rubric.", "success")
    return redirect(url_for("teacher.lab_grades_page", lab_id=lab_id) + "#rubric")


@bp.route("/labs/<int:lab_id>/rubric/<int:criterion_id>/remove", methods=["POST"])
def remove_lab_criterion(lab_id, criterion_id):
    s = db.session()
    criterion = lab_grades.remove_criterion(s, current_user, lab_id, criterion_id)
    flash(f"“{criterion.title}” removed from the rubric, with the points groups had on it.", "success")
    return redirect(url_for("teacher.lab_grades_page", lab_id=lab_id) + "#rubric")


def _numbered(form, prefix: str) -> dict[int, str]:
    """Fields named prefix + an id (points-3, adjust-17): id -> what was typed."""
    return {int(k[len(prefix):]): v for k, v in form.items() if k.startswith(prefix) and k[len(prefix):].isdigit()}


@bp.route("/labs/<int:lab_id>/groups/<int:group_id>/grade", methods=["POST"])
def grade_lab_group(lab_id, group_id):
    s = db.session()
    form = request.form
    draft = lab_grades.GroupGradeDraft(points=_numbered(form, "points-"), adjustments=_numbered(form, "adjust-"),
                                       reasons=_numbered(form, "reason-"))
    try:
        group = lab_grades.grade_group(s, current_user, lab_id, group_id, draft)
    except InvalidInput as exc:
        s.rollback()
        return _grades_page(s, lab_id, errors=exc.field_errors or {"": [exc.message]}, typed=form.to_dict(),
                            group_id=group_id, status=400)
    flash(f"{group.name}'s grade saved.", "success")
    return redirect(url_for("teacher.lab_grades_page", lab_id=lab_id) + f"#group-{group.id}")


@bp.route("/labs/<int:lab_id>/grades/release", methods=["POST"])
def release_lab_grades(lab_id):
    s = db.session()
    saved = lab_grades.set_released(s, current_user, lab_id, request.form.get("released") == "1")
    flash("Grades released: each student sees theirs on the lab's page." if saved.grades_released_at
          else "Grades hidden from students again.", "success")
    return redirect(url_for("teacher.lab_grades_page", lab_id=lab_id))
