from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..services.validation import LIMITS, TOO_LONG


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Type your email address."),
                                            Length(max=LIMITS["email"], message=TOO_LONG)])
    password = PasswordField("Password", validators=[DataRequired(message="Type your password."),
                                                     Length(max=LIMITS["password"], message=TOO_LONG)])


class SignupForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(message="Type your name, as your instructor knows it."),
                                                Length(max=LIMITS["name"], message=TOO_LONG)])
    email = EmailField("Email", validators=[DataRequired(message="Type your email address."),
                                            Length(max=LIMITS["email"], message=TOO_LONG)])
    password = PasswordField("Password (at least 8 characters)",
                             validators=[DataRequired(message="Choose a password of at least 8 characters."),
                                         Length(min=8, max=LIMITS["password"],
                                                message="Passwords need 8 to %(max)d characters.")])
    role = RadioField("I am", choices=[("student", "a student"), ("instructor", "an instructor")],
                      default="student",
                      validators=[DataRequired(message="Choose whether you teach or study.")])
