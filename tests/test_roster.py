"""Roster CSV import: all rows or none, with row-numbered errors."""
import io

from sqlmodel import select

from classroom.models import Enrollment, User


def _upload(client, code, text):
    return client.post(f"/teach/courses/{code}/roster", data={"roster": (io.BytesIO(text.encode()), "r.csv")},
                       content_type="multipart/form-data", follow_redirects=True)


def test_good_roster_invites_everyone_and_enrols_nobody_yet(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = _upload(make_client(teacher), course.code,
                   "email,name\nann@x.test,Ann One\nben@x.test,Ben Two\n\n")
    assert b"2 rows read" in resp.data and b"2 invitations" in resp.data
    assert not dbs.exec(select(Enrollment).where(Enrollment.course_id == course.id,
                                                 Enrollment.role == "student")).all()
    page = make_client(teacher).get(f"/teach/courses/{course.code}").get_data(as_text=True)
    assert "Invited, not joined yet (2)" in page and "Ann One" in page


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


def test_instructors_see_the_roster_name_of_an_invited_account_not_its_own(app, make_client, world, dbs):
    """The name an existing account chose is none of the instructor's business: pages and the CSV for
    the course's instructors show the name the roster gave; a student who joined with the code keeps
    their own."""
    from classroom.services import invitations, submissions
    from classroom.services.submissions import CritiqueDraft
    w = world.classroom()  # Alice Adams joined with the code
    teacher, course = w["teacher"], w["course"]
    vera = world.student(email="vera@x.test", name="Vera Private")
    resp = _upload(make_client(teacher), course.code,
                   "email,name\nvera@x.test,V. Roster\n" + f"{w['alice'].email},Alice Listed\n")
    assert b"Alice Listed" in resp.data  # the row as the file wrote it, status "enrolled"
    inv = dbs.exec(select(invitations.CourseInvitation).where(
        invitations.CourseInvitation.user_id == vera.id)).one()
    with app.app_context():
        invitations.accept(dbs, vera, inv.id)
        sub, _job = submissions.submit(dbs, vera, w["assignment"].id, w["problem"].id,
                                       CritiqueDraft(2, "wrong product", "28*6", "168"))
    client = make_client(teacher)
    pages = {url: client.get(url).get_data(as_text=True) for url in (
        f"/teach/courses/{course.code}", f"/teach/courses/{course.code}/gradebook",
        f"/teach/courses/{course.code}/gradebook.csv", f"/teach/assignments/{w['assignment'].id}",
        f"/teach/submissions/{sub.id}", f"/teach/courses/{course.code}/review", f"/teach/courses/{course.code}/audit")}
    for url, page in pages.items():
        assert "Vera Private" not in page, url
    for url in (f"/teach/courses/{course.code}", f"/teach/courses/{course.code}/gradebook.csv",
                f"/teach/submissions/{sub.id}", f"/teach/courses/{course.code}/review"):
        assert "V. Roster" in pages[url], url
    assert "Alice Adams" in pages[f"/teach/courses/{course.code}"]
    assert "Alice Listed" not in pages[f"/teach/courses/{course.code}"]
