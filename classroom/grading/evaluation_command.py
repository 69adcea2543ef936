"""`flask --app app evaluate-grader`: measure a grader against labelled critiques.

The app owner registers `evaluate_grader_command` on the Flask CLI; the model's settings
come from the app's configuration (classroom/config.py).
"""
from __future__ import annotations

import json
from pathlib import Path

import click
import flask

from ..config import model_settings
from .evaluation import (EvaluationAborted, EvaluationDataError, ExactBaselineGrader, format_report,
                         load_items, run_evaluation)
from .model_grading import PROMPT_VERSION, ModelGrader

MISSING_MODEL = (
    "No grader model is configured. Set GRADER_MODEL to the model's name, OPENAI_BASE_URL to your "
    "OpenAI-compatible endpoint (for example http://localhost:11434/v1; leave unset for OpenAI itself) "
    "and OPENAI_API_KEY if the endpoint needs a key. Or run with --grader exact for the step-only baseline."
)


class _Progress:
    """Reports on stderr each time another tenth of the critiques is done."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.next_tenth = 1

    def __call__(self, done: int, total: int) -> None:
        if total and done * 10 >= self.next_tenth * total:
            while self.next_tenth * total <= done * 10:
                self.next_tenth += 1
            click.echo(f"graded {done}/{total} ({100 * done // total}%)", err=True)


@click.command("evaluate-grader")
@click.option("--problems", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="problems.jsonl (MR-GSM8K layout).")
@click.option("--critiques", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="critiques.jsonl with a correct/incorrect label per critique.")
@click.option("--grader", "grader_kind", type=click.Choice(["openai", "exact"]), default="openai",
              show_default=True, help="openai: the configured model; exact: step-only baseline, no model.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Requests in flight at once.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Grade only the first K critiques.")
@click.option("--json", "as_json", is_flag=True, help="End the output with one line of JSON metrics.")
def evaluate_grader_command(problems: Path, critiques: Path, grader_kind: str, concurrency: int,
                            limit, as_json: bool) -> None:
    """Grade labelled critiques and report agreement with the labels."""
    config = flask.current_app.config if flask.has_app_context() else {}
    settings = model_settings(config) if grader_kind == "openai" else None
    if grader_kind == "openai":
        if settings is None:
            click.echo(f"Error: {MISSING_MODEL}", err=True)
            click.get_current_context().exit(2)
        grader = ModelGrader(settings)
        model, prompt_version = settings.model, PROMPT_VERSION
    else:
        grader = ExactBaselineGrader()
        model, prompt_version = "", ""

    try:
        items = load_items(problems, critiques, limit=limit)
    except EvaluationDataError as exc:
        raise click.ClickException(str(exc))
    if not items:
        raise click.ClickException(f"{critiques.name} has no critiques to grade")

    where = f"model {model} at {settings.base_url or 'the default OpenAI endpoint'}" if settings \
        else "the exact step-only baseline"
    click.echo(f"Grading {len(items)} critiques with {where}, {concurrency} at a time...", err=True)
    try:
        result = run_evaluation(items, grader, concurrency=concurrency, progress=_Progress(len(items)),
                                grader_name=grader_kind, model=model, prompt_version=prompt_version)
    except EvaluationAborted as exc:
        raise click.ClickException(str(exc))

    click.echo(format_report(result))
    if as_json:
        click.echo(json.dumps(result.metrics(), ensure_ascii=False))
    if not result.graded:
        click.get_current_context().exit(1)
