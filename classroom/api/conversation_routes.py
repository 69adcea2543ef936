"""Teach mode in the API: start a conversation, send messages (the reply comes back whole: the
non-streaming form for scripts), end it, read the transcript."""
from flask import current_app, g

from .. import db
from ..models import MESSAGE_DONE
from ..services import conversations
from ..services.errors import InvalidInput
from . import bp
from .auth import token_required
from .bodies import json_object as _json_object
from .serializers import grade_json, iso


def message_json(m, teaches: bool) -> dict:
    item = {"id": m.id, "position": m.position, "speaker": m.speaker, "status": m.status,
            "text": conversations.display_text(m.text) if m.speaker == "tutee" else m.text,
            "final_answer": m.final_answer, "created_at": iso(m.created_at)}
    if m.error:
        item["error"] = m.error
    if teaches and m.speaker == "tutee":
        item.update(raw_text=m.text, model_name=m.model_name, prompt_version=m.prompt_version,
                    tokens_in=m.tokens_in, tokens_out=m.tokens_out, latency_ms=m.latency_ms)
    return item


def conversation_json(t: conversations.Transcript) -> dict:
    c = t.conversation
    body = {"id": c.id, "assignment_id": c.assignment_id, "problem_id": c.problem_id, "attempt": c.attempt,
            "state": c.state, "turn_limit": c.turn_limit, "turns_left": t.turns_left,
            "model_final_answer": c.model_final_answer or None,
            "messages": [message_json(m, t.teaches) for m in t.messages],
            "created_at": iso(c.created_at), "ended_at": iso(c.ended_at)}
    if t.teaches:
        body["student_id"] = c.student_id
    body["submission_id"] = c.submission_id
    scored = conversations.scores_of(db.session(), t)
    if scored is not None:  # instructors always; its student once grades are released
        grades, score = scored
        body["scores"] = {g_.component: grade_json(g_, t.teaches) for g_ in grades}
        body["points"], body["max_points"], body["pending"] = score.points, score.max_points, score.pending
    return body


@bp.route("/assignments/<int:assignment_id>/problems/<int:problem_id>/conversations", methods=["POST"])
@token_required
def start_conversation(assignment_id, problem_id):
    t = conversations.start(db.session(), g.api_user, assignment_id, problem_id, current_app.config)
    return {"id": t.conversation.id, "messages": [message_json(m, False) for m in t.messages],
            "turns_left": t.turns_left, "state": t.conversation.state}, 201


@bp.route("/conversations/<int:conversation_id>/messages", methods=["POST"])
@token_required
def post_message(conversation_id):
    body = _json_object('Send a JSON object: {"text": "your message to the model"}.')
    if not isinstance(body.get("text"), str):
        raise InvalidInput('text must be your message, as a string: {"text": "..."}.', field="text")
    s = db.session()
    config = current_app.config
    _t, reply = conversations.post_message(s, g.api_user, conversation_id, body["text"], config)
    reply = conversations.write_reply(s, reply.id, config)  # the whole reply, then the answer
    t = conversations.transcript(s, g.api_user, conversation_id)
    if reply.status != MESSAGE_DONE:
        # The student's message is stored and marked unanswered: the same text sends it again.
        return {"error": {"status": 502, "message": reply.error}, "state": t.conversation.state,
                "turns_left": t.turns_left}, 502
    return {"reply": conversations.display_text(reply.text), "model_final_answer": t.conversation.model_final_answer or None,
            "state": t.conversation.state, "turns_left": t.turns_left}, 201


@bp.route("/conversations/<int:conversation_id>/end", methods=["POST"])
@token_required
def end_conversation(conversation_id):
    t = conversations.end(db.session(), g.api_user, conversation_id, current_app.config)
    return conversation_json(t)


@bp.route("/conversations/<int:conversation_id>")
@token_required
def get_conversation(conversation_id):
    t = conversations.transcript(db.session(), g.api_user, conversation_id, current_app.config)
    return conversation_json(t)
