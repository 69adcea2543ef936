"""JSON from outside (API bodies, bank lines), read so that nothing in it can crash a later step.

Python's json module accepts things that are not text or not numbers, and fails on others with
errors that are not ValueError: NaN, Infinity and 1e999 (which become float infinities), a lone
UTF-16 surrogate such as "\\ud800" (a str no database or encoder will take), an integer of
thousands of digits (ValueError from int()), and nesting deep enough to raise RecursionError.
`loads` turns each into JSONRefused with a sentence naming the field it sits in.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Optional

# Deeper than any document this app reads; deeper still would reach the parser's recursion limit.
MAX_DEPTH = 32
# An integer longer than this is no step number, id or answer anyone types.
MAX_INT_DIGITS = 100

_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRefused(ValueError):
    """`message` says what is wrong; `field` names the top-level key it is under (None: the whole)."""

    def __init__(self, message: str, field: Optional[str] = None,
                 syntax: Optional[json.JSONDecodeError] = None) -> None:
        super().__init__(f"field {field}: {message}" if field else message)
        self.message = message
        self.field = field
        self.syntax = syntax  # the parser's own error when the text is not JSON at all


class _Bad:
    """A value the parser met and this module refuses, kept in place so the walk can say where."""

    def __init__(self, why: str) -> None:
        self.why = why


def _constant(name: str) -> _Bad:
    return _Bad(f"{name} is not a number JSON allows; write it as text in quotes if it is meant")


def _integer(text: str) -> Any:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return _Bad(f"holds a number of {digits:,} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(text)


def _real(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Bad(f"{text[:20]} is too large a number (it reads as infinity)")


def not_text(value: str) -> bool:
    """Does this str hold half a surrogate pair (which no encoder or database takes)?"""
    return _SURROGATE.search(value) is not None


def _check_text(value: str) -> Optional[str]:
    m = _SURROGATE.search(value)
    if m:
        return (f"holds \\u{ord(m.group()):04x}, half of a UTF-16 surrogate pair, which is not a character; "
                "send the text as UTF-8")
    return None


def _walk(obj: Any) -> None:
    """Refuse the first bad value, naming its top-level field. Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, int, Optional[str]]] = [(obj, 1, None)]
    while stack:
        value, depth, field = stack.pop()
        if isinstance(value, _Bad):
            raise JSONRefused(value.why, field)
        if isinstance(value, str):
            why = _check_text(value)
            if why:
                raise JSONRefused(why, field)
            continue
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise JSONRefused(f"is nested more than {MAX_DEPTH} levels deep", field)
            if isinstance(value, dict):
                for key, item in value.items():
                    why = _check_text(key)
                    if why:
                        raise JSONRefused(f"a key {why}", field)
                    stack.append((item, depth + 1, field if field is not None or depth > 1 else key))
            else:
                stack.extend((item, depth + 1, field) for item in value)


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"\s*:?|[\[\]{}]')


def _deep_field(text: str) -> Optional[str]:
    """The top-level key under which nesting first goes deeper than MAX_DEPTH (a scan of brackets and
    strings, made only after the parser gave up, so the field can still be named)."""
    depth, key = 0, None
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return key
        elif token in "]}":
            depth -= 1
        elif depth == 1 and token.endswith(":") and text.lstrip().startswith("{"):
            try:
                key = json.loads(token.rstrip(": \t\r\n"))
            except ValueError:
                key = None
    return None


def loads(data: str | bytes) -> Any:
    """Parse JSON text (str, or bytes in UTF-8/16/32) and refuse what could not be stored or used."""
    try:
        obj = json.loads(data, parse_constant=_constant, parse_int=_integer, parse_float=_real)
    except RecursionError:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        raise JSONRefused(f"is nested more than {MAX_DEPTH} levels deep", _deep_field(text)) from None
    except UnicodeDecodeError as exc:
        raise JSONRefused(f"is not UTF-8 text (byte {exc.start + 1})") from None
    except json.JSONDecodeError as exc:
        raise JSONRefused(f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                          syntax=exc) from None
    _walk(obj)
    return obj
