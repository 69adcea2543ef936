"""The verdict: a second Lean run that reads the compiled proof as data and re-checks it.

The first run (local: `lean -o Check.olean`; REPL: the prover server, then
`pickleTo`) elaborates the student's text. If the refusal list ever missed a way
to run code, that code runs inside that process and can print anything, so
nothing it prints can accept a proof. Its messages only explain a failure to
the student (forging an error helps nobody).

Acceptance comes from the audit, a different Lean process in a fresh sandbox
that never sees the student's text and never imports the compiled module (so
no initialisation code of it runs). It is given the instructor's header, the
instructor's statement re-declared as an axiom under a fresh name, and a
command of ours that

1. reads the compiled module with `readModuleData`, as data;
2. refuses unsafe declarations and any use of `Lean.ofReduceBool`,
   `Lean.ofReduceNat`, `Lean.reduceBool`, `Lean.reduceNat` or
   `Lean.trustCompiler` before the kernel sees them (the kernel would run
   compiled code to check those);
3. sends every new declaration through the kernel again (`addDecl`), so an
   environment forged by code that ran in the first process is rejected;
4. checks that the theorem's type is the instructor's statement;
5. reports the theorem's axioms (`collectAxioms`) in one message that begins
   with a random marker made for this check, after the first run has ended.

The marker ties the verdict to this audit: the first run's output cannot carry
it, and only a message that starts with it is read.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from .assemble import lex
from .messages import LeanMessage, parse_axioms

AUDIT_PREFIX = "classroom_audit_"
# Lean's meta-programming library, for the audit command (the header may import less).
AUDIT_IMPORT = "import Lean"

_COMMAND = """
open Lean Meta in
#eval show MetaM Unit from do
  let marker := "@MARKER@"
  let stmtName := ``@AXIOM@
  let thmName := stmtName.getPrefix ++ `@NAME@
  let (mod, _) ← readModuleData (System.FilePath.mk "@OLEAN@")
  let trusted := [`Lean.ofReduceBool, `Lean.ofReduceNat, `Lean.reduceBool, `Lean.reduceNat, `Lean.trustCompiler]
  let env0 ← getEnv
  let mut todo : Array ConstantInfo := #[]
  for c in mod.constants do
    if !env0.contains c.name then
      if c.isUnsafe then
        logInfo m!"{marker} refused: {c.name} is unsafe"
        return
      for n in c.getUsedConstants do
        if trusted.contains n then
          logInfo m!"{marker} refused: {c.name} uses {n}"
          return
      todo := todo.push c
  let mut progress := true
  while progress && !todo.isEmpty do
    progress := false
    let mut later : Array ConstantInfo := #[]
    for c in todo do
      let env ← getEnv
      if c.getUsedConstants.all (fun n => n == c.name || env.contains n) then
        match c with
        | .thmInfo v => addDecl (.thmDecl v)
        | .defnInfo v => addDecl (.defnDecl v)
        | .opaqueInfo v => addDecl (.opaqueDecl v)
        | .axiomInfo v => addDecl (.axiomDecl v)
        | _ =>
          logInfo m!"{marker} refused: {c.name} is not a theorem, definition or axiom"
          return
        progress := true
      else
        later := later.push c
    todo := later
  if !todo.isEmpty then
    logInfo m!"{marker} refused: {(todo.map (·.name)).toList} use unknown constants"
    return
  let some (.thmInfo thm) := (← getEnv).find? thmName
    | logInfo m!"{marker} refused: the compiled proof has no theorem {thmName}"
  let some stmt := (← getEnv).find? stmtName
    | logInfo m!"{marker} refused: the statement was not declared"
  if thm.levelParams.length != stmt.levelParams.length then
    logInfo m!"{marker} refused: the theorem's universe levels are not the statement's"
    return
  let ty := thm.type.instantiateLevelParams thm.levelParams (stmt.levelParams.map mkLevelParam)
  unless (← isDefEq ty stmt.type) do
    logInfo m!"{marker} refused: the theorem's statement is not the problem's"
    return
  let axioms ← collectAxioms thmName
  logInfo m!"{marker} axioms: {axioms.toList}"
"""


def new_marker() -> str:
    return secrets.token_hex(16)


def statement_as_axiom(statement: str, name: str, axiom_name: str) -> str:
    """`theorem NAME binders : type :=` -> `axiom AXIOM binders : type` (modifiers kept)."""
    text = statement.replace("\r\n", "\n").strip()
    toks = lex(text).tokens
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for i, tok in enumerate(toks):
        if tok.kind == "ident" and tok.value in ("theorem", "lemma") and i + 1 < len(toks) and toks[i + 1].value == name:
            start = offsets[tok.line - 1] + tok.column
            name_tok = toks[i + 1]
            end = offsets[name_tok.line - 1] + name_tok.column + len(name_tok.value)
            rest = re.sub(r":=\s*(by)?\s*$", "", text[end:]).rstrip()
            return f"{text[:start]}axiom {axiom_name}{rest}"
    raise ValueError("the statement declares no theorem named " + name)


def audit_command(statement: str, name: str, olean_path: str, marker: str) -> str:
    """The audit's own text after the header: the statement as an axiom, then our check."""
    axiom_name = f"{AUDIT_PREFIX}{marker}"
    replacements = {"@MARKER@": marker, "@AXIOM@": axiom_name, "@NAME@": name, "@OLEAN@": olean_path}
    command = _COMMAND
    for key, value in replacements.items():
        command = command.replace(key, value)
    return statement_as_axiom(statement, name, axiom_name) + "\n" + command


def audit_header(header: str) -> str:
    """The problem's header with Lean's meta library imported first (the audit command needs it)."""
    header = (header or "").replace("\r\n", "\n").strip("\n")
    return AUDIT_IMPORT + ("\n" + header if header else "")


def audit_file(header: str, statement: str, name: str, olean_path: str, marker: str) -> str:
    return audit_header(header) + "\n\n" + audit_command(statement, name, olean_path, marker)


@dataclass
class AuditVerdict:
    """What the audit decided. status: accepted | refused | error (the audit itself failed)."""

    status: str
    reason: str = ""
    axioms: list[str] = field(default_factory=list)


def read_verdict(messages: list[LeanMessage], marker: str) -> AuditVerdict:
    """The verdict from the audit's messages: exactly one message starting with the marker,
    and no error anywhere (an error after a verdict is the kernel rejecting a declaration)."""
    ours = [m for m in messages if m.text.startswith(marker + " ")]
    errors = [m for m in messages if m.severity == "error"]
    if len(ours) != 1 or ours[0].severity != "info":
        detail = errors[0].text.strip().splitlines()[0] if errors else "no verdict in its output"
        return AuditVerdict("error", f"the audit of the compiled proof failed ({detail})")
    text = ours[0].text[len(marker) + 1:].strip()
    if errors:
        return AuditVerdict("refused", f"Lean's kernel rejected the compiled proof: {errors[0].text.strip().splitlines()[0]}")
    if text.startswith("refused:"):
        return AuditVerdict("refused", text[len("refused:"):].strip())
    if text.startswith("axioms:"):
        axioms = parse_axioms("depends on axioms: " + text[len("axioms:"):].strip())
        if axioms is not None:
            return AuditVerdict("accepted", "", axioms)
    return AuditVerdict("error", f"the audit's verdict could not be read: {text[:200]}")
