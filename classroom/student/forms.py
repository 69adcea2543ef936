from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..services.validation import LIMITS


class JoinForm(FlaskForm):
    code = StringField("Course code", validators=[DataRequired(message="Type the course code."),
                                                  Length(max=LIMITS["course_code"])])


class CritiqueForm(FlaskForm):
    # Choices are the solution's step numbers, set by the view.
    error_step = RadioField("Which step is the first wrong one?", coerce=str,
                            validators=[DataRequired(message="Mark the first wrong step.")])
    explanation = TextAreaField("What is wrong with that step? (Markdown and LaTeX: $x^2$)",
                                validators=[DataRequired(message="Explain what is wrong."),
                                            Length(max=LIMITS["explanation"])])
    correction = TextAreaField("Your corrected solution from that step on",
                               validators=[Length(max=LIMITS["correction"])])
    final_answer = StringField("Your final answer", validators=[Length(max=LIMITS["final_answer"])])
    lean_proof = TextAreaField("Lean proof (only the proof, after := by)", validators=[Length(max=LIMITS["lean"])])
