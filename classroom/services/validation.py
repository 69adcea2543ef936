"""Small input rules used by every service: sizes, required text, numbers, dates."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from .. import strict_json
from ..content import LIMITS, TOO_LONG  # noqa: F401  (TOO_LONG: forms import it from here)
from .errors import InvalidInput


def clean_text(value, label: str, limit_key: str, *, required: bool = True, field: str | None = None) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\x00", "").replace("\r\n", "\n").strip()
    if strict_json.not_text(text):  # no database or encoder takes half a surrogate pair
        raise InvalidInput(f"{label} holds a character that is not text (half of a UTF-16 surrogate pair).",
                           field=field or limit_key)
    limit = LIMITS[limit_key]
    if required and not text:
        raise InvalidInput(f"{label} cannot be empty.", field=field or limit_key)
    if len(text) > limit:
        raise InvalidInput(
            f"{label} is too long ({len(text):,} characters; the limit is {limit:,}).",
            field=field or limit_key,
        )
    return text


def parse_int(value, label: str, *, minimum: int | None = None, maximum: int | None = None,
              field: str | None = None) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{label} must be a whole number.", field=field)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise InvalidInput(f"{label} must be a whole number.", field=field)
    if minimum is not None and number < minimum:
        raise InvalidInput(f"{label} must be at least {minimum}.", field=field)
    if maximum is not None and number > maximum:
        raise InvalidInput(f"{label} must be at most {maximum}.", field=field)
    return number


DATE_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def parse_local_datetime(value, label: str, tz_name: str, field: str | None = None) -> datetime:
    """A date typed by an instructor in the server's time zone, as aware UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{label} is required.", field=field)
    for fmt in DATE_FORMATS:
        try:
            local = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise InvalidInput(
            f"{label} is not a date we can read: {text[:40]!r}. Use the form 2026-09-01 17:00.", field=field
        )
    return local.replace(tzinfo=ZoneInfo(tz_name)).astimezone(timezone.utc)


def parse_iso_datetime(value, label: str, tz_name: str, field: str | None = None) -> datetime:
    """An ISO 8601 date and time (the API's form), as aware UTC; without an offset it is read in the
    server's time zone, as the web form's dates are."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{label} is required, as an ISO 8601 date and time such as 2026-09-01T17:00:00Z.",
                           field=field)
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{label} is not an ISO 8601 date and time: {value.strip()[:40]!r}. "
                           "Use the form 2026-09-01T17:00:00Z (or with an offset such as +02:00).",
                           field=field) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(tz_name))
    return when.astimezone(timezone.utc)


def to_local(dt: datetime | None, tz_name: str) -> datetime | None:
    if dt is None:
        return None
    if dt.tzinfo is None:  # SQLite hands back what it stored; it is UTC
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(ZoneInfo(tz_name))
