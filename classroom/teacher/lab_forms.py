"""Forms of the instructor's lab pages (groups, labs, approvals); the rules are in services/groups.py and lab.py."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..services.groups import MAX_GROUP_SIZE
from ..services.validation import LIMITS, TOO_LONG


class GroupForm(FlaskForm):
    name = StringField("Group name", validators=[DataRequired(message="Give the group a name."),
                                                 Length(max=LIMITS["name"], message=TOO_LONG)])
    max_size = IntegerField("Size limit (optional)", validators=[
        Optional(), NumberRange(min=1, max=MAX_GROUP_SIZE, message=f"A size limit is 1 to {MAX_GROUP_SIZE}.")])
    open_to_join = BooleanField("Students may join this group themselves (up to the size limit)")


class MemberForm(FlaskForm):
    student = SelectField("Student", coerce=str, validate_choice=False)
