"""Model-written flawed solutions, checked before anyone sees them.

`generate(settings, inp)` asks the generator role (classroom/llm/generator.py) for a flawed
solution and keeps it only if it passes three checks (`run_checks`), else raises
`GenerationRejected` with the check's message:

1. the first wrong step is one of the steps (in a program, a line that is not blank);
2. the steps before it agree with the reference (see `check_prefix` for the rule);
3. where the kind of error should change the final answer, the flawed final answer
   differs from the reference answer (SymPy, `answers.check_answer`).

A correct solution (asked for with `inp.correct`) names no wrong step, so checks 1 and 2 have
nothing to check; check 3 turns round: its final answer must equal the reference answer.

services/authoring.py stores a kept solution as a draft.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Optional

from ..content import ERROR_KINDS
from ..llm import ModelSettings, client_for
from ..llm import generator as generator_role
from ..llm import key_reason as key_reason_role
from ..llm.key_reason import ProposedReason, ReasonInput
from ..llm.generator import GeneratedReply, GenerationInput
from . import ANSWER_ABSENT, ANSWER_CORRECT, ANSWER_INCORRECT
from .answers import check_answer

# Kinds of error that, planted in a correct solution, change its final answer. A logical gap or
# circular reasoning may reach the right number by a wrong argument, so for them check 3 is skipped.
ANSWER_CHANGING_KINDS = ("arithmetic", "sign", "wrong_formula", "missed_case", "misread", "unit", "off_by_one")


class GenerationRejected(Exception):
    """A well-formed reply that failed a check; `reason` is a sentence for the instructor."""

    def __init__(self, reason: str, check: str, raw_reply: str = "", reply: Optional[dict] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.check = check
        self.raw_reply = raw_reply
        self.reply = reply


@dataclass
class CheckResult:
    name: str  # step_exists | prefix_agrees | answer_differs | answer_equals (a correct solution)
    passed: bool
    message: str


@dataclass
class GeneratedSolution(GeneratedReply):
    """A reply that passed the checks, with their results."""
    checks: list[CheckResult] = field(default_factory=list)


_KIND_PHRASES = {
    "arithmetic": "an arithmetic slip", "sign": "a sign error", "wrong_formula": "a wrong formula or theorem",
    "logical_gap": "an unjustified step or logical gap", "missed_case": "a missed case",
    "misread": "a misread question", "unit": "a unit error", "circular": "circular reasoning",
    "off_by_one": "an off-by-one error", "other": "this kind of error",
}


def kind_label(kind: str) -> str:
    """The kind of error as a phrase inside a sentence: "an arithmetic slip"."""
    return _KIND_PHRASES.get(kind, ERROR_KINDS.get(kind, kind).lower())


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


def check_step_exists(steps: list[str], first_wrong_step: Optional[int]) -> CheckResult:
    n = len(steps)
    if first_wrong_step is None:
        return CheckResult("step_exists", True, "No step is named wrong: the solution is meant to be correct.")
    if 1 <= first_wrong_step <= n:
        if not steps[first_wrong_step - 1].strip():
            return CheckResult("step_exists", False, f"it names step {first_wrong_step} as the first wrong step, "
                                                     "but that line of the program is blank.")
        return CheckResult("step_exists", True, f"Step {first_wrong_step} is one of the {n} steps.")
    return CheckResult("step_exists", False, f"it names step {first_wrong_step} as the first wrong step, but its "
                                             f"solution has {n} steps.")


def check_prefix(inp: GenerationInput, steps: list[str], first_wrong_step: Optional[int]) -> CheckResult:
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
    if first_wrong_step is None:
        # A correct solution may take its own road to the answer; check 3 holds it to the reference answer.
        return CheckResult("prefix_agrees", True, "Not required: a correct solution may compute its own "
                                                  "intermediate numbers.")
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


def _compare_answers(check: str, inp: GenerationInput, final_answer: str):
    """The answer check's verdict on the final answer, or the check's result when there is nothing to compare
    (no reference answer passes; an answer that cannot be compared fails)."""
    result = check_answer(final_answer, str(inp.reference_answer or ""))
    if result.verdict == ANSWER_ABSENT:
        return None, CheckResult(check, True, "The problem has no reference answer, so the final answers were "
                                              "not compared.")
    if result.verdict not in (ANSWER_CORRECT, ANSWER_INCORRECT):
        return None, CheckResult(check, False, f"its final answer {final_answer!r} cannot be compared with the "
                                               f"reference answer {inp.reference_answer} ({result.note})")
    return result.verdict, None


def check_answer_equals(inp: GenerationInput, final_answer: str) -> CheckResult:
    """Check 3 for a correct solution: its final answer is the reference answer."""
    verdict, settled = _compare_answers("answer_equals", inp, final_answer)
    if settled:
        return settled
    if verdict == ANSWER_CORRECT:
        return CheckResult("answer_equals", True, f"The final answer {final_answer} equals the reference answer "
                                                  f"{inp.reference_answer}.")
    return CheckResult("answer_equals", False, f"its final answer {final_answer} differs from the reference "
                                               f"answer {inp.reference_answer}, so the solution is not correct.")


def check_answer_differs(inp: GenerationInput, final_answer: str, error_kind: str) -> CheckResult:
    if error_kind not in ANSWER_CHANGING_KINDS:
        return CheckResult("answer_differs", True, f"Not required: {kind_label(error_kind)} can leave the final "
                                                   "answer right.")
    verdict, settled = _compare_answers("answer_differs", inp, final_answer)
    if settled:
        return settled
    if verdict == ANSWER_INCORRECT:
        return CheckResult("answer_differs", True, f"The flawed final answer {final_answer} differs from the "
                                                   f"reference answer {inp.reference_answer}.")
    return CheckResult("answer_differs", False,
                       f"its final answer {final_answer} equals the reference answer {inp.reference_answer}, "
                       f"but {kind_label(error_kind)} should change the final answer.")


def run_checks(inp: GenerationInput, *, steps: list[str], final_answer: str, first_wrong_step: Optional[int],
               error_kind: str) -> list[CheckResult]:
    """All three checks in order; check 2 runs only when check 1 passed. A key without a wrong step is a
    correct solution, whose final answer must be the reference answer."""
    first = check_step_exists(steps, first_wrong_step)
    if not first.passed:
        return [first]
    third = (check_answer_equals(inp, final_answer) if first_wrong_step is None
             else check_answer_differs(inp, final_answer, error_kind))
    return [first, check_prefix(inp, steps, first_wrong_step), third]


def generate(settings: ModelSettings, inp: GenerationInput) -> GeneratedSolution:
    """A checked solution, or GenerationRejected (a check failed) or llm.ModelError (no usable reply)."""
    reply = generator_role.generate(client_for(settings, "generator"), inp)
    checks = run_checks(inp, steps=reply.steps, final_answer=reply.final_answer,
                        first_wrong_step=reply.first_wrong_step, error_kind=reply.error_kind)
    failed = next((c for c in checks if not c.passed), None)
    if failed is not None:
        raise GenerationRejected(failed.message, failed.name, raw_reply=reply.raw_reply,
                                 reply={k: getattr(reply, k) for k in ("steps", "final_answer", "first_wrong_step",
                                                                       "reason", "error_kind")})
    return GeneratedSolution(**asdict(reply), checks=checks)


def propose_reason(settings: ModelSettings, inp: ReasonInput) -> ProposedReason:
    """The model's proposal for a key's missing reason (llm.ModelError when there is no usable reply). It
    is only a proposal: services/authoring.py keeps it on a draft the instructor approves."""
    return key_reason_role.propose(client_for(settings, "generator"), inp)
