"""Lean's messages, read from `lean --json` output lines and from REPL replies.

Lean reports each message as a JSON object with `severity`, `pos` and `endPos`
(`{"line": 1-based, "column": 0-based}`) and `data` (the text). The command-line
compiler prints one object per line; the REPL (leanprover-community/repl) returns
them in the `messages` list of a reply, next to `sorries` and `env`.
Positions are read here as Lean gives them (file or command lines); mapping them
to the student's own line numbers is done by `AssembledProof.relocate`.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

# Lean's compiler says "information", the REPL says "info": one spelling for callers.
_SEVERITIES = {
    "information": "info",
    "info": "info",
    "warning": "warning",
    "error": "error",
}


@dataclass
class LeanMessage:
    """One message from Lean.

    `part` says which text the position refers to: "proof" (the student's text,
    lines counted from 1 at its first line), "statement" or "header" (the
    instructor's text), or "file" (raw position, before relocation). Columns are
    0-based as Lean counts them (Unicode code points).
    """

    severity: str
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None
    text: str
    part: str = "file"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        """A one-line-prefixed rendering like `proof:3:5: error: text` (column 1-based)."""
        where = self.part
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column + 1}"
        return f"{where}: {self.severity}: {self.text}"


@dataclass
class ReplReply:
    """A parsed REPL reply. `error` is set when the REPL refused the command itself."""

    messages: list[LeanMessage] = field(default_factory=list)
    sorries: list[dict[str, Any]] = field(default_factory=list)
    env: int | None = None
    error: str | None = None


def _pos(value: Any) -> tuple[int | None, int | None]:
    if not isinstance(value, dict):
        return None, None
    line, column = value.get("line"), value.get("column")
    return (line if isinstance(line, int) else None, column if isinstance(column, int) else None)


def message_from_json(obj: Any) -> LeanMessage | None:
    """Build a LeanMessage from one Lean JSON message object; None if it is not one."""
    if not isinstance(obj, dict) or "severity" not in obj or "data" not in obj:
        return None
    severity = _SEVERITIES.get(str(obj.get("severity")).lower())
    if severity is None:
        return None
    line, column = _pos(obj.get("pos"))
    end_line, end_column = _pos(obj.get("endPos"))
    text = obj.get("data")
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False)
    return LeanMessage(severity, line, column, end_line, end_column, text)


def parse_json_lines(output: str) -> tuple[list[LeanMessage], list[str]]:
    """Parse `lean --json` stdout: one message object per line.

    Returns the messages and the lines that were not messages (Lean panics,
    `lake` chatter, a line cut by the output limit) so callers can report them.
    """
    messages: list[LeanMessage] = []
    other: list[str] = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            other.append(raw)
            continue
        message = message_from_json(obj)
        if message is None:
            other.append(raw)
        else:
            messages.append(message)
    return messages, other


def parse_repl_reply(obj: Any) -> ReplReply:
    """Read one decoded REPL reply (`messages`, `sorries`, `env`, or `message` on refusal)."""
    if not isinstance(obj, dict):
        return ReplReply(error=f"unexpected reply from the Lean REPL: {obj!r}"[:500])
    if "env" not in obj and isinstance(obj.get("message"), str):
        # The REPL answers {"message": "..."} when it could not run the command at all.
        return ReplReply(error=obj["message"])
    messages = []
    for item in obj.get("messages") or []:
        message = message_from_json(item)
        if message is not None:
            messages.append(message)
    sorries = [s for s in (obj.get("sorries") or []) if isinstance(s, dict)]
    env = obj.get("env")
    return ReplReply(messages=messages, sorries=sorries, env=env if isinstance(env, int) else None)


def parse_repl_text(text: str) -> ReplReply:
    """Parse one REPL reply given as text (pretty-printed JSON, possibly multi-line)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        return ReplReply(error=f"the Lean REPL sent something that is not JSON ({exc})")
    return parse_repl_reply(obj)


# `#print axioms foo` answers "'foo' depends on axioms: [a, b]" or
# "'foo' does not depend on any axioms". Long lists may be wrapped over lines.
_DEPENDS = re.compile(r"depends on axioms:\s*\[(?P<list>[^\]]*)\]", re.DOTALL)
_NO_AXIOMS = re.compile(r"does not depend on any axioms")


def parse_axioms(text: str) -> list[str] | None:
    """The axiom names in a `#print axioms` answer, or None if the text is not one."""
    match = _DEPENDS.search(text)
    if match:
        names = [" ".join(n.split()) for n in match.group("list").split(",")]
        # Lean may quote unusual names as «name»; compare them without the quotes.
        return [n.replace("«", "").replace("»", "") for n in names if n]
    if _NO_AXIOMS.search(text):
        return []
    return None
