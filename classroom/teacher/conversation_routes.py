"""Teach mode for instructors: every conversation's transcript, each reply with its model, prompt version,
tokens and latency (docs/teach.md)."""
from flask import abort, current_app, render_template
from flask_login import current_user

from .. import db
from ..services import conversations, courses, problems
from . import bp


@bp.route("/conversations/<int:conversation_id>")
def conversation(conversation_id):
    s = db.session()
    t = conversations.transcript(s, current_user, conversation_id, current_app.config)
    if not t.teaches:
        abort(404)
    key = problems.key_for(s, t.conversation.flawed_solution_id)
    return render_template("teacher/conversation.html", t=t, conv=t.conversation, key=key,
                           student=courses.listed_student(s, t.assignment.course_id, t.conversation.student_id),
                           state_words=conversations.STATE_WORDS, display_text=conversations.display_text)
