"""The solver model's role: solving a problem in the AI lab (and in `run-benchmark`).

A strategy is a system prompt and optional worked examples (statement and solution pairs, shown as
earlier turns of the conversation). The reply is free text; its final answer is taken from the last
`\\boxed{...}`, or else from a last line such as "The answer is 42" or "FINAL ANSWER: 42".
No Flask, no database; the answer key never reaches this module (the caller passes statements only).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from .client import ChatClient, ModelError

PROMPT_VERSION = "solver-v1"
# Samples must differ, or k samples measure one answer k times.
TEMPERATURE = 0.7
MAX_ANSWER_CHARS = 200

DEFAULT_SYSTEM_PROMPT = (
    "Solve the problem step by step. Put each step on its own line, and end with the final answer in "
    "\\boxed{...}.")

_FINAL_LINE = re.compile(
    r"^\W*(?:final\s+answer|the\s+(?:final\s+)?answer\s+is|answer)\s*[:=]?\s*(?:is\s*)?(?P<answer>.+?)\s*$",
    re.I)


@dataclass(frozen=True)
class WorkedExample:
    statement: str
    solution: str


@dataclass
class Attempt:
    """One sample: the full text, the final answer read from it ("" when none), and its cost."""
    text: str
    final_answer: str
    tokens_in: int
    tokens_out: int
    latency_ms: int


def messages_for(statement: str, system_prompt: str = "", examples: Sequence[WorkedExample] = ()) -> list[dict]:
    messages = [{"role": "system", "content": (system_prompt or "").strip() or DEFAULT_SYSTEM_PROMPT}]
    for ex in examples:
        messages.append({"role": "user", "content": ex.statement})
        messages.append({"role": "assistant", "content": ex.solution})
    messages.append({"role": "user", "content": statement})
    return messages


def _last_boxed(text: str) -> Optional[str]:
    """The contents of the last \\boxed{...} (or \\fbox{...}), braces matched; None when there is none."""
    found = None
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found = text[m.end():i - 1]
    return found


def extract_final_answer(text: str) -> str:
    """The attempt's final answer as the student would type it, or "" when the reply gives none."""
    text = text or ""
    boxed = _last_boxed(text)
    if boxed is not None:
        answer = boxed
    else:
        answer = ""
        for line in reversed([ln for ln in text.strip().split("\n") if ln.strip()][-3:]):
            m = _FINAL_LINE.match(line.strip().replace("**", ""))
            if m:
                answer = m.group("answer")
                break
    answer = answer.strip().strip("$").strip().rstrip(". ")
    return answer[:MAX_ANSWER_CHARS]


def solve(client: ChatClient, statement: str, system_prompt: str = "",
          examples: Sequence[WorkedExample] = ()) -> Attempt:
    """One sample. Raises ModelError when the endpoint gives no completion."""
    completion = client.complete(messages_for(statement, system_prompt, examples), temperature=TEMPERATURE)
    if not completion.text.strip():
        raise ModelError("the solver model answered with an empty reply")
    return Attempt(text=completion.text, final_answer=extract_final_answer(completion.text),
                   tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
                   latency_ms=completion.latency_ms)
