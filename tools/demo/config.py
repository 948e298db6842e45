"""What the demo is asked to do, and the one error that stops it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CLOCK_FILE = REPO / "var" / "demo-clock"
DEFAULT_DAYS = 60
DEFAULT_MESSAGES_URL = "http://127.0.0.1:8190"


@dataclass
class DemoConfig:
    url: str = DEFAULT_URL
    key: str | None = None
    seed: int = 1
    scale: float = 1.0
    days: int = DEFAULT_DAYS
    end: date | None = None  # last simulated day (local); default yesterday
    stores: list[str] | None = None  # store codes to take from the stores file; default all
    stores_file: Path | None = None
    clock_file: Path = DEFAULT_CLOCK_FILE
    progress: bool = True
    strict: bool = False  # stop at the first unexpected answer instead of counting it
    timeout: float = 60.0  # for event-driven state to appear
    # make run's stand-ins for the message providers (deploy/messaging.py), where the demo counts what arrived.
    messages_url: str = DEFAULT_MESSAGES_URL


@dataclass(frozen=True)
class Features:
    """What the platform offers that the story uses when it is there, read from the gateway's
    merged contract: reception's campaign lines (the recall's work in one action, paid by the
    campaign) and network's claims of every kind (first maintenance and PDI claims, and the
    campaign claim that drafts itself). Without them the recall is written as warranty
    lines and not claimed, and the first maintenance is a warranty claim."""

    campaign_lines: bool = False
    claim_kinds: bool = False


class DemoError(Exception):
    """The demo cannot go on (platform not reachable, wrong key, clock not followed)."""
