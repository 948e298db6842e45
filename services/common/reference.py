"""Reference data shipped with the project (data/*.json), loaded once per process."""
from __future__ import annotations

import json
from functools import cache
from typing import Any

from .settings import REPO_ROOT

DATA_DIR = REPO_ROOT / "data"


@cache
def load(name: str) -> Any:
    """`load("parts")` reads data/parts.json."""
    return json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))


@cache
def labor_operations() -> dict[str, dict]:
    return {op["op_code"]: op for op in load("labor_operations")["operations"]}


@cache
def parts() -> dict[str, dict]:
    return {p["part_no"]: p for p in load("parts")["parts"]}


@cache
def accessories() -> dict[str, dict]:
    """data/accessories.json by code: what advisors sell beside the repair, always customer-paid."""
    return {a["code"]: a for a in load("accessories")["accessories"]}


def warranty_policy() -> dict:
    return load("warranty_policy")


def survey() -> dict:
    return load("survey")


def maintenance_policy() -> dict:
    return load("maintenance_policy")


@cache
def sanbao_policies() -> tuple[dict, ...]:
    """The Three Guarantees regulation's revisions, oldest first, each with its `effective_from`
    (ISO date): data/sanbao_policy.json (2013) and data/sanbao_policy_2021.json, which names the
    day the 2013 one took effect. A car follows the revision in force on its sale date."""
    current = load("sanbao_policy_2021")
    first = {**load("sanbao_policy"), "effective_from": current["replaces"]["effective_from"]}
    return first, current


def sanbao_watch() -> dict:
    return load("sanbao_watch")
