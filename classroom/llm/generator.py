"""The generator model's role: writing a flawed solution with one planted error.

`generate(client, inp)` asks the model for a solution to the problem that plants one error of
the requested kind, as one JSON object:

    {"steps": ["...", ...], "final_answer": "...", "first_wrong_step": 3,
     "reason": "why step 3 is wrong", "error_kind": "arithmetic"}

and validates the reply's shape (a reply of the wrong shape goes back to the model once, with
what is wrong). Whether the solution is any good (the step exists, the steps before it agree
with the reference, the answer changed) is checked by classroom/grading/generation.py.
No Flask, no database.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

from ..content import ERROR_KINDS, LIMITS, strip_step_number
from .client import MAX_REPLY_CHARS, ChatClient, Provenance, ReplyInvalid, parse_json_object

PROMPT_VERSION = "flawed-solution-v1"
# A little variety: asking twice should not give the same solution.
TEMPERATURE = 0.7

KIND_GUIDANCE = {
    "arithmetic": "an arithmetic slip: one calculation gives a wrong number (e.g. 28 x 6 = 158)",
    "sign": "a sign error: a plus becomes a minus, a subtraction is reversed, or a negative sign is lost",
    "wrong_formula": "a wrong formula or theorem: a plausible but wrong rule is applied (e.g. the area of a "
                     "circle as 2*pi*r, or adding percentages that should be multiplied)",
    "logical_gap": "an unjustified step or logical gap: a claim is asserted without reason or does not follow",
    "missed_case": "a missed case: one case, item or possibility is left out",
    "misread": "a misread question: a quantity or condition of the problem is read wrongly",
    "unit": "a unit error: units are mixed up or a conversion is wrong or missing",
    "circular": "circular reasoning: the step assumes what is to be shown",
    "off_by_one": "an off-by-one error: a count, range or fencepost is one too many or too few",
}

GENERATION_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "steps": {"type": "array", "items": {"type": "string"}},
        "final_answer": {"type": "string"},
        "first_wrong_step": {"type": "integer"},
        "reason": {"type": "string"},
        "error_kind": {"type": "string", "enum": [k for k in ERROR_KINDS if k != "other"]},
    },
    "required": ["steps", "final_answer", "first_wrong_step", "reason", "error_kind"],
    "additionalProperties": False,
}

SYSTEM_PROMPT = """\
You write deliberately flawed solutions to math problems for a class in which students practise \
finding the first wrong step of a confident, fluent solution.

You get the problem, its correct reference solution and final answer, and the kind of error to plant.
Write a step-by-step solution that:
- follows the reference solution, correctly, up to the step with the error (use the same numbers);
- makes exactly one error, of the requested kind, at that step;
- then carries on consistently from the wrong result to a final answer, as a confident solver would;
- never hints at the error (no "oops", "wait", "actually", no scare quotes, no comments about mistakes).

Each step is one short paragraph of Markdown; math goes between dollar signs ($x + 1$); write money \
as "\\$5" or "5 dollars". Do not number the steps yourself: their position is their number.

Reply with exactly one JSON object and nothing else (no prose, no code fence):
{"steps": [strings, at least 2], "final_answer": string (the flawed solution's final answer, a number \
where the reference answer is a number), "first_wrong_step": integer (1-based position of the step \
with the error), "reason": string (for the instructor: what exactly is wrong in that step and what is \
right instead), "error_kind": one of "arithmetic", "sign", "wrong_formula", "logical_gap", \
"missed_case", "misread", "unit", "circular", "off_by_one" (the kind you were asked for)}
"""


@dataclass
class GenerationInput:
    statement: str
    reference_solution: str
    reference_answer: str
    error_kind: str


@dataclass
class GeneratedReply(Provenance):
    """A reply of the right shape, with its provenance."""
    steps: list[str]
    final_answer: str
    first_wrong_step: int
    reason: str
    error_kind: str


# --------------------------------------------------------------------------- prompt

def build_messages(inp: GenerationInput) -> list[dict]:
    materials = {
        "problem": inp.statement,
        "reference_solution": inp.reference_solution,
        "reference_final_answer": str(inp.reference_answer or ""),
        "error_to_plant": {"error_kind": inp.error_kind, "description": KIND_GUIDANCE.get(inp.error_kind, "")},
    }
    user = ("The instructor's materials, as JSON:\n" + json.dumps(materials, ensure_ascii=False, indent=1) +
            "\n\nWrite the flawed solution and reply with the JSON object only.")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- validation

def _normal_kind(value: str) -> Optional[str]:
    text = re.sub(r"[\s_\-]+", " ", str(value or "")).strip().lower()
    for key, label in ERROR_KINDS.items():
        if text in (key.replace("_", " "), label.lower()):
            return key
    return None


def validate_generation(text: Any, requested_kind: str) -> dict:
    """The reply's shape: a JSON object with usable steps, final answer, step number, reason and kind.

    Whether the step number is one of the steps is check 1, not a shape error."""
    obj = parse_json_object(text, MAX_REPLY_CHARS * 5)
    missing = [k for k in ("steps", "final_answer", "first_wrong_step", "reason") if k not in obj]
    if missing:
        raise ReplyInvalid("the reply is missing " + ", ".join(f'"{k}"' for k in missing))

    steps = obj["steps"]
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ReplyInvalid('"steps" must be a list of strings')
    steps = [strip_step_number(s) for s in steps]
    if any(not s for s in steps):
        raise ReplyInvalid('"steps" contains an empty step')
    if len(steps) < 2:
        raise ReplyInvalid('"steps" must have at least 2 steps')
    if len(steps) > LIMITS["steps"]:
        raise ReplyInvalid(f'"steps" has {len(steps)} steps; at most {LIMITS["steps"]} are allowed')
    for n, s in enumerate(steps, start=1):
        if len(s) > LIMITS["step"]:
            raise ReplyInvalid(f"step {n} is longer than {LIMITS['step']} characters")

    final = obj["final_answer"]
    if isinstance(final, bool) or not isinstance(final, (str, int, float)):
        raise ReplyInvalid('"final_answer" must be a string')
    final = str(final).strip()
    if not final:
        raise ReplyInvalid('"final_answer" is empty')
    if len(final) > LIMITS["final_answer"]:
        raise ReplyInvalid(f'"final_answer" is longer than {LIMITS["final_answer"]} characters')

    first = obj["first_wrong_step"]
    if isinstance(first, float) and first.is_integer():
        first = int(first)
    if isinstance(first, str) and first.strip().isdigit():
        first = int(first.strip())
    if isinstance(first, bool) or not isinstance(first, int):
        raise ReplyInvalid('"first_wrong_step" must be a whole number (the position of the wrong step)')

    reason = obj["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise ReplyInvalid('"reason" must be a non-empty string')
    if len(reason) > LIMITS["reason"]:
        raise ReplyInvalid(f'"reason" is longer than {LIMITS["reason"]} characters')

    kind = _normal_kind(obj.get("error_kind", requested_kind))
    if kind != requested_kind:
        raise ReplyInvalid(f'"error_kind" must be "{requested_kind}": you were asked to plant '
                           f"{KIND_GUIDANCE.get(requested_kind, requested_kind)}")
    return {"steps": steps, "final_answer": final, "first_wrong_step": first, "reason": reason.strip(),
            "error_kind": kind}


def generate(client: ChatClient, inp: GenerationInput) -> GeneratedReply:
    """A flawed solution of the right shape, or ModelError (no usable reply)."""
    reply = client.ask_json(build_messages(inp), lambda text: validate_generation(text, inp.error_kind),
                            schema=GENERATION_SCHEMA, schema_name="flawed_solution", temperature=TEMPERATURE,
                            what="the model's reply", echo_chars=MAX_REPLY_CHARS * 5)
    return GeneratedReply(**reply.value, **reply.provenance(client.settings.model, PROMPT_VERSION))
