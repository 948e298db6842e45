"""A JSON column that holds a pydantic model (or a list of them): rows carry typed values,
the database keeps the same JSON text a dict would have given."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter


class ModelJSON(sa.types.TypeDecorator):
    """`ModelJSON(Coverage)` or `ModelJSON(list[AuditItem])`: written as the model's JSON
    (members never set left out, so a shape with optional members keeps its keys), read
    back as the model. A plain dict given instead is validated on the way in."""

    impl = sa.JSON
    cache_ok = True

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        self._adapter: TypeAdapter[Any] = TypeAdapter(model)

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return self._adapter.dump_python(self._adapter.validate_python(value), mode="json", exclude_unset=True)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return self._adapter.validate_python(value)
