"""Bad input on network's newest routes (issue 20): courses and certifications, the
build-out plans, funnel and outlets, a region's claim review limit, policy versions and
their changes, the KPI overview, trend and rebuild jobs. Each case sends one wrong thing (a
number just past its bound or negative, a year or day outside its range or a reversed
window, text over its length, a value outside its enum, another store's or region's
object) and expects a 4xx problem+json naming that field, with nothing written."""
from __future__ import annotations

from datetime import date, timedelta

from services.common.inputs import MAX_LINE_FEN
from services.network.certifications.schemas import MAX_EXPIRING_DAYS, MAX_VALIDITY_MONTHS
from tests.network.conftest import create_store
from tests.network.factories import T0
from tests.network.test_certifications import grant, person_in
from tests.network.test_regions import new_region, put, region_manager
from tests.support.bad_input import Case, refused_all, snapshot
from tests.support.platform import Caller

TODAY = date(2026, 12, 10)  # T0 in China
WARRANTY = "/v1/policies/warranty_policy"


async def test_courses_and_certifications_refuse_bad_input_naming_the_field_and_keep_nothing(client, hq):
    ours, theirs = await create_store(hq), await create_store(hq)
    clerk = await person_in(hq, ours["id"], "warranty_clerk")
    their_clerk = await person_in(hq, theirs["id"], "warranty_clerk", name="Wang Fang")
    their_certificate = await grant(hq, their_clerk["id"], "WTY")
    course = {"code": "ADAS", "name_zh": "驾驶辅助标定认证", "name_en": "ADAS calibration", "validity_months": 24}
    grant_body = {"person_id": clerk["id"], "course_code": "WTY", "certificate_no": "WTY-0001",
                  "issued_on": TODAY.isoformat()}
    cases = [
        Case("validity past ten years", "POST", "/v1/courses", {**course, "validity_months": MAX_VALIDITY_MONTHS + 1},
             "validity_months"),
        Case("no validity", "POST", "/v1/courses", {**course, "validity_months": 0}, "validity_months"),
        Case("code over length", "POST", "/v1/courses", {**course, "code": "A" * 17}, "code"),
        Case("code in lower case", "POST", "/v1/courses", {**course, "code": "adas"}, "code"),
        Case("name over length", "POST", "/v1/courses", {**course, "name_zh": "长" * 101}, "name_zh"),
        Case("too many operations", "POST", "/v1/courses",
             {**course, "operations": [f"OP-{n:04}" for n in range(201)]}, "operations"),
        Case("an operation over length", "POST", "/v1/courses", {**course, "operations": ["A" * 33]}, "operations"),
        Case("too many trainers", "POST", "/v1/courses", {**course, "trainer_person_ids": [clerk["id"]] * 21},
             "trainer_person_ids"),
        Case("issued in 1969", "POST", "/v1/certifications", {**grant_body, "issued_on": "1969-12-31"}, "issued_on"),
        Case("issued tomorrow", "POST", "/v1/certifications",
             {**grant_body, "issued_on": (TODAY + timedelta(days=1)).isoformat()}, "issued_on"),
        Case("expiring before it was issued", "POST", "/v1/certifications",
             {**grant_body, "expires_on": (TODAY - timedelta(days=1)).isoformat()}, "expires_on"),
        Case("expiring in 2101", "POST", "/v1/certifications", {**grant_body, "expires_on": "2101-01-01"},
             "expires_on"),
        Case("unknown course", "POST", "/v1/certifications", {**grant_body, "course_code": "NOPE"}, "course_code"),
        Case("unknown person", "POST", "/v1/certifications", {**grant_body, "person_id": "no-such-person"},
             "person_id"),
        Case("certificate number over length", "POST", "/v1/certifications",
             {**grant_body, "certificate_no": "W" * 65}, "certificate_no"),
        Case("list limit past the bound", "GET", "/v1/certifications?limit=201", None, "limit"),
        Case("expiring within more than a year", "GET",
             f"/v1/certifications?expiring_within_days={MAX_EXPIRING_DAYS + 1}", None, "expiring_within_days"),
        Case("expiring within negative days", "GET", "/v1/certifications?expiring_within_days=-1", None,
             "expiring_within_days"),
        Case("expiring list past a year", "GET", f"/v1/certifications/expiring?within_days={MAX_EXPIRING_DAYS + 1}",
             None, "within_days"),
        Case("expiring list negative", "GET", "/v1/certifications/expiring?within_days=-1", None, "within_days"),
        Case("list by a course code that is none", "GET", "/v1/certifications?course_code=wty", None, "course_code"),
        Case("revoke reason over length", "POST", f"/v1/certifications/{their_certificate['id']}/revoke",
             {"reason": "长" * 501}, "reason"),
        Case("revoke one that is none", "POST", "/v1/certifications/no-such/revoke", {"reason": "x"}, None, 404),
    ]
    reads = ("/v1/courses", "/v1/certifications", f"/v1/certifications/{their_certificate['id']}")
    before = await snapshot(hq, *reads)

    assert await refused_all(hq, cases) == []

    assert await snapshot(hq, *reads) == before
    # A store's manager: another store's certificate is not found, its people's list is its own,
    # and revoking is HQ's.
    manager = Caller(client, "store_manager", ours["id"], "manager-ours")
    assert await refused_all(manager, [
        Case("another store's certificate", "GET", f"/v1/certifications/{their_certificate['id']}", None, None, 404),
        Case("revoke another store's certificate", "POST", f"/v1/certifications/{their_certificate['id']}/revoke",
             {"reason": "x"}, None, 403),
    ]) == []
    listed = await manager.get("/v1/certifications", params={"store_id": theirs["id"]})
    assert listed.status_code in (200, 404) and their_certificate["id"] not in listed.text, listed.text


async def test_build_out_and_regions_refuse_bad_input_naming_the_field_and_keep_nothing(client, hq):
    east, south = await new_region(hq, "EAST", "SH"), await new_region(hq, "SOUTH", "GZ")
    plan = {"cities": [{"province": "江苏", "city": "昆山", "planned_outlets": 3}]}
    made = await put(hq, f"/v1/regions/{east['id']}/build-out-plans/2027", plan)
    assert made.status_code == 200, made.text
    city = plan["cities"][0]
    manager = await region_manager(hq, client, east)
    url = f"/v1/regions/{east['id']}"
    cases = [
        Case("plan for 1999", "PUT", f"{url}/build-out-plans/1999", plan, "year"),
        Case("plan for 2101", "PUT", f"{url}/build-out-plans/2101", plan, "year"),
        Case("outlets past the bound", "PUT", f"{url}/build-out-plans/2027",
             {"cities": [{**city, "planned_outlets": 1001}]}, "cities.0.planned_outlets"),
        Case("no outlets", "PUT", f"{url}/build-out-plans/2027", {"cities": [{**city, "planned_outlets": 0}]},
             "cities.0.planned_outlets"),
        Case("negative outlets", "PUT", f"{url}/build-out-plans/2027", {"cities": [{**city, "planned_outlets": -1}]},
             "cities.0.planned_outlets"),
        Case("city over length", "PUT", f"{url}/build-out-plans/2027", {"cities": [{**city, "city": "长" * 51}]},
             "cities.0.city"),
        Case("too many cities", "PUT", f"{url}/build-out-plans/2027",
             {"cities": [{**city, "city": f"城{n}"} for n in range(501)]}, "cities"),
        Case("note over length", "PUT", f"{url}/build-out-plans/2027", {**plan, "note": "长" * 501}, "note"),
        Case("a region that is none", "PUT", "/v1/regions/no-such/build-out-plans/2027", plan, None, 404),
        Case("read a plan for 2101", "GET", f"{url}/build-out-plans/2101", None, "year"),
        Case("plans of 1999", "GET", "/v1/build-out-plans?year=1999", None, "year"),
        Case("funnel of 2101", "GET", "/v1/build-out-funnel?year=2101", None, "year"),
        Case("funnel of year zero", "GET", "/v1/build-out-funnel?year=0", None, "year"),
        Case("funnel region over length", "GET", f"/v1/build-out-funnel?year=2027&region_id={'r' * 65}", None,
             "region_id"),
        Case("outlets limit past the bound", "GET", "/v1/build-out-outlets?limit=201", None, "limit"),
        Case("outlets limit zero", "GET", "/v1/build-out-outlets?limit=0", None, "limit"),
        Case("review limit past the bound", "PATCH", url, {"claim_review_limit_fen": MAX_LINE_FEN + 1},
             "claim_review_limit_fen"),
        Case("negative review limit", "PATCH", url, {"claim_review_limit_fen": -1}, "claim_review_limit_fen"),
        Case("name over length", "PATCH", url, {"name": "长" * 101}, "name"),
        Case("a region that is none", "PATCH", "/v1/regions/no-such", {"claim_review_limit_fen": 1}, None, 404),
        Case("region figures reversed", "GET", f"{url}/kpis?from=2026-12-31&to=2026-12-01", None, "from"),
        Case("region figures over a year", "GET", f"{url}/kpis?from=2025-01-01&to=2026-01-03", None, "from"),
        Case("region figures from 1969", "GET", f"{url}/kpis?from=1969-12-31&to=1970-01-01", None, "from"),
    ]
    reads = (url, f"/v1/regions/{south['id']}", f"{url}/build-out-plans/2027", "/v1/build-out-plans?year=2027")
    before = await snapshot(hq, *reads)

    assert await refused_all(hq, cases) == []

    assert await snapshot(hq, *reads) == before
    # The east's manager: the south is not found, and a limit is HQ's to set.
    assert await refused_all(manager, [
        Case("another region", "GET", f"/v1/regions/{south['id']}", None, None, 404),
        Case("another region's plan", "GET", f"/v1/regions/{south['id']}/build-out-plans/2027", None, None, 404),
        Case("another region's limit", "PATCH", f"/v1/regions/{south['id']}", {"claim_review_limit_fen": 1},
             None, 403),
    ]) == []
    assert await snapshot(hq, *reads) == before


async def test_policy_versions_and_kpis_refuse_bad_input_naming_the_field_and_keep_nothing(client, hq):
    current = (await hq.get(f"{WARRANTY}/versions/1")).json()
    version = {"effective_from": "2027-01-01", "body": current["body"]}
    cases = [
        Case("in force from 1969", "POST", f"{WARRANTY}/versions", {**version, "effective_from": "1969-12-31"},
             "effective_from"),
        Case("in force from 2101", "POST", f"{WARRANTY}/versions", {**version, "effective_from": "2101-01-01"},
             "effective_from"),
        Case("in force from yesterday", "POST", f"{WARRANTY}/versions",
             {**version, "effective_from": (TODAY - timedelta(days=1)).isoformat()}, "effective_from"),
        Case("in force more than a year ahead", "POST", f"{WARRANTY}/versions",
             {**version, "effective_from": (TODAY + timedelta(days=367)).isoformat()}, "effective_from"),
        Case("note over length", "POST", f"{WARRANTY}/versions", {**version, "note": "长" * 501}, "note"),
        Case("a policy that is none", "POST", "/v1/policies/lunch_menu/versions", version, "name"),
        Case("changes since 1969", "GET", f"{WARRANTY}/changes?since=1969-12-31", None, "since"),
        Case("changes since 2101", "GET", f"{WARRANTY}/changes?since=2101-01-01", None, "since"),
        Case("changes since no day", "GET", f"{WARRANTY}/changes", None, "since"),
        Case("overview reversed", "GET", "/v1/kpis/overview?from=2026-12-10&to=2026-12-01", None, "from"),
        Case("overview over a year", "GET", "/v1/kpis/overview?from=2025-01-01&to=2026-01-03", None, "from"),
        Case("overview from 1969", "GET", "/v1/kpis/overview?from=1969-12-31&to=1970-01-01", None, "from"),
        Case("overview to 2101", "GET", "/v1/kpis/overview?from=2100-12-31&to=2101-01-01", None, "to"),
        Case("overview top past the bound", "GET", "/v1/kpis/overview?top=51", None, "top"),
        Case("overview top zero", "GET", "/v1/kpis/overview?top=0", None, "top"),
        Case("trend by the year", "GET", "/v1/kpis/trend?bucket=year", None, "bucket"),
        Case("trend reversed", "GET", "/v1/kpis/trend?bucket=day&from=2026-12-10&to=2026-12-01", None, "from"),
        Case("trend of too many days", "GET", "/v1/kpis/trend?bucket=day&from=2026-01-01&to=2026-12-10", None, "from"),
        Case("trend of too many months", "GET", "/v1/kpis/trend?bucket=month&from=2000-01-01&to=2026-12-10", None,
             "from"),
        Case("trend from 1969", "GET", "/v1/kpis/trend?bucket=month&from=1969-12-31", None, "from"),
        Case("trend store over length", "GET", f"/v1/kpis/trend?store_id={'s' * 65}", None, "store_id"),
        Case("trend of a region that is none", "GET", "/v1/kpis/trend?region_id=no-such", None, None, 404),
        Case("store figures reversed", "GET", "/v1/kpis?from=2026-12-10&to=2026-12-01", None, "from"),
        Case("store figures over a year", "GET", "/v1/kpis?from=2025-01-01&to=2026-01-03", None, "from"),
        Case("rebuild jobs past the bound", "GET", "/v1/kpis/rebuild/jobs?limit=101", None, "limit"),
        Case("a rebuild job that is none", "GET", "/v1/kpis/rebuild/jobs/no-such-job", None, None, 404),
    ]
    reads = (f"{WARRANTY}/versions", "/v1/kpis/rebuild/jobs")
    before = await snapshot(hq, *reads)

    assert await refused_all(hq, cases) == []

    assert await snapshot(hq, *reads) == before
    # A store's manager: another store's figures and trend are not found, a rebuild is HQ's.
    ours, theirs = await create_store(hq), await create_store(hq)
    manager = Caller(client, "store_manager", ours["id"], "manager-ours")
    assert T0.date() == TODAY
    answers = {
        "trend": await manager.get("/v1/kpis/trend", params={"store_id": theirs["id"]}),
        "figures": await manager.get("/v1/kpis", params={"store_id": theirs["id"]}),
        "rebuild": await manager.post("/v1/kpis/rebuild"),
    }
    assert {k: v.status_code for k, v in answers.items()} == {"trend": 404, "figures": 404, "rebuild": 403}, {
        k: v.text for k, v in answers.items()}
    assert await snapshot(hq, *reads) == before
