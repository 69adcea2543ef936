"""The gradebook page shows a page of students by name (issue 13: a big course's page renders in
under a second); a teacher finds anyone by name or e-mail, and the CSV always holds everyone."""
from __future__ import annotations

import re
from html import unescape

from classroom.services import gradebook, submissions
from classroom.services.submissions import CritiqueDraft


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_pages_of_students_with_a_search_and_the_whole_csv(world, make_client, monkeypatch):
    monkeypatch.setattr(gradebook, "GRADEBOOK_PAGE_SIZE", 2)
    room = world.classroom()  # Alice Adams and Bob Brown
    carol = world.student(room["course"], name="Carol 100%_Clark", email="carol@school.test")
    with world.app.app_context():
        submissions.submit(world.s, carol, room["assignment"].id, room["problem"].id,
                           CritiqueDraft(error_step=2, explanation="28 × 6 is 168, not 158."))
    teacher = make_client(room["teacher"])
    path = f"/teach/courses/{room['course'].code}/gradebook"

    first = _text(teacher.get(path).get_data(as_text=True))
    assert "Students 1–2 of 3, by name." in first and "Page 1 of 2" in first
    assert "Alice Adams" in first and "Bob Brown" in first and "Carol" not in first
    assert "Next 2" in first and "Previous 2" not in first

    second = _text(teacher.get(path + "?page=2").get_data(as_text=True))
    assert "Students 3–3 of 3" in second and "Carol 100%_Clark" in second and "Alice" not in second
    assert "Previous 2" in second and "Next 2" not in second
    # A page past the last, or not a number, shows a page that exists.
    assert "Carol 100%_Clark" in _text(teacher.get(path + "?page=99").get_data(as_text=True))
    assert "Alice Adams" in _text(teacher.get(path + "?page=abc").get_data(as_text=True))

    found = _text(teacher.get(path, query_string={"q": "CAROL@school"}).get_data(as_text=True))
    assert "Students 1–1 of 1 matching “CAROL@school” (3 in the course)" in found
    assert "Carol 100%_Clark" in found and "Alice" not in found and "Page 1 of" not in found
    # % and _ are what they are, not wildcards.
    assert "Carol" in _text(teacher.get(path, query_string={"q": "100%_"}).get_data(as_text=True))
    none = _text(teacher.get(path, query_string={"q": "%Adams"}).get_data(as_text=True))
    assert "No student's name or e-mail contains “%Adams”." in none and "Alice" not in none

    csv = teacher.get(f"/teach/courses/{room['course'].code}/gradebook.csv").get_data(as_text=True)
    assert len(csv.strip().splitlines()) == 4  # the header and all three students, whatever the page size
    assert "Download CSV (all 3 students)" in first
