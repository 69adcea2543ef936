"""Shared builders for the grading tests."""
from __future__ import annotations

import json
import re

from classroom.grading import GradingInput
from classroom.grading.answers import check_answer
from classroom.llm import ModelSettings

FENCE_RE = re.compile(r"<<<(STUDENT-DATA-[0-9a-f]{16}) BEGIN>>>\n(.*?)\n<<<\1 END>>>", re.S)

STEPS = [
    "Tom has 3 boxes with 4 apples each, so he has 3 * 4 = 12 apples.",
    "He gives away 5 apples, so he has 12 + 5 = 17 apples left.",
    "#### 17",
]


def make_input(**overrides) -> GradingInput:
    fields = dict(
        problem_statement="Tom has 3 boxes of 4 apples and gives 5 away. How many apples are left?",
        reference_solution="3 * 4 = 12 apples; 12 - 5 = 7 apples left.\n#### 7",
        reference_answer="7",
        steps=list(STEPS),
        key_first_wrong_step=2,
        key_reason="Giving apples away is a subtraction: 12 - 5 = 7, not 12 + 5.",
        key_error_kind="wrong operation",
        student_step=2,
        student_explanation="Step 2 adds the 5 apples instead of subtracting them.",
        student_correction="",
        student_final_answer="",
    )
    fields.update(overrides)
    if "answer_check" not in fields:
        fields["answer_check"] = check_answer(fields["student_final_answer"], fields["reference_answer"])
    return GradingInput(**fields)


def good_reply(**overrides) -> dict:
    reply = {
        "location_correct": True,
        "explanation_verdict": "correct",
        "explanation_score": 1.0,
        "correction_verdict": "absent",
        "correction_score": 0.0,
        "feedback": "You spotted that step 2 adds instead of subtracting.",
        "flags": [],
    }
    reply.update(overrides)
    return reply


def config_for(server, **overrides) -> ModelSettings:
    fields = dict(base_url=server.base_url, api_key="test-key", model="test-grader",
                  timeout=2.0, max_attempts=3, backoff_base=0.01)
    fields.update(overrides)
    return ModelSettings(**fields)


def student_block(request) -> tuple[str, dict, str]:
    """(fence marker, decoded student data, the user message with the block cut out)."""
    users = request.contents("user")
    matches = [(i, m) for i, text in enumerate(users) for m in FENCE_RE.finditer(text)]
    assert len(matches) == 1, f"expected exactly one student block, found {len(matches)}"
    i, m = matches[0]
    outside = users[i][:m.start()] + users[i][m.end():]
    return m.group(1), json.loads(m.group(2)), outside
