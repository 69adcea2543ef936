"""Roster CSV import: all rows or none, with row-numbered errors."""
import io

from sqlmodel import select

from classroom.models import Enrollment, User


def _upload(client, code, text):
    return client.post(f"/teach/courses/{code}/roster", data={"roster": (io.BytesIO(text.encode()), "r.csv")},
                       content_type="multipart/form-data", follow_redirects=True)


def test_good_roster_enrols_everyone(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = _upload(make_client(teacher), course.code,
                   "email,name\nann@x.test,Ann One\nben@x.test,Ben Two\n\n")
    assert b"2 students newly enrolled" in resp.data and b"2 invitation links" in resp.data
    assert len(dbs.exec(select(Enrollment).where(Enrollment.course_id == course.id,
                                                 Enrollment.role == "student")).all()) == 2


def test_bad_rows_import_nothing_and_are_named(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = _upload(make_client(teacher), course.code,
                   "email,name\nann@x.test,Ann\nnot-an-email,Bad\nben@x.test,\nann@x.test,Ann Again\n")
    page = resp.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "Row 3:" in page and "Row 4:" in page and "Row 5:" in page
    assert dbs.exec(select(User).where(User.email == "ann@x.test")).first() is None


def test_roster_without_header_or_not_utf8(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    c = make_client(teacher)
    assert b"needs a header row" in _upload(c, course.code, "ann@x.test,Ann\n").data
    resp = c.post(f"/teach/courses/{course.code}/roster",
                  data={"roster": (io.BytesIO("email,name\n\xe9@x.test,É\n".encode("latin-1")), "r.csv")},
                  content_type="multipart/form-data", follow_redirects=True)
    assert b"not UTF-8" in resp.data
