"""The student's lab area: their group (and, in the lab, the group's problems, strategies, runs and harvests).
CSRF is checked on every POST by the app's CSRFProtect."""
from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from .. import db
from ..models import Course, LabGroup
from ..services import courses, groups
from ..services.errors import ServiceError
from . import bp


@bp.route("/courses/<code>/groups")
def lab_groups(code):
    s = db.session()
    c = courses.course_for_member(s, current_user, code)
    mine = groups.group_of_student(s, c.id, current_user.id)
    views = groups.groups_of(s, c.id)
    my_view = next((v for v in views if mine and v.group.id == mine.id), None)
    joinable = [v for v in views if v.group.open_to_join and not v.full and not mine]
    return render_template("student/lab/groups.html", course=c, my_view=my_view, joinable=joinable)


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
