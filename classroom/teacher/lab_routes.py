"""The instructor's lab area: groups (and, in the lab, practice exams, runs and harvested failures)."""
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from .. import db, form_errors
from ..services import courses, groups
from ..services.errors import ServiceError
from . import bp
from .lab_forms import GroupForm, MemberForm


def _groups_page(s, c, form=None, status=200):
    views = groups.groups_of(s, c.id)
    grouped = {u.id for v in views for u in v.members}
    students = courses.students_of(s, c.id)
    member_form = MemberForm()
    member_form.student.choices = [("", "Choose a student")] + [
        (str(u.id), f"{u.name} ({u.email})" + ("" if u.id not in grouped else " · in a group")) for u in students]
    ungrouped = [u for u in students if u.id not in grouped]
    return render_template("teacher/lab/groups.html", course=c, groups=views, form=form or GroupForm(),
                           member_form=member_form, ungrouped=ungrouped), status


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
