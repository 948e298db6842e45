"""The workshop's own SQLModel metadata and the column types its tables share."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import registry

from services.common.db import ServiceModel


class WorkshopModel(ServiceModel, registry=registry()):
    """Base of the workshop's tables."""


HUNDREDTH = Decimal("0.01")
BigId = sa.BigInteger()


class Hours(sa.types.TypeDecorator):
    """Decimal hours kept as integer hundredths: exact, and they sum in SQL as integers."""

    impl = sa.Integer
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int((Decimal(value) * 100).quantize(Decimal(1), ROUND_HALF_UP))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(HUNDREDTH)


def hours(value: Decimal | int | str | float) -> Decimal:
    return Decimal(str(value)).quantize(HUNDREDTH, ROUND_HALF_UP)


def seconds_to_hours(seconds: int) -> Decimal:
    return (Decimal(seconds) / 3600).quantize(HUNDREDTH, ROUND_HALF_UP)
