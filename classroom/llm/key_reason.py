"""The key-reason role: proposing the answer key's reason for a solution whose wrong step is known.

Benchmarks such as ProcessBench label the first wrong step but say nothing about why. Asked with
`propose(client, inp)`, the model explains the labelled step (what is wrong in it, what is right
instead, and the kind of error) or, for a solution labelled correct, why it is right, as one JSON
object:

    {"reason": "...", "error_kind": "arithmetic"}

The label is the people's, not the model's: the model explains it and does not move it. What
comes back is a proposal the instructor reads and approves, never a key by itself. No Flask, no
database.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

from ..content import CODE_LANGUAGES, ERROR_KINDS, LIMITS, PROSE, is_code
from .client import ChatClient, Provenance, ReplyInvalid, parse_json_object

PROMPT_VERSION = "key-reason-v1"

REASON_SCHEMA: dict = {
    "type": "object",
    "properties": {"reason": {"type": "string"}, "error_kind": {"type": "string", "enum": list(ERROR_KINDS)}},
    "required": ["reason", "error_kind"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """\
You write answer keys for a class in which students practise finding the first wrong step of a \
confident, fluent solution to a math problem. The key is for the instructor and the grader, never \
shown to students.

You get the problem, its reference solution and answer where there are any, the solution with its \
steps numbered, and the label people gave it: the number of its first wrong step, or null when they \
found every step right. The label is settled; do not move it or argue with it.

{task}

Write two to four plain sentences; math may go between dollar signs ($x + 1$).{code}

Reply with exactly one JSON object and nothing else (no prose, no code fence):
{{"reason": string, "error_kind": one of {kinds}}}
"""

FLAWED_TASK = """\
Say what exactly is wrong in the labelled step (the wrong number, rule, reading or inference) and \
what is right instead; say what the later steps inherit from it only if that helps. For \
"error_kind" choose the kind that fits best ("other" if none does)."""

CORRECT_TASK = """\
Every step is right. Say why the solution is right, in particular the step a student is most \
likely to suspect, and why it holds. Set "error_kind" to "other"."""

CODE_NOTE = (" The solution is a {language} program: each step is one line of it (blank lines count), so "
             "step numbers are line numbers.")


@dataclass
class ReasonInput:
    statement: str
    reference_solution: str
    reference_answer: str
    steps: list[str]
    first_wrong_step: Optional[int]  # None: the solution was labelled correct
    final_answer: str = ""
    solution_format: str = PROSE


@dataclass
class ProposedReason(Provenance):
    reason: str
    error_kind: str


def build_messages(inp: ReasonInput) -> list[dict]:
    code = ""
    if is_code(inp.solution_format):
        code = CODE_NOTE.format(language=CODE_LANGUAGES.get(inp.solution_format, inp.solution_format))
    system = SYSTEM_PROMPT.format(task=CORRECT_TASK if inp.first_wrong_step is None else FLAWED_TASK, code=code,
                                  kinds=", ".join(f'"{k}"' for k in ERROR_KINDS))
    materials = {
        "problem": inp.statement,
        "reference_solution": inp.reference_solution or "",
        "reference_final_answer": str(inp.reference_answer or ""),
        "solution_format": inp.solution_format or PROSE,
        "solution_steps": {str(i): s for i, s in enumerate(inp.steps, start=1)},
        "solution_final_answer": inp.final_answer or "",
        "label_first_wrong_step": inp.first_wrong_step,
    }
    ask = ("Explain why the solution is right." if inp.first_wrong_step is None
           else f"Explain what is wrong in step {inp.first_wrong_step}.")
    user = ("The materials, as JSON:\n" + json.dumps(materials, ensure_ascii=False, indent=1) +
            f"\n\n{ask} Reply with the JSON object only.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def validate_reason(text: Any, inp: ReasonInput) -> dict:
    obj = parse_json_object(text)
    reason = obj.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ReplyInvalid('"reason" must be a non-empty string')
    if len(reason) > LIMITS["reason"]:
        raise ReplyInvalid(f'"reason" is longer than {LIMITS["reason"]} characters')
    kind = str(obj.get("error_kind") or "other").strip().lower().replace(" ", "_")
    if kind not in ERROR_KINDS:
        raise ReplyInvalid(f'"error_kind" must be one of {", ".join(ERROR_KINDS)}')
    if inp.first_wrong_step is None:
        kind = "other"  # a correct solution has no kind of error
    return {"reason": reason.strip(), "error_kind": kind}


def propose(client: ChatClient, inp: ReasonInput) -> ProposedReason:
    """A proposed reason of the right shape, or ModelError (no usable reply)."""
    reply = client.ask_json(build_messages(inp), lambda text: validate_reason(text, inp), schema=REASON_SCHEMA,
                            schema_name="answer_key_reason", temperature=0, what="the model's reply")
    return ProposedReason(**reply.value, **reply.provenance(client.settings.model, PROMPT_VERSION))
