"""Final answers checked as a mathematician would, safely.

The reading and comparing is answer_math.py (Math-Verify underneath). A student's answer is
hostile input and SymPy can be made to work for hours (9^9^9, 10000000!), so it never runs
here: every check goes to a worker process, started from answer_math.py as a plain script,
that a deadline bounds in time (CHECK_SECONDS, enforced from this side by killing the
process, which works in any thread) and an address-space limit bounds in memory. Size
limits refuse towers, huge factorials and deep nesting before anything parses them.

check_answer() is what grading, the generator's checks, the CLI and the live preview use.
"""
from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from cachetools import LRUCache

from . import ANSWER_ABSENT, ANSWER_CORRECT, ANSWER_INCORRECT, ANSWER_UNREADABLE, AnswerCheck
from .answer_math import HINT, MAX_CHARS, MODES, Unreadable, check_limits, parse_tolerance

__all__ = ["MODES", "AnswerReading", "check_answer", "read_answer", "parse_tolerance", "validate_mode"]

CHECK_SECONDS = 2.0      # one check, reading both sides and comparing them
START_SECONDS = 30.0     # a new worker imports SymPy and Math-Verify first
WORKER_MEMORY_MB = 1024
WORKERS = 2              # at most this many checks at once in one process
_SCRIPT = Path(__file__).with_name("answer_math.py")
_VERDICTS = (ANSWER_CORRECT, ANSWER_INCORRECT, ANSWER_UNREADABLE, ANSWER_ABSENT)
# Checks kept per process. The same answer to the same reference always gets the same verdict, and at a
# deadline most of a class types one of a few answers: each is sent to a worker once, not once per student.
CHECKS_KEPT = 4096


@dataclass(frozen=True)
class AnswerReading:
    """How an answer is read on its own (the student's live preview)."""
    readable: bool
    read_as: str
    note: str


class _Worker:
    """One answer_math.py process speaking JSON lines."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(_SCRIPT), str(WORKER_MEMORY_MB)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True, start_new_session=True)
        self._buffer = b""
        ready = self._reply(START_SECONDS)
        if not ready or not ready.get("ready"):
            self.kill()
            raise RuntimeError("The answer checker could not start.")

    def ask(self, request: dict, seconds: float) -> Optional[dict]:
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            return None
        return self._reply(seconds)

    def _reply(self, seconds: float) -> Optional[dict]:
        deadline = time.monotonic() + seconds
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None  # the worker died (out of memory, for one)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            return None

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except Exception:
                pass


class _Pool:
    """Workers shared by the threads of one process; a worker that overran is replaced."""

    def __init__(self, size: int) -> None:
        self._slots: queue.Queue = queue.Queue()
        for _ in range(size):
            self._slots.put(None)  # started on first use
        self._lock = threading.Lock()

    def ask(self, request: dict, seconds: float) -> Optional[dict]:
        worker = self._slots.get()
        try:
            if worker is None:
                worker = _Worker()
            reply = worker.ask(request, seconds)
            if reply is None:  # too slow or dead: it may still be computing, so it goes
                worker.kill()
                worker = None
            return reply
        except RuntimeError:
            worker = None
            raise
        finally:
            self._slots.put(worker)

    def close(self) -> None:
        while True:
            try:
                worker = self._slots.get_nowait()
            except queue.Empty:
                return
            if worker is not None:
                worker.kill()


_pool: Optional[_Pool] = None
_pool_lock = threading.Lock()
_pool_pid = 0


def _get_pool() -> _Pool:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():  # a forked child starts its own workers
            _pool, _pool_pid = _Pool(WORKERS), os.getpid()
        return _pool


def validate_mode(mode: Optional[str], tolerance) -> tuple[str, Optional[str]]:
    """The answer mode and tolerance as stored; ValueError with a sentence when either is wrong."""
    mode = (mode or "auto").strip().lower().replace(" ", "_").replace("exact_form", "exact")
    if mode not in MODES:
        raise ValueError(f"The answer mode must be one of: {', '.join(MODES)}.")
    if tolerance is None or str(tolerance).strip() == "":
        return mode, None
    parse_tolerance(tolerance)
    if mode != "numeric":
        raise ValueError("A tolerance applies only to the numeric answer mode.")
    return mode, str(tolerance).strip()


def _run(request: dict) -> dict:
    texts = [str(request.get(k) or "") for k in ("reference", "answer")]
    try:
        for text in texts:
            check_limits(text)
    except Unreadable as exc:
        return {"verdict": ANSWER_UNREADABLE, "read_as": "", "note": str(exc)}
    reply = _get_pool().ask(request, CHECK_SECONDS)
    if reply is None:
        return {"verdict": ANSWER_UNREADABLE, "read_as": "", "stopped": True,
                "note": f"Checking this answer took longer than {CHECK_SECONDS:g} s, so it was stopped. "
                        "Write the value more simply (work out powers and factorials)."}
    return reply


_checked: LRUCache = LRUCache(maxsize=CHECKS_KEPT)
_checked_lock = threading.Lock()


def forget_checks() -> None:
    """Drop the verdicts kept so far (for tests that change how checks run)."""
    with _checked_lock:
        _checked.clear()


def check_answer(student, reference, mode: Optional[str] = "auto", tolerance=None) -> AnswerCheck:
    """Compare a student's final answer with the reference under the instructor's answer mode.

    The verdict is absent when either side is missing, unreadable (with a note saying what to
    type instead) when the answer cannot be read, else correct or incorrect.
    """
    student = "" if student is None else str(student)
    reference = "" if reference is None else str(reference)
    if not reference.strip():
        return AnswerCheck(ANSWER_ABSENT, "This problem has no reference answer to check against.")
    if not student.strip():
        return AnswerCheck(ANSWER_ABSENT, "No final answer was given.")
    if len(student) > MAX_CHARS:
        return AnswerCheck(ANSWER_UNREADABLE, f"The answer is longer than {MAX_CHARS} characters; "
                                              "write only the final answer.")
    mode, tolerance = validate_mode(mode, tolerance)
    key = (reference, student, mode, tolerance)
    with _checked_lock:
        reply = _checked.get(key)
    if reply is None:
        reply = _run({"op": "compare", "reference": reference, "answer": student, "mode": mode,
                      "tolerance": tolerance})
        if not reply.get("stopped"):  # a check stopped for time may finish on a less busy machine
            with _checked_lock:
                _checked[key] = reply
    verdict = reply.get("verdict")
    if verdict not in _VERDICTS:
        raise ValueError(reply.get("note") or "The answer could not be checked.")
    return AnswerCheck(verdict, reply.get("note", ""), reply.get("read_as", ""))


def read_answer(text, reference: str = "", mode: Optional[str] = "auto") -> AnswerReading:
    """How the platform reads an answer before it is submitted; the reference (never shown)
    only says whether words or mathematics are wanted."""
    text = "" if text is None else str(text)
    if not text.strip():
        return AnswerReading(False, "", "Type your final answer to see how it is read.")
    if len(text) > MAX_CHARS:
        return AnswerReading(False, "", f"The answer is longer than {MAX_CHARS} characters.")
    reply = _run({"op": "read", "answer": text, "reference": "" if reference is None else str(reference),
                  "mode": mode or "auto"})
    readable = reply.get("verdict") == "readable"
    return AnswerReading(readable, reply.get("read_as", ""), reply.get("note") or HINT)
