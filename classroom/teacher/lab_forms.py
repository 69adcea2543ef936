"""Forms of the instructor's lab pages (groups, labs, approvals); the rules are in services/groups.py and lab.py."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..services.groups import MAX_GROUP_SIZE
from ..services.lab import MAX_BUDGET, MAX_SAMPLES
from ..services.validation import LIMITS, TOO_LONG


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(message="Give the group a name."),
                                                 Length(max=LIMITS["name"], message=TOO_LONG)])
    max_size = IntegerField("Size limit (optional)", validators=[
        Optional(), NumberRange(min=1, max=MAX_GROUP_SIZE, message=f"A size limit is 1 to {MAX_GROUP_SIZE}.")])
    open_to_join = BooleanField("Students may join this group themselves (up to the size limit)")


class MemberForm(FlaskForm):
    student = SelectField("Student", coerce=str, validate_choice=False)


class MultiCheckbox(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LabForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(message="Give the lab a title."),
                                             Length(max=LIMITS["title"], message=TOO_LONG)])
    instructions = TextAreaField("Instructions for the groups (optional)",
                                 validators=[Length(max=LIMITS["instructions"], message=TOO_LONG)])
    exam_problem_ids = MultiCheckbox("Practice exam: the course's problems it holds", coerce=int)
    exam_hidden = BooleanField("Hide the exam: groups see only their scores on it, never its problems or attempts")
    samples = IntegerField("Samples per problem (k)", default=3, validators=[
        NumberRange(min=1, max=MAX_SAMPLES, message=f"k is 1 to {MAX_SAMPLES}.")])
    token_budget = IntegerField("Token budget per group", default=200_000, validators=[
        NumberRange(min=1, max=MAX_BUDGET, message="Give a budget of at least 1 token.")])
    leaderboard_visible = BooleanField("Show the class a leaderboard of the groups' best exam accuracy")
