"""Errors beside their fields, all at once: what WTForms found and what a service refused, on one form.

Views call `submit(form, save, validate)` (or `attach(form, exc)` with a service's refusal); templates
call `field_messages(field)` (the `field` macro does) and `error_items(form)` (the summary at the top of
a form, with a link to each field).
Messages that belong to no field of the form (a deadline, a file's bad rows) go to the form's own
`form_errors`, which the summary lists too.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, TypeVar

from flask_wtf import FlaskForm
from wtforms import FieldList

from .services.errors import ServiceError

_SKIP = {"csrf_token"}
T = TypeVar("T")


def field_messages(field) -> list[str]:
    """The messages to show beside one field (a list of steps keeps its own apart from its boxes')."""
    own = [e for e in (field.errors or ()) if isinstance(e, str)]
    return own + list(getattr(field, "extra_errors", ()))


def _resolve(form: FlaskForm, name: str):
    """The form field a service's field name points at; 'steps-2' is the third box of the steps list."""
    if name in form._fields:
        return form._fields[name]
    base, _, index = name.rpartition("-")
    parent = form._fields.get(base)
    if isinstance(parent, FieldList) and index.isdigit() and int(index) < len(parent.entries):
        return parent.entries[int(index)]
    return None


def attach(form: FlaskForm, exc: ServiceError, aliases: Optional[Mapping[str, str]] = None) -> None:
    """Put each of the service's messages beside its field. A field WTForms already marked keeps only
    its own message (one thing to fix per field is enough); the rest goes to the form's summary."""
    loose: list[str] = []
    # A refusal that names no field is about the form, unless `aliases` gives it one ({"": "course"}).
    for name, messages in (exc.field_errors or {"": [exc.message]}).items():
        name = (aliases or {}).get(name, name)
        target = _resolve(form, name) if name else None
        if target is None:
            loose.extend(messages)
        elif field_messages(target):
            continue
        elif isinstance(target, FieldList):
            target.extra_errors = list(messages)
        else:
            target.errors = list(target.errors or ()) + list(messages)
    form.form_errors = list(form.form_errors) + loose + list(exc.errors)
    form.service_refusal = exc


def refusal_of(form: FlaskForm) -> Optional[ServiceError]:
    """The service's refusal attached to this form, if any (a view may answer with its status)."""
    return getattr(form, "service_refusal", None)


def attach_to(form: FlaskForm, field_name: str, exc: ServiceError) -> None:
    """A refusal about one input as a whole (an uploaded file and its bad rows), beside that input."""
    field = form._fields[field_name]
    field.errors = list(field.errors or ()) + [exc.message] + list(exc.errors)
    form.service_refusal = exc


def add_field_error(form: FlaskForm, field_name: str, message: str) -> None:
    field = form._fields[field_name]
    field.errors = list(field.errors or ()) + [message]


def add_form_error(form: FlaskForm, message: str) -> None:
    """A message about the whole form (wrong password, expired page), shown in its summary."""
    form.form_errors = list(form.form_errors) + [message]


# WTForms' own messages do not say which field they are about; in the summary they get its name.
_TERSE = ("This field", "Too long", "Not a valid", "Number must", "Field must", "Invalid")


def _summary_line(label: str, message: str) -> str:
    short = label.split(" (")[0]
    return f"{short}: {message}" if message.startswith(_TERSE) else message


def error_items(form: FlaskForm) -> list[tuple[Optional[str], str]]:
    """(id of the control to jump to, or None; message) for the summary at the top of the form."""
    items: list[tuple[Optional[str], str]] = [(None, m) for m in form.form_errors]
    for name, field in form._fields.items():
        if name in _SKIP:
            continue
        label = field.label.text if field.label else name
        if isinstance(field, FieldList):
            first = field.entries[0].id if field.entries else None
            items += [(first, _summary_line(label, m)) for m in getattr(field, "extra_errors", ())]
            for i, entry in enumerate(field.entries):
                items += [(entry.id, _summary_line(f"{entry.label.text} {i + 1}", m)) for m in field_messages(entry)]
            continue
        # Radio and checkbox groups are reached through their first choice.
        target = f"{field.id}-0" if field.type in ("RadioField", "MultiCheckboxField") else field.id
        items += [(target, _summary_line(label, m)) for m in field_messages(field)]
    return items


def init_app(app) -> None:
    app.jinja_env.globals["field_messages"] = field_messages
    app.jinja_env.globals["error_items"] = error_items


def submit(form: FlaskForm, save: Callable[[], T], validate: Optional[Callable[[], object]] = None,
           aliases: Optional[Mapping[str, str]] = None) -> Optional[T]:
    """Handle a POSTed form: `save()` when WTForms accepts it; otherwise `validate()` (the service's checks
    without saving) so the service's errors join WTForms' and the page names every problem at once.
    Returns what save() returned, or None with every error beside its field."""
    accepted = form.validate_on_submit()
    try:
        if accepted:
            return save()
        if validate is not None:
            validate()
    except ServiceError as exc:
        attach(form, exc, aliases)
    return None
