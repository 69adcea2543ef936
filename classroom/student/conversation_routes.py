"""Teach mode on the student's pages: the chat with the model that wrote a flawed solution.

Without JavaScript every form works (the reply is written before the page comes back); with it
(static/js/teach.js) the message is sent with fetch, the reply is written in the background and the page
follows it as server-sent events from /events, which also pick a reply up again after a reload.
"""
import json

from flask import (
    Response, current_app, flash, jsonify, redirect, render_template, request, stream_with_context, url_for,
)
from flask_login import current_user
from sqlmodel import Session

from .. import db
from ..models import MESSAGE_DONE, MESSAGE_FAILED
from ..rendering import render_markdown
from ..services import conversations
from ..services import assignments as assignment_service
from ..services.errors import ServiceError
from . import bp


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/assignments/<int:assignment_id>/problems/<int:problem_id>/conversations", methods=["POST"])
def start_conversation(assignment_id, problem_id):
    t = conversations.start(db.session(), current_user, assignment_id, problem_id, current_app.config)
    return redirect(url_for("student.conversation", conversation_id=t.conversation.id))


@bp.route("/conversations/<int:conversation_id>")
def conversation(conversation_id, error=None, typed=""):
    s = db.session()
    t = conversations.transcript(s, current_user, conversation_id, current_app.config)
    link = conversations.link_of(s, t.assignment.id, t.problem.id)
    attempts = conversations.conversations_of(s, t.assignment.id, t.problem.id, current_user.id)
    return render_template("student/conversation.html", t=t, conv=t.conversation, assignment=t.assignment,
                           problem=t.problem, link=link, attempts=attempts, error=error, typed=typed,
                           status=assignment_service.status(t.assignment), display_text=conversations.display_text,
                           state_words=conversations.STATE_WORDS), 400 if error else 200


@bp.route("/conversations/<int:conversation_id>/messages", methods=["POST"])
def send_message(conversation_id):
    s = db.session()
    config = current_app.config
    text = request.form.get("text", "")
    try:
        t, reply = conversations.post_message(s, current_user, conversation_id, text, config)
    except ServiceError as exc:
        if _wants_json():
            return jsonify(error={"status": exc.status, "message": exc.message}), exc.status
        if exc.status == 404:
            raise
        page, _status = conversation(conversation_id, error=exc.message, typed=text)
        return page, exc.status
    if _wants_json():  # the page follows the reply as it is written
        app = current_app._get_current_object()
        conversations.write_reply_in_background(app.extensions["db_engine"], reply.id, config, app.app_context)
        student = t.messages[-2] if len(t.messages) > 1 else None
        return jsonify(reply_id=reply.id, events=url_for("student.conversation_events",
                                                         conversation_id=conversation_id, reply=reply.id),
                       message={"id": student.id, "text": student.text} if student else None,
                       turns_left=t.turns_left), 202
    reply = conversations.write_reply(s, reply.id, config)
    if reply.status == MESSAGE_FAILED:
        flash(reply.error, "error")
    return redirect(url_for("student.conversation", conversation_id=conversation_id) + "#latest")


@bp.route("/conversations/<int:conversation_id>/end", methods=["POST"])
def end_conversation(conversation_id):
    t = conversations.end(db.session(), current_user, conversation_id, current_app.config)
    flash("The conversation has ended. Its transcript is your submission for this attempt.", "success")
    return redirect(url_for("student.conversation", conversation_id=t.conversation.id))


@bp.route("/conversations/<int:conversation_id>/events")
def conversation_events(conversation_id):
    """The reply being written (or the given one), as server-sent events: `text` with the reply so far
    (without its FINAL ANSWER line), then `done` with the rendered reply, the model's answer and the
    conversation's state, or `failed` with why."""
    s = db.session()
    t = conversations.transcript(s, current_user, conversation_id, current_app.config)
    wanted = request.args.get("reply", type=int)
    replies = [m for m in t.messages if m.speaker == "tutee" and (wanted is None or m.id == wanted)]
    if not replies:
        return jsonify(error={"status": 404, "message": "That reply does not exist."}), 404
    reply_id = replies[-1].id
    engine = current_app.extensions["db_engine"]
    user = current_user._get_current_object()

    def events():
        reply = None
        for reply in conversations.follow_reply(engine, reply_id):
            if reply.status in (MESSAGE_DONE, MESSAGE_FAILED):
                break
            yield _event("text", {"text": conversations.display_text(reply.text, streaming=True)})
        if reply is None:
            return
        with Session(engine, expire_on_commit=False) as fresh:
            final = conversations.transcript(fresh, user, conversation_id)
        conv = final.conversation
        payload = {"state": conv.state, "state_words": conversations.STATE_WORDS[conv.state],
                   "turns_left": final.turns_left, "model_final_answer": conv.model_final_answer or None,
                   "answer_correct": conv.model_answer_correct}
        if reply.status == MESSAGE_DONE:
            text = conversations.display_text(reply.text)
            yield _event("done", {**payload, "text": text, "html": str(render_markdown(text))})
        else:
            yield _event("failed", {**payload, "message": reply.error})

    resp = Response(stream_with_context(events()), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"  # a proxy must pass each event on at once
    return resp


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
