"""The final-answer check: Math-Verify underneath, a classroom's reading around it, limits."""
from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classroom.grading import answers
from classroom.grading.answers import check_answer, read_answer, validate_mode

ROOT = Path(__file__).resolve().parents[2]


def verdict(student, reference, mode="auto", tolerance=None):
    return check_answer(student, reference, mode, tolerance).verdict


# The issue's own examples, and issue 10's units with exponents.
@pytest.mark.parametrize("student, reference", [
    ("(x+1)^2", "x^2+2x+1"),
    (r"\pi/2", r"\frac{\pi}{2}"),
    (r"\$18.00", "18"),
    ("2 1/2", "5/2"),
    ("5!", "120"),
    (r"x \le 3", r"(-\infty, 3]"),
    (r"\pm 3", "3, -3"),
    ("x = 3 or x = -3", r"\pm 3"),
    ("30 cm^2", "30"),
    ("30 cm$^2$", "30"),
    ("30 cm²", "30"),
    ("30 cm^2", "30 cm^2"),
    ("9.8 m/s^2", "9.8"),
    (".4", "0.4"),
    ("1,234,567", "1234567"),
    ("1 000", "1000"),
    ("3/4", "0.75"),
    (r"\frac34", "3/4"),
    (r"\dfrac{3}{4}", "3/4"),
    (r"2\frac{1}{2}", "5/2"),
    ("25 percent", "25%"),
    ("25%", "25%"),
    ("1.5e3", "1500"),
    (r"1.5 \times 10^3", "1500"),
    ("$12", "12"),
    ("€12", "12"),
    ("£12", "12"),
    ("12 km/h", "12"),
    ("40 apples", "40"),
    (r"90^\circ", "90"),
    (r"\sqrt{8}", r"2\sqrt{2}"),
    ("pi/2", r"\frac{\pi}{2}"),
    ("e^{0}", "1"),
    (r"\log_2 8", "3"),
    (r"\binom{5}{2}", "10"),
    ("1+i", "1+i"),
    ("(x-1)(x+1)", "x^2-1"),
    (r"\tan^2 y + 1", r"\sec^2 y"),
    ("y = 3+2x", "y=2x+3"),
    ("4", "x = 4"),
    ("2x+4y-3=0", r"y=-\frac12x+\frac34"),
    (r"5 \le x", r"x \ge 5"),
    ("(1,2)", "(1,2)"),
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}"),
    (r"\text{Evelyn}", "Evelyn"),
    ("(B)", "B"),
    ("b", "B"),
    # from before Math-Verify: these must keep working
    ("42.0", "42"), ("42.", "42"), (r"$\frac{22}{7}$", "22/7"), (r"\boxed{42}", "42"), ("$1,200", "1200"),
    ("7,000.50", "7000.5"), ("40 dollars", "40"), ("7000$", "7000"), ("18%", "0.18"), ("x = 4", "4"),
    ("7", 7),  # references read from JSON may be numbers
])
def test_equivalent_answers_are_correct(student, reference):
    check = check_answer(student, str(reference))
    assert check.verdict == "correct", check.note
    assert check.score == 1.0


@pytest.mark.parametrize("student, reference", [
    ("(2,1)", "(1,2)"),
    ("43", "42"),
    ("0.33", "1/3"),
    (r"\frac{3}{5}", "0.75"),
    ("1,200", "120"),
    ("-7", "7"),
    ("5x", "5"),
    ("x < 3", r"(-\infty, 3]"),
    ("3", "3, -3"),
    ("2x+4", "2x+3"),
    ("Neveyl", "Evelyn"),
    ("C", "B"),
    ("31 cm^2", "30"),
    ("1-i", "1+i"),
])
def test_different_answers_are_incorrect(student, reference):
    check = check_answer(student, reference)
    assert check.verdict == "incorrect" and check.score == 0.0


# Math-Verify's own public regression cases (tests/test_all.py upstream) that are classroom answers.
@pytest.mark.parametrize("reference, student, expected", [
    ("-5", "-5", True), ("7425000", "7,425,000", True), ("1000", "1 000", True), ("1000", "1000.0", True),
    ("1000.0", "1,000.0", True), ("0.4", ".4", True), ("1000.99", "1,000.99", True), ("1000.99", "$1,000.99", True),
    ("1000.99", "1,000.99$", True), ("1000.99", "1,000.99€", True), ("10/9", r"\frac{10}{9}", True),
    ("-10/9", r"-\frac{10}{9}", True), ("[0,1)", "[0,1)", True), ("[0,9)", "[0,1)", False), ("(0,9)", "[0,9)", False),
    ("1/3", r"\frac13", True), ("1", r"\frac3{3}", True), (r"\sqrt{3}", r"\sqrt3", True), ("1/3", r"\cfrac{1}{3}", True),
    ("1/3", r"\left( \frac{1}{3} \right)", True), ("1/3", r"\boxed{\frac{1}{3}}", True),
    ("1/3", r"\frac{1}{3} \text{meters}", True), (r"28\%", "28 percent", True), (r"28\%", "28 pct", True),
    (r"28\%", "28 %", True), (r"28\%", "28", True), ("0.28", "28", False), ("28/100", "28", False),
    ("28", "28/100", False),
])
def test_math_verify_public_cases(reference, student, expected):
    assert (verdict(student, reference) == "correct") is expected


def test_read_as_shows_the_value():
    assert check_answer("2 1/2", "5/2").read_as == r"\frac{5}{2}"
    assert check_answer("$1,200", "1200").read_as == "1200"
    check = check_answer("30 cm^2", "30")
    assert check.verdict == "correct" and "cm^2" in check.note


def test_live_reading():
    reading = read_answer("2 1/2")
    assert reading.readable and reading.read_as == r"\frac{5}{2}"
    bad = read_answer("twelve and a half apples", reference="12.5")
    assert not bad.readable and "digits" in bad.note
    assert not read_answer("x^", reference="12").readable
    assert "Write" in read_answer("x^", reference="12").note
    assert read_answer("Evelyn", reference="Evelyn").readable
    assert not read_answer("").readable


# ------------------------------------------------------------------ answer modes

def test_numeric_mode_with_absolute_and_relative_tolerance():
    assert verdict("3.14", r"\pi", "numeric", "0.01") == "correct"
    assert verdict("3.1", r"\pi", "numeric", "0.01") == "incorrect"
    assert verdict("102", "100", "numeric", "2%") == "correct"
    assert verdict("103", "100", "numeric", "2%") == "incorrect"
    assert verdict("3.14", r"\pi", "numeric") == "incorrect"  # no tolerance: exact to 1e-9
    assert verdict("x+1", "2", "numeric") == "unreadable"


def test_exact_form_mode():
    assert verdict("1/2", "1/2", "exact") == "correct"
    assert verdict("2/4", "1/2", "exact") == "incorrect"
    assert "lowest terms" in check_answer("2/4", "1/2", "exact").note
    assert verdict("0.5", "1/2", "exact") == "incorrect"
    assert verdict(r"\sqrt{8}", r"2\sqrt{2}", "exact") == "incorrect"
    assert verdict(r"2\sqrt{2}", r"2\sqrt{2}", "exact") == "correct"
    assert verdict("1+1", "2", "exact") == "incorrect"
    assert verdict("2/4", "1/2", "auto") == "correct"


def test_set_and_ordered_modes():
    assert verdict("-3, 3", "3, -3", "set") == "correct"
    assert verdict("-3, 3", "3, -3", "ordered") == "incorrect"
    assert verdict("3, -3", "3, -3", "ordered") == "correct"
    assert verdict("(2, 1)", "(1, 2)", "set") == "correct"
    assert verdict("(2, 1)", "(1, 2)", "ordered") == "incorrect"
    assert verdict("(1, 2)", "(1, 2)", "ordered") == "correct"
    assert verdict("3", "3, -3", "set") == "incorrect"


def test_text_mode():
    assert verdict("  the Nile ", "The Nile", "text") == "correct"
    assert verdict("Amazon", "The Nile", "text") == "incorrect"
    assert verdict("2/4", "1/2", "text") == "incorrect"


def test_modes_and_tolerances_are_validated():
    assert validate_mode("Exact form", None) == ("exact", None)
    assert validate_mode(None, "") == ("auto", None)
    assert validate_mode("numeric", "0.5") == ("numeric", "0.5")
    for mode, tolerance in (("fuzzy", None), ("numeric", "a lot"), ("numeric", "-1"), ("auto", "0.1"),
                            ("numeric", "nan")):
        with pytest.raises(ValueError):
            validate_mode(mode, tolerance)


# ------------------------------------------------------------------ unreadable, absent, hostile

@pytest.mark.parametrize("student", ["twelve", "{", "\\\\", "\x00", "ﾟ", "1" * 300, "()", "\ud800"])
def test_unreadable_answers_get_a_verdict_not_an_exception(student):
    check = check_answer(student, "12")
    assert check.verdict == "unreadable"
    assert check.note  # something the student can act on
    assert check.score == 0.0


@pytest.mark.parametrize("student", ["1,2", "1e400"])
def test_lists_and_huge_numbers_are_read_but_wrong(student):
    assert verdict(student, "12") == "incorrect"


@pytest.mark.parametrize("student", [
    "__import__('os').system('touch PWNED')",
    "eval('1+1')",
    "exec('x=1')",
    "open('/etc/passwd').read()",
    "().__class__.__bases__[0].__subclasses__()",
    "lambda: 1",
    "globals()",
    "Symbol('x')",
])
def test_code_is_refused(student, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check = check_answer(student, "2")
    assert check.verdict == "unreadable"
    assert not (tmp_path / "PWNED").exists()


def test_absent_sides():
    assert check_answer("", "12").verdict == "absent"
    assert check_answer("   ", "12").verdict == "absent"
    assert check_answer("12", "").verdict == "absent"
    assert check_answer(None, "12").verdict == "absent"
    assert check_answer("", "12").score is None


def test_division_by_zero_is_not_an_exception():
    assert check_answer("1/0", "7").verdict in ("incorrect", "unreadable")


@pytest.mark.parametrize("answer, note", [
    ("10**10**10", "tower"), ("9^9^9^9", "tower"), ("9^{9^{9}}", "tower"), ("10^(100000)", "Exponents"),
    ("10000000!", "Factorials"), ("\\frac{1}{" * 13 + "2" + "}" * 13, "nested"), ("(" * 40 + "1" + ")" * 40, "nested"),
    ("1" * 100, "digits"), ("x" * 400, "longer"), (r"\binom{100000}{50000}", "Binomial"),
])
def test_hostile_answers_are_refused_with_a_note(answer, note):
    started = time.monotonic()
    check = check_answer(answer, "7")
    assert time.monotonic() - started < answers.CHECK_SECONDS + 1
    assert check.verdict in ("unreadable", "incorrect")
    assert note in check.note


@pytest.mark.parametrize("answer", ["(x+y+z)^{300}", "(x+1)^{999}-(x-1)^{999}"])
def test_slow_comparisons_stop_within_the_time_limit(answer):
    started = time.monotonic()
    check = check_answer(answer, "x+1")
    assert time.monotonic() - started < answers.CHECK_SECONDS + 1.5
    assert check.verdict in ("unreadable", "incorrect") and check.note


def test_an_overrun_kills_the_worker_and_the_next_check_works(monkeypatch):
    check_answer("1", "1")  # the workers are up
    answers.forget_checks()  # else a verdict kept from an earlier test answers without a worker
    monkeypatch.setattr(answers, "CHECK_SECONDS", 0.0005)
    check = check_answer(r"\frac{d}{dx} x^{3}", "3x^2")
    assert check.verdict == "unreadable" and "took longer" in check.note
    monkeypatch.setattr(answers, "CHECK_SECONDS", 2.0)
    assert check_answer("2 1/2", "5/2").verdict == "correct"


def test_checks_work_from_threads():
    from concurrent.futures import ThreadPoolExecutor
    pairs = [("2 1/2", "5/2", "correct"), ("3", "4", "incorrect"), ("(x+1)^2", "x^2+2x+1", "correct")] * 4
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda p: check_answer(p[0], p[1]).verdict, pairs))
    assert got == [p[2] for p in pairs]


def test_a_huge_power_returns_promptly_in_a_fresh_process():
    code = ("from classroom.grading.answers import check_answer; "
            "print(check_answer('9^9^9^9', '7').verdict, check_answer('2^999999', '7').verdict)")
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("check_answer did not return within 60 s on huge powers")
    assert done.stdout.split() == ["unreadable", "unreadable"]


def test_two_hundred_typical_answers_take_seconds():
    check_answer("1", "1")
    started = time.monotonic()
    for n in range(200):
        check_answer(f"${n * 37:,}", str(n * 37))
    assert time.monotonic() - started < 30


# ------------------------------------------------------------------ properties

_settings = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(st.integers(min_value=-10**9, max_value=10**9))
def test_integers_in_any_typed_form_match(n):
    forms = [str(n), f"{n:,}", f"{n}.0", f"\\${n}" if n >= 0 else f"-\\${-n}"]
    for form in forms:
        assert verdict(form, str(n)) == "correct", form


@_settings
@given(st.fractions(min_value=-1000, max_value=1000, max_denominator=50))
def test_fractions_in_any_typed_form_match(q: Fraction):
    reference = f"{q.numerator}/{q.denominator}"
    forms = [f"\\frac{{{q.numerator}}}{{{q.denominator}}}" if q >= 0 else f"-\\frac{{{-q.numerator}}}{{{q.denominator}}}",
             f"{2 * q.numerator}/{2 * q.denominator}"]
    whole, part = divmod(abs(q.numerator), q.denominator)
    if q > 0 and whole and part:
        forms.append(f"{whole} {part}/{q.denominator}")
    for form in forms:
        assert verdict(form, reference) == "correct", form


@_settings
@given(st.integers(min_value=-10**6, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_different_numbers_never_match(n, delta):
    assert verdict(str(n + delta), str(n)) == "incorrect"


@_settings
@given(st.text(max_size=80))
def test_any_text_gets_a_verdict(text):
    check = check_answer(text, "12")
    assert check.verdict in ("correct", "incorrect", "unreadable", "absent")


def test_the_same_answer_to_the_same_reference_is_checked_once(monkeypatch):
    answers.forget_checks()
    first = check_answer("2 1/2", "5/2")
    asked = []
    monkeypatch.setattr(answers, "_run", lambda request: asked.append(request) or {"verdict": "incorrect"})
    assert check_answer("2 1/2", "5/2") == first  # kept: no worker asked
    assert asked == []
    check_answer("2 1/2", "5/2", mode="exact")  # another mode is another check
    check_answer("2.5", "5/2")
    assert [(r["answer"], r["mode"]) for r in asked] == [("2 1/2", "exact"), ("2.5", "auto")]


def test_a_check_stopped_for_time_is_not_kept(monkeypatch):
    check_answer("1", "1")  # the workers are up
    answers.forget_checks()
    monkeypatch.setattr(answers, "CHECK_SECONDS", 0.0005)
    assert "took longer" in check_answer(r"\frac{d}{dx} x^{3}", "3x^2").note
    monkeypatch.setattr(answers, "CHECK_SECONDS", 2.0)
    assert "took longer" not in check_answer(r"\frac{d}{dx} x^{3}", "3x^2").note
