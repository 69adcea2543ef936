"""Reads for the busiest requests: every API call's token check, and the course lookup of the listing.

Measured on PostgreSQL (bench/, issue 13), one such read through the ORM cost about 230 µs of Python,
of which the query itself, sent by psycopg, was 36 µs: the rest was SQLAlchemy's execution and loading
layers. So these few statements, built once with SQLAlchemy Core, are compiled once to the driver's SQL
and run on the session's own connection with the driver; each value gets the conversion SQLAlchemy would
apply (the UTC datetimes), rows come back as plain tuples, and `attached` turns a row into the ORM
object the rest of the code expects, as though the session had loaded it. Another database (SQLite)
takes the ordinary Core path, with the same result.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Sequence, TypeVar

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import configure_mappers, instrumentation, make_transient_to_detached
from sqlalchemy.sql import Select
from sqlmodel import Session

T = TypeVar("T")


def first(db: Session, statement: Select, params: dict) -> Optional[tuple]:
    """The statement's first row (a tuple), or None."""
    conn = db.connection()
    driver = _driver_form(statement, conn.dialect)
    if driver is None:
        return conn.execute(statement, params).first()
    sql, fixed, convert = driver
    # Prepared on the server at first use on each connection (psycopg keeps it per connection).
    row = conn.connection.driver_connection.execute(sql, {**fixed, **params} if fixed else params,
                                                    prepare=True).fetchone()
    if row is None or not convert:
        return row
    return tuple(value if process is None else process(value) for value, process in zip(row, convert))


@lru_cache(maxsize=64)
def _driver_form(statement: Select, dialect) -> Optional[tuple[str, dict, tuple]]:
    """(psycopg's SQL with named parameters, the values the statement fixes itself (a LIMIT), each
    column's SQLAlchemy result conversion or None), or None where the statement is not for psycopg or a
    parameter would need SQLAlchemy to convert it."""
    if dialect.name != "postgresql" or dialect.driver != "psycopg":
        return None
    compiled = statement.compile(dialect=dialect)
    binds = compiled.binds
    if compiled.positional or any(b.expanding or b.type.bind_processor(dialect) for b in binds.values()):
        return None
    fixed = {name: b.value for name, b in binds.items() if b.value is not None}
    convert = tuple(column.type.result_processor(dialect, None) for column in statement.selected_columns)
    return compiled.string, fixed, (convert if any(convert) else ())


@lru_cache(maxsize=None)
def columns_of(model: type) -> tuple:
    """The model's table columns, in the order `attached` takes their values."""
    return tuple(model.__table__.columns)


@lru_cache(maxsize=None)
def _attribute_names(model: type) -> tuple[str, ...]:
    # A query would set the mappers up on first use; in a new process this may come before any query.
    configure_mappers()
    mapper = sa_inspect(model)
    return tuple(mapper.get_property_by_column(c).key for c in columns_of(model))


def attached(db: Session, model: type[T], values: Sequence) -> T:
    """The `model` object whose columns (in `columns_of(model)` order) hold `values`, persistent in `db`.
    If the session already holds that row, its object is returned, as a query would."""
    row = dict(zip(_attribute_names(model), values))
    mapper = sa_inspect(model)
    key = mapper.identity_key_from_primary_key([row[c.key] for c in mapper.primary_key])
    known = db.identity_map.get(key)
    if known is not None:
        return known
    # Made as the ORM makes the objects a query loads (not through __init__, whose defaults and
    # bookkeeping cost four times as much), then given the identity of the row it came from, unchanged.
    obj = instrumentation.manager_of_class(model).new_instance()
    obj.__dict__.update(row)
    make_transient_to_detached(obj)
    db.add(obj)
    return obj
