"""Build the Lean file from the instructor's header and statement and the student's proof.

The student writes only what follows `:=`, so the statement cannot be edited. What
the student could still try is to end the proof early and add commands of their own
(a second theorem, an `axiom`, meta-programs that rewrite the message log, `#exit`,
...). `find_refusal` reads the proof with a small Lean-like lexer (comments and
string literals skipped, everything else seen as tokens) and refuses:

* command keywords of Lean, Batteries and Mathlib anywhere in the proof text, since
  Lean does not care about indentation when it starts a new command;
* every `#command`, `@[` attributes, and the meta-programming escapes
  (`run_tac`, `by_elab`, `elab`, `macro`, ...) that could run code while Lean checks;
* `open` and `set_option` unless used in their term/tactic form `... in`, and for
  `set_option` only options that cannot weaken the check;
* `sorry`, `admit`, `sorryAx`.

The lexer errs towards seeing more code than Lean does (a character it does not
know ends a name), so a keyword can only hide from it inside a real comment or
string. Commands not on the list cannot run code, and acceptance still needs Lean
to report no error and `#print axioms` to list only the standard axioms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .messages import LeanMessage

MAX_PROOF_CHARS = 50_000
# The proof is indented so a tactic block that the student wrote at column 0 still
# belongs to `by`; columns are shifted back when messages are relocated.
PROOF_INDENT = "  "

# Keywords that begin a command (core Lean, Batteries, Mathlib) or declare/modify
# something outside the proof. None of them is needed inside a proof term.
FORBIDDEN_WORDS = frozenset(
    """
    theorem lemma def abbrev instance axiom example structure class inductive
    coinductive mutual namespace section end import prelude variable universe
    opaque noncomputable private protected partial unsafe nonrec macro macro_rules
    syntax elab elab_rules notation infix infixl infixr prefix postfix
    initialize builtin_initialize run_cmd run_elab run_meta run_tac by_elab
    attribute export omit include deriving local implemented_by extern alias
    irreducible_def proof_wanted library_note add_decl_doc assert_not_exists
    suppress_compilation unseal seal recall compile_inductive mk_iff_of_inductive_prop
    initialize_simps_projections gen_injective_theorems binder_predicate
    simproc dsimproc simproc_decl dsimproc_decl grind_pattern builtin_simproc
    """.split()
)
FORBIDDEN_PREFIXES = ("declare_", "register_", "builtin_")
# Ways of making Lean compile and run code while it checks a proof. Compared with
# every part of a dotted name (`Lean.ofReduceBool`, `open Lean in ofReduceBool`,
# `decide +native`, `decide (config := {native := true})` all name one of them):
# native evaluation and the axioms that trust it; tactics that evaluate the goal
# with compiled code (`plausible`, `slim_check`) or call an external program
# (`bv_decide` runs a SAT solver and trusts it through `Lean.ofReduceBool`,
# `polyrith` calls a web service); and the IO types and unsafe casts that would
# let such code have effects. A proof of a mathematical statement needs none.
FORBIDDEN_NAME_PARTS = frozenset(
    """
    native native_decide nativeDecide ofReduceBool ofReduceNat reduceBool reduceNat
    trustCompiler implemented_by extern export
    plausible slim_check bv_decide bv_check bv_decide? polyrith
    IO EIO BaseIO RealWorld IOError ST EST unsafeIO unsafeEIO unsafeBaseIO unsafeCast
    unsafeST runST evalExpr evalTerm evalConst
    """.split()
)
# Parts starting with these are refused too (`unsafeCast`, `unsafePerformIO`-like helpers).
FORBIDDEN_PART_PREFIXES = ("unsafe",)
# Term elaborators written `name%` that evaluate code (Mathlib's `eval% e`).
FORBIDDEN_PERCENT_WORDS = frozenset({"eval"})
SORRY_WORDS = frozenset({"sorry", "admit", "sorryAx"})
# `set_option name value in tac` is allowed for these options only: they change
# limits or printing, never what the kernel accepts.
ALLOWED_OPTIONS = frozenset({"maxHeartbeats", "maxRecDepth", "synthInstance.maxHeartbeats", "synthInstance.maxSize"})
ALLOWED_OPTION_PREFIXES = ("pp.", "trace.", "linter.")


class LeanInputError(ValueError):
    """The instructor's Lean text cannot be used (e.g. the statement names no theorem)."""


@dataclass
class Refusal:
    """Why the proof was refused before running Lean; line/column in the student's text."""

    reason: str
    line: int | None = None
    column: int | None = None

    def as_message(self) -> LeanMessage:
        return LeanMessage("error", self.line, self.column, None, None, self.reason, part="proof")


# --------------------------------------------------------------------------- lexer


@dataclass
class Token:
    kind: str  # ident, quoted (a «name»), hash (#word), symbol, number, string, char
    value: str
    line: int  # 1-based
    column: int  # 0-based


@dataclass
class LexResult:
    tokens: list[Token] = field(default_factory=list)
    problems: list[Refusal] = field(default_factory=list)


def _is_letter_like(ch: str) -> bool:
    # Lean's isLetterLike: ASCII letters plus Greek (but not λ Π Σ), Coptic,
    # letter-like symbols and mathematical alphanumerics.
    if ("a" <= ch <= "z") or ("A" <= ch <= "Z"):
        return True
    o = ord(ch)
    return (
        (0x3B1 <= o <= 0x3C9 and o != 0x3BB)
        or (0x391 <= o <= 0x3A9 and o not in (0x3A0, 0x3A3))
        or 0x3CA <= o <= 0x3FB
        or 0x1F00 <= o <= 0x1FFE
        or 0x2100 <= o <= 0x214F
        or 0x1D49C <= o <= 0x1D59F
    )


def _is_subscript(ch: str) -> bool:
    o = ord(ch)
    return 0x2080 <= o <= 0x2089 or 0x2090 <= o <= 0x209C or 0x1D62 <= o <= 0x1D6A or o == 0x2C7C


def _is_id_start(ch: str) -> bool:
    return ch == "_" or _is_letter_like(ch)


def _is_id_rest(ch: str) -> bool:
    return _is_id_start(ch) or ch.isdigit() and ch.isascii() or ch in "'!?" or _is_subscript(ch)


def lex(text: str) -> LexResult:
    """Split Lean source into tokens, dropping comments and string contents."""
    out = LexResult()
    n = len(text)
    i = 0
    line, line_start = 1, 0

    def newline_at(k: int) -> None:
        nonlocal line, line_start
        line += 1
        line_start = k + 1

    while i < n:
        ch = text[i]
        col = i - line_start
        if ch == "\n":
            newline_at(i)
            i += 1
        elif ch.isspace():
            i += 1
        elif text.startswith("--", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/-", i):
            start_line, start_col = line, col
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/-", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("-/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if text[i] == "\n":
                        newline_at(i)
                    i += 1
            if depth:
                out.problems.append(Refusal("Refused: the proof has a comment that is never closed.", start_line, start_col))
        elif ch == '"' or (ch == "r" and _RAW_START.match(text, i) and not _prev_is_id(text, i)):
            start_line, start_col = line, col
            interpolated = i > 0 and text[i - 1] == "!"
            if ch == "r":
                hashes = _RAW_START.match(text, i).group(1)
                close = '"' + hashes
                j = text.find(close, i + 2 + len(hashes))
                end = n if j < 0 else j + len(close)
                body = text[i:end]
                closed = j >= 0
            else:
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                closed = j < n
                end = min(j + 1, n)
                body = text[i:end]
            if not closed:
                out.problems.append(Refusal("Refused: the proof has a string that is never closed.", start_line, start_col))
            if interpolated:
                # s!"..{code}.." holds code; read the whole literal as code to be safe.
                inner = lex(body[1:-1] if closed else body[1:])
                for tok in inner.tokens:
                    tok.line += start_line - 1
                out.tokens.extend(inner.tokens)
                out.problems.extend(inner.problems)
            out.tokens.append(Token("string", "", start_line, start_col))
            for k in range(i, end):
                if text[k] == "\n":
                    newline_at(k)
            i = end
        elif ch == "'" and i + 1 < n and text[i + 1] != "'" and not _prev_is_id(text, i):
            # A character literal, as Lean reads it: ' then one char or an escape.
            j = i + 1
            if text[j] == "\\":
                j += 2
                while j < n and j < i + 8 and text[j] not in "'\n":
                    j += 1
            else:
                j += 1
            if j < n and text[j] == "'":
                out.tokens.append(Token("char", text[i : j + 1], line, col))
                i = j + 1
            else:
                out.tokens.append(Token("symbol", "'", line, col))
                i += 1
        elif ch == "«":
            j = text.find("»", i)
            if j < 0 or "\n" in text[i:j]:
                # Lean would fail to parse it; refusing keeps the lexer simple.
                out.problems.append(Refusal("Refused: the proof has a « that is never closed.", line, col))
                break
            end = _continue_ident(text, j + 1)
            out.tokens.append(Token("quoted", text[i:end], line, col))
            i = end
        elif _is_id_start(ch):
            j = i + 1
            while j < n and _is_id_rest(text[j]):
                j += 1
            j = _continue_ident(text, j)
            out.tokens.append(Token("ident", text[i:j], line, col))
            i = j
        elif ch == "#" and i + 1 < n and _is_id_start(text[i + 1]):
            j = i + 2
            while j < n and _is_id_rest(text[j]):
                j += 1
            out.tokens.append(Token("hash", text[i:j], line, col))
            i = j
        elif ch == "@" and text.startswith("@[", i):
            out.tokens.append(Token("symbol", "@[", line, col))
            i += 2
        elif ch.isdigit() and ch.isascii():
            j = i + 1
            while j < n and text[j].isascii() and text[j].isdigit():
                j += 1
            out.tokens.append(Token("number", text[i:j], line, col))
            i = j
        else:
            out.tokens.append(Token("symbol", ch, line, col))
            i += 1
    return out


_RAW_START = re.compile(r'r(#*)"')


def _prev_is_id(text: str, i: int) -> bool:
    return i > 0 and _is_id_rest(text[i - 1])


def _continue_ident(text: str, j: int) -> int:
    """Extend a name over `.part` and `.«part»` components; returns the end index."""
    n = len(text)
    while j + 1 < n and text[j] == ".":
        nxt = text[j + 1]
        if _is_id_start(nxt):
            j += 2
            while j < n and _is_id_rest(text[j]):
                j += 1
        elif nxt == "«":
            k = text.find("»", j + 2)
            if k < 0 or "\n" in text[j:k]:
                break
            j = k + 1
        else:
            break
    return j


# ------------------------------------------------------------------ the refusal rules


def _option_allowed(name: str) -> bool:
    return name in ALLOWED_OPTIONS or name.startswith(ALLOWED_OPTION_PREFIXES)


def _name_parts(name: str) -> list[str]:
    """`Lean.«ofReduceBool»` -> ["Lean", "ofReduceBool"] (a dot inside «» splits too: refusing more is safe)."""
    return [p for p in name.replace("«", "").replace("»", "").split(".") if p]


def _forbidden_part(name: str) -> str | None:
    for part in _name_parts(name):
        if part in FORBIDDEN_NAME_PARTS or part.startswith(FORBIDDEN_PART_PREFIXES):
            return part
    return None


def find_refusal(proof: str) -> Refusal | None:
    """The first reason to refuse the student's proof text without running Lean, or None."""
    if not proof.strip():
        return Refusal("Refused: the proof is empty.")
    if len(proof) > MAX_PROOF_CHARS:
        return Refusal(f"Refused: the proof is longer than {MAX_PROOF_CHARS} characters.")
    if "\x00" in proof:
        return Refusal("Refused: the proof contains a NUL character.")
    lexed = lex(proof)
    if lexed.problems:
        return lexed.problems[0]
    toks = lexed.tokens
    k = 0
    while k < len(toks):
        tok = toks[k]
        where = f" (line {tok.line})"
        if tok.kind == "hash":
            return Refusal(f"Refused: the proof may not contain the command `{tok.value}`{where}.", tok.line, tok.column)
        if tok.kind == "symbol" and tok.value == "@[":
            return Refusal(f"Refused: the proof may not contain attributes `@[...]`{where}.", tok.line, tok.column)
        if tok.kind in ("ident", "quoted"):
            part = _forbidden_part(tok.value)
            if part is not None:
                return Refusal(
                    f"Refused: the proof may not use `{part}`{where}: it would make Lean compile and run code "
                    "instead of checking a proof.",
                    tok.line,
                    tok.column,
                )
        if tok.kind == "ident" and tok.value in FORBIDDEN_PERCENT_WORDS and k + 1 < len(toks) \
                and toks[k + 1].value == "%" and toks[k + 1].line == tok.line \
                and toks[k + 1].column == tok.column + len(tok.value):
            return Refusal(f"Refused: the proof may not use `{tok.value}%`{where}: it runs code.", tok.line, tok.column)
        if tok.kind == "ident":
            word = tok.value
            if word in SORRY_WORDS:
                return Refusal(f"Refused: the proof uses {word}{where}.", tok.line, tok.column)
            if word in FORBIDDEN_WORDS or word.startswith(FORBIDDEN_PREFIXES):
                return Refusal(
                    f"Refused: the proof may not contain `{word}`{where}; write only the proof of the given statement.",
                    tok.line,
                    tok.column,
                )
            if word in ("open", "set_option"):
                # Only the scoped forms `open X in t` / `set_option o v in t` are
                # proof-level; without `in` they would be new top-level commands.
                j = k + 1
                while j < len(toks) and toks[j].line == tok.line and not (toks[j].kind == "ident" and toks[j].value == "in"):
                    j += 1
                if j >= len(toks) or toks[j].line != tok.line:
                    return Refusal(
                        f"Refused: `{word}` must be used as `{word} ... in` on one line inside the proof{where}.",
                        tok.line,
                        tok.column,
                    )
                if word == "set_option":
                    name = toks[k + 1].value if k + 1 < j else ""
                    if not _option_allowed(name):
                        return Refusal(f"Refused: `set_option {name}` is not allowed in a proof{where}.", tok.line, tok.column)
                else:
                    # Names after `open` may include `scoped`/`hiding`/`renaming`; skip to `in`.
                    for t in toks[k + 1 : j]:
                        if t.kind == "hash" or (t.kind == "ident" and t.value in SORRY_WORDS):
                            return Refusal(f"Refused: unexpected `{t.value}` in `open ... in`{where}.", t.line, t.column)
                k = j + 1
                continue
        k += 1
    return None


# ------------------------------------------------------------------ assembling


_NAME_AFTER = ("theorem", "lemma")


def theorem_name(statement: str) -> str:
    """The declared name in `theorem NAME ...` (or `lemma NAME`), needed for `#print axioms`."""
    toks = lex(statement).tokens
    for idx, tok in enumerate(toks):
        if tok.kind == "ident" and tok.value in _NAME_AFTER:
            if idx + 1 < len(toks) and toks[idx + 1].kind in ("ident", "quoted"):
                return toks[idx + 1].value
            break
    raise LeanInputError("The Lean statement must declare a named theorem, e.g. `theorem my_fact (n : Nat) : n + 0 = n`.")


@dataclass
class AssembledProof:
    """The checked text and where each part of it lies.

    `body` is statement + proof + the `#print axioms` line (what the REPL receives
    as one command); `text` is header + blank line + body (the file for `lean`).
    """

    text: str
    body: str
    theorem_name: str
    header_line_count: int  # lines before the body in `text`
    statement_line_count: int
    proof_lines: list[str]
    axioms_body_line: int  # 1-based line of `#print axioms` within `body`

    @property
    def proof_line_count(self) -> int:
        return len(self.proof_lines)

    def axioms_line(self, in_file: bool) -> int:
        return self.axioms_body_line + (self.header_line_count if in_file else 0)

    def _locate(self, line: int | None, column: int | None, in_file: bool) -> tuple[str, int | None, int | None]:
        if line is None:
            return "file", None, None
        offset = self.header_line_count if in_file else 0
        b = line - offset
        if b < 1:
            return "header", line, column
        if b <= self.statement_line_count:
            return "statement", b, column
        p = b - self.statement_line_count
        if p <= self.proof_line_count:
            shifted = None if column is None else max(0, column - len(PROOF_INDENT))
            return "proof", p, shifted
        # Past the proof (blank line or our `#print axioms`): a parse error that ran
        # off the end of the student's text; show it at the end of their last line.
        last = self.proof_lines[-1] if self.proof_lines else ""
        return "proof", max(1, self.proof_line_count), len(last)

    def relocate(self, message: LeanMessage, in_file: bool) -> LeanMessage:
        """The message with its position given in the student's (or instructor's) own lines."""
        part, line, column = self._locate(message.line, message.column, in_file)
        end_part, end_line, end_column = self._locate(message.end_line, message.end_column, in_file)
        if part == "statement" and end_part == "proof":
            # E.g. "unsolved goals" is reported at `by` ending the statement, with a
            # range covering the proof: point at the start of the student's text.
            part, line, column = "proof", 1, 0
        if end_part != part:
            end_line = end_column = None
        return LeanMessage(message.severity, line, column, end_line, end_column, message.text, part)


def _clean(text: str) -> str:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def assemble(header: str, statement: str, proof: str) -> AssembledProof:
    """Put the parts together. Raises LeanInputError when the statement has no theorem name."""
    header = _clean(header).strip("\n").rstrip()
    statement = _clean(statement).strip()
    if not statement:
        raise LeanInputError("The Lean statement is empty.")
    name = theorem_name(statement)
    if not re.search(r":=\s*(by)?\s*$", statement):
        statement += " :="
    proof_lines = _clean(proof).rstrip("\n").split("\n")
    statement_lines = statement.split("\n")
    body_lines = statement_lines + [PROOF_INDENT + line if line.strip() else line for line in proof_lines]
    body_lines += ["", f"#print axioms {name}", ""]
    body = "\n".join(body_lines)
    axioms_body_line = len(statement_lines) + len(proof_lines) + 2
    if header:
        header_line_count = header.count("\n") + 2  # header lines + one blank line
        text = header + "\n\n" + body
    else:
        header_line_count = 0
        text = body
    return AssembledProof(
        text=text,
        body=body,
        theorem_name=name,
        header_line_count=header_line_count,
        statement_line_count=len(statement_lines),
        proof_lines=proof_lines,
        axioms_body_line=axioms_body_line,
    )
