"""`make bench`: every benchmark in one run; JSON under bench/results/, a table in
docs/performance.md. Starts its own Kafka broker and PostgreSQL cluster unless
KAFKA_BOOTSTRAP_SERVERS / TEST_PG_ADMIN_URL name running ones."""
from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import infra
from bench.report import write_report

RESULTS = Path(__file__).parent / "results"
ALL = ("gateway", "relay", "pipeline", "crm_apply", "messages", "lifecycle", "growth", "campaigns", "kpi_rebuild",
       "kpi_stream")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {', '.join(ALL)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--growth-orders", type=int, default=0, metavar="N",
                        help="growth: also N repair orders over 2,000 stores and three years (5000000 for the full "
                             "size; about an hour and 15 GB of disk on the 2-core machine)")
    parser.add_argument("--rebuild-events", type=int, default=1_000_000, metavar="N",
                        help="kpi_rebuild: events in the topics (default 1,000,000)")
    parser.add_argument("--dashboards", type=int, default=500, metavar="N",
                        help="kpi_stream: dashboards holding the KPI stream at once (default 500)")
    args = parser.parse_args(argv)
    wanted = [name for name in args.only.split(",") if name]
    RESULTS.mkdir(parents=True, exist_ok=True)
    run = {"started_at": datetime.now(timezone.utc).isoformat(), "machine": {"cpus": __import__("os").cpu_count(),
           "python": platform.python_version()}, "results": {}}
    with infra.kafka() as bootstrap, infra.postgres() as create_database:
        for name in wanted:
            print(f"== {name}", flush=True)
            started = time.perf_counter()
            if name == "gateway":
                from bench import gateway
                result = gateway.run(seconds=5 if args.quick else 15)
            elif name == "relay":
                from bench import relay
                result = relay.run(bootstrap, create_database, count=5000 if args.quick else 20000)
            elif name == "pipeline":
                from bench import pipeline
                result = pipeline.run(bootstrap, create_database, orders=300 if args.quick else 1000)
            elif name == "crm_apply":
                from bench import crm_apply
                result = crm_apply.run(create_database, deliveries=200 if args.quick else 600)
            elif name == "messages":
                from bench import messages
                result = messages.run(create_database, count=300 if args.quick else 2000)
            elif name == "lifecycle":
                from bench import lifecycle
                result = lifecycle.run(bootstrap, create_database, orders=20 if args.quick else 60)
            elif name == "growth":
                from bench import growth
                sizes = (10_000,) if args.quick else (10_000, 1_000_000)
                largest = (args.growth_orders,) if args.growth_orders else ()
                result = growth.run(create_database, sizes=sizes + largest, repeats=10 if args.quick else 30)
            elif name == "campaigns":
                from bench import campaigns
                result = campaigns.run(create_database, uploads=1 if args.quick else 3,
                                       lookups=100 if args.quick else 500)
            elif name == "kpi_rebuild":
                from bench import kpi_rebuild
                result = kpi_rebuild.run(bootstrap, create_database,
                                         events=100_000 if args.quick else args.rebuild_events)
            elif name == "kpi_stream":
                from bench import kpi_stream
                result = kpi_stream.run(bootstrap, create_database, dashboards=50 if args.quick else args.dashboards)
            else:
                parser.error(f"unknown benchmark {name}")
            result["wall_seconds"] = round(time.perf_counter() - started, 1)
            run["results"][name] = result
            (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(result, indent=2), flush=True)
    last = RESULTS / "last-run.json"
    if set(wanted) != set(ALL) and last.exists():
        # A partial run (--only) updates its own sections and keeps the rest of the last full run.
        previous = json.loads(last.read_text())
        previous.setdefault("partial_runs", []).append({"started_at": run["started_at"], "only": wanted})
        previous["results"].update(run["results"])
        run = previous
    last.write_text(json.dumps(run, indent=2) + "\n")
    print(f"wrote {write_report(RESULTS)}")


if __name__ == "__main__":
    main()
