"""The generator model's role: writing a flawed solution with one planted error, or a correct one.

`generate(client, inp)` asks the model for a solution to the problem that plants one error of
the requested kind, as one JSON object:

    {"steps": ["...", ...], "final_answer": "...", "first_wrong_step": 3,
     "reason": "why step 3 is wrong", "error_kind": "arithmetic"}

Asked for a correct solution (`inp.correct`), the model answers with `"first_wrong_step": null`
and `"reason"` saying why the solution is right. Asked for a program (`inp.solution_format` a
language), each step is one line of it, blank lines included, and the step number is a line number.

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

from ..content import CODE_LANGUAGES, ERROR_KINDS, LIMITS, PROSE, clean_code_line, is_code, strip_step_number
from .client import MAX_REPLY_CHARS, ChatClient, Provenance, ReplyInvalid, parse_json_object

PROMPT_VERSION = "flawed-solution-v2"
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

# A correct solution names no wrong step and no kind of error.
CORRECT_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "steps": {"type": "array", "items": {"type": "string"}},
        "final_answer": {"type": "string"},
        "first_wrong_step": {"type": "null"},
        "reason": {"type": "string"},
    },
    "required": ["steps", "final_answer", "first_wrong_step", "reason"],
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

{form}

Reply with exactly one JSON object and nothing else (no prose, no code fence):
{{"steps": [strings, at least 2], "final_answer": string (the flawed solution's final answer, a number \
where the reference answer is a number), "first_wrong_step": integer (1-based position of the {unit} \
with the error), "reason": string (for the instructor: what exactly is wrong in that {unit} and what is \
right instead), "error_kind": one of "arithmetic", "sign", "wrong_formula", "logical_gap", \
"missed_case", "misread", "unit", "circular", "off_by_one" (the kind you were asked for)}}
"""

CORRECT_PROMPT = """\
You write solutions to math problems for a class in which students practise finding the first wrong \
step of a confident, fluent solution. Some of the solutions they get are entirely correct, so that \
they learn not to raise false alarms; you write one of those.

You get the problem and its correct reference solution and final answer. Write a step-by-step \
solution that:
- is correct in every step and reaches the reference final answer;
- reads like the other solutions the students see: confident, fluent, no more careful in tone;
- may take a route a careful reader has to check (a valid shortcut, a step done in the head), but \
never an error, and never comments on its own correctness ("this is right", "double-checking").

{form}

Reply with exactly one JSON object and nothing else (no prose, no code fence):
{{"steps": [strings, at least 2], "final_answer": string (the solution's final answer, equal to the \
reference final answer), "first_wrong_step": null (no {unit} is wrong), "reason": string (for the \
instructor: why the solution is right, in particular the {unit} a student is most likely to suspect \
and why it holds)}}
"""

PROSE_FORM = """\
Each step is one short paragraph of Markdown; math goes between dollar signs ($x + 1$); write money \
as "\\$5" or "5 dollars". Do not number the steps yourself: their position is their number."""

CODE_FORM = """\
The solution is a {language} program that computes the answer (as in program-of-thought solutions): \
each step is ONE LINE of the program, in order, so "steps" is the list of the program's lines, without \
line numbers and without a code fence. Keep indentation as spaces. A blank line is an empty string "" \
and counts as a line like any other; a comment line is a line too. The step numbers are the line \
numbers (1-based), counting blank and comment lines. Comments may explain what a line computes, like a \
programmer's, but {comment_rule} The last line prints or returns the final answer."""


@dataclass
class GenerationInput:
    statement: str
    reference_solution: str
    reference_answer: str
    error_kind: str  # the kind of error to plant; "other" (ignored) for a correct solution
    # "prose", or a language: then the solution is a program, one line per step.
    solution_format: str = PROSE
    correct: bool = False  # write a correct solution: no step is wrong


@dataclass
class GeneratedReply(Provenance):
    """A reply of the right shape, with its provenance."""
    steps: list[str]
    final_answer: str
    first_wrong_step: Optional[int]  # None: a correct solution
    reason: str
    error_kind: str


# --------------------------------------------------------------------------- prompt

def system_prompt(inp: GenerationInput) -> str:
    """The instructions for this request: a flawed or a correct solution, in prose or as a program."""
    if is_code(inp.solution_format):
        language = CODE_LANGUAGES.get(inp.solution_format, inp.solution_format)
        rule = ("never about correctness or mistakes." if inp.correct else
                "never hint at the error (no comment such as \"# bug\", \"# wrong\" or \"# careful\"); the "
                "first wrong step is the line whose code (or comment stating what is computed) is wrong, never "
                "a blank line.")
        form, unit = CODE_FORM.format(language=language, comment_rule=rule), "line"
    else:
        form, unit = PROSE_FORM, "step"
    return (CORRECT_PROMPT if inp.correct else SYSTEM_PROMPT).format(form=form, unit=unit)


def build_messages(inp: GenerationInput) -> list[dict]:
    materials = {
        "problem": inp.statement,
        "reference_solution": inp.reference_solution,
        "reference_final_answer": str(inp.reference_answer or ""),
        "solution_format": inp.solution_format or PROSE,
    }
    if inp.correct:
        materials["write"] = "a correct solution: no step is wrong"
        ask = "Write the correct solution and reply with the JSON object only."
    else:
        materials["error_to_plant"] = {"error_kind": inp.error_kind,
                                       "description": KIND_GUIDANCE.get(inp.error_kind, "")}
        ask = "Write the flawed solution and reply with the JSON object only."
    user = ("The instructor's materials, as JSON:\n" + json.dumps(materials, ensure_ascii=False, indent=1) +
            "\n\n" + ask)
    return [{"role": "system", "content": system_prompt(inp)}, {"role": "user", "content": user}]


# --------------------------------------------------------------------------- validation

def _normal_kind(value: str) -> Optional[str]:
    text = re.sub(r"[\s_\-]+", " ", str(value or "")).strip().lower()
    for key, label in ERROR_KINDS.items():
        if text in (key.replace("_", " "), label.lower()):
            return key
    return None


def _program_lines(steps: list[str]) -> tuple[list[str], int]:
    """A program's lines as stored, and how many blank lines were dropped from its start (the step
    numbers move up by as many). Blank lines at the end are dropped too; those inside are kept."""
    lines = []
    for n, s in enumerate(steps, start=1):
        line = clean_code_line(s)
        if "\n" in line:
            raise ReplyInvalid(f'step {n} holds several lines: in a program each step is exactly one line '
                               '(put each line of the program into "steps" on its own)')
        lines.append(line)
    leading = 0
    while lines and not lines[0].strip():
        lines.pop(0)
        leading += 1
    while lines and not lines[-1].strip():
        lines.pop()
    return lines, leading


def validate_generation(text: Any, inp: GenerationInput) -> dict:
    """The reply's shape: a JSON object with usable steps, final answer, step number, reason and kind.

    Whether the step number is one of the steps is check 1, not a shape error."""
    obj = parse_json_object(text, MAX_REPLY_CHARS * 5)
    missing = [k for k in ("steps", "final_answer", "first_wrong_step", "reason")
               if k not in obj and not (inp.correct and k == "first_wrong_step")]
    if missing:
        raise ReplyInvalid("the reply is missing " + ", ".join(f'"{k}"' for k in missing))

    steps = obj["steps"]
    if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
        raise ReplyInvalid('"steps" must be a list of strings')
    leading = 0
    if is_code(inp.solution_format):
        steps, leading = _program_lines(steps)
        if sum(1 for s in steps if s.strip()) < 2:
            raise ReplyInvalid('"steps" must hold at least 2 lines of code')
    else:
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

    reason = obj["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise ReplyInvalid('"reason" must be a non-empty string')
    if len(reason) > LIMITS["reason"]:
        raise ReplyInvalid(f'"reason" is longer than {LIMITS["reason"]} characters')

    if inp.correct:
        if obj.get("first_wrong_step") is not None:
            raise ReplyInvalid('"first_wrong_step" must be null: you were asked for a correct solution, in '
                               "which no step is wrong")
        return {"steps": steps, "final_answer": final, "first_wrong_step": None, "reason": reason.strip(),
                "error_kind": "other"}

    first = obj["first_wrong_step"]
    if isinstance(first, float) and first.is_integer():
        first = int(first)
    if isinstance(first, str) and first.strip().isdigit():
        first = int(first.strip())
    if isinstance(first, bool) or not isinstance(first, int):
        raise ReplyInvalid('"first_wrong_step" must be a whole number (the position of the wrong step)')
    first -= leading

    kind = _normal_kind(obj.get("error_kind", inp.error_kind))
    if kind != inp.error_kind:
        raise ReplyInvalid(f'"error_kind" must be "{inp.error_kind}": you were asked to plant '
                           f"{KIND_GUIDANCE.get(inp.error_kind, inp.error_kind)}")
    return {"steps": steps, "final_answer": final, "first_wrong_step": first, "reason": reason.strip(),
            "error_kind": kind}


def generate(client: ChatClient, inp: GenerationInput) -> GeneratedReply:
    """A solution of the right shape, or ModelError (no usable reply)."""
    schema, name = (CORRECT_SCHEMA, "correct_solution") if inp.correct else (GENERATION_SCHEMA, "flawed_solution")
    reply = client.ask_json(build_messages(inp), lambda text: validate_generation(text, inp),
                            schema=schema, schema_name=name, temperature=TEMPERATURE,
                            what="the model's reply", echo_chars=MAX_REPLY_CHARS * 5)
    return GeneratedReply(**reply.value, **reply.provenance(client.settings.model, PROMPT_VERSION))
