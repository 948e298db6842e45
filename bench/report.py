"""docs/performance.md from the JSON results of the last run of each benchmark."""
from __future__ import annotations

import json
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def _load(results: Path, name: str) -> dict | None:
    path = results / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def write_report(results: Path) -> Path:
    lines = ["# Performance", "",
             "Measured by `make bench` on the development machine (2 cores, shared); JSON under",
             "`bench/results/`. Absolute figures vary from run to run on a shared machine; the",
             "ratios are measured side by side in one run. Regenerate with `make bench`.", ""]
    gw = _load(results, "gateway")
    if gw:
        lines += ["## Gateway against a direct call" + (" and nginx" if gw.get("nginx", True) else ""),
                  f"wrk, 1 thread; {gw.get('rounds', 1)} interleaved rounds of {gw['seconds']} s per path at "
                  f"{gw['connections']} connections, the median round shown. One at a time: for "
                  f"{gw.get('single_seconds', '')} s one request after another over one connection per path, the "
                  "paths taking turns request by request, so the machine's drift reaches all of them alike. "
                  f"Upstream: {gw['upstream']}."
                  + (f" The gateway forwards with {gw['production_client']} in production (GATEWAY_UPSTREAM_CLIENT)."
                     if gw.get("production_client") else ""), "",
                  f"| request | path | req/s at {gw['connections']} | p50 ms | p99 ms | throughput vs direct "
                  "| added p50 ms | p50 ms, one at a time | added p50 ms, one at a time | proxy CPU ms per request |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for method in ("GET", "POST"):
            for name, row in gw[method].items():
                lines.append(f"| {method} | {name} | {row['requests_per_s']} | {row['p50_ms']} | {row['p99_ms']} | "
                             f"{row.get('throughput_vs_direct', 1.0)} | {row.get('added_p50_ms', 0.0)} | "
                             f"{row.get('single_p50_ms', '')} | {row.get('added_single_p50_ms', 0.0)} | "
                             f"{row.get('proxy_cpu_ms_per_request', '')} |")
        lines += ["", f"Target: {gw['target']}.", ""]
    relay = _load(results, "relay")
    pipeline = _load(results, "pipeline")
    if relay or pipeline:
        lines += ["## Event pipeline", ""]
        if relay:
            lines += [f"- Relay {relay['relay_events_per_s']} events/s against a raw aiokafka producer's "
                      f"{relay['raw_producer_events_per_s']} on the same broker: **{relay['relay_vs_raw']:.0%}** "
                      f"({relay['events']} events, best of {relay['rounds']}). Target: {relay['target']}."]
        if pipeline:
            warm = (f", after {pipeline['warmup_orders']} at the same rate not counted"
                    if pipeline.get("warmup_orders") else "")
            lines += [f"- Delivery committed → callback visible in CRM over {pipeline['orders']} orders at "
                      f"{pipeline['achieved_rate_per_s']}/s (asked {pipeline['target_rate_per_s']}/s{warm}): p50 "
                      f"**{pipeline['p50_ms']} ms**, p99 **{pipeline['p99_ms']} ms**, max {pipeline['max_ms']} ms. "
                      f"Target: {pipeline['target']}. CRM applied {pipeline.get('crm_applied_per_s', '?')} deliveries/s "
                      f"meanwhile."]
            lower = pipeline.get("lower_rate")
            if lower:
                lines += [f"- The same at {lower['achieved_rate_per_s']}/s over {lower['orders']} orders: p50 "
                          f"**{lower['p50_ms']} ms**, p99 **{lower['p99_ms']} ms**, max {lower['max_ms']} ms."]
        apply = _load(results, "crm_apply")
        if apply:
            cells = ", ".join(f"{row['cpu_ms_per_delivery']} ms CPU ({row['wall_ms_per_delivery']} ms wall)"
                              + (" alone" if row["batch"] == 1 else f" in batches of {row['batch']}")
                              for row in apply["batches"])
            lines += [f"- CRM applying a delivery straight to PostgreSQL, per delivery: {cells}."]
        lines.append("")
    sent = _load(results, "messages")
    if sent:
        cells = ", ".join(f"**{row['messages_per_s']}/s** with {row['in_flight']} in flight" for row in sent["rows"])
        lines += ["## Customer messages", "",
                  f"CRM's message outbox, from queued to recorded as sent through the SMS stand-in "
                  f"({sent['rows'][0]['messages']} messages each; bench/messages.py): {cells}; duplicates "
                  f"{sum(row['duplicates'] for row in sent['rows'])}.", ""]
    life = _load(results, "lifecycle")
    if life:
        lines += ["## Whole repair-order lives through the gateway", "",
                  f"{life['orders']} lives, {life['concurrency']} in flight: **{life['lives_per_s']} lives/s** "
                  f"(each about {life['calls_per_life']} API calls plus the events between services); one life "
                  f"p50 {life['life_p50_ms']} ms, p99 {life['life_p99_ms']} ms.", ""]
    growth = _load(results, "growth")
    if growth:
        lines += _growth(growth)
    rebuilt = _load(results, "kpi_rebuild")
    if rebuilt:
        lines += _kpi_rebuild(rebuilt)
    stream = _load(results, "kpi_stream")
    if stream:
        lines += _kpi_stream(stream)
    # Sections kept by hand until the report learns their JSON, then the analysis.
    for kept in ("campaigns.md",):
        path = Path(__file__).parent / kept
        if path.exists():
            lines += [path.read_text(encoding="utf-8").rstrip(), ""]
    analysis = Path(__file__).parent / "analysis.md"
    if analysis.exists():
        lines += [analysis.read_text(encoding="utf-8").rstrip(), ""]
    DOC.write_text("\n".join(lines) + "\n")
    return DOC


def _cells(row: dict, keys: tuple[str, ...]) -> str:
    return " | ".join(f"{row[k]['p50_ms']} / {row[k]['p99_ms']}" if k in row else "" for k in keys)


def _growth(growth: dict) -> list[str]:
    stores, days = growth["stores"], growth["days"]
    lines = ["## Growth", "",
             f"`python -m bench --only growth` (sizes 10 k and 1 M; `--growth-orders 5000000` adds the full size, "
             f"`make bench BENCH_ARGS=\"--growth-orders 5000000\"`). {stores:,} stores in {growth.get('regions', 1)} "
             f"regions, {days} days ({days // 365} years) of figures; up to {growth['repeats']} requests per row, "
             f"a row stopping after {growth.get('row_seconds', '-')} s with at least 3 (ms, p50 / p99). Through each "
             "service's own app, the identity signed as the gateway signs it.", "",
             "| orders stored | loaded in s | databases MB (reception + network) | KPI store-day rows "
             "| order list, first page | page 11 | status filter | by VIN |",
             "|---|---|---|---|---|---|---|---|"]
    for size, row in growth["sizes"].items():
        disk = (f"{row['reception_database_mb']:,} + {row['network_database_mb']:,}"
                if "network_database_mb" in row else "")
        store_days = f"{row['kpi_daily_rows']:,}" if "kpi_daily_rows" in row else ""
        lines.append(f"| {int(size):,} | {row.get('load_seconds', '')} | {disk} | {store_days} | "
                     + _cells(row, ("order_list_first_page", "order_list_page_11", "order_list_status_ready",
                                    "order_list_by_vin")) + " |")
    keys = ("kpis_network_30_days", "kpis_network_365_days", "kpis_one_store_30_days", "kpis_region_30_days",
            "kpis_region_365_days")
    lines += ["", f"HQ KPIs (`GET /v1/kpis`: every store's figures and the network's, with the month's targets and "
              f"attainment; `GET /v1/regions/{{id}}/kpis`: one region of {stores // growth.get('regions', 1):,} "
              "stores), ms, p50 / p99:", "",
              "| orders stored | network, 30 days | network, 365 days | one store, 30 days | region, 30 days "
              "| region, 365 days |", "|---|---|---|---|---|---|"]
    for size, row in growth["sizes"].items():
        lines.append(f"| {int(size):,} | {_cells(row, keys)} |")
    targets = ("attainment_network_month", "attainment_one_store_with_people", "attainment_one_person")
    lines += ["", "Attainment with targets present (every store's year, months and five advisors' shares; "
              "`GET /v1/targets/attainment?period=<this month>`, ms, p50 / p99). It reads the per-day "
              "counters of stores and people and the targets, never the orders:", "",
              "| orders stored | every store, region and network | one store with its people | one person |",
              "|---|---|---|---|"]
    for size, row in growth["sizes"].items():
        lines.append(f"| {int(size):,} | {_cells(row, targets)} |")
    lines += _kpi_reads(growth)
    if max(int(size) for size in growth["sizes"]) < 5_000_000:
        lines += ["", "The full size, 5 M orders (`make bench BENCH_ARGS=\"--only growth --growth-orders 5000000\"`), "
                  "is not in this table yet. Loading 5 M takes about five times the 1 M load above and about 5 × the "
                  "1 M databases' disk."]
    return lines + [""]


def _kpi_reads(growth: dict) -> list[str]:
    """What the month rollups give the network-wide KPI reads, in the largest size's own figures."""
    size, row = max(growth["sizes"].items(), key=lambda item: int(item[0]))
    if not all(k in row for k in ("kpis_network_30_days", "kpis_network_365_days", "kpi_monthly_rows")):
        return []
    month, year = row["kpis_network_30_days"]["p50_ms"], row["kpis_network_365_days"]["p50_ms"]
    cost = ("about what a month does" if year <= 1.5 * month
            else f"{year / month:.1f} times a month, the whole months still read from the rollups")
    region = row.get("kpis_region_365_days", {}).get("p50_ms")
    return ["", f"At {int(size):,} orders the network-wide `GET /v1/kpis` takes {month:,.0f} ms (p50) for 30 days "
            f"and {year:,.0f} ms for 365: the months wholly inside a window are read from the month rollups "
            f"(kpi_monthly, {row['kpi_monthly_rows']:,} rows) and only the days at its ends from the "
            f"{row.get('kpi_daily_rows', 0):,} store-day rows, so a year costs {cost}; the rest is every store's "
            "figures, targets and attainment made and sent (docs/scaling.md)."
            + (f" One region's 365 days: {region:,.0f} ms." if region else "")]


def _kpi_rebuild(r: dict) -> list[str]:
    rebuild = r["rebuild"]
    return ["## KPI rebuild", "",
            f"`python -m bench --only kpi_rebuild` (`--rebuild-events N`): {r['events']:,} KPI events of whole "
            f"repair-order lives over {r['stores']:,} stores and {r['days'] // 365} years in the four topics, rebuilt "
            f"as the job runs it (bench/kpi_rebuild.py). Load average up to {r.get('load_average_max', '?')} on the "
            "2-core machine during the run.", "",
            "| what | figure |", "|---|---|",
            f"| whole rebuild | {rebuild['seconds']} s, **{r['events_per_s']:,} events/s** |",
            f"| reading, validating and folding the topics | **{r['reading_events_per_s']:,} events/s** |",
            f"| the rebuild's own CPU (its process) | {r['cpu_seconds']} s, **{r['events_per_cpu_s']:,} events per "
            "CPU second** |",
            f"| writing the tables in one transaction (COPY; the live consumer waits) | {r['write_seconds']} s for "
            f"{sum(r['rows'].values()):,} rows ({', '.join(f'{k} {v:,}' for k, v in r['rows'].items())}) |",
            f"| memory, peak | {r['peak_rss_mb']:,} MB ({rebuild['entities']:,} entities held) |",
            f"| before: each event applied in a transaction of its own ({r['per_event_path']['events']:,} of the "
            f"same events) | {r['per_event_path']['events_per_s']} events/s (the new path: {r['speedup']}×) |",
            "", f"Target: {r['target']}.", "",
            "How: the rebuild used to apply each event as the live consumer does, in a transaction of its own "
            "(read the entity, merge, read its facts, write the facts and the day's sums: a dozen round trips an "
            "event). It now validates each KPI event straight from its JSON in pydantic's core (one validator for "
            "every KPI envelope, told apart by `type`; an event of another type costs a regex search), folds it "
            "into the entity's state in memory with the projection's own extractors and last-writer-wins rule, "
            "derives each entity's facts and the per-day sums once, and writes the four tables with COPY in one "
            "transaction. Fetches are up to 16 MB a partition with no record limit. The wall rate moves with what "
            "else the shared machine runs (the load average above, on 2 cores); the rate per CPU second of the "
            "rebuild's process is the figure that load moves least, and on an idle core it is the wall rate of the "
            "reading. The write phase is PostgreSQL's: COPY into tables with their indexes, in the one "
            "transaction that keeps readers on the old figures until the new ones commit.", ""]


def _kpi_stream(r: dict) -> list[str]:
    connect, latency, spread = r["connect_ms"], r["change_to_dashboard_ms"], r["fan_out_spread_ms"]
    return ["## KPI stream", "",
            f"`python -m bench --only kpi_stream` (`--dashboards N`): {r['dashboards']} dashboards hold "
            f"`GET /v1/kpis/stream` on one network process (`all`, {r['stores']:,} stores), all connecting at once; "
            f"then {r['changes']} KPI changes, one at a time (bench/kpi_stream.py).", "",
            "| what | p50 ms | p99 ms | max ms |", "|---|---|---|---|",
            f"| connect (request to `ready`), all at once; all {r['dashboards']} ready after "
            f"{r['all_connected_seconds']} s | {connect['p50_ms']} | {connect['p99_ms']} | {connect['max_ms']} |",
            f"| event handed to Kafka → `kpi` event at a dashboard | {latency['p50_ms']} | {latency['p99_ms']} | "
            f"{latency['max_ms']} |",
            f"| fan-out: first to last dashboard hearing one change | {spread['p50_ms']} | {spread['p99_ms']} | "
            f"{spread['max_ms']} |",
            "", f"Changes missed by a dashboard: {r['missed']}. Connected {r.get('connected', r['dashboards'])} of "
            f"{r['dashboards']}.", "",
            "Before this run's changes, 500 dashboards connecting at once got 437 answers 500 and 61 broken "
            "connections: each one's scope check read all 2,000 stores in a transaction of its own, and the pool "
            "ran dry. An HQ dashboard's scope now needs no read, and a change's figures are read and serialised "
            "once for all subscribers (the broadcaster shares them), where each subscriber used to read them "
            "itself: 500 queries per change. Connecting is 500 requests into one process at the same moment, each "
            "verified (the signed identity) and answered in turn.", ""]
