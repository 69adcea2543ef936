"""The assignment listing's JSON, built once per version of the course and served to all its students.

Every student of a course gets the same listing (instructors get theirs, with assignments not yet
open). The body is kept in this process, keyed by the course, its listing stamp (a column the
database bumps on every change to the course's assignments, their problems and solutions:
listing_stamp.py), the course's code and title, and who asks (students or instructors). A request
reads the stamp with the course row it loads anyway, to check the caller's enrolment: a hit costs
no query of its own. A students' listing is also good only until the next assignment opens, so an
assignment appears at its opening minute without any write.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Optional

from cachetools import TTLCache
from flask import current_app

from ..models import Course, utcnow

# Courses whose listings one process keeps; an entry is dropped after an hour unused at the latest
# (a new stamp makes a new key, so old versions just age out).
MAX_COURSES = 512
MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class Listing:
    body: bytes
    etag: str
    until: Optional[datetime]  # when the next assignment opens (students' listings); None: no end


_lock = threading.Lock()


def _cache() -> TTLCache:
    """This app's cache (one per app: two apps in one process, as in the tests, never share rows)."""
    cache = current_app.extensions.get("listing_cache")
    if cache is None:
        with _lock:
            cache = current_app.extensions.setdefault("listing_cache",
                                                      TTLCache(maxsize=MAX_COURSES, ttl=MAX_AGE_SECONDS))
    return cache


def cached_listing(course: Course, teaches: bool,
                   build: Callable[[], tuple[dict, Optional[datetime]]]) -> Listing:
    """The course's listing body: from the cache when its stamp has not moved (and no assignment has
    opened since), else built by `build` -> (JSON object, good until) and kept."""
    key = (course.id, course.listing_version, teaches, course.code, course.title)
    cache = _cache()
    with _lock:
        entry = cache.get(key)
    if entry is not None and (entry.until is None or utcnow() < entry.until):
        return entry
    obj, until = build()
    body = current_app.json.dumps(obj).encode() + b"\n"
    entry = Listing(body=body, etag=hashlib.sha1(body).hexdigest(), until=until)
    with _lock:
        cache[key] = entry
    return entry
