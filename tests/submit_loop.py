"""Child process for test_crash_safety: saves submissions through the real service, in a loop,
from several threads, until it is killed. Not a test module (no test_ prefix).

Usage: python tests/submit_loop.py DATABASE_URL INSTANCE_DIR JSON
JSON: {"assignment_id": .., "problem_id": .., "student_ids": [..]}
"""
from __future__ import annotations

import json
import random
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402

from classroom import create_app  # noqa: E402
from classroom.models import User  # noqa: E402
from classroom.services import submissions  # noqa: E402
from classroom.services.errors import Conflict  # noqa: E402
from classroom.services.submissions import CritiqueDraft  # noqa: E402


def main() -> None:
    url, instance, raw = sys.argv[1:4]
    spec = json.loads(raw)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "INSTANCE_DIR": instance, "DATABASE_URL": url,
                      "HUEY_IMMEDIATE": True, "REDIS_URL": None, "RATELIMIT_ENABLED": False})
    engine = app.extensions["db_engine"]
    saved = 0
    lock = threading.Lock()

    def worker(n: int) -> None:
        nonlocal saved
        rng = random.Random(n)
        with app.app_context(), Session(engine, expire_on_commit=False) as s:
            students = [s.get(User, i) for i in spec["student_ids"]]
            while True:
                # Threads share students on purpose, so versions race and the retry path runs too.
                student = rng.choice(students)
                text = "Step 2 is wrong. " + "x" * rng.randrange(0, 5000)  # varied sizes: more pages touched
                try:
                    submissions.submit(s, student, spec["assignment_id"], spec["problem_id"],
                                       CritiqueDraft(2, text, "28 × 6 = 168", "168"))
                except Conflict:  # "heavy load": version races lost VERSION_ATTEMPTS times in a row; a person retries
                    continue
                with lock:
                    saved += 1
                    if saved == 1:
                        print("saving", flush=True)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
