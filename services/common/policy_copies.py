"""A service's copy of the brand's policy versions, rebuilt from network's events: pure
functions, no database.

Network publishes a version as the changes from the version before it
(`network.policy.version_published`, then `network.policy.version_changes` parts when
there are more than fit one event). A change names what it touches by a dotted path; an
item of a list of objects is named by its code (`operations.BRK-0210.flat_rate_hours`,
`parts.XB-15400-001`), the key being the first of ITEM_KEYS every item of the list holds
as distinct text, as network's diff picks it. Applying a version's changes, in any order,
to the document of the version before gives the new version's document; a list item that
is added goes at the end, so lists keep their items but not necessarily HQ's order.

Copied here: the labour-operation catalogue (flat hours) and the parts prices, what a store
prices a repair order by."""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.common import reference

LABOUR_OPERATIONS = "labour_operations"
PARTS_PRICES = "parts_prices"
COPIED = (LABOUR_OPERATIONS, PARTS_PRICES)

# Network's diff names a list item by the first of these its items all hold (network/policies/bodies.py).
ITEM_KEYS = ("op_code", "code", "part_no", "name", "effective_from")


class ChangeMismatch(ValueError):
    """A change that does not fit the document it is applied to: the copy is not the version
    the change was made against."""


def version_one(name: str) -> dict[str, Any]:
    """Version 1 of a copied policy: the data/ file network seeded its own version 1 from."""
    return copy.deepcopy(reference.load({LABOUR_OPERATIONS: "labor_operations", PARTS_PRICES: "parts"}[name]))


def _item_key(items: list[Any]) -> str | None:
    for key in ITEM_KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            if len({i[key] for i in items}) == len(items):
                return key
    return None


def _split(path: str) -> list[str]:
    if not path:
        raise ChangeMismatch("a change with an empty path")
    return path.split(".")


def _step(node: Any, segment: str, path: str) -> Any:
    if isinstance(node, dict):
        if segment not in node:
            raise ChangeMismatch(f"{path}: no {segment!r}")
        return node[segment]
    if isinstance(node, list):
        key = _item_key(node)
        found = [i for i in node if key is not None and i[key] == segment]
        if not found:
            raise ChangeMismatch(f"{path}: no item {segment!r}")
        return found[0]
    raise ChangeMismatch(f"{path}: {segment!r} inside a value")


def apply_change(document: dict[str, Any], change: Mapping[str, Any]) -> None:
    """One change {path, change: added|removed|changed, before, after}, in place."""
    path, kind = change["path"], change["change"]
    *parents, last = _split(path)
    node: Any = document
    for segment in parents:
        node = _step(node, segment, path)
    if isinstance(node, dict):
        if kind == "removed":
            if last not in node:
                raise ChangeMismatch(f"{path}: nothing to remove")
            del node[last]
        elif kind == "added" and last in node:
            raise ChangeMismatch(f"{path}: already there")
        elif kind == "changed" and last not in node:
            raise ChangeMismatch(f"{path}: nothing to change")
        else:
            node[last] = copy.deepcopy(change.get("after"))
        return
    if isinstance(node, list):
        key = _item_key(node)
        at = [n for n, item in enumerate(node) if key is not None and item[key] == last]
        if kind == "removed" and at:
            del node[at[0]]
        elif kind == "added" and not at:
            node.append(copy.deepcopy(change.get("after")))
        elif kind == "changed" and at:
            node[at[0]] = copy.deepcopy(change.get("after"))
        else:
            raise ChangeMismatch(f"{path}: cannot be {kind} here")
        return
    raise ChangeMismatch(f"{path}: {last!r} inside a value")


def apply_changes(document: dict[str, Any], changes: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The document the changes make of `document` (left as it is)."""
    result = copy.deepcopy(document)
    for change in changes:
        apply_change(result, change)
    return result


def parts_needed(change_count: int, per_part: int) -> int:
    """How many parts a version of `change_count` changes comes in (the published event is part 1)."""
    return max(1, -(-change_count // per_part))


@dataclass(frozen=True)
class Catalogue:
    """What a repair order is priced by: labour operations by op_code and parts by part_no, as
    in force on its day, with the versions they come from."""

    operations: dict[str, dict[str, Any]]
    parts: dict[str, dict[str, Any]]
    operations_version: int = 1
    parts_version: int = 1

    def flat_rate_hours(self, op_code: str) -> Decimal | None:
        operation = self.operations.get(op_code)
        # JSON numbers arrive as floats; their shortest text is the exact value written.
        return None if operation is None else Decimal(str(operation["flat_rate_hours"]))


def operations_by_code(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["op_code"]: op for op in document["operations"]}


def parts_by_number(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["part_no"]: p for p in document["parts"]}


def first_catalogue() -> Catalogue:
    """Version 1 of both, for a service that has no later version in force."""
    return Catalogue(operations=reference.labor_operations(), parts=reference.parts())
