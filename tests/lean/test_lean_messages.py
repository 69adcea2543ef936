"""Reading Lean's JSON messages and REPL replies, and deciding acceptance from them."""
from __future__ import annotations

import json

import pytest

from classroom.lean.assemble import assemble, theorem_name
from classroom.lean.audit import AuditVerdict, audit_file, read_verdict, statement_as_axiom
from classroom.lean.checker import judge_audit, judge_first_run
from classroom.lean.messages import (
    LeanMessage,
    parse_axioms,
    parse_json_lines,
    parse_repl_reply,
    parse_repl_text,
)

# Shapes as printed by `lean --json` (one object per line).
LEAN_OUTPUT = "\n".join(
    [
        json.dumps({"caption": "", "data": "unused variable `h`", "endPos": {"column": 12, "line": 5},
                    "fileName": "/tmp/x/Check.lean", "keepFullRange": False, "pos": {"column": 11, "line": 5},
                    "severity": "warning"}),
        json.dumps({"caption": "", "data": "unsolved goals\nn : Nat\n⊢ n + 0 = n", "endPos": None,
                    "fileName": "/tmp/x/Check.lean", "pos": {"column": 2, "line": 6}, "severity": "error"}),
        json.dumps({"data": "'foo' depends on axioms: [propext]", "fileName": "/tmp/x/Check.lean",
                    "pos": {"column": 0, "line": 9}, "severity": "information"}),
        "uncaught exception: something odd",
        '{"caption": "", "data": "cut off by the out',
    ]
)


def test_parse_json_lines_reads_severity_pos_endpos_and_data():
    messages, other = parse_json_lines(LEAN_OUTPUT)
    assert [m.severity for m in messages] == ["warning", "error", "info"]
    warning, error, info = messages
    assert (warning.line, warning.column, warning.end_line, warning.end_column) == (5, 11, 5, 12)
    assert (error.line, error.column, error.end_line, error.end_column) == (6, 2, None, None)
    assert error.text == "unsolved goals\nn : Nat\n⊢ n + 0 = n"
    assert info.text.startswith("'foo' depends")
    assert all(m.part == "file" for m in messages)
    # Not messages: a crash line and a line cut by the output limit.
    assert other == ["uncaught exception: something odd", '{"caption": "", "data": "cut off by the out']


def test_json_that_is_not_a_message_is_kept_as_other_output():
    messages, other = parse_json_lines('{"hello": 1}\n[1, 2]\n{"severity": "bogus", "data": "x"}\n')
    assert messages == []
    assert len(other) == 3


# The reply documented in leanprover-community/repl's README.
REPL_README_REPLY = """{"sorries":
 [{"pos": {"line": 1, "column": 18},
   "endPos": {"line": 1, "column": 23},
   "goal": "⊢ Nat"}],
 "messages":
 [{"severity": "error",
   "pos": {"line": 1, "column": 23},
   "endPos": {"line": 1, "column": 26},
   "data": "type mismatch\\n  rfl\\nhas type\\n  f = f : Prop\\nbut is expected to have type\\n  f = 2 : Prop"}],
 "env": 6}"""


def test_parse_repl_reply_with_messages_sorries_and_env():
    reply = parse_repl_text(REPL_README_REPLY)
    assert reply.error is None
    assert reply.env == 6
    assert reply.sorries == [{"pos": {"line": 1, "column": 18}, "endPos": {"line": 1, "column": 23}, "goal": "⊢ Nat"}]
    (message,) = reply.messages
    assert (message.severity, message.line, message.column, message.end_line, message.end_column) == ("error", 1, 23, 1, 26)
    assert message.text.startswith("type mismatch\n  rfl")


def test_parse_repl_header_reply_refusal_and_garbage():
    assert parse_repl_reply({"env": 0}).env == 0
    assert parse_repl_reply({"env": 0}).messages == []
    info = parse_repl_reply({"messages": [{"severity": "info", "pos": {"line": 2, "column": 0}, "data": "x"}], "env": 3})
    assert info.messages[0].severity == "info" and info.messages[0].end_line is None
    assert parse_repl_reply({"message": "Unknown environment."}).error == "Unknown environment."
    assert parse_repl_text("not json").error
    assert parse_repl_reply([1, 2]).error


@pytest.mark.parametrize(
    "text, axioms",
    [
        ("'foo' depends on axioms: [propext, Classical.choice, Quot.sound]", ["propext", "Classical.choice", "Quot.sound"]),
        ("'foo' depends on axioms: [propext,\n Classical.choice,\n Quot.sound]", ["propext", "Classical.choice", "Quot.sound"]),
        ("'foo' does not depend on any axioms", []),
        ("'foo' depends on axioms: [sorryAx]", ["sorryAx"]),
        ("'foo' depends on axioms: [propext, «my axiom»]", ["propext", "my axiom"]),
        ("unknown constant 'foo'", None),
    ],
)
def test_parse_axioms(text, axioms):
    assert parse_axioms(text) == axioms


def test_message_format_and_dict():
    m = LeanMessage("error", 3, 4, 3, 9, "unknown identifier 'x'", part="proof")
    assert m.format() == "proof:3:5: error: unknown identifier 'x'"
    assert m.to_dict() == {"severity": "error", "line": 3, "column": 4, "end_line": 3, "end_column": 9,
                           "text": "unknown identifier 'x'", "part": "proof"}


# ---------------------------------------------------------------- acceptance


ASSEMBLED = assemble("import Mathlib", "theorem foo : True", "by\n  trivial")
AXIOMS_LINE = ASSEMBLED.axioms_line(in_file=True)
CLEAN = AuditVerdict("accepted", "", ["propext"])


def axioms_msg(text="'foo' depends on axioms: [propext]", line=AXIOMS_LINE):
    return LeanMessage("info", line, 0, None, None, text)


def decide(messages, verdict=CLEAN, **kw):
    """Both stages: the elaborating run's messages, then the audit's verdict."""
    kw.setdefault("in_file", True)
    shown, refusal = judge_first_run(ASSEMBLED, messages, duration_ms=1, backend="test", **kw)
    return refusal or judge_audit(shown, verdict, duration_ms=1, backend="test")


def test_accepted_with_standard_axioms_and_first_runs_axioms_message_hidden():
    result = decide([axioms_msg()], AuditVerdict("accepted", "", ["propext", "Classical.choice", "Quot.sound"]))
    assert result.accepted and result.status == "accepted"
    assert result.reason == "Accepted: Lean checked the proof."
    assert result.axioms == ["propext", "Classical.choice", "Quot.sound"]
    assert result.messages == []


def test_no_axioms_at_all_is_accepted():
    assert decide([], AuditVerdict("accepted", "", [])).accepted


def test_the_first_runs_axioms_answer_counts_for_nothing():
    # Whatever the elaborating run printed, the audit's axioms decide.
    result = decide([axioms_msg("'foo' does not depend on any axioms")], AuditVerdict("accepted", "", ["propext", "cheat"]))
    assert not result.accepted and result.axioms == ["propext", "cheat"] and "cheat" in result.reason


def test_error_refuses_and_names_the_students_line():
    error = LeanMessage("error", ASSEMBLED.header_line_count + 3, 2, None, None, "unknown tactic")
    result = decide([error, axioms_msg()])
    assert not result.accepted
    assert result.reason == "Refused: Lean reported an error at line 2 of the proof: unknown tactic"
    assert result.messages[0].part == "proof" and result.messages[0].line == 2


def test_header_error_is_not_the_students_fault():
    result = decide([LeanMessage("error", 1, 0, None, None, "unknown module prefix"), axioms_msg()])
    assert not result.accepted and result.status == "error"
    assert "header" in result.reason


@pytest.mark.parametrize(
    "messages, verdict, kw",
    [
        ([LeanMessage("warning", 4, 0, None, None, "declaration uses 'sorry'")], CLEAN, {}),
        ([], AuditVerdict("accepted", "", ["sorryAx"]), {}),
        ([], CLEAN, {"sorries": [{"pos": {"line": 2, "column": 2}, "goal": "⊢ True"}]}),
    ],
)
def test_sorry_in_any_form_refuses(messages, verdict, kw):
    result = decide(messages, verdict, **kw)
    assert not result.accepted and result.reason == "Refused: the proof uses sorry."


def test_extra_axiom_refused_and_named():
    result = decide([], AuditVerdict("accepted", "", ["propext", "cheat"]))
    assert not result.accepted
    assert "cheat" in result.reason and "only propext, Classical.choice and Quot.sound" in result.reason


@pytest.mark.parametrize("axiom", ["Lean.ofReduceBool", "Lean.ofReduceNat", "Lean.trustCompiler"])
def test_compiler_trust_axioms_refused_with_why(axiom):
    result = decide([], AuditVerdict("accepted", "", ["propext", axiom]))
    assert not result.accepted and axiom in result.reason and "native_decide" in result.reason


def test_no_compiled_proof_or_a_failed_audit_never_accepts():
    assert "could not be audited" in decide([axioms_msg()], None).reason
    failed = decide([axioms_msg()], AuditVerdict("error", "the audit of the compiled proof failed (x)"))
    assert not failed.accepted and failed.status == "error" and failed.reason.startswith("Not checked:")
    refused = decide([axioms_msg()], AuditVerdict("refused", "the theorem's statement is not the problem's"))
    assert not refused.accepted and refused.status == "refused" and "statement" in refused.reason


def test_truncated_output_or_crash_refuses():
    assert "size limit" in decide([axioms_msg()], truncated=True).reason
    crash = decide([], exit_status=134, other_output="Stack overflow detected. Aborting.")
    assert not crash.accepted and crash.status == "error" and "134" in crash.reason and "Stack overflow" in crash.reason


def test_repl_positions_are_counted_from_the_statement():
    line = ASSEMBLED.axioms_line(in_file=False)
    result = decide([LeanMessage("info", line, 0, None, None, "'foo' depends on axioms: [propext]")], in_file=False)
    assert result.accepted and result.messages == []


def test_result_to_dict_is_json_ready():
    result = decide([axioms_msg(), LeanMessage("warning", ASSEMBLED.header_line_count + 2, 0, None, None, "w")])
    data = json.loads(json.dumps(result.to_dict()))
    assert data["accepted"] is True and data["reason"] and data["axioms"] == ["propext"]
    assert data["messages"][0]["part"] == "proof" and data["messages"][0]["line"] == 1
    assert set(data) >= {"accepted", "reason", "messages", "axioms", "duration_ms", "status", "sandbox"}


# ---------------------------------------------------------------- the audit's verdict


MARKER = "0123456789abcdef0123456789abcdef"


def info(text, line=9):
    return LeanMessage("info", line, 0, None, None, text)


def test_verdict_is_read_only_from_the_marked_message():
    assert read_verdict([info(f"{MARKER} axioms: [propext, Classical.choice]")], MARKER) == \
        AuditVerdict("accepted", "", ["propext", "Classical.choice"])
    assert read_verdict([info(f"{MARKER} axioms: []")], MARKER).axioms == []
    refused = read_verdict([info(f"{MARKER} refused: the theorem's statement is not the problem's")], MARKER)
    assert refused.status == "refused" and "statement" in refused.reason


@pytest.mark.parametrize(
    "messages",
    [
        [],  # no verdict at all
        [info("ffffffffffffffffffffffffffffffff axioms: [propext]")],  # another check's marker
        [info("'foo' depends on axioms: [propext]")],  # the first run's kind of answer
        [info(f"{MARKER} axioms: [propext]"), info(f"{MARKER} axioms: [propext]")],  # two verdicts
        [LeanMessage("warning", 9, 0, None, None, f"{MARKER} axioms: [propext]")],  # not an info message
        [info(f"{MARKER} something else")],
    ],
)
def test_anything_but_one_marked_verdict_is_not_accepted(messages):
    verdict = read_verdict(messages, MARKER)
    assert verdict.status == "error"


def test_an_error_beside_the_verdict_is_the_kernel_rejecting():
    verdict = read_verdict([LeanMessage("error", 9, 0, None, None, "(kernel) declaration type mismatch"),
                            info(f"{MARKER} axioms: [propext]")], MARKER)
    assert verdict.status == "refused" and "kernel" in verdict.reason


@pytest.mark.parametrize(
    "statement, expected",
    [
        ("theorem foo (n : Nat) : n + 0 = n", "axiom classroom_audit_X (n : Nat) : n + 0 = n"),
        ("theorem foo (n : Nat) : n + 0 = n := by", "axiom classroom_audit_X (n : Nat) : n + 0 = n"),
        ("/-- doc -/\ntheorem foo\n    (a b : Nat) :\n    a + b = b + a :=", "/-- doc -/\naxiom classroom_audit_X\n    (a b : Nat) :\n    a + b = b + a"),
        ("lemma «my fact» : True", "axiom classroom_audit_X : True"),
    ],
)
def test_the_statement_is_redeclared_as_an_axiom(statement, expected):
    name = theorem_name(statement)
    assert statement_as_axiom(statement, name, "classroom_audit_X") == expected


def test_audit_file_holds_the_header_our_import_the_axiom_and_the_marker():
    text = audit_file("import Mathlib\nopen Nat", "theorem foo : True", "foo", "/tmp/x/Check.olean", MARKER)
    assert text.startswith("import Lean\nimport Mathlib\nopen Nat\n")
    assert f"axiom classroom_audit_{MARKER} : True" in text
    assert f'let marker := "{MARKER}"' in text and 'System.FilePath.mk "/tmp/x/Check.olean"' in text
    assert "stmtName.getPrefix ++ `foo" in text and "addDecl" in text and "collectAxioms" in text
    assert "trustCompiler" in text and "ofReduceBool" in text
