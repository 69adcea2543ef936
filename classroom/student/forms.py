from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..forms import CritiqueForm  # noqa: F401  (the student's form; the teacher's preview shows it too)
from ..services.validation import LIMITS, TOO_LONG


class JoinForm(FlaskForm):
    code = StringField("Course code", validators=[
        DataRequired(message="Type the course code your instructor gave you."),
        Length(max=LIMITS["course_code"], message=TOO_LONG)])


class PlainForm(FlaskForm):
    """Only the CSRF token: for buttons such as accepting an invitation."""
