"""Accounts (issue 9 §2): nobody chooses another person's password.

Sign-up makes students; instructors are made by an administrator (create-user) or approved by one.
A roster never sets or changes a password or a name, enrols nobody directly and says nothing about
accounts outside the course: every row gets the same single-use, expiring course invitation (a CSV, and
e-mail from a background job over a real local SMTP server); a new address sets its password with it, an
existing account's owner logs in and accepts. Sign-up with e-mail set up never says an address is taken. "Forgot password" uses the same links, rate limited, and never says whether an
address has an account. Logout, a new password or disabling ends the account's other sessions;
API tokens are listed and revoked by their owner.
"""
from __future__ import annotations

import csv
import email
import io
import re
import socket
import time
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from sqlmodel import select
from werkzeug.security import generate_password_hash

from classroom.models import AccountLink, ApiToken, CourseInvitation, Enrollment, InstructorRequest, User, utcnow
from classroom.services import accounts
from support import PASSWORD, login

NEW_PASSWORD = "a-brand-new-password"


def _upload(client, code, text):
    return client.post(f"/teach/courses/{code}/roster", data={"roster": (io.BytesIO(text.encode()), "r.csv")},
                       content_type="multipart/form-data")


def _invitations(resp) -> list[dict]:
    """The rows of the invitation CSV offered for download on the roster result page."""
    page = resp.get_data(as_text=True)
    href = re.search(r'href="data:text/csv;charset=utf-8,([^"]*)"', page)
    assert href, page[:2000]
    return list(csv.DictReader(io.StringIO(unquote(href.group(1).replace("&amp;", "&")))))


def _path(link: str) -> str:
    return urlsplit(link).path


def _can_log_in(app, email_address, password) -> bool:
    resp = app.test_client().post("/login", data={"email": email_address, "password": password})
    return resp.status_code == 302


# ---------------------------------------------------------------- instructors are not self-service

def test_create_user_prints_a_single_use_invitation_for_an_instructor(app, dbs):
    cli = app.test_cli_runner()

    class runner:  # the commands run inside an app context, as `flask --app app` runs them
        @staticmethod
        def invoke(**kwargs):
            with app.app_context():
                return cli.invoke(**kwargs)
    result = runner.invoke(args=["create-user", "Dana@School.test", "--role", "instructor", "--name", "Dana Okafor"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("http://") and "/password/" in link
    user = accounts.find_user(dbs, "dana@school.test")
    assert user.is_instructor and not user.is_admin and user.password_hash == ""
    token = _path(link).rsplit("/", 1)[1]
    assert token not in str(dbs.exec(select(AccountLink.token_hash)).all())  # only its hash is kept
    assert not _can_log_in(app, "dana@school.test", "")

    client = app.test_client()
    assert client.get(_path(link)).status_code == 200
    resp = client.post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 302
    assert client.get("/teach/").status_code == 200  # logged in, as an instructor
    again = app.test_client().post(_path(link), data={"password": "another-password", "confirm": "another-password"})
    assert again.status_code == 404 and "already used" in again.get_data(as_text=True)
    assert _can_log_in(app, "dana@school.test", NEW_PASSWORD)
    assert not _can_log_in(app, "dana@school.test", "another-password")

    result = runner.invoke(args=["create-user", "root@school.test", "--role", "admin", "--password"],
                           input="admin-password-1\nadmin-password-1\n")
    assert result.exit_code == 0, result.output
    root = accounts.find_user(dbs, "root@school.test")
    assert root.is_admin and root.is_instructor and _can_log_in(app, "root@school.test", "admin-password-1")
    refused = runner.invoke(args=["create-user", "root@school.test", "--role", "instructor"])
    assert refused.exit_code != 0 and "already exists" in refused.output


def test_signup_has_no_role_choice(client):
    page = client.get("/signup").get_data(as_text=True)
    assert 'name="role"' not in page and "an instructor" not in page


def test_instructor_access_is_requested_and_approved_by_an_administrator(app, world, dbs, make_client):
    student = world.student(name="Tess Teacher")
    admin = world.user("admin", name="Ada Admin")
    assert admin.is_admin
    asker = make_client(student)
    assert asker.post("/account/instructor-request", data={"note": ""}).status_code == 400
    assert asker.post("/account/instructor-request", data={"note": "Algebra at Northside High"}).status_code == 302
    assert "an administrator will decide" in asker.get("/account").get_data(as_text=True)
    assert asker.get("/teach/").status_code == 403
    assert asker.get("/admin/").status_code == 403

    boss = make_client(admin)
    page = boss.get("/admin/").get_data(as_text=True)
    assert "Tess Teacher" in page and "Algebra at Northside High" in page
    req = dbs.exec(select(InstructorRequest).where(InstructorRequest.user_id == student.id)).one()
    assert boss.post(f"/admin/requests/{req.id}", data={"decision": "approve"}).status_code == 302
    assert asker.get("/teach/").status_code == 200
    dbs.expire_all()
    assert dbs.get(InstructorRequest, req.id).decided_by_id == admin.id
    # Decided once: a second decision is refused.
    assert boss.post(f"/admin/requests/{req.id}", data={"decision": "decline"}).status_code == 400


# ---------------------------------------------------------------- rosters

def _row_html(page: str, email_address: str) -> str:
    """The result table's row for an address, with the address and the name taken out."""
    row = re.search(r"<tr><td>" + re.escape(email_address) + r"</td>.*?</tr>", page).group(0)
    return re.sub(r"<td>[^<]*</td>", "<td>x</td>", row, count=2)


def test_roster_never_touches_existing_accounts_nor_says_anything_about_them(app, world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher, title="Algebra I")
    victim = world.student(email="victim@school.test", name="Vera Victim")
    other_teacher = world.instructor(email="boss@school.test", name="Bo Boss")
    before = {u.id: (u.name, u.password_hash) for u in (victim, other_teacher)}
    resp = _upload(make_client(teacher), course.code,
                   "email,name,password\nvictim@school.test,Mallory's Puppet,attackerpw\n"
                   "boss@school.test,Someone,attackerpw2\nnew@school.test,Nina New,chosen-by-teacher\n")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    main = page[page.index("<main"):page.index("</main>")]
    assert "instructor" not in main.lower() and "Vera Victim" not in page and "Bo Boss" not in page
    assert "password column was ignored" in page and "3 invitations" in main
    # Every row looks alike, on the page and in the CSV: nobody can tell which addresses had accounts.
    shapes = {_row_html(main, e) for e in ("victim@school.test", "boss@school.test", "new@school.test")}
    assert len(shapes) == 1 and ">invited<" in shapes.pop()
    rows = _invitations(resp)
    assert [(r["email"], r["name"], r["status"]) for r in rows] == [
        ("victim@school.test", "Mallory's Puppet", "invited"), ("boss@school.test", "Someone", "invited"),
        ("new@school.test", "Nina New", "invited")]
    assert all(re.fullmatch(r"http://localhost/invite/[\w-]{43}", r["link"]) for r in rows)
    assert len({r["expires"] for r in rows}) == 1
    # Nobody is enrolled by the upload, and no existing account changed.
    assert not dbs.exec(select(Enrollment).where(Enrollment.course_id == course.id,
                                                 Enrollment.role == "student")).all()
    dbs.expire_all()
    for user_id, (name, pw_hash) in before.items():
        user = dbs.get(User, user_id)
        assert (user.name, user.password_hash) == (name, pw_hash)
    # The new account has no usable password, whatever the file said: only its invitation link,
    # with which the student chooses the password and joins; the link then works no more.
    new = accounts.find_user(dbs, "new@school.test")
    assert new.password_hash == "" and not _can_log_in(app, "new@school.test", "chosen-by-teacher")
    new_link, victim_link = _path(rows[2]["link"]), _path(rows[0]["link"])
    student = app.test_client()
    assert "Choose a password" in student.get(new_link).get_data(as_text=True)
    assert student.post(new_link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert student.get(f"/learn/courses/{course.code}").status_code == 200
    assert student.get(new_link).status_code == 404
    # An existing account's link sets no password: its owner logs in as that account and accepts.
    anonymous = app.test_client()
    assert "Log in to accept" in anonymous.get(victim_link).get_data(as_text=True)
    anonymous.post(victim_link, data={"password": "stolen-password", "confirm": "stolen-password"})
    assert _can_log_in(app, "victim@school.test", PASSWORD) and not _can_log_in(app, "victim@school.test", "attackerpw")
    assert not _can_log_in(app, "victim@school.test", "stolen-password")
    owner = make_client(victim)
    home = owner.get("/learn/").get_data(as_text=True)
    assert "You are invited to join <strong>Algebra I</strong>" in home
    accept = re.search(r'action="(/invitations/\d+/accept)"', home).group(1)
    assert owner.get(victim_link).status_code == 200
    assert owner.post(accept).status_code == 302
    assert owner.get(f"/learn/courses/{course.code}").status_code == 200
    assert "You are invited" not in owner.get("/learn/").get_data(as_text=True)
    # The other instructor declines; to the course's instructor that invitation still reads "invited".
    boss = make_client(other_teacher)
    decline = re.search(r'action="(/invitations/\d+/decline)"', boss.get("/teach/").get_data(as_text=True)).group(1)
    assert boss.post(decline).status_code == 302 and "You are invited" not in boss.get("/teach/").get_data(as_text=True)
    course_page = make_client(teacher).get(f"/teach/courses/{course.code}").get_data(as_text=True)
    assert "Invited, not joined yet (1)" in course_page and "boss@school.test" in course_page
    assert "declined" not in course_page.lower()


def test_another_account_cannot_answer_an_invitation(app, world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    owner, intruder = world.student(email="owner@x.test"), world.student(email="intruder@x.test")
    rows = _invitations(_upload(make_client(teacher), course.code, "email,name\nowner@x.test,Owen\n"))
    inv_id = dbs.exec(select(CourseInvitation.id).where(CourseInvitation.user_id == owner.id)).one()
    other = make_client(intruder)
    assert "logged in with another account" in other.get(_path(rows[0]["link"])).get_data(as_text=True)
    assert other.post(f"/invitations/{inv_id}/accept").status_code == 404
    assert other.get(f"/learn/courses/{course.code}").status_code == 404


def test_reuploading_gives_fresh_links_to_everyone_not_yet_in_the_course(app, world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    client = make_client(teacher)
    first = _invitations(_upload(client, course.code, "email,name\nann@x.test,Ann\nben@x.test,Ben\n"))
    assert app.test_client().post(_path(first[0]["link"]),
                                  data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    second = _invitations(_upload(client, course.code, "email,name\nann@x.test,Ann\nben@x.test,Ben\n"))
    assert [(r["email"], r["status"], bool(r["link"])) for r in second] == [("ann@x.test", "enrolled", False),
                                                                           ("ben@x.test", "invited", True)]
    assert app.test_client().get(_path(first[1]["link"])).status_code == 404  # replaced by the new one
    assert app.test_client().get(_path(second[1]["link"])).status_code == 200
    assert len(dbs.exec(select(Enrollment).where(Enrollment.course_id == course.id,
                                                 Enrollment.role == "student")).all()) == 1


def test_an_expired_link_is_refused(app, world, dbs):
    user = world.student()
    with app.app_context():
        token, _ = accounts.issue_link(dbs, user, "reset")
    link = dbs.exec(select(AccountLink).where(AccountLink.user_id == user.id)).one()
    link.expires_at = utcnow() - timedelta(minutes=1)
    dbs.commit()
    resp = app.test_client().post(f"/password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 404 and "expired" in resp.get_data(as_text=True)
    assert not _can_log_in(app, user.email, NEW_PASSWORD)


def test_signup_cannot_claim_an_invited_account(app, world, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    _upload(make_client(teacher), course.code, "email,name\nnina@x.test,Nina\n")
    resp = app.test_client().post("/signup", data={"name": "Mallory", "email": "nina@x.test", "password": "mallory-pw"})
    assert resp.status_code == 400 and not _can_log_in(app, "nina@x.test", "mallory-pw")


# ---------------------------------------------------------------- e-mail over a real SMTP server

class _Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.refuse: set[str] = set()  # addresses the server refuses (once each), as a mistyped one would be

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            self.refuse.discard(address)
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server():
    controller_module = pytest.importorskip("aiosmtpd.controller", reason="aiosmtpd is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def app_config(app_config, request):
    if "smtp_server" in request.fixturenames:
        _inbox, port = request.getfixturevalue("smtp_server")
        app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_SECURITY="none",
                          MAIL_FROM="classroom@school.test", PUBLIC_URL="https://classroom.school.test")
    if request.node.get_closest_marker("rate_limited"):
        app_config.update(RATELIMIT_ENABLED=True)
    return app_config


def _body(message) -> str:
    return message.get_payload(decode=True).decode() if not message.is_multipart() else \
        message.get_payload(0).get_payload(decode=True).decode()


def test_invitations_are_emailed_in_the_background_with_links_to_the_public_url(app, world, make_client,
                                                                              smtp_server):
    inbox, _port = smtp_server
    teacher = world.instructor()
    world.student(email="ben@x.test", name="Ben's Own Name")  # has an account: the same mail all the same
    course = world.course(teacher, title="Algebra I")
    resp = _upload(make_client(teacher), course.code, "email,name\nann@x.test,Ann One\nben@x.test,Ben Two\n")
    assert "2 sent" in resp.get_data(as_text=True)  # the job ran at once here (HUEY_IMMEDIATE)
    messages = inbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["ann@x.test", "ben@x.test"]
    ann, ben = (next(m for m in messages if m["To"] == a) for a in ("ann@x.test", "ben@x.test"))
    assert ann["From"] == "classroom@school.test" and "Algebra I" in ann["Subject"] == ben["Subject"]
    body_shape = lambda m: re.sub(r"Hello [^,]*,|/invite/\S+", "", _body(m))  # noqa: E731
    assert body_shape(ann) == body_shape(ben)
    link = re.search(r"https://classroom\.school\.test/invite/\S+", _body(ann)).group(0)
    assert link in {r["link"] for r in _invitations(resp)}
    assert app.test_client().post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert _can_log_in(app, "ann@x.test", NEW_PASSWORD)


def test_failed_invitation_mail_says_why_and_is_sent_again_with_a_fresh_link(app, world, dbs, make_client,
                                                                              smtp_server):
    inbox, _port = smtp_server
    inbox.refuse.add("typo@x.test")
    teacher = world.instructor()
    course = world.course(teacher)
    client = make_client(teacher)
    rows = _invitations(_upload(client, course.code, "email,name\nann@x.test,Ann\ntypo@x.test,Tia Typo\n"))
    inbox.wait_for(1)
    page = re.sub(r"\s+", " ", client.get(f"/teach/courses/{course.code}").get_data(as_text=True))
    assert "1 sent" in page and "1 failed" in page
    assert "typo@x.test: the mail server refused the address (550 5.1.1 No such mailbox here)" in page
    assert client.post(f"/teach/courses/{course.code}/invitations/resend").status_code == 302
    messages = inbox.wait_for(2)
    assert [m["To"] for m in messages] == ["ann@x.test", "typo@x.test"]
    fresh = re.search(r"https://classroom\.school\.test/invite/\S+", _body(messages[1])).group(0)
    old = next(r["link"] for r in rows if r["email"] == "typo@x.test")
    assert fresh != old and app.test_client().get(_path(old)).status_code == 404
    assert app.test_client().get(_path(fresh)).status_code == 200
    page = re.sub(r"\s+", " ", client.get(f"/teach/courses/{course.code}").get_data(as_text=True))
    assert "2 sent" in page and "failed" not in page


def test_forgot_password_mails_a_link_and_says_the_same_for_unknown_addresses(app, world, smtp_server):
    inbox, _port = smtp_server
    user = world.student(name="Sam Lee")
    client = app.test_client()
    known = client.post("/forgot", data={"email": user.email.upper()}, follow_redirects=True)
    # A forged Host header does not move the link: links use PUBLIC_URL.
    unknown = client.post("/forgot", data={"email": "nobody@x.test"}, follow_redirects=True,
                          headers={"Host": "evil.test"})
    text_of = lambda r: re.sub(r"\s+", " ", r.get_data(as_text=True))  # noqa: E731
    assert known.status_code == unknown.status_code == 200
    assert "If an account uses that address" in text_of(known)
    assert text_of(known).count("If an account uses") == text_of(unknown).count("If an account uses") == 1
    messages = inbox.wait_for(1)
    time.sleep(0.3)  # nothing more arrives for the unknown address
    assert [m["To"] for m in inbox.messages] == [user.email]
    link = re.search(r"https://classroom\.school\.test/password/\S+", _body(messages[0])).group(0)
    assert _can_log_in(app, user.email, PASSWORD)  # the old password works until the link is used
    assert client.post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert not _can_log_in(app, user.email, PASSWORD) and _can_log_in(app, user.email, NEW_PASSWORD)


def test_signup_with_email_says_the_same_for_every_address_and_mails_the_owner(app, world, dbs, smtp_server):
    """Where e-mail is set up, sign-up never says an address is taken: every address gets "check your
    e-mail"; a new one gets a link to choose its password, an existing account's owner a note, and
    nothing about that account changes."""
    inbox, _port = smtp_server
    taken = world.student(email="taken@x.test", name="Tara Taken")
    def text_of(resp) -> str:  # the page's main part, the address typed made the same
        page = re.sub(r"\s+", " ", resp.get_data(as_text=True))
        return re.sub(r"taken@x\.test|fresh@x\.test", "ADDRESS", page[page.index("<main"):page.index("</main>")])
    answers = [app.test_client().post("/signup", data={"name": name, "email": address, "password": "typed-pw-1"},
                                      follow_redirects=True)
               for name, address in (("Mallory", "taken@x.test"), ("Fred Fresh", "fresh@x.test"))]
    assert [a.status_code for a in answers] == [200, 200]
    assert text_of(answers[0]) == text_of(answers[1]) and "Check your e-mail to finish signing up" in text_of(answers[0])
    messages = inbox.wait_for(2)
    by_to = {m["To"]: m for m in messages}
    assert "already has an account" in _body(by_to["taken@x.test"]) and "/password/" not in _body(by_to["taken@x.test"])
    dbs.expire_all()
    assert dbs.get(User, taken.id).name == "Tara Taken" and _can_log_in(app, "taken@x.test", PASSWORD)
    # Nobody can log in to the new address until its owner chose a password with the mailed link.
    assert not _can_log_in(app, "fresh@x.test", "typed-pw-1")
    link = re.search(r"https://classroom\.school\.test/password/\S+", _body(by_to["fresh@x.test"])).group(0)
    assert app.test_client().post(_path(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert _can_log_in(app, "fresh@x.test", NEW_PASSWORD)
    assert accounts.find_user(dbs, "fresh@x.test").role == "student"


def test_smtp_without_public_url_stops_the_start(app_config):
    from classroom import create_app
    from classroom.config import ConfigError

    app_config.update(SMTP_HOST="127.0.0.1", MAIL_FROM="classroom@school.test", PUBLIC_URL=None)
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        create_app(app_config)
    app_config.update(PUBLIC_URL="https://c.test", SMTP_PORT="70000")
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        create_app(app_config)


@pytest.mark.rate_limited
def test_forgot_password_is_rate_limited_per_address_typed(app, world):
    user = world.student()
    client = app.test_client()
    for attempt in range(5):
        resp = client.post("/forgot", data={"email": user.email}, environ_base={"REMOTE_ADDR": f"10.0.3.{attempt}"})
        assert resp.status_code == 302, attempt
    resp = client.post("/forgot", data={"email": user.email}, environ_base={"REMOTE_ADDR": "10.0.4.1"})
    assert resp.status_code == 429
    # Without e-mail the answer is the same for every address, and no link is made.
    assert client.post("/forgot", data={"email": "nobody@x.test"}).status_code == 302
    assert _can_log_in(app, user.email, PASSWORD)


# ---------------------------------------------------------------- sessions and tokens

def _copy_session(app, source):
    """A second browser holding a copy of `source`'s session cookie."""
    thief = app.test_client()
    cookie = source.get_cookie("session")
    thief.set_cookie("session", cookie.value, domain=cookie.domain)
    return thief


def test_logout_ends_a_copied_session_cookie(app, world, make_client):
    student = world.student()
    browser = make_client(student)
    thief = _copy_session(app, browser)
    assert thief.get("/learn/").status_code == 200
    assert browser.post("/logout").status_code == 302
    resp = thief.get("/learn/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_a_new_password_ends_other_sessions_but_keeps_this_one(app, world, make_client):
    student = world.student()
    browser = make_client(student)
    other = make_client(student)
    bad = browser.post("/account/password", data={"current_password": "wrong-one", "new_password": NEW_PASSWORD})
    assert bad.status_code == 400 and "not your current password" in bad.get_data(as_text=True)
    assert other.get("/learn/").status_code == 200
    resp = browser.post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert resp.status_code == 302
    assert browser.get("/learn/").status_code == 200
    assert other.get("/learn/").status_code == 302
    assert _can_log_in(app, student.email, NEW_PASSWORD) and not _can_log_in(app, student.email, PASSWORD)


def test_disabling_an_account_ends_its_sessions_and_tokens(app, world, dbs, make_client):
    student = world.student()
    admin = world.user("admin")
    with app.app_context():
        token = accounts.create_token(dbs, student.email)
    browser = make_client(student)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/tokens", headers=headers).status_code == 200
    boss = make_client(admin)
    found = boss.get(f"/admin/?q={student.email}").get_data(as_text=True)
    assert student.email in found
    assert boss.post(f"/admin/users/{student.id}/access", data={"action": "disable"}).status_code == 302
    assert browser.get("/learn/").status_code == 302
    assert api.get("/api/v1/tokens", headers=headers).status_code == 401
    resp = app.test_client().post("/login", data={"email": student.email, "password": PASSWORD})
    assert resp.status_code == 400 and "disabled" in resp.get_data(as_text=True)
    assert boss.post(f"/admin/users/{student.id}/access", data={"action": "enable"}).status_code == 302
    assert _can_log_in(app, student.email, PASSWORD)


def test_api_tokens_are_listed_and_revoked_by_their_owner(app, world, dbs, make_client):
    student = world.student()
    other = world.student()
    with app.app_context():
        first = accounts.create_token(dbs, student.email, "laptop")
        second = accounts.create_token(dbs, student.email, "phone")
        theirs = accounts.create_token(dbs, other.email, "theirs")
    api = app.test_client()
    listed = api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {first}"}).get_json()["tokens"]
    assert sorted(t["label"] for t in listed) == ["laptop", "phone"]
    assert [t["current"] for t in listed if t["label"] == "laptop"] == [True]
    assert all(first not in str(t) for t in listed)
    phone_id = next(t["id"] for t in listed if t["label"] == "phone")
    their_id = dbs.exec(select(ApiToken.id).where(ApiToken.user_id == other.id)).one()
    assert api.delete(f"/api/v1/tokens/{their_id}", headers={"Authorization": f"Bearer {first}"}).status_code == 404
    assert api.delete(f"/api/v1/tokens/{phone_id}", headers={"Authorization": f"Bearer {first}"}).status_code == 204
    assert api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    assert api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {theirs}"}).status_code == 200

    # The same on the account page: listed, created (shown once), revoked.
    browser = make_client(student)
    page = browser.get("/account").get_data(as_text=True)
    assert "laptop" in page and "phone" not in page and first not in page
    made = browser.post("/account/tokens", data={"label": "script"}).get_data(as_text=True)
    new_token = re.search(r"cc_[A-Za-z0-9_-]+", made).group(0)
    assert api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    laptop_id = next(t["id"] for t in listed if t["label"] == "laptop")
    assert browser.post(f"/account/tokens/{laptop_id}/revoke").status_code == 302
    assert api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert make_client(other).post(f"/account/tokens/{laptop_id}/revoke").status_code == 404


def test_old_password_hashes_and_sessions_still_work_after_the_upgrade(app, world, dbs):
    # Accounts made before this change keep their password (and demo accounts theirs).
    user = world.student()
    user.password_hash = generate_password_hash("older-password")
    dbs.add(user)
    dbs.commit()
    assert _can_log_in(app, user.email, "older-password")
    assert login(app.test_client(), user, "older-password")
