"""What the class missed: the assignment's item analysis and the course's progress, drawn, with every
chart's numbers as CSV."""
from flask import Response, render_template, request
from flask_login import current_user

from .. import db
from ..charts import pages as chart_pages
from ..services import assignments as assignment_service
from ..services import courses, item_analysis, progress
from ..services.scoring import LABELS
from . import bp


GROUPS_LISTED = 10  # explanation groups listed per problem on the page; the CSV has every one


def _csv(body: str, filename: str) -> Response:
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/assignments/<int:assignment_id>/analysis")
def item_analysis_page(assignment_id):
    s = db.session()
    a, c = assignment_service.assignment_for_instructor(s, current_user, assignment_id)
    report = item_analysis.build(s, a, groups=True)
    return render_template("teacher/item_analysis.html", assignment=a, course=c, report=report,
                           charts=chart_pages.item_figures(report), LABELS=LABELS,
                           low=item_analysis.LOW_DISCRIMINATION, groups_listed=GROUPS_LISTED)


@bp.route("/assignments/<int:assignment_id>/analysis/<chart>.csv")
def item_analysis_csv(assignment_id, chart):
    s = db.session()
    a, _c = assignment_service.assignment_for_instructor(s, current_user, assignment_id)
    item_analysis.require_chart(chart)
    report = item_analysis.build(s, a, groups=chart in item_analysis.NEEDS_GROUPS)
    return _csv(item_analysis.to_csv(report, chart), f"assignment-{a.id}-{chart}.csv")


def _threshold() -> int:
    """The highlight threshold from ?below=, a whole percentage 0-100 (anything else: the default)."""
    raw = request.args.get("below", "")
    return int(raw) if raw.isdigit() and int(raw) <= 100 else progress.DEFAULT_THRESHOLD


def _page_number() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1


@bp.route("/courses/<code>/progress")
def course_progress(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    report = progress.course_progress(s, current_user, c)
    sort = request.args.get("sort", "name")
    sort = sort if sort in progress.SORTS else "name"
    descending = request.args.get("order") == "desc"
    threshold = _threshold()
    only_below = request.args.get("only") == "below"
    shown = report.page(sort, descending, request.args.get("q", ""), _page_number(), threshold, only_below)
    # What every link on the page keeps: the order, the threshold, the search and the "only below" choice.
    keep = {"sort": sort, "order": "desc" if descending else "asc", "below": threshold,
            "q": shown.search or None, "only": "below" if only_below else None}
    return render_template("teacher/progress.html", course=c, report=report, threshold=threshold, sort=sort,
                           descending=descending, rows=shown.rows, shown=shown, keep=keep, only_below=only_below,
                           page_size=progress.PAGE_SIZE,
                           charts=chart_pages.progress_figures(report, threshold, shown.rows),
                           average_chart=chart_pages.average_histogram(report) if report.assignments else None,
                           completion_chart=chart_pages.completion_chart(report) if report.completion else None,
                           timeline_chart=chart_pages.course_timeline(report) if report.timeline else None,
                           error_chart=(chart_pages.error_kinds_chart("course-error-kinds", report.error_kinds)
                                        if report.error_kinds else None), LABELS=LABELS,
                           PART_LABELS={"location": "Step", "explanation": "Explanation", "final_answer": "Answer",
                                        "correction": "Correction"})


@bp.route("/courses/<code>/progress.csv")
def course_progress_csv(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    return _csv(progress.course_csv(progress.course_progress(s, current_user, c)), f"{c.code}-progress.csv")


@bp.route("/courses/<code>/progress/<chart>.csv")
def course_chart_csv(code, chart):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    progress.require_course_chart(chart)
    return _csv(progress.course_chart_csv(progress.course_progress(s, current_user, c), chart),
                f"{c.code}-{chart}.csv")
