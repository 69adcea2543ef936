"""Optional Lean 4 checking of students' corrected proofs.

Plain Python (no Flask, no database). The grading job uses:

    checker = get_checker(app.config)        # None when Lean (or its sandbox) is not available
    result = checker.check(problem.lean_header, problem.lean_statement, proof)
    result.accepted, result.reason, result.messages, result.to_dict()

`lean_status(config)` gives (enabled, one line) for pages that show whether the
feature is on. The settings are a `LeanSettings` that classroom/config.py builds
at start-up (`app.config["LEAN"]`); nothing here reads the environment. The
`flask lean-check` command is in `classroom.lean.command`. See docs/lean.md for
installation, settings, the sandbox and how a verdict is reached.
"""
from .assemble import AssembledProof, LeanInputError, Refusal, assemble, find_refusal
from .checker import (
    ALLOWED_AXIOMS,
    LeanChecker,
    LeanResult,
    close_checkers,
    get_checker,
    lean_status,
)
from .messages import LeanMessage
from .settings import LeanSettings, LeanSettingsError

__all__ = [
    "ALLOWED_AXIOMS",
    "AssembledProof",
    "LeanChecker",
    "LeanInputError",
    "LeanMessage",
    "LeanResult",
    "LeanSettings",
    "LeanSettingsError",
    "Refusal",
    "assemble",
    "close_checkers",
    "find_refusal",
    "get_checker",
    "lean_status",
]
