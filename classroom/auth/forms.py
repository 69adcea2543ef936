from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..services.validation import LIMITS, TOO_LONG


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=LIMITS["email"], message=TOO_LONG)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=LIMITS["password"], message=TOO_LONG)])


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=LIMITS["name"], message=TOO_LONG)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=LIMITS["email"], message=TOO_LONG)])
    password = PasswordField("Password (at least 8 characters)",
                             validators=[DataRequired(), Length(min=8, max=LIMITS["password"])])
    role = RadioField("I am", choices=[("student", "a student"), ("instructor", "an instructor")],
                      default="student", validators=[DataRequired()])
