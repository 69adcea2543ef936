from datetime import timedelta
from urllib.parse import quote

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import db, form_errors
from ..links import invitation_link
from ..models import Assignment, Course, FlawedSolution
from ..services import assignments as assignment_service
from ..services import conversations, lti_sync
from ..services import (
    agreement, analytics, answer_checks, audit, authoring, courses, gradebook, invitations, pilot, problems,
    reviews, submissions,
)
from ..services.assignments import AssignmentDraft
from ..services.errors import ServiceError
from ..services.problems import ProblemDraft
from ..services.reviews import RUBRIC_LEVELS
from ..services.scoring import grading_state, score_submission
from . import bp
from .forms import AssignmentForm, CourseForm, PlainForm, ProblemForm, RosterForm, ScoreForm
from .helpers import apply_split, offer_format, course_page, flash_error, problem_page, uploaded_bytes


@bp.before_request
@login_required
def instructors_only():
    if not current_user.is_instructor:
        abort(403)


def _tz() -> str:
    return current_app.config["CLASSROOM_TIMEZONE"]


@bp.route("/")
def dashboard():
    s = db.session()
    mine = courses.courses_of(s, current_user, role="instructor")
    queue_sizes = {c.id: len(reviews.review_queue(s, c)) for c in mine}
    return render_template("teacher/dashboard.html", courses=mine, queue_sizes=queue_sizes, form=CourseForm(),
                           invites=invitations.pending_for(s, current_user), invite_form=PlainForm())


@bp.route("/courses", methods=["POST"])
def create_course():
    form = CourseForm()
    s = db.session()
    typed = dict(title=form.title.data, code=form.code.data)
    course = form_errors.submit(form, lambda: courses.create_course(s, current_user, **typed),
                                lambda: courses.validate_new_course(s, **typed))
    if course is not None:
        flash(f"Course created. Students join with the code {course.code}.", "success")
        return redirect(url_for("teacher.course", code=course.code))
    mine = courses.courses_of(s, current_user, role="instructor")
    return render_template("teacher/dashboard.html", courses=mine, queue_sizes={}, form=form,
                           invites=invitations.pending_for(s, current_user), invite_form=PlainForm()), 400


@bp.route("/courses/<code>")
def course(code):
    s = db.session()
    return course_page(s, courses.course_for_instructor(s, current_user, code))


@bp.route("/courses/<code>/roster", methods=["POST"])
def import_roster(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = RosterForm()
    raw = uploaded_bytes(form, "roster", "Choose a CSV file to upload.")
    if raw is None:
        return course_page(s, c, roster_form=form, status=400)
    try:
        result = courses.import_roster(
            s, current_user, c, raw, invitation_lifetime=timedelta(days=current_app.config["INVITATION_DAYS"]))
    except ServiceError as exc:  # the course page again, each bad row listed beside the file input
        form_errors.attach_to(form, "roster", exc)
        return course_page(s, c, roster_form=form, status=400)
    # The links exist only now (their hashes are stored): shown once, as a CSV to download, and e-mailed by
    # a background job when SMTP is set up. Every invited row looks alike, new address or not.
    if current_app.config["MAIL"] is not None:
        invitations.queue_mails([(r.invitation_id, r.token, invitation_link(r.token)) for r in result.invited])
    csv_text = invitations.roster_csv(result.rows, invitation_link)
    return render_template("teacher/roster_result.html", course=c, result=result,
                           mail=_mail_status(s, c), plain_form=PlainForm(),
                           csv_href="data:text/csv;charset=utf-8," + quote(csv_text))


def _mail_status(s, c: Course):
    """How the course's open invitations' e-mails stand, or None without SMTP."""
    if current_app.config["MAIL"] is None:
        return None
    return invitations.mail_summary(invitations.open_rows(s, c))


@bp.route("/courses/<code>/invitations/resend", methods=["POST"])
def resend_invitations(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    if current_app.config["MAIL"] is None:
        flash("This server cannot send e-mail (SMTP_HOST is not set): hand out the links from the CSV.", "error")
        return redirect(url_for("teacher.course", code=c.code))
    items = invitations.renew_failed(s, current_user, c, timedelta(days=current_app.config["INVITATION_DAYS"]))
    invitations.queue_mails([(i, token, invitation_link(token)) for i, token in items])
    flash(f"{len(items)} invitations are being sent again, each with a fresh link (the old links of those "
          "students no longer work)." if items else "No invitation is waiting to be sent again.", "info")
    return redirect(url_for("teacher.course", code=c.code) + "#invited")


def _problem_draft(form: ProblemForm) -> ProblemDraft:
    steps = [e.data or "" for e in form.steps.entries]
    # The spare empty boxes after the last step are not steps; inside a program a blank line is one.
    while steps and not steps[-1].strip():
        steps.pop()
    return ProblemDraft(
        title=form.title.data, statement=form.statement.data, reference_solution=form.reference_solution.data,
        reference_answer=form.reference_answer.data, steps=steps,
        flawed_final_answer=form.flawed_final_answer.data, first_wrong_step=form.first_wrong_step.data,
        reason=form.reason.data, error_kind=form.error_kind.data, lean_header=form.lean_header.data,
        lean_statement=form.lean_statement.data, solution_format=form.solution_format.data,
        correct=bool(form.correct.data), answer_mode=form.answer_mode.data,
        answer_tolerance=form.answer_tolerance.data, answer_tests=form.answer_tests.data or "",
        grader_notes=form.grader_notes.data or "",
    )


def _flash_answer_tests(p) -> None:
    """Saving runs the answer tests: every one that fails is named."""
    if p.answer_tests_failed:
        for result in answer_checks.failing_tests(p):
            flash(result.sentence(), "error")


@bp.route("/courses/<code>/problems/new", methods=["GET", "POST"])
def new_problem(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = ProblemForm()
    if request.method == "POST" and apply_split(form):
        return render_template("teacher/problem_form.html", form=form, course=c, problem=None)
    if request.method == "POST":
        p = form_errors.submit(form, lambda: problems.create_problem(s, current_user, c, _problem_draft(form)),
                               lambda: problems.validate_draft(_problem_draft(form)))
        if p is not None:
            flash("Problem saved.", "success")
            _flash_answer_tests(p)
            return redirect(url_for("teacher.problem", problem_id=p.id))
    status = 400 if request.method == "POST" else 200
    return render_template("teacher/problem_form.html", form=form, course=c, problem=None), status


@bp.route("/problems/<int:problem_id>")
def problem(problem_id):
    s = db.session()
    return problem_page(s, problems.problem_for_instructor(s, current_user, problem_id))


@bp.route("/problems/<int:problem_id>/edit", methods=["GET", "POST"])
def edit_problem(problem_id):
    s = db.session()
    p = problems.problem_for_instructor(s, current_user, problem_id)
    c = s.get(Course, p.course_id)
    solution, key = problems.approved_solution_with_key(s, p.id)  # None while only drafts exist
    if solution is None:  # an imported key waiting for its reason is what the form completes
        solution, key = problems.imported_draft_with_key(s, p.id)
    if request.method == "GET":
        form = ProblemForm(obj=p)
        offer_format(form, solution.solution_format if solution else None)
        form.answer_tests.data = answer_checks.answer_tests_text(p.answer_tests)
        form.answer_tolerance.data = p.answer_tolerance or ""
        form.steps.entries = []
        form.steps.last_index = -1  # so the boxes are steps-0, steps-1, ... again
        for step in (solution.steps if solution else ["", "", ""]) + [""]:
            form.steps.append_entry(step)
        if solution is not None:
            form.flawed_final_answer.data = solution.final_answer
            form.solution_format.data = solution.solution_format
            form.correct.data = key.first_wrong_step is None
            form.first_wrong_step.data = key.first_wrong_step
            form.reason.data = key.reason
            form.error_kind.data = key.error_kind
    else:
        form = ProblemForm()
        offer_format(form, solution.solution_format if solution else None)
        if apply_split(form):
            return render_template("teacher/problem_form.html", form=form, course=c, problem=p)
        checked_before = (p.reference_answer, p.answer_mode, p.answer_tolerance)
        if form_errors.submit(form, lambda: problems.update_problem(s, current_user, p, _problem_draft(form)),
                              lambda: problems.validate_draft(_problem_draft(form))) is not None:
            flash("Problem updated.", "success")
            if checked_before != (p.reference_answer, p.answer_mode, p.answer_tolerance):
                flash("The answers already sent to this problem are checked again against the new reference "
                      "answer or mode; every score that changes is listed in the course's audit log.", "info")
            _flash_answer_tests(p)
            return redirect(url_for("teacher.problem", problem_id=p.id))
    status = 400 if request.method == "POST" else 200
    return render_template("teacher/problem_form.html", form=form, course=c, problem=p), status


def _assignment_form(s, course: Course, obj: Assignment | None = None) -> AssignmentForm:
    form = AssignmentForm(obj=obj) if obj is not None and request.method == "GET" else AssignmentForm()
    probs = problems.problems_of(s, course.id)
    ready = authoring.ready_problem_ids(s, [p.id for p in probs])
    correct = set(assignment_service.correct_problem_ids(s, course))
    form.problem_ids.choices = [(p.id, p.title if p.id in ready else f"{p.title} (draft only: approve it first)")
                                for p in probs]
    # The teacher sees which solutions are correct (students never do).
    form.problem_ids.choices = [(pid, f"{label} (correct solution)" if pid in correct else label)
                                for pid, label in form.problem_ids.choices]
    form.teach_ids.choices = [(p.id, p.title) for p in probs]
    return form


def _assignment_draft(form: AssignmentForm) -> AssignmentDraft:
    draft = AssignmentDraft(
        title=form.title.data, instructions=form.instructions.data, opens_at=form.opens_at.data,
        due_at=form.due_at.data, problem_ids=_chosen(form), allow_late=form.allow_late.data,
        late_penalty_percent=form.late_penalty_percent.data or 0, points=form.points.data,
        weight_location=form.weight_location.data, weight_explanation=form.weight_explanation.data,
        weight_correction=form.weight_correction.data, weight_lean=form.weight_lean.data or 0,
        correct_solutions=form.correct_solutions.data or 0, confidence_percent=form.confidence_percent.data,
        hold_for_pilot=bool(form.hold_for_pilot.data),
        weight_revision=_or(form.weight_revision.data, 50), weight_teaching=_or(form.weight_teaching.data, 50),
        weight_efficiency=form.weight_efficiency.data or 0,
        problem_modes=_problem_modes(form), teach_unavailable=conversations.teach_unavailable_reason(current_app.config),
    )
    if draft.teach_unavailable:  # the form has no teach section then: problems keep the modes they have
        draft.problem_modes = None
    return draft


def _chosen(form: AssignmentForm) -> list:
    """The chosen problems: ticking one under "Teach the model" chooses it too."""
    chosen = list(form.problem_ids.data or [])
    return chosen + [pid for pid in form.teach_ids.data or [] if pid not in chosen]


def _or(value, default):
    return default if value is None else value


def _problem_modes(form: AssignmentForm) -> dict:
    """Every chosen problem's mode: ticked under "Teach the model", a conversation; else a critique."""
    teach = set(form.teach_ids.data or [])
    spec = {"turn_limit": form.turn_limit.data or 8, "attempts_allowed": form.attempts_allowed.data or 1}
    return {pid: {"mode": "teach" if pid in teach else "critique", **spec} for pid in _chosen(form)}


@bp.route("/courses/<code>/assignments/new", methods=["GET", "POST"])
def new_assignment(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    form = _assignment_form(s, c)
    if request.method == "POST":
        a = form_errors.submit(
            form, lambda: assignment_service.create_assignment(s, current_user, c, _assignment_draft(form), tz=_tz()),
            lambda: assignment_service.validate_assignment(s, c, _assignment_draft(form), tz=_tz()))
        if a is not None:
            flash("Assignment created.", "success")
            return redirect(url_for("teacher.assignment", assignment_id=a.id))
    status = 400 if request.method == "POST" else 200
    return render_template("teacher/assignment_form.html", form=form, course=c, assignment=None,
                           teach_unavailable=conversations.teach_unavailable_reason(current_app.config)), status


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
def edit_assignment(assignment_id):
    s = db.session()
    a, c = _assignment(s, assignment_id)
    form = _assignment_form(s, c, a)
    if request.method == "GET":
        from ..templating import input_time
        form.opens_at.data = input_time(a.opens_at)
        form.due_at.data = input_time(a.due_at)
        form.problem_ids.data = [p.id for p in assignment_service.problems_in(s, a.id)]
        links = [ap for ap in conversations.modes_of(s, a.id).values() if ap.mode == "teach"]
        form.teach_ids.data = [ap.problem_id for ap in links]
        if links:
            form.turn_limit.data, form.attempts_allowed.data = links[0].turn_limit, links[0].attempts_allowed
        if a.confidence_threshold is not None:
            form.confidence_percent.data = round(a.confidence_threshold * 100)
    elif form_errors.submit(
            form, lambda: assignment_service.update_assignment(s, current_user, a, _assignment_draft(form), tz=_tz()),
            lambda: assignment_service.validate_assignment(s, c, _assignment_draft(form), tz=_tz())) is not None:
        flash("Assignment updated.", "success")
        return redirect(url_for("teacher.assignment", assignment_id=a.id))
    status = 400 if request.method == "POST" else 200
    return render_template("teacher/assignment_form.html", form=form, course=c, assignment=a,
                           teach_unavailable=conversations.teach_unavailable_reason(current_app.config)), status


def _assignment(s, assignment_id: int) -> tuple[Assignment, Course]:
    a, c, teaches = assignment_service.assignment_for(s, current_user, assignment_id)
    if not teaches:
        abort(403)
    return a, c


@bp.route("/assignments/<int:assignment_id>")
def assignment(assignment_id):
    s = db.session()
    a, c = _assignment(s, assignment_id)
    probs = assignment_service.problems_in(s, a.id)
    students = courses.students_of(s, c.id)
    cells = gradebook.assignment_cells(s, a)
    # Item analysis is about marked steps: teach-mode conversations have none.
    teach_ids = {pid for pid, link in conversations.modes_of(s, a.id).items() if link.mode == "teach"}
    # Built from the cells already loaded: one more query (the keys' error kinds), and only when pairs exist.
    trust = agreement.build(s, a, probs, [cell.submission for cell in cells.values()],
                            {cell.submission.id: list(cell.grades.values()) for cell in cells.values()})
    progress = reviews.job_progress(s, a.id)
    return render_template(
        "teacher/assignment.html", assignment=a, course=c, problems=probs, students=students, cells=cells,
        agreement=trust, students_by_id={st.id: st for st in students},
        reopened=gradebook.reopened_after_release(s, a, cells), progress=progress,
        progress_line=reviews.progress_text(progress), pilot=pilot.progress(s, a.id), model_configured=bool(current_app.config.get("GRADER_MODEL")),
        failed=reviews.failed_jobs(s, a.id), status=assignment_service.status(a), form=PlainForm(),
        items=analytics.item_analysis(s, [p for p in probs if p.id not in teach_ids],
                                      [cell.submission for cell in cells.values()
                                       if cell.submission.problem_id not in teach_ids]),
        teach=conversations.assignment_overview(s, a, current_app.config),
        lms_scores=lti_sync.score_overview(s, a),
    )


@bp.route("/assignments/<int:assignment_id>/progress.json")
def assignment_progress(assignment_id):
    s = db.session()
    a, _c = _assignment(s, assignment_id)
    progress = reviews.job_progress(s, a.id)
    return jsonify({**progress, "text": reviews.progress_text(progress), **pilot.progress(s, a.id).as_json()})


@bp.route("/assignments/<int:assignment_id>/pilot", methods=["POST"])
def grade_sample(assignment_id):
    """"Grade a sample with the model": a random N of the held submissions, then it stops."""
    s = db.session()
    a, _c = _assignment(s, assignment_id)
    try:
        chosen = pilot.grade_sample(s, current_user, a, request.form.get("count"))
        flash(f"The grader model is grading {len(chosen)} randomly chosen submission"
              f"{'s' if len(chosen) != 1 else ''}; the others wait. Check its grades below (override any it "
              "got wrong, with a comment: later gradings learn from it), then grade the rest.", "success")
    except ServiceError as exc:
        flash(exc.message, "error")
    return redirect(url_for("teacher.assignment", assignment_id=a.id) + "#pilot")


@bp.route("/assignments/<int:assignment_id>/grade-rest", methods=["POST"])
def grade_rest(assignment_id):
    s = db.session()
    a, _c = _assignment(s, assignment_id)
    queued = pilot.grade_rest(s, current_user, a)
    if queued:
        flash(f"Grading the other {queued} submission{'s' if queued != 1 else ''}; new ones are graded as "
              "they come.", "success")
    else:
        flash("Nothing was held; new submissions are graded as they come.", "success")
    return redirect(url_for("teacher.assignment", assignment_id=a.id) + "#pilot")


@bp.route("/assignments/<int:assignment_id>/release", methods=["POST"])
def release(assignment_id):
    s = db.session()
    a, c = _assignment(s, assignment_id)
    release_now = request.form.get("action", "release") == "release"
    try:
        assignment_service.release_grades(s, current_user, a, release=release_now,
                                          confirmed=request.form.get("confirm") == "yes")
    except assignment_service.ReleaseNeedsConfirmation as exc:
        # Students may still answer: say what releasing gives away, and ask again.
        return render_template("teacher/release_confirm.html", assignment=a, course=c, warning=exc.message,
                               form=PlainForm())
    flash("Grades released: students can now see their scores and feedback." if release_now
          else "Grades hidden from students again.", "success")
    return redirect(url_for("teacher.assignment", assignment_id=a.id))


@bp.route("/submissions/<int:submission_id>")
def submission(submission_id, refused: tuple[int, ScoreForm] | None = None):
    """`refused`: (grade id, its score form) when a score was refused: shown again with what is wrong."""
    s = db.session()
    sub, a, teaches = submissions.submission_for(s, current_user, submission_id)
    if not teaches:
        abort(404)
    problem = submissions.problem_of(s, sub)
    solution = s.get(FlawedSolution, sub.flawed_solution_id)
    key = problems.key_for(s, solution.id)
    grades = submissions.grades_of(s, sub.id)
    score = score_submission(a, len(assignment_service.problems_in(s, a.id)), sub, grades)
    job = submissions.job_of(s, sub.id)
    return render_template(
        "teacher/submission.html", submission=sub, assignment=a, problem=problem, solution=solution, key=key,
        grades=grades, score=score, student=courses.listed_student(s, a.course_id, sub.student_id), job=job,
        state=grading_state(job.state if job else None, score),
        versions=submissions.versions(s, a.id, problem.id, sub.student_id), levels=RUBRIC_LEVELS,
        form=ScoreForm(), plain_form=PlainForm(), refused=refused or (None, None),
        conversation=conversations.transcript_of_submission(s, current_user, sub.id),
        display_text=conversations.display_text,
    )


@bp.route("/grades/<int:grade_id>/score", methods=["POST"])
def score_grade(grade_id):
    s = db.session()
    form = ScoreForm()
    grade, sub, _a = reviews.grade_for_instructor(s, current_user, grade_id)
    back = request.form.get("back") or url_for("teacher.submission", submission_id=sub.id)
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("teacher.submission", submission_id=sub.id)
    if form_errors.submit(form, lambda: reviews.set_score(s, current_user, grade_id, form.score.data,
                                                          form.comment.data)) is not None:
        flash("Score saved. The machine's score is kept beside yours.", "success")
        return redirect(back)
    if request.form.get("back"):  # from the review queue's one-click buttons: nothing typed to keep
        for _target, message in form_errors.error_items(form):
            flash(message, "error")
        return redirect(back)
    # From the submission page: the page again, the score and comment as typed, what is wrong beside them.
    return submission(sub.id, refused=(grade.id, form)), 400


@bp.route("/grades/<int:grade_id>/clear", methods=["POST"])
def clear_grade(grade_id):
    s = db.session()
    grade = reviews.clear_override(s, current_user, grade_id)
    flash("Your score was removed; " + ("the machine's score counts again." if grade.score is not None
                                         else "the component waits for review again."), "success")
    return redirect(url_for("teacher.submission", submission_id=grade.submission_id))


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
def retry_job(job_id):
    s = db.session()
    try:
        job = reviews.retry(s, current_user, job_id)
    except ServiceError as exc:
        if exc.status != 400:
            raise
        flash_error(exc)
        job = reviews.job_for_instructor(s, current_user, job_id)
    else:
        flash("Grading queued again.", "success")
    return redirect(url_for("teacher.assignment", assignment_id=job.assignment_id))


@bp.route("/courses/<code>/gradebook")
def gradebook_page(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    number = request.args.get("page", 1, type=int) or 1
    book = gradebook.page(s, current_user, c, number, request.args.get("q", ""))
    return render_template("teacher/gradebook.html", course=c, book=book, assignments=book.assignments,
                           rows=book.rows, assignment_ids=[a.id for a in book.assignments],
                           page_size=gradebook.GRADEBOOK_PAGE_SIZE)


@bp.route("/courses/<code>/gradebook.csv")
def gradebook_csv(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    fmt = request.args.get("format", "plain")
    try:
        body = gradebook.export_csv(s, current_user, c, fmt)
    except ServiceError as exc:
        flash_error(exc)
        return redirect(url_for("teacher.gradebook_page", code=c.code))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{c.code}-gradebook-{fmt}.csv"'})


@bp.route("/courses/<code>/audit")
def audit_log(code):
    s = db.session()
    c = courses.course_for_instructor(s, current_user, code)
    return render_template("teacher/audit.html", course=c, events=audit.describe(s, audit.entries(s, c.id)))
