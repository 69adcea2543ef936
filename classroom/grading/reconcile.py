"""Exact facts outrank the grader model: a validated reply is made to agree with them.

The marked step is compared exactly, the final answer was checked exactly, and a correction
the student never wrote earns nothing; where the model said otherwise its reply is corrected,
flagged, and the student's feedback says so. Text that tries to talk to the grader is flagged
for the teacher whatever the model said (never scored on).
"""
from __future__ import annotations

import re

from ..llm.grader import FLAG_INJECTION, MAX_FEEDBACK_CHARS
from . import ANSWER_INCORRECT, ANSWER_UNREADABLE, GradingInput

FLAG_EXACT_LOCATION = "contradicted_exact_location"
FLAG_EXACT_ANSWER = "contradicted_exact_answer"
FLAG_EXACT_ABSENCE = "contradicted_exact_absence"

# A verdict of "correct" may score at most this much when the exact answer check says wrong, or could not
# read the answer at all (an unreadable answer earns no more than a wrong one: else writing nonsense
# where a wrong number would be capped would pay).
CAP_WHEN_ANSWER_WRONG = 0.5
_CAPPED_CHECKS = {ANSWER_INCORRECT: "Note: your final answer does not match the reference answer.",
                  ANSWER_UNREADABLE: "Note: your final answer could not be read as a mathematical answer."}

# Phrases that have no business in a maths critique; flagged for the teacher, never scored on.
_INJECTION_PATTERNS = [
    re.compile(p, re.IGNORECASE) for p in (
        r"\b(ignore|disregard|forget|override)\b[^.\n]{0,30}\b(instructions?|rubric|rules|prompt|"
        r"answer key|grading|guidelines)\b",
        r"\b(full|maximum|max|perfect|top)\s+(marks?|scores?|points|credit|grade)\b",
        r"\b(give|award|assign)\b[^.\n]{0,30}\b(1\.0|100\s*%|full|10/10|100/100)",
        r"\b(mark|grade|score|rate)\s+(this|it|me|my\s+\w+)\s+(as\s+)?(correct|right|1\.0|100)",
        r"(^|[\n\r\u2028\u2029])\s*(system|assistant|developer)\s*:",
        r"<\|?\s*(im_start|im_end|system|endoftext)\s*\|?>|\[/?INST\]|<</?SYS>>",
        r"\"\s*(location_correct|explanation_verdict|explanation_score|correction_verdict|"
        r"correction_score)\s*\"\s*:",
        r"STUDENT-DATA",
        r"\byou are now\b|\bnew instructions\b|\b(dear|attention|note to( the)?)\s+(grader|model|ai|assistant)\b",
    )
]


def looks_like_injection(text: str) -> bool:
    return any(p.search(text or "") for p in _INJECTION_PATTERNS)


def _location_note(student_step, key_step, located: bool) -> str:
    if key_step is None:
        return ("no step of this solution is wrong." if located
                else "this solution is correct; the step you marked is not wrong.")
    if student_step is None:
        return "this solution does have a wrong step."
    return "the step you marked is the first wrong step." if located else \
        "the step you marked is not the first wrong step."


def reconcile(reply: dict, inp: GradingInput) -> tuple[dict, list[str]]:
    """Make a validated reply agree with the exact facts.

    Returns (corrected copy whose "flags" holds every flag, flags added here).
    """
    out = dict(reply)
    flags = list(reply.get("flags") or [])
    added: list[str] = []
    notes: list[str] = []

    def flag(name: str) -> None:
        if name not in flags:
            flags.append(name)
        if name not in added:
            added.append(name)

    exact_location = inp.student_step == inp.key_first_wrong_step
    if out["location_correct"] != exact_location:
        out["location_correct"] = exact_location
        flag(FLAG_EXACT_LOCATION)
        notes.append("Note: " + _location_note(inp.student_step, inp.key_first_wrong_step, exact_location))

    wrote_correction = bool((inp.student_correction or "").strip() or (inp.student_final_answer or "").strip())
    if inp.key_first_wrong_step is None:
        # A correct solution: nothing to correct, and no correction grade is kept (its weight moves to the
        # other components); the reply is made to say so without a flag, since nothing contradicts a fact.
        out["correction_verdict"], out["correction_score"] = "absent", 0.0
    elif not wrote_correction:
        if out["correction_verdict"] != "absent" or out["correction_score"] != 0.0:
            out["correction_verdict"], out["correction_score"] = "absent", 0.0
            flag(FLAG_EXACT_ABSENCE)
    elif out["correction_verdict"] == "absent":
        # The model skipped a correction that exists: no credit, and a flag so a teacher looks.
        out["correction_verdict"], out["correction_score"] = "incorrect", 0.0
        flag(FLAG_EXACT_ABSENCE)
    elif inp.answer_check.verdict in _CAPPED_CHECKS:
        changed = False
        if out["correction_verdict"] == "correct":
            out["correction_verdict"] = "partially_correct"
            changed = True
        if out["correction_score"] > CAP_WHEN_ANSWER_WRONG:
            out["correction_score"] = CAP_WHEN_ANSWER_WRONG
            changed = True
        if changed:
            flag(FLAG_EXACT_ANSWER)
            notes.append(_CAPPED_CHECKS[inp.answer_check.verdict])

    student_text = "\n".join((inp.student_explanation or "", inp.student_correction or "",
                              inp.student_final_answer or ""))
    if looks_like_injection(student_text) and FLAG_INJECTION not in flags:
        flag(FLAG_INJECTION)

    if notes:
        out["feedback"] = (out["feedback"].rstrip() + " " + " ".join(notes))[:MAX_FEEDBACK_CHARS + 200]
    out["flags"] = flags
    return out, added
