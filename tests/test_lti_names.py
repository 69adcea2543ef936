"""People who came from the LMS go by the LMS's name (`name`, or `given_name` + `family_name`; a roster
member's too), and their account's placeholder address (…@lti.invalid) is never shown: pages say
"from the LMS", the CSV exports leave the e-mail empty."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlmodel import select

from classroom.models import LtiAccount, User
from classroom.services import accounts
from lti_platform import INSTRUCTOR, LEARNER, launch
from test_lti_grades import CONTEXT, _graded, _lms_course

PLACEHOLDER = "lti.invalid"


@pytest.fixture
def app_config(app_config, lti_key_file):
    app_config.update(PUBLIC_URL="http://localhost", LTI_PRIVATE_KEY_FILE=lti_key_file)
    return app_config


def _by_sub(dbs, sub) -> User:
    dbs.expire_all()
    return dbs.exec(select(User).join(LtiAccount, LtiAccount.user_id == User.id).where(LtiAccount.sub == sub)).one()


def test_the_placeholder_address_is_recognised_and_never_shown():
    assert accounts.is_placeholder_email("lti-0123abcd@lti.invalid")
    assert accounts.shown_email("lti-0123abcd@lti.invalid") == "from the LMS"
    assert accounts.exported_email("lti-0123abcd@lti.invalid") == ""
    for real in ("ria@school.edu", "ria@lti.invalid.example.org"):
        assert not accounts.is_placeholder_email(real)
        assert accounts.shown_email(real) == accounts.exported_email(real) == real


def test_launches_name_people_from_the_lms_and_pages_never_show_the_placeholder(app, dbs, world, lms):
    teacher, course, ada = _lms_course(app, dbs, lms)
    # No `name` claim: the given and family names; no name claim at all: "LMS user" and the LMS's id.
    grace = app.test_client()
    assert launch(grace, lms, sub="lms-user-2", roles=(LEARNER,), name=None, given_name="Grace",
                  family_name="Hopper").status_code == 302
    assert launch(app.test_client(), lms, sub="lms-user-3", roles=(LEARNER,), name="",
                  email="").status_code == 302
    assert _by_sub(dbs, "lms-user-2").name == "Grace Hopper"
    assert _by_sub(dbs, "lms-user-3").name == "LMS user lms-user-3"
    local = world.student(course, name="Dee Local", email="dee@school.test")
    problem = world.problem(ada, course)
    assignment = world.assignment(ada, course, [problem], opens_in=timedelta(days=-9), due_in=timedelta(days=-1),
                                  points=40)
    _graded(world, dbs, ada, assignment, problem, _by_sub(dbs, "lms-user-2"), 75)

    pages = {path: teacher.get(path) for path in (
        f"/teach/courses/{course.code}", f"/teach/courses/{course.code}/gradebook",
        f"/teach/courses/{course.code}/progress", f"/teach/assignments/{assignment.id}")}
    for path, resp in pages.items():
        body = resp.get_data(as_text=True)
        assert resp.status_code == 200, (path, body[:300])
        assert "Grace Hopper" in body and "LMS user lms-user-3" in body, path
        assert PLACEHOLDER not in body, path
        assert "from the LMS" in body and "dee@school.test" in body, path  # a real address is still shown
    # The CSV exports: the real address, an empty cell for an LMS account.
    for path in (f"/teach/courses/{course.code}/gradebook.csv", f"/teach/courses/{course.code}/progress.csv"):
        resp = teacher.get(path)
        assert resp.status_code == 200, path
        text = resp.get_data(as_text=True)
        assert PLACEHOLDER not in text and "dee@school.test" in text, path
        rows = {row[0]: row for row in csv.reader(io.StringIO(text.lstrip("\ufeff")))}
        assert rows["Grace Hopper"][1] == "", (path, rows["Grace Hopper"])
    # The person's own account page.
    page = grace.get("/account").get_data(as_text=True)
    assert "Grace Hopper" in page and "from the LMS" in page and PLACEHOLDER not in page
    assert local.email == "dee@school.test"

    # The LMS renames Grace: her next launch brings the new name to the account made from the LMS.
    assert launch(app.test_client(), lms, sub="lms-user-2", roles=(LEARNER,), name="Grace B. Hopper").status_code == 302
    assert _by_sub(dbs, "lms-user-2").name == "Grace B. Hopper"
    # A launch without any name claim keeps the name it has.
    assert launch(app.test_client(), lms, sub="lms-user-2", roles=(LEARNER,), name=None).status_code == 302
    assert _by_sub(dbs, "lms-user-2").name == "Grace B. Hopper"


def test_roster_sync_names_members_from_the_lms(app, dbs, world, lms):
    teacher, course, _ada = _lms_course(app, dbs, lms)
    lms.set_roster(CONTEXT, [
        {"user_id": "lms-user-1", "roles": [INSTRUCTOR], "name": "Ada Lovelace"},
        {"user_id": "lms-user-7", "roles": [LEARNER], "given_name": "Katherine", "family_name": "Johnson"},
        {"user_id": "lms-user-8", "roles": [LEARNER]},
    ])
    resp = teacher.post(f"/teach/courses/{course.code}/lms-roster")
    assert resp.status_code == 200 and "2 added" in resp.get_data(as_text=True)
    assert _by_sub(dbs, "lms-user-7").name == "Katherine Johnson"
    assert _by_sub(dbs, "lms-user-8").name == "LMS user lms-user-8"
    body = teacher.get(f"/teach/courses/{course.code}").get_data(as_text=True)
    assert "Katherine Johnson" in body and "from the LMS" in body and PLACEHOLDER not in body
    # The LMS now gives her a full name: the next sync brings it.
    lms.rosters[CONTEXT][1]["name"] = "Katherine G. Johnson"
    assert teacher.post(f"/teach/courses/{course.code}/lms-roster").status_code == 200
    assert _by_sub(dbs, "lms-user-7").name == "Katherine G. Johnson"
