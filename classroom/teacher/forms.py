from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField, FieldList, IntegerField, SelectField, SelectMultipleField, StringField,
    TextAreaField, widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..content import CODE_LANGUAGES, PROSE
from ..models import ERROR_KINDS
from ..services.answer_checks import MODE_LABELS
from ..services.authoring import PASTE_LIMIT
from ..services.validation import LIMITS, TOO_LONG


SOLUTION_FORMAT_CHOICES = [(PROSE, "Prose: Markdown and LaTeX, one step per box")] + [
    (name, f"{label} program: one line per step, blank lines included") for name, label in CODE_LANGUAGES.items()]


class CourseForm(FlaskForm):
    title = StringField("Course title", validators=[DataRequired(message="Give the course a title."),
                                                    Length(max=LIMITS["title"], message=TOO_LONG)])
    code = StringField("Course code (optional: leave empty for a generated one)",
                       validators=[Optional(), Length(max=LIMITS["course_code"], message=TOO_LONG)])


class RosterForm(FlaskForm):
    roster = FileField("Roster CSV (columns: email, name)")


class ProblemForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the problem a title."),
                                             Length(max=LIMITS["title"], message=TOO_LONG)])
    statement = TextAreaField("Problem statement (Markdown and LaTeX)",
                              validators=[DataRequired(message="Write the problem statement."),
                                          Length(max=LIMITS["statement"], message=TOO_LONG)])
    reference_solution = TextAreaField("Reference solution", validators=[Length(max=LIMITS["reference_solution"], message=TOO_LONG)])
    reference_answer = StringField("Reference final answer (checked exactly)",
                                   validators=[Length(max=LIMITS["final_answer"], message=TOO_LONG)])
    answer_mode = SelectField("How final answers are compared", choices=list(MODE_LABELS.items()), default="auto")
    answer_tolerance = StringField("Tolerance (numeric mode only)", validators=[Length(max=40, message=TOO_LONG)])
    answer_tests = TextAreaField("Answer tests (optional)", validators=[Length(max=8000, message=TOO_LONG)])
    steps = FieldList(TextAreaField("Step", validators=[Length(max=LIMITS["step"], message=TOO_LONG)]), min_entries=4,
                      max_entries=LIMITS["steps"])
    # Not saved: the "Split into steps" button turns it into the step boxes (services/authoring.split_steps).
    paste = TextAreaField("Paste a whole answer (one step per paragraph or numbered line)",
                          validators=[Length(max=PASTE_LIMIT, message=TOO_LONG)])
    solution_format = SelectField("Written as", choices=SOLUTION_FORMAT_CHOICES, default=PROSE)
    flawed_final_answer = StringField("Final answer of the flawed solution",
                                      validators=[Length(max=LIMITS["final_answer"], message=TOO_LONG)])
    # Students are never told which solutions are correct; they always may answer "No step is wrong".
    correct = BooleanField("This solution is correct (no step is wrong)")
    # Required unless the solution is correct: the service says so (with the box ticked it is not needed).
    first_wrong_step = IntegerField("First wrong step (number)", validators=[Optional()])
    reason = TextAreaField("Why that step is wrong, or for a correct solution why it is right (never shown to "
                           "students)", validators=[Length(max=LIMITS["reason"], message=TOO_LONG)])
    error_kind = SelectField("Kind of error", choices=list(ERROR_KINDS.items()))
    grader_notes = TextAreaField("Instructions for the grader model (optional; never shown to students)",
                                 validators=[Length(max=LIMITS["grader_notes"], message=TOO_LONG)])
    lean_header = TextAreaField("Lean header (imports and opens; optional)", validators=[Length(max=LIMITS["lean"], message=TOO_LONG)])
    lean_statement = TextAreaField("Lean theorem statement (optional; students write only the proof)",
                                   validators=[Length(max=LIMITS["lean"], message=TOO_LONG)])


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class AssignmentForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the assignment a title."),
                                             Length(max=LIMITS["title"], message=TOO_LONG)])
    instructions = TextAreaField("Instructions for students (optional)",
                                 validators=[Length(max=LIMITS["instructions"], message=TOO_LONG)])
    # Plain text fields so a malformed date reaches the service and gets its clear message.
    opens_at = StringField("Opens", render_kw={"type": "datetime-local"}, validators=[Length(max=40, message=TOO_LONG)])
    due_at = StringField("Due", render_kw={"type": "datetime-local"}, validators=[Length(max=40, message=TOO_LONG)])
    problem_ids = MultiCheckboxField("Problems", coerce=int)
    # Teach mode (docs/teach.md): the ticked problems are conversations with the model instead of critiques.
    teach_ids = MultiCheckboxField("Teach the model instead (a conversation, not a critique form)", coerce=int)
    turn_limit = IntegerField("Messages a student may send per conversation", default=8,
                              validators=[Optional(), NumberRange(min=1, max=50)])
    attempts_allowed = IntegerField("Conversations (attempts) per student", default=1,
                                    validators=[Optional(), NumberRange(min=1, max=20)])
    points = IntegerField("Points", default=100, validators=[NumberRange(min=1, max=10000)])
    weight_location = IntegerField("Weight: first wrong step", default=30, validators=[NumberRange(min=0, max=1000)])
    weight_explanation = IntegerField("Weight: explanation", default=40, validators=[NumberRange(min=0, max=1000)])
    weight_correction = IntegerField("Weight: correction and final answer", default=30,
                                     validators=[NumberRange(min=0, max=1000)])
    weight_lean = IntegerField("Weight: Lean proof (problems with a Lean statement)", default=0,
                               validators=[NumberRange(min=0, max=1000)])
    weight_revision = IntegerField("Weight: the model's revised answer is right", default=50,
                                   validators=[Optional(), NumberRange(min=0, max=1000)])
    weight_teaching = IntegerField("Weight: quality of the teaching", default=50,
                                   validators=[Optional(), NumberRange(min=0, max=1000)])
    weight_efficiency = IntegerField("Weight: fewer messages", default=0,
                                     validators=[Optional(), NumberRange(min=0, max=1000)])
    correct_solutions = IntegerField("Correct solutions to mix in", default=0,
                                     validators=[Optional(), NumberRange(min=0, max=100)])
    confidence_percent = IntegerField("Review the grader model's verdict when its confidence is below (percent)",
                                      validators=[Optional(), NumberRange(min=1, max=100)])
    hold_for_pilot = BooleanField("Pilot first: hold grading until I grade a sample with the model")
    allow_late = BooleanField("Accept late work")
    late_penalty_percent = IntegerField("Late penalty (percent off)", default=0,
                                        validators=[NumberRange(min=0, max=100)])


class ScoreForm(FlaskForm):
    score = StringField("Score (percent)", validators=[DataRequired(message="Enter a score between 0 and 100."),
                                                       Length(max=10, message=TOO_LONG)])
    comment = TextAreaField("Comment for the student", validators=[Length(max=LIMITS["comment"], message=TOO_LONG)])


class PlainForm(FlaskForm):
    """A form with nothing but its CSRF token, for one-button actions."""
