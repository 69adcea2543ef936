"""One student's versions sent at once (a double click, a client retrying in parallel) are all saved, each
with its own version number: a save that loses the race for a number takes the next one."""
from __future__ import annotations

import threading

from sqlmodel import Session, select

from classroom.models import Submission
from classroom.services import submissions
from classroom.services.errors import Conflict
from classroom.services.submissions import VERSION_ATTEMPTS, CritiqueDraft

THREADS, EACH = 6, 8


def test_versions_sent_at_once_are_all_saved_in_turn(app, world, dbs):
    c = world.classroom()
    engine = app.extensions["db_engine"]
    failures: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def send(k: int) -> None:
        try:
            with app.app_context(), Session(engine, expire_on_commit=False) as s:
                start.wait()
                for i in range(EACH):
                    submissions.submit(s, c["alice"], c["assignment"].id, c["problem"].id,
                                       CritiqueDraft(2, f"thread {k}, version {i}: 28 × 6 is 168", "168", "168"))
        except BaseException as exc:  # noqa: BLE001 - reported below, with the thread's failure
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    versions = sorted(dbs.exec(select(Submission.version).where(Submission.student_id == c["alice"].id)))
    assert versions == list(range(1, THREADS * EACH + 1))


def test_a_save_that_keeps_losing_the_race_is_a_conflict_to_retry(app, world, dbs, monkeypatch):
    """The refusal is 409 with a sentence, never a 500, and nothing is saved twice."""
    from sqlalchemy.exc import IntegrityError

    c = world.classroom()
    calls = []

    def always_taken(*_args, **_kwargs):
        calls.append(1)
        raise IntegrityError("INSERT", {}, Exception("uq_submission_version"))

    monkeypatch.setattr(submissions, "_insert", always_taken)
    monkeypatch.setattr(submissions, "FIRST_PAUSE_SECONDS", 0.0)
    with app.app_context():
        try:
            submissions.submit(dbs, c["alice"], c["assignment"].id, c["problem"].id,
                               CritiqueDraft(2, "28 × 6 is 168", "168", "168"))
        except Conflict as exc:
            assert exc.status == 409 and "submit again" in exc.message
        else:
            raise AssertionError("no Conflict")
    assert len(calls) == VERSION_ATTEMPTS
    assert dbs.exec(select(Submission).where(Submission.student_id == c["alice"].id)).first() is None
