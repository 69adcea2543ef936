"""Assembling the Lean file and refusing proofs that try to leave the proof."""
from __future__ import annotations

import pytest

from classroom.lean.assemble import (
    MAX_PROOF_CHARS,
    LeanInputError,
    assemble,
    find_refusal,
    lex,
    theorem_name,
)
from classroom.lean.messages import LeanMessage


def test_file_layout_header_statement_indented_proof_and_axioms_line():
    a = assemble("import Mathlib\nopen Nat\n", "theorem foo (n : Nat) : n + 0 = n", "by\n  simp\nrfl")
    assert a.text.split("\n") == [
        "import Mathlib",
        "open Nat",
        "",
        "theorem foo (n : Nat) : n + 0 = n :=",
        "  by",
        "    simp",
        "  rfl",
        "",
        "#print axioms foo",
        "",
    ]
    assert a.theorem_name == "foo"
    assert a.header_line_count == 3
    assert a.axioms_line(in_file=True) == 9
    assert a.text.split("\n")[a.axioms_line(True) - 1] == "#print axioms foo"
    # The REPL gets the body only; its `#print axioms` line is counted from there.
    assert a.body.split("\n")[a.axioms_line(False) - 1] == "#print axioms foo"
    assert not a.body.startswith("import")


def test_statement_ending_in_by_or_assign_is_kept_and_no_header_means_no_blank_line():
    a = assemble("", "theorem t : True := by", "trivial")
    assert a.text.startswith("theorem t : True := by\n  trivial\n")
    assert a.header_line_count == 0
    b = assemble("", "theorem t : True :=", "True.intro")
    assert b.text.startswith("theorem t : True :=\n  True.intro\n")


def test_windows_newlines_are_normalised():
    a = assemble("import Mathlib\r\n", "theorem t : True\r\n", "by\r\n  trivial\r\n")
    assert "\r" not in a.text
    assert a.proof_lines == ["by", "  trivial"]


@pytest.mark.parametrize(
    "statement, name",
    [
        ("theorem foo : True", "foo"),
        ("lemma bar (n : ℕ) : n = n", "bar"),
        ("@[simp] theorem Foo.baz : 1 = 1", "Foo.baz"),
        ("/-- theorem fake : doc -/\ntheorem real_one : True", "real_one"),
        ("theorem «my fact» : True", "«my fact»"),
    ],
)
def test_theorem_name(statement, name):
    assert theorem_name(statement) == name


@pytest.mark.parametrize("statement", ["example : True", "def f := 1", "", "theorem : True"])
def test_statement_without_a_named_theorem_is_an_input_error(statement):
    with pytest.raises(LeanInputError):
        assemble("", statement, "trivial")


def test_relocate_maps_file_lines_to_the_students_lines_and_columns():
    a = assemble("import Mathlib\nopen Nat", "theorem foo (n : Nat) :\n    n + 0 = n := by", "simp\n  exact rfl")
    # File: 1-2 header, 3 blank, 4-5 statement, 6-7 proof, 8 blank, 9 #print axioms.
    proof_msg = a.relocate(LeanMessage("error", 7, 8, 7, 11, "type mismatch"), in_file=True)
    assert (proof_msg.part, proof_msg.line, proof_msg.column, proof_msg.end_line, proof_msg.end_column) == (
        "proof", 2, 6, 2, 9,
    )
    header_msg = a.relocate(LeanMessage("error", 1, 7, None, None, "unknown package"), in_file=True)
    assert (header_msg.part, header_msg.line) == ("header", 1)
    stmt_msg = a.relocate(LeanMessage("error", 5, 4, 5, 9, "bad type"), in_file=True)
    assert (stmt_msg.part, stmt_msg.line, stmt_msg.column) == ("statement", 2, 4)
    # "unsolved goals" sits on `by` (statement) and spans the proof: show it on the proof.
    goals = a.relocate(LeanMessage("error", 5, 17, 7, 11, "unsolved goals"), in_file=True)
    assert (goals.part, goals.line, goals.column, goals.end_line) == ("proof", 1, 0, 2)
    # A parse error that ran past the student's text points at the end of it.
    eof = a.relocate(LeanMessage("error", 9, 0, None, None, "unexpected token '#print'"), in_file=True)
    assert (eof.part, eof.line, eof.column) == ("proof", 2, len("  exact rfl"))
    # REPL positions count from the statement's first line.
    repl_msg = a.relocate(LeanMessage("error", 3, 2, None, None, "x"), in_file=False)
    assert (repl_msg.part, repl_msg.line, repl_msg.column) == ("proof", 1, 0)


ACCEPTABLE = [
    "by\n  simp",
    "by\n  -- the theorem follows from simp; no new lemma needed\n  simp",
    "by\n  /- theorem x : False := sorry -/\n  simp",
    "by\n  /- nested /- theorem -/ still comment axiom -/\n  simp",
    'by\n  have h : "theorem" = "theorem" := rfl\n  simp',
    "by\n  open Nat in simp [succ_eq_add_one]",
    "by\n  open scoped BigOperators in simp",
    "by\n  set_option maxHeartbeats 400000 in\n  simp",
    "by\n  set_option pp.all true in simp",
    "by\n  exact «theorem»",
    "by\n  intro h'\n  exact h'",
    "by\n  simp [Set.image, f '' s]",
    "by\n  have : 'a' ≠ 'b' := by decide\n  simp",
    "by\n  have : '\"' = '\"' := rfl\n  simp",
    "by\n  induction n with\n  | zero => rfl\n  | succ k ih => simp",
    "fun n => rfl",
    "aux\nwhere\n  aux : True := trivial",
    "by\n  exact #[1, 2].size_pos",
    "by\n  calc n + 0 = n := by simp",
]


@pytest.mark.parametrize("proof", ACCEPTABLE)
def test_ordinary_proofs_pass_the_text_check(proof):
    assert find_refusal(proof) is None


REFUSED = [
    ("by\n  simp\n\ntheorem other : False := sorry", "theorem"),
    ("by simp\n    lemma x : 1 = 1 := rfl", "lemma"),
    ("by simp\naxiom cheat : False", "axiom"),
    ("by simp\n#exit", "#exit"),
    ("by simp\n#print axioms foo", "#print"),
    ("by simp\n#eval IO.println 1", "#eval"),
    ("by simp\n@[simp] def x := 1", "@["),
    ("by simp\nattribute [simp] Nat.add_comm", "attribute"),
    ("by\n  run_tac do pure ()", "run_tac"),
    ("by_elab do pure (Lean.mkConst ``True.intro)", "by_elab"),
    ("by simp\nelab \"x\" : tactic => pure ()", "elab"),
    ("by simp\nmacro \"x\" : tactic => `(tactic| simp)", "macro"),
    ("by simp\nrun_cmd pure ()", "run_cmd"),
    ("by simp\nend", "end"),
    ("by simp\nnamespace X", "namespace"),
    ("by simp\nimport Mathlib", "import"),
    ("by simp\ninstance : Inhabited Nat := ⟨0⟩", "instance"),
    ("by simp\nexample : True := trivial", "example"),
    ("by simp\nopen Classical", "open"),
    ("by simp\nset_option autoImplicit true", "set_option"),
    ("by\n  set_option debug.skipKernelTC true in exact h", "debug.skipKernelTC"),
    ("by simp\nnoncomputable section", "noncomputable"),
    ("by simp\ndeclare_syntax_cat foo", "declare_syntax_cat"),
    ('by\n  exact s!"{by run_tac pure ()}"', "run_tac"),
    ('by\n  exact r#"a\\"# \ntheorem x : True := trivial', "theorem"),
    ("by simp\n中theorem x : True := trivial", "theorem"),
    ("by\n  /- a -/ /- b /- c -/ -/\ntheorem x : True := trivial", "theorem"),
]


@pytest.mark.parametrize("proof, word", REFUSED)
def test_extra_commands_and_escapes_are_refused(proof, word):
    refusal = find_refusal(proof)
    assert refusal is not None, proof
    assert word in refusal.reason
    assert refusal.reason.startswith("Refused:")


@pytest.mark.parametrize("proof, word", [("by sorry", "sorry"), ("by\n  admit", "admit"), ("sorryAx _ false", "sorryAx")])
def test_sorry_and_admit_are_refused_with_their_name(proof, word):
    refusal = find_refusal(proof)
    assert refusal is not None and refusal.reason.startswith(f"Refused: the proof uses {word}")


def test_refusal_points_at_the_students_line():
    refusal = find_refusal("by\n  simp\n\ntheorem other : False := sorry")
    assert (refusal.line, refusal.column) == (4, 0)
    assert "(line 4)" in refusal.reason
    message = refusal.as_message()
    assert (message.part, message.line, message.severity) == ("proof", 4, "error")


@pytest.mark.parametrize(
    "proof, reason",
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("by\n  simp /- never closed", "comment that is never closed"),
        ('by\n  exact "never closed', "string that is never closed"),
        ("by\n  exact «never closed", "never closed"),
        ("by\n  simp\x00", "NUL"),
        ("by simp " + " " * MAX_PROOF_CHARS, "longer than"),
    ],
)
def test_malformed_or_empty_proofs_are_refused(proof, reason):
    refusal = find_refusal(proof)
    assert refusal is not None and reason in refusal.reason


def test_lexer_skips_comments_and_strings_but_keeps_positions():
    tokens = lex('-- theorem\nfoo /- def -/ "end" bar\n  baz.qux')
    idents = [(t.value, t.line, t.column) for t in tokens.tokens if t.kind == "ident"]
    assert idents == [("foo", 2, 0), ("bar", 2, 20), ("baz.qux", 3, 2)]
    assert not tokens.problems


@pytest.mark.parametrize(
    "proof, word",
    [
        ("by native_decide", "native_decide"),
        ("by decide +native", "native"),
        ("by decide (config := {native := true})", "native"),
        ("Lean.ofReduceBool _ _ rfl", "ofReduceBool"),
        ("by exact Lean.«ofReduceNat» _ _ rfl", "ofReduceNat"),
        ("by\n  open Lean in exact trustCompiler", "trustCompiler"),
        ("by exact (unsafeBaseIO (pure 1) : Nat) ▸ rfl", "unsafeBaseIO"),
        ("by\n  have : IO.RealWorld = Unit := rfl\n  trivial", "IO"),
        ("by bv_decide", "bv_decide"),
        ("by slim_check", "slim_check"),
        ("by polyrith", "polyrith"),
        ("by\n  have h : 2 ^ 10 = eval% 2 ^ 10 := rfl\n  simp", "eval%"),
    ],
)
def test_ways_of_running_code_are_refused(proof, word):
    refusal = find_refusal(proof)
    assert refusal is not None and f"`{word}`" in refusal.reason, refusal


@pytest.mark.parametrize(
    "proof",
    [
        "by decide",
        "by simp -- native_decide would be faster",
        "by\n  /- IO.println, Lean.ofReduceBool -/\n  omega",
        "by\n  have evaluation := 3\n  exact rfl",
        "by simp [Nat.mod_two_eq_zero_or_one]",
    ],
)
def test_words_in_comments_or_inside_other_names_are_not_refused(proof):
    assert find_refusal(proof) is None
