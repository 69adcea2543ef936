"""Lab groups: created by hand or by a roster's group column, joined by students up to a size limit; a
student is in one group per course; each group's page shows its own members only."""
import io

from sqlmodel import select

from classroom.models import AuditLog, LabGroup, LabGroupMember


def _members(dbs, group_id):
    dbs.expire_all()
    return {m.user_id for m in dbs.exec(select(LabGroupMember).where(LabGroupMember.group_id == group_id))}


def test_instructor_creates_groups_and_places_students(make_client, world, dbs):
    w = world.classroom()
    t = make_client(w["teacher"])
    resp = t.post(f"/teach/courses/{w['course'].code}/groups", data={"name": "Euler", "max_size": "2"})
    assert resp.status_code == 302
    group = dbs.exec(select(LabGroup).where(LabGroup.name == "Euler")).one()
    # The same name twice, and a size limit of 0: the form again, each message beside its field, typed text kept.
    resp = t.post(f"/teach/courses/{w['course'].code}/groups", data={"name": "Euler", "max_size": "0"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "already has a group called Euler" in page and "1 to 50" in page
    assert 'value="Euler"' in page
    for student in (w["alice"], w["bob"]):
        assert t.post(f"/teach/groups/{group.id}/members", data={"student": str(student.id)}).status_code == 302
    assert _members(dbs, group.id) == {w["alice"].id, w["bob"].id}
    # Someone outside the course cannot be placed.
    outsider = world.student()
    resp = t.post(f"/teach/groups/{group.id}/members", data={"student": str(outsider.id)})
    assert resp.status_code == 400 and "Choose a student of the course" in resp.get_data(as_text=True)
    page = t.get(f"/teach/courses/{w['course'].code}/groups").get_data(as_text=True)
    assert "Alice Adams" in page and "Bob Brown" in page
    assert t.post(f"/teach/groups/{group.id}/members/{w['bob'].id}/remove").status_code == 302
    assert _members(dbs, group.id) == {w["alice"].id}
    actions = {a.action for a in dbs.exec(select(AuditLog).where(AuditLog.course_id == w["course"].id))}
    assert {"group.create", "group.add", "group.remove"} <= actions


def test_students_join_open_groups_up_to_the_limit(make_client, world, dbs):
    w = world.classroom()
    carol = world.student(w["course"], name="Carol Chen")
    from classroom.services import groups
    with world.app.app_context():
        open_group = groups.create_group(dbs, w["teacher"], w["course"], name="Noether", max_size=2,
                                         open_to_join=True)
        closed = groups.create_group(dbs, w["teacher"], w["course"], name="Gauss")
    a, b, c = (make_client(u) for u in (w["alice"], w["bob"], carol))
    page = a.get(f"/learn/courses/{w['course'].code}/groups").get_data(as_text=True)
    assert "Join Noether" in page and "Join Gauss" not in page
    assert a.post(f"/learn/groups/{open_group.id}/join").status_code == 302
    assert b.post(f"/learn/groups/{open_group.id}/join").status_code == 302
    resp = c.post(f"/learn/groups/{open_group.id}/join", follow_redirects=True)
    assert "Noether is full (2 students)" in resp.get_data(as_text=True)
    resp = c.post(f"/learn/groups/{closed.id}/join", follow_redirects=True)
    assert "not open for joining" in resp.get_data(as_text=True)
    assert _members(dbs, open_group.id) == {w["alice"].id, w["bob"].id}
    assert _members(dbs, closed.id) == set()
    # In a group already: no second one; leaving frees the place for Carol.
    page = a.get(f"/learn/courses/{w['course'].code}/groups").get_data(as_text=True)
    assert "Noether" in page and "Bob Brown" in page and "Leave Noether" in page
    assert b.post(f"/learn/groups/{open_group.id}/leave").status_code == 302
    assert c.post(f"/learn/groups/{open_group.id}/join").status_code == 302
    assert _members(dbs, open_group.id) == {w["alice"].id, carol.id}
    # A student of another course does not even learn that the group exists.
    stranger = make_client(world.student(world.course(world.instructor(), title="Other")))
    assert stranger.post(f"/learn/groups/{open_group.id}/join").status_code == 404


def test_a_student_sees_their_own_group_only(make_client, world, dbs):
    w = world.classroom()
    from classroom.services import groups
    with world.app.app_context():
        ga = groups.create_group(dbs, w["teacher"], w["course"], name="Group A")
        gb = groups.create_group(dbs, w["teacher"], w["course"], name="Group B")
        groups.add_member(dbs, w["teacher"], ga.id, w["alice"].id)
        groups.add_member(dbs, w["teacher"], gb.id, w["bob"].id)
    page = make_client(w["alice"]).get(f"/learn/courses/{w['course'].code}/groups").get_data(as_text=True)
    assert "Group A" in page and "Alice Adams" in page
    assert "Group B" not in page and "Bob Brown" not in page
    assert "ask them to move you" in page  # placed by the instructor: no leave button
    resp = make_client(w["alice"]).post(f"/learn/groups/{ga.id}/leave", follow_redirects=True)
    assert "ask them to move you" in resp.get_data(as_text=True) and _members(dbs, ga.id) == {w["alice"].id}


def test_roster_group_column_places_students(app, make_client, world, dbs):
    """Invited students are placed in their row's group when they join; those already in the course at once."""
    from classroom.models import CourseInvitation
    from classroom.services import invitations
    teacher = world.instructor()
    course = world.course(teacher)
    ann = world.student(email="ann@x.test")  # has an account: invited like the others, joins by accepting
    dee = world.student(course, email="dee@x.test")  # already in the course: placed at once
    t = make_client(teacher)
    text = ("email,name,group\nann@x.test,Ann One,Red\nben@x.test,Ben Two,Red\ncid@x.test,Cid Three,Blue\n"
            "dee@x.test,Dee Four,Blue\n")
    resp = t.post(f"/teach/courses/{course.code}/roster", data={"roster": (io.BytesIO(text.encode()), "r.csv")},
                  content_type="multipart/form-data")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "1 student placed in lab groups" in page and "3 invitations" in page
    assert "3 invited students will be placed in their lab group" in page
    names = {g.name: g.id for g in dbs.exec(select(LabGroup).where(LabGroup.course_id == course.id))}
    assert set(names) == {"Blue"} and _members(dbs, names["Blue"]) == {dee.id}
    with app.app_context():
        invitation = dbs.exec(select(CourseInvitation).where(CourseInvitation.user_id == ann.id)).one()
        invitations.accept(dbs, ann, invitation.id)
    names = {g.name: g.id for g in dbs.exec(select(LabGroup).where(LabGroup.course_id == course.id))}
    assert _members(dbs, names["Red"]) == {ann.id}
    # Uploading again with Ann moved to Blue moves her: she is never in two groups.
    text = "email,name,group\nann@x.test,Ann One,Blue\n"
    t.post(f"/teach/courses/{course.code}/roster", data={"roster": (io.BytesIO(text.encode()), "r.csv")},
           content_type="multipart/form-data")
    assert _members(dbs, names["Red"]) == set() and _members(dbs, names["Blue"]) == {ann.id, dee.id}
