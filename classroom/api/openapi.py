"""The API described as OpenAPI 3.1, served at /api/v1/openapi.json.

Written by hand beside the routes; tests/test_openapi.py checks that it lists exactly the routes and
methods the app has, so a new route cannot go undocumented.
"""
from flask import jsonify

from ..content import ERROR_KINDS
from ..services.agreement import LEVELS, MODEL_COMPONENTS
from ..services.banks import BANK_FIELDS, FIELD_HELP, OPTIONAL_FIELDS
from . import bp


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    words = {400: "The input is wrong; `field`/`fields` name what.", 401: "No valid bearer token.",
             403: "Not allowed for your role in this course.", 404: "Not found, or not yours to see.",
             409: "Conflicts with what is there (see the message)."}
    return {str(c): _json(_ref("Error"), words[c]) for c in codes}


def _path_param(name: str, kind: str = "integer") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


NUMBER_OR_NULL = {"type": ["number", "null"]}

FIGURES = {
    "type": "object",
    "required": ["pairs", "agreement", "kappa", "mean_abs_diff", "confusion"],
    "properties": {
        "pairs": {"type": "integer", "description": "components decided by both the model and an instructor"},
        "agreement": {**NUMBER_OR_NULL, "description": "fraction of pairs at the same verdict level"},
        "kappa": {**NUMBER_OR_NULL, "description": "Cohen's kappa over the levels; null where undefined"},
        "mean_abs_diff": {**NUMBER_OR_NULL, "description": "mean |model score - instructor score|"},
        "confusion": {"type": "object", "description": "model level -> instructor level -> number of pairs",
                      "properties": {lv: {"type": "object", "properties": {x: {"type": "integer"} for x in LEVELS}}
                                     for lv in LEVELS}},
    },
}
BY_COMPONENT = {"type": "object", "properties": {c: _ref("Figures") for c in MODEL_COMPONENTS}}

ITEM = {
    "type": "object",
    "required": ["id", "submissions", "key_step", "marked_steps", "location_correct_share",
                 "explanation_correct_share", "answer_correct_share", "common_wrong_answers", "difficulty",
                 "discrimination"],
    "properties": {
        "id": {"type": "integer", "description": "the problem"},
        "submissions": {"type": "integer", "description": "students whose counting version answers it"},
        "key_step": {"type": ["integer", "null"], "description": "the key's first wrong step; null for a correct "
                                                                 "solution"},
        "marked_steps": {"type": "object", "description": '"1", "2", ... and "none" -> students',
                         "additionalProperties": {"type": "integer"}},
        "location_correct_share": NUMBER_OR_NULL,
        "explanation_correct_share": {**NUMBER_OR_NULL, "description": "full credit among decided explanations"},
        "answer_correct_share": {**NUMBER_OR_NULL, "description": "full credit among decided final answers"},
        "common_wrong_answers": {"type": "array", "description": "the five most common, most frequent first",
                                 "items": {"type": "object", "properties": {"answer": {"type": "string"},
                                                                            "count": {"type": "integer"}}}},
        "difficulty": {**NUMBER_OR_NULL, "description": "share of fully decided versions at full credit"},
        "discrimination": {**NUMBER_OR_NULL, "description": "point-biserial correlation of full credit with the "
                                                            "rest of the assignment"},
        "discrimination_flag": {"type": ["string", "null"], "enum": ["low", "negative", None]},
        "false_alarm_rate": {**NUMBER_OR_NULL, "description": "correct solutions: share that marked a step"},
        "components": {"type": "object", "description": "per component: decided, difficulty, discrimination"},
        "explanation_groups": {"type": "array", "description": (
            "the grouped review's groups of this problem's explanations (same solution, marked step and final "
            "answer's verdict, similar words), biggest first; empty when none went to review"),
            "items": {"type": "object", "properties": {
                "size": {"type": "integer"}, "waiting": {"type": "integer"},
                "full_credit_share": {**NUMBER_OR_NULL, "description": "among the decided members"},
                "marked_step": {"type": ["integer", "null"]}, "answer_verdict": {"type": "string"},
                "answer_read_as": {"type": "string"}, "words": {"type": "array", "items": {"type": "string"}},
                "example": {"type": "string", "description": "the member closest to the others, shortened"}}}},
    },
}

GRADE = {
    "type": "object",
    "properties": {
        "score": {**NUMBER_OR_NULL, "description": "the score that counts, 0..1: the instructor's, else the machine's"},
        "status": {"type": "string", "enum": ["graded", "needs_review", "error"]},
        "decided_by": {"type": ["string", "null"], "enum": ["exact", "model", "lean", "instructor", None]},
        "feedback": {"type": "string"},
        "machine_score": {**NUMBER_OR_NULL, "description": "instructors only"},
        "machine_feedback": {"type": "string", "description": "instructors only"},
        "override_score": {**NUMBER_OR_NULL, "description": "instructors only"},
        "model_name": {"type": ["string", "null"]}, "prompt_version": {"type": ["string", "null"]},
        "tokens_in": {"type": ["integer", "null"]}, "tokens_out": {"type": ["integer", "null"]},
        "latency_ms": {"type": ["integer", "null"]}, "flags": {"type": "array", "items": {"type": "string"}},
    },
}

SUBMISSION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "assignment_id": {"type": "integer"}, "problem_id": {"type": "integer"},
        "version": {"type": "integer"}, "error_step": {"type": ["integer", "null"]},
        "explanation": {"type": "string"}, "correction": {"type": "string"}, "final_answer": {"type": "string"},
        "late": {"type": "boolean"}, "submitted_at": {"type": "string", "format": "date-time"},
        "state": {"type": "string"}, "grading_error": {"type": ["string", "null"], "description": "instructors only"},
        "grades_released": {"type": "boolean"},
        "scores": {"type": "object", "additionalProperties": _ref("Grade"),
                   "description": "component -> grade; instructors always, the author once released"},
        "points": {"type": "number"}, "max_points": {"type": "number"},
        "pending": {"type": "array", "items": {"type": "string"}},
    },
}

BANK_LINE = {
    "type": "object",
    "description": "One line of a problem bank, as `flask import-bank` reads it.",
    "required": [f for f in BANK_FIELDS if f != "error_reason"],
    "properties": {name: {"description": FIELD_HELP.get(name, "")} for name in (*BANK_FIELDS, *OPTIONAL_FIELDS)},
}
BANK_LINE["properties"]["error_kind"]["enum"] = list(ERROR_KINDS)

NEW_ASSIGNMENT = {
    "type": "object",
    "required": ["title", "opens_at", "due_at", "problems"],
    "properties": {
        "title": {"type": "string"}, "instructions": {"type": "string"},
        "opens_at": {"type": "string", "format": "date-time",
                     "description": "ISO 8601; without an offset, in the server's CLASSROOM_TIMEZONE"},
        "due_at": {"type": "string", "format": "date-time"},
        "allow_late": {"type": "boolean", "default": False},
        "late_penalty_percent": {"type": "integer", "minimum": 0, "maximum": 100, "default": 0},
        "points": {"type": "integer", "minimum": 1, "default": 100},
        "weights": {"type": "object", "properties": {
            "location": {"type": "integer", "default": 30}, "explanation": {"type": "integer", "default": 40},
            "correction": {"type": "integer", "default": 30}, "lean": {"type": "integer", "default": 0},
            "revision": {"type": "integer", "default": 50}, "teaching": {"type": "integer", "default": 50},
            "efficiency": {"type": "integer", "default": 0}}},
        "problems": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["id"],
            "properties": {"id": {"type": "integer"},
                           "mode": {"type": "string", "enum": ["critique", "teach"], "default": "critique",
                                    "description": "teach: the student talks the model out of its wrong answer "
                                                   "(needs TUTEE_MODEL or GRADER_MODEL on the server)"},
                           "turn_limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 8,
                                          "description": "teach mode: messages a student may send"},
                           "attempts_allowed": {"type": "integer", "minimum": 1, "maximum": 20, "default": 1,
                                                "description": "teach mode: conversations a student may start"}}}},
    },
}

CREATED = {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}

CODE = _path_param("code", "string")
CONVERSATION_ID = _path_param("conversation_id")
CONVERSATION_STATE = {"type": "string", "enum": ["open", "solved", "exhausted", "ended", "deadline"]}
MESSAGE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "position": {"type": "integer"},
    "speaker": {"type": "string", "enum": ["student", "tutee"]},
    "status": {"type": "string", "enum": ["sent", "unanswered", "pending", "streaming", "done", "failed"]},
    "text": {"type": "string"}, "final_answer": {"type": ["string", "null"]},
    "created_at": {"type": "string", "format": "date-time"}}}
CONVERSATION = {"type": "object", "properties": {
    "id": {"type": "integer"}, "assignment_id": {"type": "integer"}, "problem_id": {"type": "integer"},
    "attempt": {"type": "integer"}, "state": CONVERSATION_STATE, "turn_limit": {"type": "integer"},
    "turns_left": {"type": "integer"}, "model_final_answer": {"type": ["string", "null"]},
    "messages": {"type": "array", "items": MESSAGE}, "submission_id": {"type": ["integer", "null"]},
    "scores": {"type": "object", "description": "revision, teaching, efficiency: instructors always, its student "
                                                 "once grades are released"},
    "points": {"type": "number"}, "max_points": {"type": "number"},
    "pending": {"type": "array", "items": {"type": "string"}}}}
ASSIGNMENT = _path_param("assignment_id")
SUBMISSION_ID = _path_param("submission_id")

PATHS = {
    "/courses/{code}/assignments": {
        "parameters": [CODE],
        "get": {"summary": "The course's assignments with their problems and numbered steps (never the key)",
                "description": "Members of the course; students see open assignments only.",
                "responses": {"200": _json({"type": "object"}), **_errors(401, 404)}},
        "post": {"summary": "Create an assignment", "description": "The course's instructors.",
                 "requestBody": _body(_ref("NewAssignment")),
                 "responses": {"201": _json(CREATED, "Created"), **_errors(400, 401, 403, 404)}},
    },
    "/courses/{code}/problems": {
        "parameters": [CODE],
        "post": {"summary": "Add a problem from one bank line", "description": "The course's instructors.",
                 "requestBody": _body(_ref("BankLine")),
                 "responses": {"201": _json(CREATED, "Created"), **_errors(400, 401, 403, 404, 409)}},
    },
    "/courses/{code}/review": {
        "parameters": [CODE] + [{"name": name, "in": "query", "schema": schema} for name, schema in (
            ("assignment", {"type": "integer"}), ("problem", {"type": "integer"}),
            ("component", {"type": "string", "enum": ["explanation", "correction", "lean"]}),
            ("state", {"type": "string", "enum": ["waiting", "done", "all"], "default": "waiting"}),
            ("decided_by", {"type": "string", "enum": ["any", "model", "instructor"], "default": "any"}),
            ("step", {"type": "string", "description": "a step number, or none (no step is wrong)"}),
            ("flagged", {"type": "string", "enum": ["1"]}), ("late", {"type": "string", "enum": ["1"]}))],
        "get": {"summary": "The review queue: per assignment, problem and component, critiques in groups",
                "description": "The course's instructors. Groups share their facts (solution, marked step, "
                               "answer verdict, answer as read) and similar wording; see docs/review.md.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "waiting": {"type": "integer"}, "done": {"type": "integer"},
                    "sections": {"type": "array", "items": {"type": "object", "properties": {
                        "assignment_id": {"type": "integer"}, "problem_id": {"type": "integer"},
                        "component": {"type": "string"}, "waiting": {"type": "integer"}, "done": {"type": "integer"},
                        "groups": {"type": "array", "items": {"type": "object", "properties": {
                            "facts": {"type": "object", "properties": {
                                "solution_id": {"type": "integer"}, "step": {"type": ["integer", "null"]},
                                "answer_verdict": {"type": "string"}, "read_as": {"type": "string"}}},
                            "words": {"type": "array", "items": {"type": "string"}},
                            "central_grade_id": {"type": "integer"},
                            "members": {"type": "array", "items": {"type": "object", "properties": {
                                "grade_id": {"type": "integer"}, "submission_id": {"type": "integer"},
                                "student_id": {"type": "integer"}, "version": {"type": "integer"},
                                "state": {"type": "string", "enum": ["waiting", "done"]},
                                "decided_by": {"type": ["string", "null"]}, "score": NUMBER_OR_NULL,
                                "late": {"type": "boolean"}, "flags": {"type": "array", "items": {"type": "string"}},
                                "text": {"type": "string"}, "final_answer": {"type": "string"}}}}}}}}}}}}),
                    **_errors(400, 401, 403, 404)}},
    },
    "/courses/{code}/review/score": {
        "parameters": [CODE],
        "post": {"summary": "Score a group of critiques at once, but those left out",
                 "description": "The course's instructors. One audit entry per submission; with only_waiting "
                                "(default) members decided since are skipped. Undo with the batch.",
                 "requestBody": _body({"type": "object", "required": ["grade_ids", "score"], "properties": {
                     "grade_ids": {"type": "array", "items": {"type": "integer"}},
                     "leave_out": {"type": "array", "items": {"type": "integer"}},
                     "score": {"type": "number", "minimum": 0, "maximum": 1},
                     "only_waiting": {"type": "boolean", "default": True}}}),
                 "responses": {"200": _json({"type": "object", "properties": {
                     "batch": {"type": "string"}, "scored": {"type": "array", "items": {"type": "integer"}},
                     "skipped": {"type": "integer"}, "undo": {"type": "string"}}}), **_errors(400, 401, 403, 404)}},
    },
    "/courses/{code}/review/undo": {
        "parameters": [CODE],
        "post": {"summary": "Undo a group's scoring (within two minutes, by whoever scored it)",
                 "description": "The course's instructors. Grades changed since keep the later decision.",
                 "requestBody": _body({"type": "object", "required": ["batch"], "properties": {
                     "batch": {"type": "string"}}}),
                 "responses": {"200": _json({"type": "object", "properties": {
                     "restored": {"type": "array", "items": {"type": "integer"}}}}), **_errors(400, 401, 403, 404, 409)}},
    },
    "/courses/{code}/gradebook.csv": {
        "parameters": [CODE, {"name": "format", "in": "query", "schema": {"type": "string",
                                                                           "enum": ["plain", "canvas"]}}],
        "get": {"summary": "The gradebook as CSV", "description": "The course's instructors.",
                "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                              **_errors(400, 401, 403, 404)}},
    },
    "/assignments/{assignment_id}/problems/{problem_id}/submissions": {
        "parameters": [ASSIGNMENT, _path_param("problem_id")],
        "post": {"summary": "Submit a critique (a new version)",
                 "description": "Students of the course. Versions sent at once are all saved, in turn; 409 only "
                                "when one kept losing the race for its version number: send it again.",
                 "requestBody": _body({"type": "object", "required": ["error_step", "explanation"], "properties": {
                     "error_step": {"type": ["integer", "null"]}, "explanation": {"type": "string"},
                     "correction": {"type": "string"}, "final_answer": {"type": "string"},
                     "lean_proof": {"type": "string"}}}),
                 "responses": {"201": _json({"type": "object", "properties": {
                     "id": {"type": "integer"}, "version": {"type": "integer"}, "state": {"type": "string"},
                     "late": {"type": "boolean"}}}, "Created"), **_errors(400, 401, 403, 404, 409)}},
    },
    "/assignments/{assignment_id}/problems/{problem_id}/read-answer": {
        "parameters": [ASSIGNMENT, _path_param("problem_id"),
                       {"name": "answer", "in": "query", "schema": {"type": "string"}}],
        "get": {"summary": "How a final answer is read, before submitting (never anything about the reference)",
                "description": "Members of the course.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "readable": {"type": "boolean"}, "read_as": {"type": ["string", "null"]},
                    "note": {"type": "string"}}}), **_errors(400, 401, 404)}},
    },
    "/assignments/{assignment_id}/submissions": {
        "parameters": [ASSIGNMENT,
                       {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
                       {"name": "per_page", "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}],
        "get": {"summary": "Every counting (latest) version with its grades, paged",
                "description": "The course's instructors.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "submissions": {"type": "array", "items": _ref("Submission")},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"}, "total": {"type": "integer"},
                    "next": {"type": ["string", "null"], "description": "the next page's URL"}}}),
                    **_errors(400, 401, 403, 404)}},
    },
    "/assignments/{assignment_id}/agreement": {
        "parameters": [ASSIGNMENT],
        "get": {"summary": "The grader model's decisions beside the instructors'",
                "description": "The course's instructors. Pairs come from counting versions only.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "components": BY_COMPONENT,
                    "problems": {"type": "array", "items": {"type": "object", "properties": {
                        "problem_id": {"type": "integer"}, "title": {"type": "string"}, "components": BY_COMPONENT}}},
                    "error_kinds": {"type": "array", "items": {"type": "object", "properties": {
                        "error_kind": {"type": "string"}, "label": {"type": "string"}, "components": BY_COMPONENT}}},
                    "disagreements": {"type": "array", "items": {"type": "object", "properties": {
                        "submission_id": {"type": "integer"}, "component": {"type": "string"},
                        "model_score": {"type": "number"}, "instructor_score": {"type": "number"}}}},
                    "calibration": {"type": ["object", "null"], "description": (
                        "the same figures for pairs the model graded without the instructor's worked examples "
                        "(before) and with at least one (after)"),
                        "properties": {"before": BY_COMPONENT, "after": BY_COMPONENT}}}}),
                    **_errors(401, 403, 404)}},
    },
    "/assignments/{assignment_id}/item-analysis": {
        "parameters": [ASSIGNMENT],
        "get": {"summary": "What the class missed: item analysis of an assignment",
                "description": "The course's instructors. Counted over each student's counting (latest) version "
                               "of each problem, once. Shares are fractions (0 to 1); null where nothing was "
                               "decided. The same numbers as the assignment's analysis page and its CSV files.",
                "responses": {"200": _json({"type": "object", "properties": {
                    "problems": {"type": "array", "items": ITEM}, "score_histogram": {
                        "type": "array", "description": "students per 10% of the assignment's points "
                                                        "(the last bin includes 100%)",
                        "items": {"type": "object", "properties": {"from": {"type": "integer"},
                                                                   "to": {"type": "integer"},
                                                                   "count": {"type": "integer"}}}},
                    "students": {"type": "integer"}, "answered_students": {"type": "integer"},
                    "timeline": {"type": "array", "description": "versions sent per hour from the deadline",
                                 "items": {"type": "object"}},
                    "error_kinds": {"type": "array", "description": "the keys' kinds of error, most missed first",
                                    "items": {"type": "object"}}}}),
                    **_errors(401, 403, 404)}},
    },
    "/assignments/{assignment_id}/release": {
        "parameters": [ASSIGNMENT],
        "post": {"summary": "Release the assignment's grades to students",
                 "description": "The course's instructors. While the assignment still takes answers the "
                                "release is refused (409, saying why) unless the body says {\"confirm\": true}.",
                 "requestBody": {"required": False, "content": {"application/json": {"schema": {
                     "type": "object", "properties": {"confirm": {"type": "boolean"}}}}}},
                 "responses": {"200": _json({"type": "object", "properties": {
                     "id": {"type": "integer"}, "grades_released": {"type": "boolean"},
                     "released_at": {"type": "string", "format": "date-time"}}}), **_errors(401, 403, 404, 409)}},
    },
    "/submissions/{submission_id}": {
        "parameters": [SUBMISSION_ID],
        "get": {"summary": "One version: its state, and scores once released (instructors always, with the key)",
                "description": "Its author and the course's instructors.",
                "responses": {"200": _json(_ref("Submission")), **_errors(401, 404)}},
    },
    "/submissions/{submission_id}/grades/{component}": {
        "parameters": [SUBMISSION_ID, {"name": "component", "in": "path", "required": True, "schema": {
            "type": "string", "enum": ["location", "explanation", "final_answer", "correction", "lean", "revision", "teaching",
                                "efficiency"]}}],
        "post": {"summary": "Record an instructor's score for one component",
                 "description": "The course's instructors. A review score where the component waits for "
                                "review, an override where a machine decided (kept beside its score). Audit-logged.",
                 "requestBody": _body({"type": "object", "required": ["score"], "properties": {
                     "score": {"type": "number", "minimum": 0, "maximum": 1}, "comment": {"type": "string"}}}),
                 "responses": {"200": _json(_ref("Grade")), **_errors(400, 401, 403, 404, 409)}},
    },
    "/assignments/{assignment_id}/problems/{problem_id}/conversations": {
        "parameters": [ASSIGNMENT, _path_param("problem_id")],
        "post": {"summary": "Start a conversation with the model on a teach-mode problem (a new attempt)",
                 "description": "Students of the course. The first message is the model presenting its solution.",
                 "responses": {"201": _json({"type": "object", "properties": {
                     "id": {"type": "integer"}, "messages": {"type": "array", "items": _ref("Message")},
                     "turns_left": {"type": "integer"}, "state": CONVERSATION_STATE}}, "Created"),
                     **_errors(400, 401, 403, 404, 409)}},
    },
    "/conversations/{conversation_id}/messages": {
        "parameters": [CONVERSATION_ID],
        "post": {"summary": "Send the model a message; the reply comes back whole (no streaming)",
                 "description": "The conversation's student. The message is stored before the model is asked; "
                                "when the model fails (502) it is kept, and sending the same text again "
                                "sends it again without using another turn. 429: the hourly message limit or "
                                "the course's token budget is reached.",
                 "requestBody": _body({"type": "object", "required": ["text"],
                                       "properties": {"text": {"type": "string"}}}),
                 "responses": {"201": _json({"type": "object", "properties": {
                     "reply": {"type": "string", "description": "without its FINAL ANSWER line"},
                     "model_final_answer": {"type": ["string", "null"]}, "state": CONVERSATION_STATE,
                     "turns_left": {"type": "integer"}}}, "Created"),
                     **_errors(400, 401, 403, 404, 409)}},
    },
    "/conversations/{conversation_id}/end": {
        "parameters": [CONVERSATION_ID],
        "post": {"summary": "End the conversation: it becomes the attempt's submission",
                 "description": "The conversation's student.",
                 "responses": {"200": _json(_ref("Conversation")), **_errors(401, 403, 404, 409)}},
    },
    "/conversations/{conversation_id}": {
        "parameters": [CONVERSATION_ID],
        "get": {"summary": "The transcript; scores once released (instructors always, with each reply's "
                           "model, prompt version, tokens and latency)",
                "description": "Its student and the course's instructors.",
                "responses": {"200": _json(_ref("Conversation")), **_errors(401, 404)}},
    },
    "/tokens": {
        "get": {"summary": "The caller's own API tokens (never the tokens themselves)",
                "description": "Everyone. `current` marks the token sending this request.",
                "responses": {"200": _json({"type": "object", "properties": {"tokens": {"type": "array", "items": {
                    "type": "object", "properties": {
                        "id": {"type": "integer"}, "label": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
                        "current": {"type": "boolean"}}}}}}), **_errors(401)}},
    },
    "/tokens/{token_id}": {
        "parameters": [_path_param("token_id")],
        "delete": {"summary": "Revoke one of your tokens (it stops working at once)",
                   "description": "The token's owner; another person's token is 404.",
                   "responses": {"204": {"description": "Revoked."}, **_errors(401, 404)}},
    },
    "/openapi.json": {
        "get": {"summary": "This description", "security": [],
                "responses": {"200": _json({"type": "object"})}},
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Critique classroom API", "version": "1",
             "description": "Send `Authorization: Bearer <token>` (flask --app app create-token EMAIL). Errors are "
                            '{"error": {"status", "message", "field", "fields", "errors"}}.'},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "status": {"type": "integer"}, "message": {"type": "string"}, "field": {"type": "string"},
                "fields": {"type": "object"}, "errors": {"type": "array", "items": {"type": "string"}}}}}},
            "Figures": FIGURES, "Grade": GRADE, "Submission": SUBMISSION, "BankLine": BANK_LINE,
            "NewAssignment": NEW_ASSIGNMENT, "Message": MESSAGE, "Conversation": CONVERSATION,
        },
    },
}


@bp.route("/openapi.json")
def openapi_document():
    """Public: it describes the routes, not anyone's data."""
    return jsonify(DOCUMENT)
