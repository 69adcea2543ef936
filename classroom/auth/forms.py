from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length

from ..services.validation import LIMITS, TOO_LONG

_PASSWORD_LENGTH = Length(min=8, max=LIMITS["password"], message="Passwords need 8 to %(max)d characters.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Type your email address."),
                                            Length(max=LIMITS["email"], message=TOO_LONG)])
    password = PasswordField("Password", validators=[DataRequired(message="Type your password."),
                                                     Length(max=LIMITS["password"], message=TOO_LONG)])


class SignupForm(FlaskForm):
    """Students only: instructor access is asked for afterwards and approved by an administrator."""
    name = StringField("Your name", validators=[DataRequired(message="Type your name, as your instructor knows it."),
                                                Length(max=LIMITS["name"], message=TOO_LONG)])
    email = EmailField("Email", validators=[DataRequired(message="Type your email address."),
                                            Length(max=LIMITS["email"], message=TOO_LONG)])
    password = PasswordField("Password (at least 8 characters)",
                             validators=[DataRequired(message="Choose a password of at least 8 characters."),
                                         _PASSWORD_LENGTH])


class SignupByMailForm(FlaskForm):
    """Sign-up where e-mail is set up: the password is chosen with the link the mail brings, so an
    address proves itself before it has an account, and nobody learns which addresses have one."""
    name = StringField("Your name", validators=[DataRequired(message="Type your name, as your instructor knows it."),
                                                Length(max=LIMITS["name"], message=TOO_LONG)])
    email = EmailField("Email", validators=[DataRequired(message="Type your email address."),
                                            Length(max=LIMITS["email"], message=TOO_LONG)])


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Type the email address you log in with."),
                                            Length(max=LIMITS["email"], message=TOO_LONG)])


class SetPasswordForm(FlaskForm):
    password = PasswordField("New password (at least 8 characters)",
                             validators=[DataRequired(message="Choose a password of at least 8 characters."),
                                         _PASSWORD_LENGTH])
    confirm = PasswordField("The same password again",
                            validators=[DataRequired(message="Type the password again."),
                                        EqualTo("password", message="The two passwords differ.")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password",
                                     validators=[DataRequired(message="Type your current password."),
                                                 Length(max=LIMITS["password"], message=TOO_LONG)])
    new_password = PasswordField("New password (at least 8 characters)",
                                 validators=[DataRequired(message="Choose a password of at least 8 characters."),
                                             _PASSWORD_LENGTH])


class TokenForm(FlaskForm):
    label = StringField("Label (to recognise the token by)", validators=[Length(max=120, message=TOO_LONG)])


class InstructorRequestForm(FlaskForm):
    note = TextAreaField("What you teach, and where",
                         validators=[DataRequired(message="Say what you teach and where, so the administrator "
                                                          "can check it."),
                                     Length(max=LIMITS["comment"], message=TOO_LONG)])


class PlainForm(FlaskForm):
    """A button with nothing but its CSRF token (revoke)."""
