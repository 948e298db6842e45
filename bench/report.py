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
        lines += ["## Growth", "",
                  f"{growth['stores']} stores, a year of data, {growth['repeats']} requests per row (ms, p50 / p99).", "",
                  "| orders stored | order list, first page | page 11 | status filter | by VIN | KPIs 30 days | KPIs 365 days | KPIs one store |",
                  "|---|---|---|---|---|---|---|---|"]
        keys = ("order_list_first_page", "order_list_page_11", "order_list_status_ready", "order_list_by_vin",
                "kpis_network_30_days", "kpis_network_365_days", "kpis_one_store_30_days")
        for size, row in growth["sizes"].items():
            cells = " | ".join(f"{row[k]['p50_ms']} / {row[k]['p99_ms']}" for k in keys)
            lines.append(f"| {int(size):,} | {cells} |")
        lines.append("")
        targets = ("attainment_network_month", "attainment_one_store_with_people", "attainment_one_person")
        if all(k in row for row in growth["sizes"].values() for k in targets):
            lines += ["Attainment with targets present (every store's year, months and five advisors' shares; "
                      "`GET /v1/targets/attainment?period=<this month>`, ms, p50 / p99). It reads the per-day "
                      "counters of stores and people and the targets, never the orders, so the orders stored do "
                      "not change its work:", "",
                      "| orders stored | every store, region and network | one store with its people | one person |",
                      "|---|---|---|---|"]
            for size, row in growth["sizes"].items():
                cells = " | ".join(f"{row[k]['p50_ms']} / {row[k]['p99_ms']}" for k in targets)
                lines.append(f"| {int(size):,} | {cells} |")
            lines.append("")
    analysis = Path(__file__).parent / "analysis.md"
    if analysis.exists():
        lines += [analysis.read_text(encoding="utf-8").rstrip(), ""]
    DOC.write_text("\n".join(lines) + "\n")
    return DOC
