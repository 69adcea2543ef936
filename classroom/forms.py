"""Forms that more than one blueprint renders: the critique form students submit, which the
instructor's "preview as a student" shows exactly as students get it."""
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .content import LIMITS, NO_STEP, TOO_LONG, is_code


class CritiqueForm(FlaskForm):
    # Choices are the solution's step numbers, set by `critique_form`.
    # The service checks the step is one of the solution's, with a message that says which steps there are.
    error_step = RadioField("Which step is the first wrong one?", coerce=str, validate_choice=False,
                            validators=[DataRequired(message="Mark the first wrong step, or choose "
                                                             "“No step is wrong”.")])
    explanation = TextAreaField("What is wrong with that step? If no step is wrong, why is the solution right? "
                                "(Markdown and LaTeX: $x^2$)",
                                validators=[DataRequired(message="Explain what is wrong, or why nothing is."),
                                            Length(max=LIMITS["explanation"], message=TOO_LONG)])
    correction = TextAreaField("Your corrected solution from that step on",
                               validators=[Length(max=LIMITS["correction"], message=TOO_LONG)])
    final_answer = StringField("Your final answer", validators=[Length(max=LIMITS["final_answer"], message=TOO_LONG)])
    lean_proof = TextAreaField("Lean proof (only the proof, after := by)",
                               validators=[Length(max=LIMITS["lean"], message=TOO_LONG)])


def critique_form(view: dict, form: CritiqueForm | None = None) -> CritiqueForm:
    """The critique form for a problem as students see it (`problems.student_view`): one choice per step.
    `form`: one already made from the request, which gets the choices."""
    form = form or CritiqueForm()
    # Every critique offers "No step is wrong": students are never told which solutions are correct.
    form.error_step.choices = [(str(step["number"]), f"Step {step['number']}") for step in view["steps"]] + [
        (NO_STEP, "No step is wrong")]
    if is_code(view.get("solution_format")):
        form.correction.label.text = "Your corrected program, from the wrong line on"
    return form
