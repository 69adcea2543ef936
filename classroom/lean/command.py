"""`flask --app app lean-check`: run one Lean check from files, through the same code path as grading.

Exit status: 0 accepted; 1 refused (including timed out and out of memory);
2 not checked (missing or unreadable file, a statement without a theorem name,
Lean not available or failing to start).
"""
from __future__ import annotations

import json

import click

from .assemble import LeanInputError, theorem_name
from .checker import LeanResult, get_checker, lean_status
from .settings import LeanSettings

EXIT_ACCEPTED, EXIT_REFUSED, EXIT_NOT_CHECKED = 0, 1, 2


def _settings() -> LeanSettings:
    """The app's Lean settings (classroom/config.py read them at start-up)."""
    from flask import current_app, has_app_context
    from flask.cli import ScriptInfo

    if has_app_context():
        return current_app.config["LEAN"]
    ctx = click.get_current_context()
    info = ctx.find_object(ScriptInfo)
    if info is None:
        raise click.UsageError("lean-check runs through the app: flask --app app lean-check ...")
    return info.load_app().config["LEAN"]


def _read(path: str | None, what: str) -> str:
    if path is None:
        return ""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read the {what} file {path}: {exc}") from exc


def _emit(result: LeanResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    click.echo(result.reason)
    for message in result.messages:
        click.echo(message.format())
    if result.axioms:
        click.echo("Axioms: " + ", ".join(result.axioms))
    click.echo(f"({result.status}, {result.duration_ms} ms, {result.backend or 'no'} backend)")


@click.command("lean-check")
@click.option("--header-file", type=click.Path(dir_okay=False), default=None, help="Lean header: imports and `open`s.")
@click.option("--statement-file", type=click.Path(dir_okay=False), required=True, help="`theorem name ... : type`.")
@click.option("--proof-file", type=click.Path(dir_okay=False), required=True, help="The proof, as a student writes it.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def lean_check_command(header_file: str | None, statement_file: str, proof_file: str, as_json: bool) -> None:
    """Check one Lean proof with the configured backend and limits."""
    ctx = click.get_current_context()

    def not_checked(reason: str) -> None:
        _emit(LeanResult(False, reason, [], [], 0, "error", ""), as_json)
        ctx.exit(EXIT_NOT_CHECKED)

    try:
        header = _read(header_file, "header")
        statement = _read(statement_file, "statement")
        proof = _read(proof_file, "proof")
    except click.ClickException as exc:
        return not_checked(f"Not checked: {exc.message}.")
    try:
        theorem_name(statement)
    except LeanInputError as exc:
        return not_checked(f"Not checked: {exc}")
    settings = _settings()
    checker = get_checker(settings)
    if checker is None:
        return not_checked(lean_status(settings)[1])
    result = checker.check(header, statement, proof)
    _emit(result, as_json)
    if result.accepted:
        ctx.exit(EXIT_ACCEPTED)
    ctx.exit(EXIT_NOT_CHECKED if result.status == "error" else EXIT_REFUSED)
