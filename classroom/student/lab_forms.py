"""Forms of the student's lab pages; the rules are in services/lab.py."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, InputRequired, Length

from ..content import ERROR_KINDS

from ..services.answer_checks import MODE_LABELS
from ..services.validation import LIMITS, TOO_LONG


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SyntheticForm(FlaskForm):
    exam_problem_id = SelectField("Imitates the exam problem", coerce=str, validate_choice=False)
    title = StringField("Title", validators=[DataRequired(message="Give the problem a title."),
                                             Length(max=LIMITS["title"], message=TOO_LONG)])
    statement = TextAreaField("Statement (Markdown and LaTeX)", validators=[
        DataRequired(message="Write the problem statement."), Length(max=LIMITS["statement"], message=TOO_LONG)])
    reference_solution = TextAreaField("Reference solution", validators=[
        DataRequired(message="Write the reference solution."),
        Length(max=LIMITS["reference_solution"], message=TOO_LONG)])
    reference_answer = StringField("Reference answer (checked exactly)", validators=[
        DataRequired(message="Give the reference answer."), Length(max=LIMITS["final_answer"], message=TOO_LONG)])
    answer_mode = SelectField("How final answers are compared", choices=list(MODE_LABELS.items()), default="auto")
    answer_tolerance = StringField("Tolerance (numeric mode only)", validators=[Length(max=40, message=TOO_LONG)])
    answer_tests = TextAreaField("Answer tests (optional, one per line: 2.5 -> correct)",
                                 validators=[Length(max=8000, message=TOO_LONG)])


class StrategyForm(FlaskForm):
    system_prompt = TextAreaField("System prompt", validators=[
        DataRequired(message="Write the system prompt the model gets."),
        Length(max=LIMITS["instructions"], message=TOO_LONG)])
    example_ids = MultiCheckbox("Worked examples (from your synthetic problems; optional)", coerce=str,
                                validate_choice=False)


class RunForm(FlaskForm):
    target = SelectField("Run the model on", choices=[("synthetic", "Our synthetic problems"),
                                                     ("exam", "The practice exam")])
    strategy_id = SelectField("Strategy", coerce=str, validate_choice=False)


class HarvestForm(FlaskForm):
    first_wrong_step = IntegerField("First wrong step (number)", validators=[
        InputRequired(message="Give the number of the first wrong step.")])
    reason = TextAreaField("Why that step is wrong", validators=[
        DataRequired(message="Say why the step is wrong."), Length(max=LIMITS["reason"], message=TOO_LONG)])
    error_kind = SelectField("Kind of error", choices=list(ERROR_KINDS.items()))
    exportable = BooleanField("Include it in the course's published dataset of model mistakes", default=True)
