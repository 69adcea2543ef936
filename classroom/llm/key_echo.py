"""Does the grader's feedback hand the student the answer key's reason?

Feedback is allowed to discuss what the student found; it must not give away the rest of the
key. The measure is token overlap along the key's own word order (difflib's SequenceMatcher on
word tokens): the share of the key's words that the feedback repeats in runs of at least
MIN_RUN words, leaving out runs the student's own text already holds. Runs keep the measure
from firing on common words that happen to be shared; word order is what makes a repeat
"verbatim or nearly so" (a word changed or inserted only splits a run). A paraphrase in other
words is beyond a text measure: the grader's prompt forbids that.

Chinese, Japanese and Korean are written without spaces, so each of their characters counts
as a word (MR-GSM8K's reasons are partly in Chinese).
"""
from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

# A run of this many words (or CJK characters) in the key's order counts as repeated.
MIN_RUN = 3
# Feedback that repeats at least this share of the key's words (beyond the student's) repeats the key.
MAX_SHARE = 0.5

_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFKC", text or "").casefold())


def _covered(key: list[str], other: list[str], min_run: int) -> set[int]:
    """Indices of key words that `other` repeats in runs of at least min_run words."""
    if not key or not other:
        return set()
    matcher = SequenceMatcher(None, key, other, autojunk=False)
    covered: set[int] = set()
    for block in matcher.get_matching_blocks():
        if block.size >= min_run:
            covered.update(range(block.a, block.a + block.size))
    return covered


def repeated_share(feedback: str, key_reason: str, student_text: str = "") -> float:
    """Share (0 to 1) of the key reason's words that the feedback repeats and the student did not write."""
    key = tokens(key_reason)
    if not key:
        return 0.0
    min_run = min(MIN_RUN, len(key))
    leaked = _covered(key, tokens(feedback), min_run) - _covered(key, tokens(student_text), min_run)
    return len(leaked) / len(key)


def repeats_key(feedback: str, key_reason: str, student_text: str = "") -> bool:
    return repeated_share(feedback, key_reason, student_text) >= MAX_SHARE
