from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import db, form_errors
from ..content import NO_STEP
from ..extensions import limiter
from ..models import MODE_TEACH, Course, FlawedSolution
from ..services import assignments as assignment_service
from ..charts import pages as chart_pages
from ..services import (
    answer_checks, authoring, conversations, courses, gradebook, invitations, problems, progress, submissions,
)
from ..services.scoring import grading_state, score_submission, student_job_state
from ..services.submissions import CritiqueDraft
from . import bp
from ..forms import CritiqueForm, critique_form
from .forms import JoinForm, PlainForm


@bp.before_request
@login_required
def students_only():
    if current_user.is_instructor:
        abort(403)


@bp.route("/")
def dashboard(form: JoinForm | None = None):
    s = db.session()
    mine = courses.courses_of(s, current_user, role="student")
    open_work = []
    for c in mine:
        for a in assignment_service.assignments_of(s, c.id, only_open_to_students=True):
            open_work.append((c, a, assignment_service.status(a)))
    mine_progress = progress.own_progress(s, current_user)
    charts = [(item, chart_pages.own_progress_chart(item, f"progress-{item.course.id}")) for item in mine_progress]
    return render_template("student/dashboard.html", courses=mine, open_work=open_work, form=form or JoinForm(),
                           progress_charts=charts, invites=invitations.pending_for(s, current_user),
                           invite_form=PlainForm())


@bp.route("/progress.csv")
def progress_csv():
    """The numbers of the student's own progress charts: released scores only."""
    body = progress.own_csv(progress.own_progress(db.session(), current_user))
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="my-progress.csv"'})


def _join_key() -> str:
    return f"user:{current_user.get_id()}"


def _join_failed(response) -> bool:
    # Only codes that found no course count, as with logins: a class joining together is no attack.
    return response.status_code != 302


# Course codes are guessed one try at a time, so tries are limited per account and per address,
# the same way (and in the same store) as logins.
@bp.route("/join", methods=["POST"])
@limiter.limit("10 per minute;30 per hour", key_func=_join_key, deduct_when=_join_failed,
               error_message="Too many course codes tried from this account. Wait a while, then check the code "
                             "with your instructor.")
@limiter.limit("30 per minute;200 per hour", deduct_when=_join_failed,
               error_message="Too many course codes tried from your network. Wait a while and try again.")
def join():
    form = JoinForm()
    s = db.session()
    c = form_errors.submit(form, lambda: courses.join_course(s, current_user, form.code.data))
    if c is None:  # the dashboard again, with the code as typed and what is wrong with it
        return dashboard(form), 400
    flash(f"You joined {c.title}.", "success")
    return redirect(url_for("student.course", code=c.code))


@bp.route("/courses/<code>")
def course(code):
    s = db.session()
    c = courses.course_for_member(s, current_user, code)
    items = [(a, assignment_service.status(a), done, total)
             for a, total, done in assignment_service.overview_for_student(s, c.id, current_user.id)]
    return render_template("student/course.html", course=c, items=items)


@bp.route("/assignments/<int:assignment_id>")
def assignment(assignment_id):
    s = db.session()
    a, c, _teaches = assignment_service.assignment_for(s, current_user, assignment_id)
    probs = assignment_service.problems_in(s, a.id)
    cells = {pid: cell for (_sid, pid), cell in gradebook.assignment_cells(s, a, current_user.id, for_student=True).items()}
    # A problem whose flawed solution is still a draft is listed, but cannot be opened yet.
    ready = authoring.ready_problem_ids(s, [p.id for p in probs])
    held = assignment_service.still_asked_elsewhere(s, a) if a.released_at else {}
    return render_template("student/assignment.html", assignment=a, course=c, problems=probs, cells=cells,
                           status=assignment_service.status(a), ready=ready, held=held)


@bp.route("/assignments/<int:assignment_id>/problems/<int:problem_id>", methods=["GET", "POST"])
def problem(assignment_id, problem_id):
    s = db.session()
    status_code = 200
    form = CritiqueForm()
    if request.method == "POST":
        # Saving first: submit() checks access, deadline and input itself, so an accepted answer costs
        # only its own queries; the page is built only to show a refusal beside the fields.
        draft = CritiqueDraft(error_step=form.error_step.data, explanation=form.explanation.data,
                              correction=form.correction.data, final_answer=form.final_answer.data,
                              lean_proof=form.lean_proof.data)
        saved = form_errors.submit(form, lambda: submissions.submit(s, current_user, assignment_id, problem_id,
                                                                     draft))
        if saved is not None:
            sub, _job = saved  # submit() queued the grading job
            msg = f"Version {sub.version} submitted"
            msg += " (late: the late penalty applies)." if sub.is_late else "."
            flash(msg + " It is being graded now.", "success")
            return redirect(url_for("student.submission", submission_id=sub.id))
        # A closed deadline keeps its 403; every other refusal is the form's 400.
        refusal = form_errors.refusal_of(form)
        status_code = 403 if refusal is not None and refusal.status == 403 else 400
    a, c, _teaches = assignment_service.assignment_for(s, current_user, assignment_id)
    p = assignment_service.problem_in_assignment(s, a, problem_id)
    view = problems.student_view(s, p)
    link = conversations.link_of(s, a.id, p.id)
    if link is not None and link.mode == MODE_TEACH:  # a conversation with the model, not a critique form
        attempts = conversations.conversations_of(s, a.id, p.id, current_user.id)
        return render_template("student/teach_problem.html", assignment=a, course=c, problem=p, view=view,
                               link=link, attempts=attempts, status=assignment_service.status(a),
                               unavailable=conversations.teach_unavailable_reason(current_app.config),
                               state_words=conversations.STATE_WORDS, refusal=form_errors.refusal_of(form)
                               ), status_code
    history = submissions.versions(s, a.id, p.id, current_user.id)
    critique_form(view, form)
    if request.method == "GET" and history:
        last = history[0]  # start from the latest version, so resubmitting is an edit
        form.error_step.data = NO_STEP if last.error_step is None else str(last.error_step)
        form.explanation.data = last.explanation
        form.correction.data = last.correction
        form.final_answer.data = last.final_answer
        form.lean_proof.data = last.lean_proof
    # After release a new version replaces the released score: say so before the student sends one.
    released = gradebook.counting_score(s, a, history[0]) if a.released_at and history else None
    if released is not None and p.id in assignment_service.still_asked_elsewhere(s, a):
        released = None  # its score waits while another assignment still asks this problem
    return render_template("student/problem.html", assignment=a, course=c, problem=p, view=view, form=form,
                           history=history, status=assignment_service.status(a), released=released), status_code


@bp.route("/assignments/<int:assignment_id>/problems/<int:problem_id>/read-answer")
def read_answer(assignment_id, problem_id):
    """How the final answer typed so far is read (the critique page asks as the student types)."""
    return answer_checks.read_in_assignment(db.session(), current_user, assignment_id, problem_id,
                                            request.args.get("answer", ""))


@bp.route("/submissions/<int:submission_id>")
def submission(submission_id):
    s = db.session()
    sub, a, _teaches = submissions.submission_for(s, current_user, submission_id)
    p = submissions.problem_of(s, sub)
    view = problems.student_view(s, p)
    job = submissions.job_of(s, sub.id)
    grades = submissions.grades_of(s, sub.id)
    score = score_submission(a, len(assignment_service.problems_in(s, a.id)), sub, grades)
    state = grading_state(job.state if job else None, score, for_student=True)  # shown at once; scores wait
    answered = s.get(FlawedSolution, sub.flawed_solution_id)  # the version the student answered
    lean = lean_check_of(grades)
    # Released feedback shows the key's step; while another assignment still asks this problem it waits.
    held = assignment_service.still_asked_elsewhere(s, a).get(p.id) if a.released_at else None
    shown = a.released_at is not None and held is None
    return render_template("student/submission.html", submission=sub, assignment=a, problem=p, job=job,
                           grades=grades if shown else [], score=score if shown else None, held=held,
                           state=state, course=s.get(Course, a.course_id), steps=answered.steps,
                           solution_format=answered.solution_format, view=view, lean=lean,
                           conversation=conversations.transcript_of_submission(s, current_user, sub.id),
                           display_text=conversations.display_text)


def lean_check_of(grades) -> dict | None:
    """Lean's verdict and messages, shown at once like a compiler's output (scores wait for release)."""
    import json

    for g in grades:
        if g.component == "lean":
            details = {}
            if g.raw_reply:
                try:
                    details = json.loads(g.raw_reply)
                except ValueError:
                    details = {}
            return {"reason": g.feedback, "accepted": details.get("accepted"),
                    "messages": details.get("messages", [])}
    return None


@bp.route("/submissions/<int:submission_id>/state.json")
def submission_state(submission_id):
    s = db.session()
    sub, a, _teaches = submissions.submission_for(s, current_user, submission_id)
    job = submissions.job_of(s, sub.id)
    return jsonify(state=student_job_state(job.state if job else None), released=a.released_at is not None)
