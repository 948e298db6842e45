"""What a request may carry, whatever its route: written once for every service.

Text: PostgreSQL refuses NUL in text, and asyncpg cannot encode a lone surrogate (which
JSON's \\ud800 escape gives), so either would reach the database and fail as a 500; no
field here has a use for control characters other than tab and line breaks either.
`text_problem` says what is wrong with such a text; services.common.api checks every
string of every request with it (body, keys included, query and path) before the route.

Nesting: no body of ours is more than a few levels deep, and a recursive walk given
thousands of levels runs out of stack; `document_problems` refuses more than MAX_DEPTH.

Numbers: the bounds request schemas give money, quantities, hours and versions, so a
number past what its column holds is a 422 naming the field, never a database error.

Dates: a day or instant far from today breaks the arithmetic done with it (a store's
local midnight of 0001-01-01 in UTC is before datetime.min) long before it means
anything to a dealer; `Day`, `Moment` and `AwareMoment` keep every date parameter
between EARLIEST and LATEST."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime

MAX_DEPTH = 32
# C0 and C1 controls but tab, line feed and carriage return; any surrogate code point.
_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Far above anything a dealer's request carries, and well inside the columns that keep it
# (money is BIGINT fen, counts INTEGER, quantities and hours NUMERIC).
MAX_LINE_FEN = 1_000_000_000  # one line of an order: 10,000,000 CNY
MAX_REQUEST_FEN = 10_000_000_000  # any sum a request states: 100,000,000 CNY
MAX_QUANTITY = 10_000  # units of one part on one line or movement
MAX_HOURS = 1_000  # labour hours on one line
MAX_VERSION = 2**31 - 1  # an INTEGER column: a larger version names none that can exist

EARLIEST = date(1970, 1, 1)
LATEST = date(2100, 12, 31)
_EARLIEST_MOMENT = datetime.combine(EARLIEST, time.min, tzinfo=UTC)
_LATEST_MOMENT = datetime.combine(LATEST, time.max, tzinfo=UTC)


def text_problem(text: str) -> str | None:
    """Why this text cannot be kept, or None when it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if "\ud800" <= found.group() <= "\udfff":
        return "must not contain lone surrogates (\\ud800..\\udfff)"
    return f"must not contain control characters (U+{ord(found.group()):04X})"


def _in_range_day(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


def _in_range_moment(value: datetime) -> datetime:
    # Compared in UTC (a naive value as if it were): an aware comparison never overflows.
    low, high = (_EARLIEST_MOMENT, _LATEST_MOMENT) if value.tzinfo else (
        _EARLIEST_MOMENT.replace(tzinfo=None), _LATEST_MOMENT.replace(tzinfo=None))
    if not low <= value <= high:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


Day = Annotated[date, AfterValidator(_in_range_day)]
"""A calendar day between EARLIEST and LATEST."""
Moment = Annotated[datetime, AfterValidator(_in_range_moment)]
"""An instant between EARLIEST and LATEST (UTC)."""
AwareMoment = Annotated[AwareDatetime, AfterValidator(_in_range_moment)]
"""An instant with its UTC offset, between EARLIEST and LATEST."""


def document_problems(document: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Unstorable text and excess depth in a parsed JSON document, with where they are.
    Walked with a stack, not by recursion: the depth is what is being checked."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            yield path[:MAX_DEPTH], f"nested deeper than {MAX_DEPTH} levels"
            return
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                yield path, problem
        elif isinstance(node, dict):
            for key, value in reversed(node.items()):
                problem = text_problem(key)
                if problem:
                    yield path, f"keys {problem}"
                stack.append(((*path, key), value))
        elif isinstance(node, list):
            stack.extend(((*path, i), value) for i, value in reversed(list(enumerate(node))))
