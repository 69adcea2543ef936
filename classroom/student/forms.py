from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..services.validation import LIMITS, TOO_LONG


class JoinForm(FlaskForm):
    code = StringField("Course code", validators=[DataRequired(message="Type the course code."),
                                                  Length(max=LIMITS["course_code"], message=TOO_LONG)])


class CritiqueForm(FlaskForm):
    # Choices are the solution's step numbers, set by the view.
    error_step = RadioField("Which step is the first wrong one?", coerce=str,
                            validators=[DataRequired(message="Mark the first wrong step.")])
    explanation = TextAreaField("What is wrong with that step? (Markdown and LaTeX: $x^2$)",
                                validators=[DataRequired(message="Explain what is wrong."),
                                            Length(max=LIMITS["explanation"], message=TOO_LONG)])
    correction = TextAreaField("Your corrected solution from that step on",
                               validators=[Length(max=LIMITS["correction"], message=TOO_LONG)])
    final_answer = StringField("Your final answer", validators=[Length(max=LIMITS["final_answer"], message=TOO_LONG)])
    lean_proof = TextAreaField("Lean proof (only the proof, after := by)", validators=[Length(max=LIMITS["lean"], message=TOO_LONG)])
