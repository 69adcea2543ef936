"""`models.new_row` (and `Grade.new`, what the grading job builds its grades with): the same object as
the model's own constructor makes, for a fraction of the cost, and saved like any other."""
from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlmodel import select

from classroom.models import GRADE_GRADED, Grade, new_row
from classroom.services import submissions
from classroom.services.submissions import CritiqueDraft
from support import PROJECT_ROOT

VALUES = dict(submission_id=7, component="location", status=GRADE_GRADED, score=1.0, feedback="Step 2.")


def _fields(grade: Grade) -> dict:
    return {k: v for k, v in grade.model_dump().items() if k not in ("created_at", "updated_at")}


def test_a_new_row_is_what_the_constructor_makes():
    quick, slow = Grade.new(**VALUES), Grade(**VALUES)
    assert _fields(quick) == _fields(slow)
    assert quick.created_at.tzinfo is not None and quick.effective_score == 1.0
    assert sa_inspect(quick).transient  # in no session yet, as Grade(...) is


def test_each_row_gets_its_own_mutable_defaults():
    first, second = Grade.new(**VALUES), Grade.new(**VALUES)
    first.flags.append("injection")
    assert second.flags == [] and Grade.new(**VALUES).flags == []


@pytest.mark.parametrize("values, message", [
    ({**VALUES, "scroe": 1.0}, "Grade has no field scroe"),
    ({"submission_id": 7}, "Grade needs component"),
])
def test_a_typo_or_a_missing_field_is_a_type_error(values, message):
    with pytest.raises(TypeError, match=message):
        Grade.new(**values)


def test_a_new_row_is_saved_and_read_back(app, world, dbs):
    c = world.classroom()
    with app.app_context():
        sub, _job = submissions.submit(dbs, c["alice"], c["assignment"].id, c["problem"].id,
                                       CritiqueDraft(2, "28 × 6 is 168", "168", "168"))
    dbs.add(new_row(Grade, **{**VALUES, "submission_id": sub.id, "component": "lean", "flags": ["key_echo"]}))
    dbs.commit()
    dbs.expire_all()
    saved = dbs.exec(select(Grade).where(Grade.submission_id == sub.id, Grade.component == "lean")).one()
    assert (saved.score, saved.feedback, saved.flags, saved.status) == (1.0, "Step 2.", ["key_echo"], GRADE_GRADED)
    assert saved.override_comment == "" and saved.created_at is not None


def test_a_fresh_process_can_build_a_row_before_any_query():
    script = ("from classroom.models import Grade\n"
              "print(Grade.new(submission_id=1, component='location').status)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "needs_review"
