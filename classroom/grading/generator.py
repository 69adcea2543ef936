"""Flawed solutions written by the grader model, checked before anyone sees them.

`generate(cfg, inp)` asks the configured OpenAI-compatible model (the same settings,
client, retries and structured-output fallback as the grader: `SolutionGenerator`
subclasses `ModelGrader` and changes only the reply schema and temperature) for a
solution to the problem that plants one error of the requested kind, as JSON:

    {"steps": ["...", ...], "final_answer": "...", "first_wrong_step": 3,
     "reason": "why step 3 is wrong", "error_kind": "arithmetic"}

A reply of the wrong shape is sent back once with what is wrong (like the grader);
a reply of the right shape must then pass three checks (`run_checks`), or it is
refused with `GenerationRejected` and the check's message:

1. the first wrong step is one of the steps;
2. the steps before it agree with the reference (see `check_prefix` for the rule);
3. where the kind of error should change the final answer, the flawed final answer
   differs from the reference answer (SymPy, `answers.check_answer`).

No Flask or database here; services/authoring.py stores the result as a draft.
"""
from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from decimal import Decimal, InvalidOperation
from typing import Any, Optional

from ..models import ERROR_KINDS
from ..services.validation import LIMITS
from . import ANSWER_ABSENT, ANSWER_CORRECT, ANSWER_INCORRECT
from .answers import check_answer
from .model_grader import (
    MAX_REPLY_CHARS, GraderConfig, ModelGrader, ReplyInvalid, parse_reply_object,
)

PROMPT_VERSION = "flawed-solution-v1"

# Kinds of error that, planted in a correct solution, change its final answer. A logical gap or
# circular reasoning may reach the right number by a wrong argument, so for them check 3 is skipped.
ANSWER_CHANGING_KINDS = ("arithmetic", "sign", "wrong_formula", "missed_case", "misread", "unit", "off_by_one")

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

RETRY_PROMPT = """\
Your previous reply could not be used: {error}
Reply again with only the JSON object described in the instructions, with every key present."""


class GenerationRejected(Exception):
    """A well-formed reply that failed a check; `reason` is a sentence for the instructor."""

    def __init__(self, reason: str, check: str, raw_reply: str = "", reply: Optional[dict] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.check = check
        self.raw_reply = raw_reply
        self.reply = reply


@dataclass
class GenerationInput:
    statement: str
    reference_solution: str
    reference_answer: str
    error_kind: str


@dataclass
class CheckResult:
    name: str  # step_exists | prefix_agrees | answer_differs
    passed: bool
    message: str


@dataclass
class GeneratedSolution:
    steps: list[str]
    final_answer: str
    first_wrong_step: int
    reason: str
    error_kind: str
    checks: list[CheckResult] = field(default_factory=list)
    model_name: str = ""
    prompt_version: str = PROMPT_VERSION
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    raw_reply: str = ""


_KIND_PHRASES = {
    "arithmetic": "an arithmetic slip", "sign": "a sign error", "wrong_formula": "a wrong formula or theorem",
    "logical_gap": "an unjustified step or logical gap", "missed_case": "a missed case",
    "misread": "a misread question", "unit": "a unit error", "circular": "circular reasoning",
    "off_by_one": "an off-by-one error", "other": "this kind of error",
}


def kind_label(kind: str) -> str:
    """The kind of error as a phrase inside a sentence: "an arithmetic slip"."""
    return _KIND_PHRASES.get(kind, ERROR_KINDS.get(kind, kind).lower())


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
    obj = parse_reply_object(text, MAX_REPLY_CHARS * 5)
    missing = [k for k in ("steps", "final_answer", "first_wrong_step", "reason") if k not in obj]
    if missing:
        raise ReplyInvalid("the reply is missing " + ", ".join(f'"{k}"' for k in missing))

    from ..services.authoring import strip_step_number

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


# --------------------------------------------------------------------------- the three checks

_NUMBER = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\d])")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "million": 1_000_000, "dozen": 12, "half": Fraction(1, 2), "halves": Fraction(1, 2), "quarter": Fraction(1, 4),
    "third": Fraction(1, 3), "twice": 2, "double": 2, "triple": 3, "thrice": 3,
}
# Whole numbers this small are counts and factors a correct step may bring in ("in 2 steps",
# "3 of them"): check 2 does not require them to appear in the reference.
SMALL_NUMBER = 10


def numbers_in(text: str) -> list[tuple[str, Fraction]]:
    """Every number written with digits in the text, with its exact value ("7,000" is 7000)."""
    out = []
    for m in _NUMBER.finditer(text or ""):
        token = m.group(1)
        try:
            out.append((token, Fraction(Decimal(token.replace(",", "")))))
        except (InvalidOperation, ValueError):  # pragma: no cover - the pattern only matches numbers
            continue
    return out


def _reference_values(inp: GenerationInput) -> set[Fraction]:
    source = " ".join((inp.statement or "", inp.reference_solution or "", str(inp.reference_answer or "")))
    values = {v for _t, v in numbers_in(source)}
    for word in re.findall(r"[a-z]+", source.lower()):
        if word in _NUMBER_WORDS:
            values.add(Fraction(_NUMBER_WORDS[word]))
    return values


def _known(value: Fraction, reference: set[Fraction]) -> bool:
    if value.denominator == 1 and 0 <= value <= SMALL_NUMBER:
        return True
    # A percentage and its fraction are the same number: 60 (%) agrees with 0.6 and the other way round.
    return value in reference or value * 100 in reference or value / 100 in reference


def check_step_exists(steps: list[str], first_wrong_step: int) -> CheckResult:
    n = len(steps)
    if 1 <= first_wrong_step <= n:
        return CheckResult("step_exists", True, f"Step {first_wrong_step} is one of the {n} steps.")
    return CheckResult("step_exists", False, f"it names step {first_wrong_step} as the first wrong step, but its "
                                             f"solution has {n} steps.")


def check_prefix(inp: GenerationInput, steps: list[str], first_wrong_step: int) -> CheckResult:
    """Check 2: the steps before the first wrong one agree with the reference.

    The rule, concretely: every number written with digits in those steps must also appear
    in the problem statement, the reference solution or the reference answer - compared as
    exact values, so 7,000 = 7000 = 7000.0, and a percentage agrees with its fraction
    (60 with 0.6). Whole numbers from 0 to 10 are exempt (counts and factors such as
    "twice" or "3 of them"), and number words in the problem count ("a dozen" gives 12).
    A correct step that follows the reference only restates its numbers; a number that
    appears nowhere means the solution went wrong earlier than the model says (or took a
    different road), and the draft is refused rather than mislabelled.
    """
    if first_wrong_step <= 1:
        return CheckResult("prefix_agrees", True, "The error is in step 1, so no earlier steps need to agree.")
    reference = _reference_values(inp)
    for n, text in enumerate(steps[:first_wrong_step - 1], start=1):
        for token, value in numbers_in(text):
            if not _known(value, reference):
                return CheckResult(
                    "prefix_agrees", False,
                    f"step {n}, before the first wrong step {first_wrong_step}, uses the number {token}, which "
                    "appears nowhere in the problem or the reference solution, so the solution seems to go "
                    "wrong (or leave the reference) earlier than the model says.")
    last = first_wrong_step - 1
    span = "Step 1 uses" if last == 1 else f"Steps 1–{last} use"
    return CheckResult("prefix_agrees", True, f"{span} only numbers from the problem and the reference solution.")


def check_answer_differs(inp: GenerationInput, final_answer: str, error_kind: str) -> CheckResult:
    if error_kind not in ANSWER_CHANGING_KINDS:
        return CheckResult("answer_differs", True, f"Not required: {kind_label(error_kind)} can leave the final "
                                                   "answer right.")
    result = check_answer(final_answer, str(inp.reference_answer or ""))
    if result.verdict == ANSWER_ABSENT:
        return CheckResult("answer_differs", True, "The problem has no reference answer, so the final answers "
                                                   "were not compared.")
    if result.verdict == ANSWER_INCORRECT:
        return CheckResult("answer_differs", True, f"The flawed final answer {final_answer} differs from the "
                                                   f"reference answer {inp.reference_answer}.")
    if result.verdict == ANSWER_CORRECT:
        return CheckResult("answer_differs", False,
                           f"its final answer {final_answer} equals the reference answer {inp.reference_answer}, "
                           f"but {kind_label(error_kind)} should change the final answer.")
    return CheckResult("answer_differs", False,
                       f"its final answer {final_answer!r} cannot be compared with the reference answer "
                       f"{inp.reference_answer} ({result.note})")


def run_checks(inp: GenerationInput, *, steps: list[str], final_answer: str, first_wrong_step: int,
               error_kind: str) -> list[CheckResult]:
    """All three checks in order; check 2 runs only when check 1 passed."""
    first = check_step_exists(steps, first_wrong_step)
    if not first.passed:
        return [first]
    return [first, check_prefix(inp, steps, first_wrong_step), check_answer_differs(inp, final_answer, error_kind)]


# --------------------------------------------------------------------------- the client

class SolutionGenerator(ModelGrader):
    """The grader's client, asking for a flawed solution instead of a grade."""

    RESPONSE_SCHEMA_NAME = "flawed_solution"
    RESPONSE_SCHEMA = GENERATION_SCHEMA
    TEMPERATURE = 0.7  # a little variety: asking twice should not give the same solution

    def generate(self, inp: GenerationInput) -> GeneratedSolution:
        """A checked solution, or GenerationRejected (a check failed) or GraderError (no usable reply)."""
        started = time.monotonic()
        reply, text, tokens_in, tokens_out = self._ask_validated(
            build_messages(inp), lambda text: validate_generation(text, inp.error_kind), "the model's reply",
            echo_chars=MAX_REPLY_CHARS * 5)
        checks = run_checks(inp, steps=reply["steps"], final_answer=reply["final_answer"],
                            first_wrong_step=reply["first_wrong_step"], error_kind=reply["error_kind"])
        failed = next((c for c in checks if not c.passed), None)
        if failed is not None:
            raise GenerationRejected(failed.message, failed.name,
                                     raw_reply=text, reply=reply)
        return GeneratedSolution(
            steps=reply["steps"], final_answer=reply["final_answer"],
            first_wrong_step=reply["first_wrong_step"], reason=reply["reason"], error_kind=reply["error_kind"],
            checks=checks, model_name=self.cfg.model, tokens_in=tokens_in, tokens_out=tokens_out,
            latency_ms=int(round((time.monotonic() - started) * 1000)), raw_reply=text)


_generators: dict[tuple, SolutionGenerator] = {}
_lock = threading.Lock()


def generate(cfg: GraderConfig, inp: GenerationInput) -> GeneratedSolution:
    """One client per configuration: it remembers which structured-output mode the endpoint takes."""
    key = dataclasses.astuple(cfg)
    with _lock:
        if key not in _generators:
            _generators[key] = SolutionGenerator(cfg)
        gen = _generators[key]
    return gen.generate(inp)
