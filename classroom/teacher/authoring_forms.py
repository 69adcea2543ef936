"""Forms of the authoring pages: bank upload, generation, copying. All carry a CSRF token."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..content import PROSE
from ..services.authoring import GENERATABLE_KINDS, WRITE_CORRECT
from ..services.banks import BANK_FORMATS, DEFAULT_FORMAT
from ..services.validation import LIMITS, TOO_LONG
from .forms import SOLUTION_FORMAT_CHOICES

# The kinds of error, and last a solution without one (students must learn not to raise false alarms).
KIND_CHOICES = list(GENERATABLE_KINDS.items()) + [
    (WRITE_CORRECT, "None: a correct solution (no step is wrong)")]
KIND_LABEL = "Kind of error to plant"
FORMAT_LABEL = "Written as"


class BankForm(FlaskForm):
    bank = FileField("Problem bank (JSON Lines, .jsonl)")
    format = SelectField("Format", choices=list(BANK_FORMATS.items()), default=DEFAULT_FORMAT)


class GenerateForm(FlaskForm):
    error_kind = SelectField(KIND_LABEL, choices=KIND_CHOICES)
    solution_format = SelectField(FORMAT_LABEL, choices=SOLUTION_FORMAT_CHOICES, default=PROSE)


class GenerateProblemForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the problem a title."),
                                             Length(max=LIMITS["title"], message=TOO_LONG)])
    statement = TextAreaField("Problem statement (Markdown and LaTeX)",
                              validators=[DataRequired(message="Write the problem statement."),
                                          Length(max=LIMITS["statement"], message=TOO_LONG)])
    reference_solution = TextAreaField("Reference solution (the model starts from it)",
                                       validators=[DataRequired(message="Write the reference solution: the "
                                                                        "model starts from it."),
                                                   Length(max=LIMITS["reference_solution"], message=TOO_LONG)])
    reference_answer = StringField("Reference final answer (checked exactly)",
                                   validators=[Length(max=LIMITS["final_answer"], message=TOO_LONG)])
    error_kind = SelectField(KIND_LABEL, choices=KIND_CHOICES)
    solution_format = SelectField(FORMAT_LABEL, choices=SOLUTION_FORMAT_CHOICES, default=PROSE)


class CopyForm(FlaskForm):
    # Choices are the courses the instructor teaches, set by the view.
    course = SelectField("Copy to course", choices=[], validate_choice=False,
                         validators=[DataRequired(message="Choose a course."),
                                     Length(max=LIMITS["course_code"], message=TOO_LONG)])
