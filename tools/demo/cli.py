"""The command line: `python -m tools.demo` (`make demo`)."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import date
from pathlib import Path

from tools.demo.config import (
    DEFAULT_CLOCK_FILE,
    DEFAULT_DAYS,
    DEFAULT_MESSAGES_URL,
    DEFAULT_URL,
    DemoConfig,
    DemoError,
)
from tools.demo.runner import run


def parse_args(argv: list[str] | None = None) -> DemoConfig:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo",
        description="Fill a running platform (make run) with months of realistic dealer-group activity "
                    "through the gateway, deterministic from a seed.",
        epilog="The platform must read its clock from --clock-file "
               "(make run does: PLATFORM_CLOCK=file:var/demo-clock). See docs/demo.md.")
    parser.add_argument("--url", default=os.environ.get("DEMO_URL", DEFAULT_URL),
                        help="the gateway (default %(default)s)")
    parser.add_argument("--key", default=None, help="an hq_admin key (default: env PLATFORM_BOOTSTRAP_KEY)")
    parser.add_argument("--seed", type=int, default=1, help="the story; the same seed tells the same story (default 1)")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiplies the volume: orders per store and day, customers, stock (default 1)")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="how many days to replay (default %(default)s)")
    parser.add_argument("--end", type=date.fromisoformat, default=None,
                        help="last simulated day, YYYY-MM-DD (default yesterday)")
    parser.add_argument("--stores", default=None,
                        help="comma-separated store codes to simulate (default every store of the stores file)")
    parser.add_argument("--stores-file", type=Path, default=None, help="default data/stores.json")
    parser.add_argument("--clock-file", type=Path, default=DEFAULT_CLOCK_FILE,
                        help="the file the platform reads its clock from (default var/demo-clock)")
    parser.add_argument("--messages-url", default=os.environ.get("DEMO_MESSAGES_URL", DEFAULT_MESSAGES_URL),
                        help="make run's message stand-ins, where what was sent is counted (default %(default)s)")
    parser.add_argument("--strict", action="store_true", help="stop at the first unexpected answer")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    return DemoConfig(url=args.url.rstrip("/"), key=args.key, seed=args.seed, scale=args.scale, days=args.days,
                      end=args.end, stores=args.stores.split(",") if args.stores else None,
                      stores_file=args.stores_file, clock_file=args.clock_file, progress=not args.quiet,
                      strict=args.strict, messages_url=args.messages_url.rstrip("/"))


def main(argv: list[str] | None = None) -> int:
    """Exit status: 0 when every call did what the story expected, 1 when some did not,
    2 when the demo could not start, 130 when interrupted."""
    config = parse_args(argv)
    try:
        summary = asyncio.run(run(config))
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("demo: interrupted; the platform is back on real time", file=sys.stderr)
        return 130
    print(summary.text())
    return 1 if summary.errors else 0
