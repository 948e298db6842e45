"""Table rows are built by `services.common.db._new_row` instead of SQLModel's per-field
constructor. For every table of every service, a row built with only its required values
(and one with every field given) holds exactly what SQLModel's own constructor puts in it,
mutable defaults are not shared between rows, and an unknown name is refused."""
from __future__ import annotations

import importlib
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlmodel import SQLModel

SERVICES = ("crm", "network", "reception", "workshop")
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _tables() -> list[type]:
    for service in SERVICES:
        importlib.import_module(f"services.{service}.main")
    found, todo = {}, list(SQLModel.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if hasattr(cls, "__table__") and "_sa_class_manager" in cls.__dict__:
            found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


TABLES = _tables()


def _value(annotation) -> object:
    text = str(annotation)
    if "datetime" in text:
        return NOW
    if "Decimal" in text:
        return Decimal("1.50")
    if "bool" in text:
        return True
    if "int" in text:
        return 7
    if text.startswith("list") or "List" in text:
        return [{"a": 1}]
    if "dict" in text:
        return {"a": 1}
    return "x"


def _by_sqlmodel(cls: type, values: dict) -> object:
    row = cls._sa_class_manager.new_instance()
    SQLModel.__init__(row, **values)
    return row


def _content(row) -> dict:
    return {k: v for k, v in row.__dict__.items() if not k.startswith("_sa_")}


def test_every_service_has_tables():
    modules = {cls.__module__.split(".")[1] for cls in TABLES}
    assert modules >= {*SERVICES, "common"}
    assert len(TABLES) > 30


@pytest.mark.parametrize("cls", TABLES, ids=lambda c: c.__name__)
def test_a_row_holds_what_sqlmodel_would_put_in_it(cls):
    required = {name: _value(f.annotation) for name, f in cls.model_fields.items() if f.is_required()}
    everything = {name: _value(f.annotation) for name, f in cls.model_fields.items()}
    for values in (required, everything):
        ours, theirs = cls(**dict(values)), _by_sqlmodel(cls, dict(values))
        assert _content(ours) == _content(theirs)
        assert ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__ == set(values)
        assert ours.model_dump(warnings=False) == theirs.model_dump(warnings=False)


@pytest.mark.parametrize("cls", [c for c in TABLES if any(
    f.default_factory is not None or isinstance(f.default, (dict, list)) for f in c.model_fields.values())],
    ids=lambda c: c.__name__)
def test_mutable_defaults_are_not_shared(cls):
    required = {name: _value(f.annotation) for name, f in cls.model_fields.items() if f.is_required()}
    first, second = cls(**dict(required)), cls(**dict(required))
    for name, value in _content(first).items():
        if isinstance(value, (dict, list)) and name not in required:
            assert value is not _content(second)[name], name


def test_an_unknown_name_is_refused():
    cls = TABLES[0]
    with pytest.raises(TypeError, match="no_such_field"):
        cls(no_such_field=1)
