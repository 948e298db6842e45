"""Rebuilding a policy version from the changes network publishes: network's own diff of two
bodies, applied to the first, gives the second."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import policy_copies as copies
from services.network.policies.bodies import changes as network_changes

LABOUR = copies.version_one(copies.LABOUR_OPERATIONS)
PARTS = copies.version_one(copies.PARTS_PRICES)

hours = st.decimals(min_value=0, max_value=99, places=1).map(float)
fen = st.integers(min_value=0, max_value=10_000_000)
codes = st.from_regex(r"[A-Z]{3}-[0-9]{4}", fullmatch=True)


def _changes(before: dict, after: dict) -> list[dict]:
    return [c.model_dump(mode="json") for c in network_changes(before, after)]


@st.composite
def labour_versions(draw) -> dict:
    body = copy.deepcopy(LABOUR)
    ops = body["operations"]
    keep = draw(st.lists(st.sampled_from(range(len(ops))), unique=True, min_size=1))
    ops = [ops[i] for i in sorted(keep)]
    for op in ops:
        if draw(st.booleans()):
            op["flat_rate_hours"] = draw(hours)
        if draw(st.booleans()):
            op["warranty_eligible"] = not op["warranty_eligible"]
    known = {op["op_code"] for op in ops}
    for code in draw(st.lists(codes, max_size=5, unique=True)):
        if code not in known:
            ops.append({"op_code": code, "description": f"new {code}", "category": "repair",
                        "flat_rate_hours": draw(hours), "warranty_eligible": draw(st.booleans())})
    body["operations"] = draw(st.permutations(ops))
    if draw(st.booleans()):
        body["description"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        del body["description"]
    return body


@st.composite
def parts_versions(draw) -> dict:
    body = copy.deepcopy(PARTS)
    parts = [p for p in body["parts"] if draw(st.integers(0, 4))]
    for part in parts:
        if draw(st.booleans()):
            part["list_price_fen"] = draw(fen)
    parts.append({"part_no": "XB-NEW-0001", "name": "new part", "category": "brakes",
                  "list_price_fen": draw(fen), "dealer_cost_fen": draw(fen), "warranty_eligible": True})
    body["parts"] = parts
    return body


@settings(max_examples=60, deadline=None)
@given(labour_versions(), labour_versions())
def test_network_changes_applied_to_a_labour_version_give_the_next(before, after):
    rebuilt = copies.apply_changes(before, _changes(before, after))
    # Lists keep their items, not HQ's order: nothing is left to change between the two.
    assert _changes(rebuilt, after) == []
    assert copies.operations_by_code(rebuilt) == copies.operations_by_code(after)


@settings(max_examples=60, deadline=None)
@given(parts_versions(), parts_versions(), st.randoms())
def test_parts_price_changes_apply_in_any_order(before, after, random):
    changes = _changes(before, after)
    random.shuffle(changes)
    rebuilt = copies.apply_changes(before, changes)
    assert copies.parts_by_number(rebuilt) == copies.parts_by_number(after)


def test_applying_leaves_the_previous_version_as_it_was():
    before = copy.deepcopy(LABOUR)
    after = copy.deepcopy(LABOUR)
    after["operations"][0]["flat_rate_hours"] = 9.9
    copies.apply_changes(before, _changes(before, after))
    assert before == LABOUR


@pytest.mark.parametrize("change", [
    {"path": "operations.NOPE-0001.flat_rate_hours", "change": "changed", "before": 1, "after": 2},
    {"path": "operations.MNT-0100", "change": "added", "after": {"op_code": "MNT-0100"}},
    {"path": "missing", "change": "removed", "before": 1},
    {"path": "description", "change": "added", "after": "twice"},
])
def test_a_change_made_against_another_version_is_refused(change):
    with pytest.raises(copies.ChangeMismatch):
        copies.apply_changes(LABOUR, [change])


@pytest.mark.parametrize(("count", "parts"), [(0, 1), (1, 1), (200, 1), (201, 2), (450, 3)])
def test_a_version_comes_in_as_many_parts_as_its_changes_fill(count, parts):
    assert copies.parts_needed(count, 200) == parts
