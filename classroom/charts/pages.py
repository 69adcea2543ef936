"""The pictures of the analysis pages, from the analytics services' reports.

The reports are read by their attributes only (services/item_analysis.py and services/progress.py
make them); nothing here imports the services, Flask or the database, so charts stay a leaf.
"""
from __future__ import annotations

from markupsafe import Markup

from . import figures
from .figures import Bar


def _pct(value) -> str:
    return "—" if value is None else f"{round(100 * value)}%"


def step_chart(problem) -> Markup:
    """Where students pointed on one problem: a column per step, "none" apart, the key's column labelled."""
    key = "none" if problem.key_step is None else str(problem.key_step)
    bars = []
    for step, n in problem.marked_steps.items():
        is_key = step == key
        label = "None" if step == "none" else step
        kind = "key" if is_key else ("none" if step == "none" else "")
        bars.append(Bar(label, n, kind, "key" if is_key else ""))
    if problem.correct_solution:
        told = "This solution is correct: the key is \u201cno step is wrong\u201d."
    else:
        told = f"The key's first wrong step is step {problem.key_step}."
    description = (f"{problem.submissions} students answered. {told} "
                   + "; ".join(f"{'no step is wrong' if s == 'none' else 'step ' + s}: {n}"
                               for s, n in problem.marked_steps.items()) + ".")
    return figures.column_chart(f"steps-{problem.problem.id}", f"Where students pointed: {problem.problem.title}",
                                description, bars, x_label="The first wrong step, as students marked it",
                                y_label="Students", gap_before_last=True)


GROUPS_DRAWN = 6  # the biggest explanation groups drawn per problem; the table and the CSV have them all


def groups_chart(problem) -> Markup:
    """How students explained one problem: the grouped review's biggest groups, as shares of the grouped."""
    total = problem.grouped_explanations
    shown = problem.explanation_groups[:GROUPS_DRAWN]
    rows = [(g.label, g.size / total if total else None,
             f"{g.size} student{'s' if g.size != 1 else ''}"
             + (f", {_pct(g.full_credit_share)} at full credit" if g.decided else ", none decided yet"))
            for g in shown]
    rest = len(problem.explanation_groups) - len(shown)
    description = (f"{total} explanations in {len(problem.explanation_groups)} groups. "
                   + "; ".join(f"{label}: {round(100 * v)}%" for label, v, _d in rows if v is not None) + "."
                   + (f" {rest} smaller groups are not drawn." if rest > 0 else ""))
    return figures.share_bars(f"groups-{problem.problem.id}", f"How students explained it: {problem.problem.title}",
                              description, rows)


def item_figures(report) -> dict:
    """Chart name -> SVG for an assignment's analysis page."""
    out = {"steps": {p.problem.id: step_chart(p) for p in report.problems},
           "groups": {p.problem.id: groups_chart(p) for p in report.problems if p.explanation_groups}}
    bins = [(b["from"], b["to"], b["count"]) for b in report.score_histogram]
    out["histogram"] = figures.histogram(
        "histogram", "Score distribution", f"Assignment scores of the {report.answered_students} students who "
        "answered, in bins of 10%: " + ", ".join(f"{a}–{b}%: {c}" for a, b, c in bins) + ".",
        bins, x_label="Score on the assignment (%)", y_label="Students")
    if report.timeline:
        hours = [(h.hours_to_due, h.on_time, h.late, h.earlier) for h in report.timeline]
        busiest = max(report.timeline, key=lambda h: h.on_time + h.late)
        out["timeline"] = figures.timeline(
            "timeline", "Answers sent, hour by hour",
            f"{sum(h.on_time for h in report.timeline)} answers on time and {sum(h.late for h in report.timeline)} "
            f"late; the busiest hour began {abs(busiest.hours_to_due)} hours "
            f"{'before' if busiest.hours_to_due < 0 else 'after'} the deadline.", hours)
    if report.error_kinds:
        out["error_kinds"] = error_kinds_chart("error-kinds", report.error_kinds)
    return out


def error_kinds_chart(chart_id: str, kinds) -> Markup:
    rows = [(k.label, k.caught_share, f"{k.caught} of {k.answered} caught") for k in kinds]
    return figures.share_bars(
        chart_id, "Kinds of error, the most missed first",
        "Share of answers that found the key's first wrong step, by the kind of error: "
        + "; ".join(f"{label} {_pct(v)}" for label, v, _d in rows) + ".", rows)


def progress_figures(progress, threshold: float, students=None) -> dict:
    """Per student (those given, else all): a sparkline of their scores over the term and a meter per component."""
    out = {}
    for s in progress.students if students is None else students:
        sid = s.student.id
        out[sid] = {
            "spark": figures.sparkline(f"spark-{sid}", f"{s.student.name}: scores over the term",
                                       s.series(progress.assignments), threshold=threshold),
            "components": {c: figures.meter(None if s.component(c) is None else round(s.component(c), 2))
                           for c in ("location", "explanation", "final_answer", "correction")},
        }
    return out


def average_histogram(progress) -> Markup:
    bins = [(b["from"], b["to"], b["count"]) for b in progress.average_histogram()]
    return figures.histogram(
        "average-histogram", "Averages over the term",
        "Students by their average score over the term, in bins of 10%: "
        + ", ".join(f"{a}–{b}%: {c}" for a, b, c in bins) + ".",
        bins, x_label="Average score over the term (%)", y_label="Students")


COMPLETION_SERIES = (("every problem, on time", "bar"), ("every problem, some late", "bar bar-late"),
                     ("some problems", "bar bar-partly"), ("nothing", "track"))


def completion_chart(progress) -> Markup:
    """Each assignment's students by how far they got, in term order."""
    rows = [(c.assignment.title, [c.on_time, c.late, c.partly, c.nothing],
             f"{c.on_time} on time, {c.late} late, {c.partly} partly, {c.nothing} nothing") for c in progress.completion]
    return figures.stacked_shares(
        "completion", "Completion and lateness, assignment by assignment",
        "Students per assignment, in order of the deadlines: " + "; ".join(f"{label}: {d}" for label, _c, d in rows) + ".",
        rows, COMPLETION_SERIES)


def course_timeline(progress) -> Markup:
    hours = [(h.hours_to_due, h.on_time, h.late, h.earlier) for h in progress.timeline]
    busiest = max(progress.timeline, key=lambda h: h.on_time + h.late)
    return figures.timeline(
        "course-timeline", "Answers by the hour, counted from each deadline",
        f"{sum(h.on_time for h in progress.timeline)} answers on time and {sum(h.late for h in progress.timeline)} "
        f"late over {len(progress.assignments)} assignments; the busiest hour began {abs(busiest.hours_to_due)} "
        f"hours {'before' if busiest.hours_to_due < 0 else 'after'} a deadline.", hours)


def own_progress_chart(item, chart_id: str) -> Markup:
    values = item.progress.series(item.assignments)
    return figures.line_chart(
        chart_id, f"Your scores in {item.course.title}",
        "Your released scores, in order of the deadlines: "
        + ", ".join(f"{a.title} {v:g}%" for a, v in zip(item.assignments, values)) + ".",
        [(a.title, v) for a, v in zip(item.assignments, values)])
