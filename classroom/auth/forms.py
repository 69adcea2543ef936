from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..services.validation import LIMITS


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=LIMITS["email"])])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=LIMITS["password"])])


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=LIMITS["name"])])
    email = EmailField("Email", validators=[DataRequired(), Length(max=LIMITS["email"])])
    password = PasswordField("Password (at least 8 characters)",
                             validators=[DataRequired(), Length(min=8, max=LIMITS["password"])])
    role = RadioField("I am", choices=[("student", "a student"), ("instructor", "an instructor")],
                      default="student", validators=[DataRequired()])
