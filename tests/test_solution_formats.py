"""Solutions written as programs: Pygments highlighting on the server (no Markdown mangling of '#', '*' or
'//'), line numbers as step numbers, blank lines kept as steps through import and export, MR-GSM8K's POT
items read as Python, the problem form's "Written as" and the student's code correction."""
import json
import re

import pytest
from sqlmodel import select

from classroom.models import FlawedSolution, Problem
from classroom.rendering import code_stylesheet, highlight_lines, render_code, render_markdown
from classroom.services import banks, problems
from support import PROJECT_ROOT, SHARED_DATA

BANK = SHARED_DATA / "mr-gsm8k" / "problems.jsonl"

PROGRAM = [
    "total_council_members = 33",
    "",
    "# total votes in favor",
    "in_favor = total_council_members * 2 // 3",
    "note = '<script>alert(1)</script>'",
    "",
    "print(in_favor)",
]


def _program_line(**overrides) -> dict:
    record = {"id": "pot-blank", "question_type": "POT",
              "question": "A council of 33 votes twice as many in favor as against. How many in favor?",
              "reference_solution": "Against: 33 / 3 = 11. In favor: 22.", "reference_answer": "22",
              "flawed_steps": list(PROGRAM), "first_error_step": 4,
              "error_reason": "Twice as many in favor means 2/3 of 33 is 22; the line is right but the ratio "
                              "was meant as 1/3."}
    record.update(overrides)
    return record


def _jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


# --------------------------------------------------------------------------- rendering

def test_markdown_would_mangle_a_program_and_highlighting_does_not():
    # The failure the issue describes: as Markdown a comment becomes a heading and a*b*c italics.
    assert "<h1>" in render_markdown("# total votes in favor")
    assert "<em>" in render_markdown("x = a*b*c")

    lines = highlight_lines(PROGRAM, "python")
    assert len(lines) == len(PROGRAM)
    html = "\n".join(lines)
    assert "<h1" not in html and "<em>" not in html
    assert '<span class="c1"># total votes in favor</span>' in lines[2]  # a comment is a comment
    assert '<span class="o">*</span>' in lines[3] and '<span class="o">//</span>' in lines[3]
    assert "<script>" not in html and "&lt;script&gt;" in lines[4]  # code is escaped
    assert lines[1] == "" and lines[5] == ""  # blank lines keep their place
    assert "style=" not in html  # class names only: the CSP allows no inline style


def test_a_string_across_lines_is_lexed_as_one_program():
    lines = highlight_lines(['text = """first', "# not a comment, still the string", '"""'], "python")
    assert 'class="c1"' not in lines[1] and 'class="s2"' in lines[1]


def test_unknown_language_and_odd_input_render_as_plain_escaped_text():
    lines = highlight_lines(["<b>x</b>", "\x00"], "no-such-language")
    assert lines[0] == "&lt;b&gt;x&lt;/b&gt;" and "\x00" not in lines[1]
    assert render_code("", "python") == ""
    block = render_code("x = 1\n\ny = x // 2", "python")
    assert block.startswith('<pre class="highlight code-block"') and block.count("\n") == 2


def test_code_stylesheet_is_pygments_own_and_up_to_date():
    shipped = (PROJECT_ROOT / "static" / "css" / "code.css").read_text(encoding="utf-8")
    assert shipped == code_stylesheet(), (
        "static/css/code.css is out of date: regenerate it with python -c \"from classroom.rendering import "
        "code_stylesheet; open('static/css/code.css', 'w').write(code_stylesheet())\"")
    assert ".highlight .c1" in shipped and "pre {" not in shipped  # scoped: it never restyles other blocks


# --------------------------------------------------------------------------- banks

def test_blank_lines_of_a_program_round_trip_through_import_and_export(app, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher, code="POT1")
    rust = _program_line(id="rs-1", question_type="original", solution_format="Rust",
                         flawed_steps=["fn main() {", "", "    let x = 3 * 7;", "    println!(\"{}\", x);", "}", ""],
                         first_error_step=3)
    raw = _jsonl([_program_line(), rust])
    with app.app_context():
        assert banks.import_bank(dbs, teacher, course, raw).imported == 2
        exported = banks.export_bank(dbs, teacher, course)
    out = {r["id"]: r for r in map(json.loads, exported.text.splitlines())}
    assert out["pot-blank"]["flawed_steps"] == PROGRAM  # blank steps, in place
    assert out["pot-blank"]["first_error_step"] == 4 and out["pot-blank"]["solution_format"] == "python"
    assert out["rs-1"]["flawed_steps"] == rust["flawed_steps"]  # a trailing blank line too, indentation kept
    assert out["rs-1"]["solution_format"] == "rust"
    other = world.course(teacher, code="POT2")
    with app.app_context():
        banks.import_bank(dbs, teacher, other, exported.text)
        assert banks.export_bank(dbs, teacher, other).text == exported.text


@pytest.mark.parametrize("record, expected", [
    (_program_line(question_type="original"), "line 1: field flawed_steps: step 2 is empty"),
    (_program_line(solution_format="prose"), "line 1: field flawed_steps: step 2 is empty"),
    (_program_line(first_error_step=2), "line 1: field first_error_step: step 2 is a blank line"),
    (_program_line(solution_format="klingon"), "line 1: field solution_format: 'klingon' is neither"),
    (_program_line(solution_format=3), "line 1: field solution_format: must be text"),
    (_program_line(flawed_steps=["x = 1\ny = 2", "print(y)"]),
     "line 1: field flawed_steps: step 1 has more than one line"),
    (_program_line(flawed_steps=["", "   "], first_error_step=1),
     "line 1: field flawed_steps: has only blank lines"),
], ids=["prose by default", "prose named", "key on a blank line", "unknown language", "format not text",
        "two lines in a step", "only blank lines"])
def test_blank_steps_are_refused_in_prose_and_code_mistakes_are_named(app, world, dbs, record, expected):
    teacher = world.instructor()
    course = world.course(teacher)
    with app.app_context(), pytest.raises(banks.BankInvalid) as err:
        banks.import_bank(dbs, teacher, course, _jsonl([record]))
    assert any(line.startswith(expected) for line in err.value.errors), err.value.errors


def test_the_shared_banks_programs_are_python_and_render_as_code(app, world, dbs, make_client):
    if not BANK.is_file():
        print(f"skipping: {BANK} is not there (set CLASSROOM_SHARED_DATA)")
        pytest.skip(f"{BANK} is absent")
    originals = [json.loads(line) for line in BANK.read_text(encoding="utf-8").splitlines() if line.strip()]
    pot = [r for r in originals if r["question_type"] == "POT"]
    assert len(pot) == 33
    teacher = world.instructor()
    course = world.course(teacher, code="MRPOT")
    with app.app_context():
        banks.import_bank(dbs, teacher, course, _jsonl(pot))
    solutions = dbs.exec(select(FlawedSolution)).all()
    assert {s.solution_format for s in solutions} == {"python"}
    by_id = {p.external_id: p for p in dbs.exec(select(Problem)).all()}
    # Stored without MR-GSM8K's stray carriage returns; every line kept, in order.
    for record in pot:
        solution = problems.current_solution(dbs, by_id[record["id"]].id)
        assert solution.steps == [line.rstrip() for line in record["flawed_steps"]]

    council = next(r for r in pot if any(s.startswith("# As per the question") for s in r["flawed_steps"]))
    page = make_client(teacher).get(f"/teach/problems/{by_id[council['id']].id}").get_data(as_text=True)
    assert "<h1>As per the question" not in page and "<h1># As per" not in page
    assert '<span class="c1"># As per the question, twice as many votes in favor as against</span>' in page
    assert '<span class="o">//</span>' in page
    # The key's line is marked, its number the step number.
    key_line = council["first_error_step"]
    assert re.search(rf'<li class="key">\s*<span class="step-no"><span class="visually-hidden">Step </span>'
                     rf'{key_line}</span>', page)


# --------------------------------------------------------------------------- the problem form

def test_a_program_written_in_the_form_keeps_its_blank_lines(make_client, world, dbs):
    teacher = world.instructor()
    course = world.course(teacher)
    c = make_client(teacher)
    page = c.get(f"/teach/courses/{course.code}/problems/new").get_data(as_text=True)
    assert 'id="solution_format"' in page and 'value="python"' in page
    resp = c.post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "Votes", "statement": "33 members; twice as many for as against. How many for?",
        "reference_answer": "22", "solution_format": "python",
        "steps-0": "members = 33", "steps-1": "", "steps-2": "    # a third are against",
        "steps-3": "in_favor = members // 3", "steps-4": "", "steps-5": "",
        "first_wrong_step": "4", "reason": "Two thirds are in favor.", "error_kind": "wrong_formula"})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    problem = dbs.exec(select(Problem).where(Problem.title == "Votes")).one()
    solution = problems.current_solution(dbs, problem.id)
    # The blank line inside stays a step; the spare empty boxes after the last line are not steps.
    assert solution.steps == ["members = 33", "", "    # a third are against", "in_favor = members // 3"]
    assert solution.solution_format == "python"

    edit = c.get(f"/teach/problems/{problem.id}/edit").get_data(as_text=True)
    assert re.search(r'<option selected value="python">|<option value="python" selected>', edit)
    assert re.search(r'<textarea[^>]*class="code"[^>]*id="steps-1"', edit)

    refused = c.post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "Votes 2", "statement": "S", "solution_format": "python", "steps-0": "x = 1", "steps-1": "",
        "steps-2": "print(x)", "first_wrong_step": "2", "reason": "r", "error_kind": "other"})
    assert refused.status_code == 400 and b"Step 2 is a blank line" in refused.data


def test_pasting_a_program_splits_it_at_every_line(make_client, world):
    teacher = world.instructor()
    course = world.course(teacher)
    resp = make_client(teacher).post(f"/teach/courses/{course.code}/problems/new", data={
        "title": "T", "statement": "S", "solution_format": "python", "split": "1",
        "paste": "\n1. a = 1\n\n# 2. not a step number\nprint(a)\n\n"})
    page = resp.get_data(as_text=True)
    assert "Split into 4 lines" in page
    boxes = re.findall(r'<textarea[^>]*id="steps-(\d)"[^>]*>\r?\n?([^<]*)</textarea>', page)
    assert [text for _n, text in boxes][:5] == ["1. a = 1", "", "# 2. not a step number", "print(a)", ""]


# --------------------------------------------------------------------------- students

def test_student_sees_the_program_and_sends_a_code_correction(app, world, dbs, make_client):
    teacher = world.instructor()
    course = world.course(teacher)
    problem = world.problem(teacher, course, steps=PROGRAM, solution_format="python", first_wrong_step=4,
                            flawed_final_answer="11")
    assignment = world.assignment(teacher, course, [problem])
    student = world.student(course)
    c = make_client(student)
    url = f"/learn/assignments/{assignment.id}/problems/{problem.id}"
    page = c.get(url).get_data(as_text=True)
    assert "a Python program" in page and "<h1>" + "total votes" not in page
    # Every line is a step to choose: its number is the label of the step's radio button.
    for n in range(1, len(PROGRAM) + 1):
        assert f'<label class="step-no" for="error_step-{n - 1}">' in page
        assert f'id="error_step-{n - 1}"' in page and f'value="{n}"' in page
    assert re.search(r'<textarea[^>]*class="code"[^>]*data-code-editor', page)
    assert "Your corrected program, from the wrong line on" in page

    correction = "in_favor = total_council_members * 2 // 3\n# two thirds\nprint(in_favor)"
    resp = c.post(url, data={"error_step": "4", "explanation": "The ratio is 2 to 1, so two thirds.",
                             "correction": correction, "final_answer": "22"})
    assert resp.status_code == 302
    shown = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert '<pre class="highlight code-block"' in shown and '<span class="c1"># two thirds</span>' in shown
    teacher_page = make_client(teacher).get(
        "/teach" + resp.headers["Location"].replace("/learn", "")).get_data(as_text=True)
    assert '<span class="c1"># two thirds</span>' in teacher_page


def test_api_lists_the_solution_format_and_every_line(world, dbs, make_client):
    from test_api import _h, _token

    teacher = world.instructor()
    course = world.course(teacher)
    program = world.problem(teacher, course, steps=PROGRAM, solution_format="python", first_wrong_step=4)
    prose = world.problem(teacher, course, title="Prose")
    world.assignment(teacher, course, [program, prose])
    student = world.student(course)
    body = make_client().get(f"/api/v1/courses/{course.code}/assignments",
                             headers=_h(_token(world, dbs, student))).get_json()
    listed = {p["title"]: p for p in body["assignments"][0]["problems"]}
    assert listed["Tickets"]["solution_format"] == "python" and listed["Prose"]["solution_format"] == "prose"
    assert [s["text"] for s in listed["Tickets"]["steps"]] == PROGRAM
    assert [s["number"] for s in listed["Tickets"]["steps"]] == list(range(1, len(PROGRAM) + 1))


def test_help_page_program_example_imports_with_its_blank_step(make_client, world, dbs):
    import html

    teacher = world.instructor()
    course = world.course(teacher)
    page = make_client(teacher).get("/teach/help/bank-format").get_data(as_text=True)
    assert "<code>solution_format</code>" in page
    examples = [html.unescape(m) for m in re.findall(r'<pre class="raw example-line">(.*?)</pre>', page, re.S)]
    program = json.loads(examples[1])
    assert program["flawed_steps"][1] == "" and program["solution_format"] == "python"
    with world.app.app_context():
        assert banks.import_bank(dbs, teacher, course, "\n".join(examples) + "\n").imported == 2
    solution = problems.current_solution(dbs, dbs.exec(select(Problem).where(Problem.external_id == "tickets-2"))
                                         .one().id)
    assert solution.steps == program["flawed_steps"] and solution.solution_format == "python"
