"""No input gives a 500, in any service: every body field, query and path parameter that
the services' own OpenAPI documents list is sent what a hostile or careless client
would send (NUL and other control characters, lone surrogates, numbers past any column,
dates at year 1 and 9999, JSON nested 10,000 deep with and without an Idempotency-Key),
and each must be a 4xx naming the field. The routes are read from each app's OpenAPI
document, so a route added later is covered without a change here."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from services.common.clock import ManualClock
from services.common.identity import HQ_ROLES, STORE_ROLES
from services.crm.main import create_app as crm_app
from services.crm.main import spec as crm_spec
from services.crm.settings import CrmSettings
from services.network.main import create_app as network_app
from services.network.main import spec as network_spec
from services.network.settings import NetworkSettings
from services.reception.main import create_app as reception_app
from services.reception.main import spec as reception_spec
from services.reception.settings import ReceptionSettings
from services.workshop.main import create_app as workshop_app
from services.workshop.main import spec as workshop_spec
from services.workshop.settings import WorkshopSettings
from tests.network.factories import T0
from tests.support.events import deliver, store_created
from tests.support.platform import identity, running

SERVICES = {
    "reception": (reception_app, reception_spec, ReceptionSettings),
    "workshop": (workshop_app, workshop_spec, WorkshopSettings),
    "crm": (crm_app, crm_spec, CrmSettings),
    "network": (network_app, network_spec, NetworkSettings),
}
# The public application form is limited per client address; here every probe is one client.
SETTINGS: dict[str, dict[str, Any]] = {"network": {"application_rate_limit": 1_000_000}}
WRITE_METHODS = ("post", "put", "patch")
# Tried in turn until one is let through to the input's validation; "system" last, as the
# gateway's own role, for the internal routes.
ROLES = ("store_manager", *sorted(HQ_ROLES), *sorted(STORE_ROLES - {"store_manager"}), "system")

TEXTS = {"NUL": "a\x00b", "lone surrogate": "a\ud800b", "escape": "a\x1bb", "C1 control": "a\x85b"}
DAYS = ("0001-01-01", "9999-12-31")
MOMENTS = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z")
# Past BIGINT, and past INTEGER for the fields no column should hold that large.
NUMBERS = (2**63, 10**30, "NaN")


@dataclass
class Leaf:
    """One field of a request body: where it is, and its schema."""

    path: tuple[str | int, ...]
    schema: dict[str, Any]
    key: bool = False  # a dict's keys, not a value

    @property
    def name(self) -> str:
        return ".".join(str(p) for p in self.path)

    def body(self, value: Any) -> Any:
        """A body holding `value` at this field and nothing else."""
        if self.key:
            value = {value: 1} if isinstance(value, str) else value
        for part in reversed(self.path):
            value = [value] if isinstance(part, int) else {part: value}
        return value


@dataclass
class Service:
    name: str
    app: Any
    client: httpx.AsyncClient
    store_id: str
    roles: dict[tuple[str, str], tuple[str, str | None]]

    @property
    def openapi(self) -> dict:
        return self.app.openapi()

    def headers(self, role: str, store_id: str | None) -> dict[str, str]:
        return identity(role, store_id, f"hostile-{role}")

    async def role_for(self, method: str, template: str, op: dict) -> tuple[str, str | None]:
        """The first role the route lets through to its input's validation, found with a
        harmless request (an empty body), so the attacks' answers are about the input."""
        if (method, template) not in self.roles:
            body = {"json": {}} if json_body_schema(op) is not None else {}
            for role in ROLES:
                store = None if role in HQ_ROLES or role == "system" else self.store_id
                r = await self.client.request(method, concrete(template), headers=self.headers(role, store), **body)
                if r.status_code not in (401, 403):
                    self.roles[(method, template)] = (role, store)
                    break
            else:
                raise AssertionError(f"{method} {template}: no role gets past {r.status_code} {r.text}")
        return self.roles[(method, template)]

    async def send(self, method: str, template: str, op: dict, path: str, **kw) -> httpx.Response:
        role, store = await self.role_for(method, template, op)
        headers = {**self.headers(role, store), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)


@asynccontextmanager
async def service_on(name: str, database_url: str):
    create_app, _, settings_class = SERVICES[name]
    settings = settings_class(database_url=database_url, kafka_bootstrap_servers="127.0.0.1:9",
                              **SETTINGS.get(name, {}))
    app = create_app(settings, role="api", clock=ManualClock(T0))
    async with running(app) as client:
        store, other = store_created(code="SH-PD-01"), store_created(code="BJ-CY-01")
        await deliver(app, store)
        await deliver(app, other)
        yield Service(name, app, client, store.subject, {})


@pytest.fixture(params=sorted(SERVICES))
async def service(request, migrated_database):
    name = request.param
    async with service_on(name, migrated_database(SERVICES[name][1].migrations_dir, f"hostile_{name}")) as s:
        yield s


# ---- reading the OpenAPI document ------------------------------------------------------

def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _variants(schema: dict, document: dict) -> list[dict]:
    """The non-null alternatives of a schema (an optional field's anyOf)."""
    schema = _resolve(schema, document)
    options = schema.get("anyOf") or schema.get("oneOf")
    if not options:
        return [schema]
    return [v for o in options for v in _variants(o, document) if v.get("type") != "null"]


def leaves(schema: dict, document: dict, path: tuple = ()) -> Iterator[Leaf]:
    """Every field a body of this schema can hold, depth first; lists by their first item,
    dicts by one key and its value."""
    variants = _variants(schema, document)
    # A Decimal is a number or a string: the number stands for it.
    numeric = [v for v in variants if v.get("type") in ("integer", "number")]
    for variant in numeric[:1] or variants:
        kind = variant.get("type")
        if kind == "object" or "properties" in variant:
            for name, sub in variant.get("properties", {}).items():
                yield from leaves(sub, document, (*path, name))
            extra = variant.get("additionalProperties")
            if isinstance(extra, dict):
                yield Leaf(path, {"type": "string"}, key=True)
                yield from leaves(extra, document, (*path, "q1"))
        elif kind == "array":
            yield from leaves(variant.get("items", {}), document, (*path, 0))
        elif kind in ("string", "integer", "number"):
            yield Leaf(path, variant)


def hostile_values(leaf: Leaf) -> Iterator[tuple[str, Any]]:
    kind, fmt = leaf.schema.get("type"), leaf.schema.get("format")
    if kind in ("integer", "number"):
        for number in NUMBERS:
            if kind == "number" or isinstance(number, int):
                yield f"number {number}", number
        return
    yield from TEXTS.items()
    if fmt == "date" and not leaf.key:
        yield from ((f"day {d}", d) for d in DAYS)
    if fmt == "date-time" and not leaf.key:
        yield from ((f"moment {m}", m) for m in MOMENTS)


def operations(document: dict, methods: tuple[str, ...]) -> Iterator[tuple[str, str, dict]]:
    for template, ops in document["paths"].items():
        for method, op in ops.items():
            if method in methods:
                yield method.upper(), template, op


def concrete(template: str, values: dict[str, str] | None = None) -> str:
    """The path with every parameter filled (an unknown id: the input is checked before any lookup)."""
    path = template
    for part in template.split("/"):
        if part.startswith("{"):
            path = path.replace(part, (values or {}).get(part[1:-1], "x1"))
    return path


def json_body_schema(op: dict) -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def _named(response: httpx.Response, field: str) -> bool:
    errors = response.json().get("errors") or []
    return any(e["field"] == field or e["field"].startswith(field + ".") for e in errors)


# ---- the attacks -----------------------------------------------------------------------

async def test_every_body_field_refuses_what_no_column_can_keep_naming_the_field(service):
    document, failures, probes = service.openapi, [], 0
    for method, template, op in operations(document, WRITE_METHODS):
        schema = json_body_schema(op)
        if schema is None:
            continue
        for leaf in leaves(schema, document):
            for label, value in hostile_values(leaf):
                probes += 1
                body = json.dumps(leaf.body(value))
                r = await service.send(method, template, op, concrete(template), content=body,
                                       headers={"content-type": "application/json"})
                if r.status_code != 422 or not _named(r, leaf.name):
                    failures.append(f"{method} {template} {leaf.name} <- {label}: {r.status_code} {r.text[:200]}")
    assert probes, f"{service.name}: no body fields found"
    assert not failures, f"{service.name}: {len(failures)} of {probes}:\n" + "\n".join(failures)


async def test_every_query_and_path_parameter_refuses_control_characters_and_dates_out_of_range(service):
    document, failures, probes = service.openapi, [], 0
    for method, template, op in operations(document, ("get", "post", "put", "patch", "delete")):
        for parameter in op.get("parameters", []):
            if parameter["in"] not in ("query", "path"):
                continue
            leaf = Leaf((parameter["name"],), (_variants(parameter["schema"], document) or [{}])[0])
            for label, value in hostile_values(leaf):
                # A URL carries UTF-8: a lone surrogate cannot be sent in one (it arrives as U+FFFD).
                if label == "lone surrogate" or (parameter["in"] == "path" and not isinstance(value, str)):
                    continue
                probes += 1
                if parameter["in"] == "path":
                    r = await service.send(method, template, op,
                                           concrete(template, {parameter["name"]: quote(value, safe="")}))
                else:
                    r = await service.send(method, template, op, concrete(template),
                                           params={parameter["name"]: value})
                if r.status_code != 422 or not _named(r, parameter["name"]):
                    failures.append(f"{method} {template} {parameter['in']} {parameter['name']} <- {label}: "
                                    f"{r.status_code} {r.text[:200]}")
    assert probes, f"{service.name}: no parameters found"
    assert not failures, f"{service.name}: {len(failures)} of {probes}:\n" + "\n".join(failures)


async def test_json_nested_ten_thousand_deep_is_refused_with_or_without_an_idempotency_key(service):
    deep = "[" * 10_000 + "]" * 10_000
    nested_field = '{"note": ' + "[" * 500 + "]" * 500 + "}"
    failures = []
    for method, template, op in operations(service.openapi, WRITE_METHODS):
        if json_body_schema(op) is None:
            continue
        for body in (deep, nested_field):
            for key in (None, uuid.uuid4().hex):
                headers = {"content-type": "application/json", **({"Idempotency-Key": key} if key else {})}
                r = await service.send(method, template, op, concrete(template), content=body, headers=headers)
                if r.status_code >= 500 or r.status_code < 400:
                    failures.append(f"{method} {template} depth {body.count('[')} key={bool(key)}: "
                                    f"{r.status_code} {r.text[:200]}")
    assert not failures, f"{service.name}:\n" + "\n".join(failures)


async def test_every_number_in_a_body_has_an_upper_bound_a_column_can_hold(service):
    """Money is BIGINT fen and may go to 100,000,000 CNY; every other number (quantities,
    hours, versions, scores) fits an INTEGER column."""
    document, unbounded = service.openapi, []
    for method, template, op in operations(document, WRITE_METHODS):
        schema = json_body_schema(op)
        for leaf in leaves(schema, document) if schema else ():
            if leaf.schema.get("type") not in ("integer", "number"):
                continue
            most = leaf.schema.get("maximum", leaf.schema.get("exclusiveMaximum"))
            cap = 10_000_000_000 if str(leaf.path[-1]).endswith("_fen") else 2**31 - 1
            if most is None or most > cap:
                unbounded.append(f"{method} {template} {leaf.name}: maximum {most}, at most {cap}")
    assert not unbounded, f"{service.name}:\n" + "\n".join(unbounded)


# ---- sums past a column, from bodies that are otherwise right ---------------------------

@asynccontextmanager
async def one_service(name: str, migrated_database):
    async with service_on(name, migrated_database(SERVICES[name][1].migrations_dir, f"hostile_{name}")) as s:
        yield s


async def test_a_purchase_order_adding_up_past_an_integer_of_fen_is_kept_whole(migrated_database):
    # Three lines of 10,000,000 CNY each: 30,000,000 CNY, past the 21,474,836.47 CNY an INTEGER of fen holds.
    lines = [{"part_no": part_no, "qty": 10_000, "unit_cost_fen": 100_000}
             for part_no in ("XB-15400-001", "XB-08880-430", "XB-17220-010")]
    async with one_service("workshop", migrated_database) as workshop:
        clerk = workshop.headers("parts_clerk", workshop.store_id)
        r = await workshop.client.post("/v1/purchase-orders", json={"lines": lines}, headers=clerk)
        assert r.status_code == 201, r.text
        assert r.json()["total_fen"] == 3_000_000_000
        assert (await workshop.client.get(f"/v1/purchase-orders/{r.json()['id']}", headers=clerk)
                ).json()["total_fen"] == 3_000_000_000

        one_more_fen = {"lines": [{"part_no": "XB-15400-001", "qty": 10_000, "unit_cost_fen": 100_001}]}
        r = await workshop.client.post("/v1/purchase-orders", json=one_more_fen, headers=clerk)
        assert r.status_code == 422 and _named(r, "lines.0"), r.text


async def test_a_repair_order_line_past_ten_million_cny_or_a_thousand_hours_is_422_naming_the_field(
        migrated_database):
    from tests.reception import factories

    async with one_service("reception", migrated_database) as reception:
        advisor = reception.headers("service_advisor", reception.store_id)
        r = await reception.client.post("/v1/repair-orders", json=factories.check_in(), headers=advisor)
        assert r.status_code == 201, r.text
        lines = f"/v1/repair-orders/{r.json()['id']}/lines"

        cases = {
            "unit_price_fen": factories.part(quantity="11", unit_price_fen=100_000_000),  # 11,000,000 CNY
            "quantity": factories.labour(quantity="1000.5"),
        }
        for field, line in cases.items():
            r = await reception.client.post(lines, json=line, headers=advisor)
            assert r.status_code == 422 and _named(r, field), (field, r.text)
        at_most = await reception.client.post(lines, json=factories.part(quantity="10", unit_price_fen=100_000_000),
                                              headers=advisor)
        assert at_most.status_code == 201 and at_most.json()["lines"][-1]["amount_fen"] == 1_000_000_000, at_most.text


async def test_a_counter_sale_adding_up_past_any_one_payment_is_kept_whole_and_paid_in_parts(migrated_database):
    # Fifty lines of 781 whole-car paint protection films (999,680,000 fen each, just inside a
    # line's limit): 564,819,200 CNY with VAT, past what one payment (MAX_REQUEST_FEN) may state.
    line = {"accessory_code": "ACC-PPF", "quantity": 781}
    async with one_service("reception", migrated_database) as reception:
        advisor = reception.headers("service_advisor", reception.store_id)
        r = await reception.client.post("/v1/counter-sales", json={"lines": [line] * 50}, headers=advisor)
        assert r.status_code == 201, r.text
        sale = r.json()
        assert (sale["amount_fen"], sale["tax_fen"], sale["total_fen"]) == (
            49_984_000_000, 6_497_920_000, 56_481_920_000)
        read = await reception.client.get(f"/v1/counter-sales/{sale['id']}", headers=advisor)
        assert read.json()["total_fen"] == 56_481_920_000

        one_line_too_many = await reception.client.post(
            "/v1/counter-sales", json={"lines": [{**line, "quantity": 782}]}, headers=advisor)
        assert one_line_too_many.status_code == 422 and _named(one_line_too_many, "lines.0.quantity"), (
            one_line_too_many.text)

        payments = [{"method": "transfer", "amount_fen": 10_000_000_000}] * 5 + [
            {"method": "transfer", "amount_fen": 6_481_920_000}]
        paid = await reception.client.post(f"/v1/counter-sales/{sale['id']}/pay", json={"payments": payments},
                                           headers=advisor)
        assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text


async def test_crm_report_periods_far_from_today_are_422_naming_the_period(migrated_database):
    periods = {"weekly": ("week", ("0001-W01", "1969-W52", "2101-W01", "9998-W52", "9999-W52")),
               "monthly": ("month", ("0001-01", "1969-12", "2101-01", "9998-12", "9999-12"))}
    async with one_service("crm", migrated_database) as crm:
        manager = crm.headers("store_manager", crm.store_id)
        for kind, (name, labels) in periods.items():
            for label in labels:
                r = await crm.client.get(f"/v1/reports/{kind}", params={name: label, "fresh": "true"}, headers=manager)
                assert r.status_code == 422 and _named(r, name), (kind, label, r.text)
            r = await crm.client.get(f"/v1/reports/{kind}", params={name: labels[0].replace("0001", "2026")},
                                     headers=manager)
            assert r.status_code == 200, r.text


async def test_appraisal_months_far_from_today_are_422_naming_the_month(migrated_database):
    async with one_service("network", migrated_database) as network:
        manager = network.headers("store_manager", network.store_id)
        for month in ("0001-01", "1969-12", "2101-01", "9999-12", "2026-00", "2026-13"):
            r = await network.client.get("/v1/appraisals", params={"month": month}, headers=manager)
            assert r.status_code == 422 and _named(r, "month"), (month, r.text)
        hq = network.headers("hq_admin", None)  # the probe's store is known to the registry only, not as a store
        for fmt in ("json", "csv", "xlsx"):
            r = await network.client.get("/v1/appraisals", params={"month": "2026-11", "format": fmt}, headers=hq)
            assert r.status_code == 200, (fmt, r.text)
        r = await network.client.get("/v1/appraisals", params={"store_id": "x" * 65}, headers=manager)
        assert r.status_code == 422 and _named(r, "store_id"), r.text
