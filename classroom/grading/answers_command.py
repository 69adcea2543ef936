"""`flask --app app check-answers FILE` and `check-answer`: the grading's final-answer check
from the command line, on the same code path (answers.check_answer) as grading.
"""
from __future__ import annotations

import json

import click

from .answers import MODES, check_answer, validate_mode


def _line_result(line: str) -> dict:
    try:
        obj = json.loads(line)
    except ValueError:
        return {"verdict": "unreadable", "read_as": "", "note": "This line is not JSON."}
    if not isinstance(obj, dict) or "reference" not in obj or "answer" not in obj:
        return {"verdict": "unreadable", "read_as": "",
                "note": 'Each line must be an object with "reference" and "answer".'}
    texts = []
    for key in ("reference", "answer"):
        value = obj[key]
        if value is not None and not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return {"verdict": "unreadable", "read_as": "", "note": f'"{key}" must be text or a number.'}
        texts.append("" if value is None else str(value))
    try:
        mode, tolerance = validate_mode(obj.get("mode"), obj.get("tolerance"))
    except (ValueError, AttributeError) as exc:
        return {"verdict": "unreadable", "read_as": "", "note": str(exc)}
    check = check_answer(texts[1], texts[0], mode, tolerance)
    return {"verdict": check.verdict, "read_as": check.read_as, "note": check.note}


@click.command("check-answers")
@click.argument("path", type=click.File("r", encoding="utf-8", errors="replace"))
def check_answers_command(path):
    """Check final answers in bulk: FILE (or - for standard input) holds JSON Lines
    {"reference": ..., "answer": ...} with optional "mode" and "tolerance"; one JSON line per
    input line is written, in order: {"verdict", "read_as", "note"}."""
    for line in path:
        if not line.strip():
            continue
        click.echo(json.dumps(_line_result(line), ensure_ascii=False))


@click.command("check-answer")
@click.option("--reference", required=True, help="The reference answer, e.g. '5/2'.")
@click.option("--answer", required=True, help="The answer to check, e.g. '2 1/2'.")
@click.option("--mode", type=click.Choice(MODES), default="auto", show_default=True)
@click.option("--tolerance", default=None, help="For --mode numeric: 0.01 (absolute) or 2%% (relative).")
def check_answer_command(reference: str, answer: str, mode: str, tolerance):
    """Check one final answer against a reference and say how it was read."""
    try:
        mode, tolerance = validate_mode(mode, tolerance)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tolerance")
    check = check_answer(answer, reference, mode, tolerance)
    click.echo(f"{check.verdict}: {check.note}")
    if check.read_as:
        click.echo(f"read as: {check.read_as}")
