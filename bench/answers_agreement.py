"""How often each final-answer checker agrees with a teacher's verdicts.

    python bench/answers_agreement.py [--pairs FILE] [--json] [--show-disagreements]

Three checkers mark the same reference/answer pairs (JSON Lines with "reference", "answer",
"correct" and a "kind"):
- old: the hand-written number parser this project had before Math-Verify, read from git
  (commit --old-commit) so it need not live on in the source;
- math-verify: the library as its README shows, each side given as LaTeX math:
  verify(parse("$" + reference + "$"), parse("$" + answer + "$"));
- ours: classroom.grading.answers.check_answer, as grading calls it (worker process, limits).

Agreement is the share of pairs where "correct" and the teacher's verdict coincide. The run
also reports the seconds our checker took for the whole set, and (--typical N) how long it takes
to check N typical answers: the reference answers of /work/shared/data/mr-gsm8k/problems.jsonl
(read from there), each typed the way students type them ("$1,234", "1234.0", "1234 dollars").
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import time
import types
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_PAIRS = ROOT / "bench" / "answer_pairs.jsonl"
OLD_COMMIT = "ee5e611"  # the last commit with the hand-written parser


def load_pairs(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def old_checker(commit: str):
    """The old check_answer, loaded from git history into a throwaway module."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:classroom/grading/answers.py"],
                            capture_output=True, text=True, check=True).stdout
    source = source.replace("from . import", "from classroom.grading import")
    module = types.ModuleType("old_answers")
    exec(compile(source, f"{commit}:classroom/grading/answers.py", "exec"), module.__dict__)
    return lambda reference, answer: module.check_answer(answer, reference).verdict == "correct"


def math_verify_checker():
    from math_verify import parse, verify

    def as_math(text):
        return text if "$" in text else f"${text}$"

    def check(reference, answer):
        try:
            return bool(verify(parse(as_math(reference)), parse(as_math(answer))))
        except Exception:
            return False
    return check


def ours_checker():
    from classroom.grading.answers import check_answer
    return lambda reference, answer: check_answer(answer, reference).verdict == "correct"


def score(name, check, pairs) -> dict:
    started = time.perf_counter()
    wrong, by_kind = [], defaultdict(lambda: [0, 0])
    for pair in pairs:
        said = check(str(pair["reference"]), str(pair["answer"]))
        agree = said == bool(pair["correct"])
        by_kind[pair.get("kind", "")][0] += agree
        by_kind[pair.get("kind", "")][1] += 1
        if not agree:
            wrong.append({"reference": pair["reference"], "answer": pair["answer"], "teacher": pair["correct"],
                          "checker": said})
    seconds = time.perf_counter() - started
    agreed = len(pairs) - len(wrong)
    return {"checker": name, "pairs": len(pairs), "agreed": agreed, "agreement": round(agreed / len(pairs), 4),
            "seconds": round(seconds, 2), "by_kind": {k: f"{a}/{n}" for k, (a, n) in sorted(by_kind.items())},
            "disagreements": wrong}


TYPICAL_SOURCE = Path("/work/shared/data/mr-gsm8k/problems.jsonl")


def typical_timing(count: int, source: Path = TYPICAL_SOURCE) -> dict:
    """Seconds to check `count` typical answers (a warm worker, as on a running server)."""
    from classroom.grading.answers import check_answer
    references = []
    for line in source.read_text(encoding="utf-8").splitlines():
        value = str(json.loads(line).get("reference_answer", "")).strip()
        if re.fullmatch(r"-?[\d.,]+", value):  # the set has a few non-answers ("Let's think step by step.")
            references.append(value)
    styles = [lambda v: v, lambda v: f"${v}", lambda v: f"{v}.0", lambda v: f"{v} dollars"]
    pairs = [(references[i % len(references)], styles[i % len(styles)](references[i % len(references)]))
             for i in range(count)]
    check_answer("1", "1")
    started = time.perf_counter()
    correct = sum(check_answer(answer, reference).verdict == "correct" for reference, answer in pairs)
    seconds = time.perf_counter() - started
    return {"answers": count, "seconds": round(seconds, 2), "marked_correct": correct, "source": str(source)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument("--old-commit", default=OLD_COMMIT)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--show-disagreements", action="store_true")
    parser.add_argument("--only", choices=("old", "math-verify", "ours"), action="append")
    parser.add_argument("--typical", type=int, default=200, metavar="N",
                        help="also time N typical answers from mr-gsm8k (0: skip)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    pairs = load_pairs(args.pairs)
    makers = {"old": lambda: old_checker(args.old_commit), "math-verify": math_verify_checker, "ours": ours_checker}
    results = []
    for name, make in makers.items():
        if args.only and name not in args.only:
            continue
        try:
            check = make()
        except Exception as exc:  # e.g. no git history in an exported tree
            print(f"{name}: not measured ({exc})", file=sys.stderr)
            continue
        if name == "ours":
            check("1", "1")  # start the worker outside the timing
        results.append(score(name, check, pairs))
    typical = None
    if args.typical and (not args.only or "ours" in args.only):
        if TYPICAL_SOURCE.exists():
            typical = typical_timing(args.typical)
        else:
            print(f"typical timing skipped: {TYPICAL_SOURCE} is not on this machine", file=sys.stderr)
    if args.json:
        for r in results:
            if not args.show_disagreements:
                r.pop("disagreements")
        print(json.dumps({"pairs_file": str(args.pairs), "results": results, "typical": typical}, indent=2))
        return 0
    print(f"{len(pairs)} reference/answer pairs from {args.pairs}")
    for r in results:
        print(f"{r['checker']:12} agrees on {r['agreed']}/{r['pairs']} = {100 * r['agreement']:.1f} %"
              f"  ({r['seconds']} s)")
        if args.show_disagreements:
            for w in r["disagreements"]:
                print(f"    {w['reference']!r:34} {w['answer']!r:34} teacher={w['teacher']} checker={w['checker']}")
    if typical:
        print(f"{typical['answers']} typical answers checked in {typical['seconds']} s "
              f"({typical['marked_correct']} marked correct)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
