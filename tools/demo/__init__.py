"""`make demo`: fill a running platform with months of realistic after-sales activity.

The demo replays the last `--days` days (60 by default) of a dealer group: the dealer
stores of data/stores.json are opened by HQ, the partner outlets apply through the public
form and are onboarded, and every simulated day each store books, checks in, quotes,
repairs, quality-checks, issues parts, settles and hands over cars; roadside calls come
in; the callback desk calls customers and works the complaints; stores claim warranty,
HQ reviews and settles monthly. Dealers sell new cars (PDI sheet, warranty registration);
HQ publishes a recall whose cars come in for it; HQ asks old parts back and audits paid
claims, and the chargebacks land on the next statements. Everything goes through the gateway with the staff's own
API keys, exactly as the store apps would.

Time: the platform's services read their clock from a file (`PLATFORM_CLOCK=file:var/demo-clock`,
set by `make run`). The demo writes the simulated instant there before each step of the
day, and removes the file at the end, so the platform is back on real time with the
history behind it.

Deterministic: every decision comes from `random.Random` seeded with `--seed` (per store,
day and repair order), never from the wall clock; the same seed on an empty platform
tells the same story. See docs/demo.md.

Where things are:

    cli        the command line            runner     the run: preflight, setup, days, figures
    config     DemoConfig, DemoError       summary    what is counted, the printed summary
    clock      the clock file, the grid    agenda     actors and their half hours
    network    stores opened, outlets onboarded
    store      a store: staff, customers, the day's plan, who does what
    reception  bookings, check-in, quote, approval, handover, comebacks
    workshop   technicians, intake, bays, jobs, quality check
    parts      stock, issuing, reorder, deliveries
    roadside   calls, the van, tow-ins
    crm        callbacks, surveys, reminders, the club, complaints
    claims     warranty claims, review, monthly settlement (store and HQ)
    chargebacks  old parts asked back, shipped, received; the post-payment audit's debits
    campaigns  HQ's recall: drafted, VINs uploaded as CSV, published; its completion
    sales      new cars: PDI sheet, warranty registration, PDI claim; cars sold before
    hq         HQ's actor: CRM jobs, audits
    catalogue, fleet, work, fate, records   the story's data and records
"""
from tools.demo.cli import main, parse_args
from tools.demo.config import DemoConfig, DemoError
from tools.demo.runner import Demo, run
from tools.demo.summary import Summary, Tally

__all__ = ["Demo", "DemoConfig", "DemoError", "Summary", "Tally", "main", "parse_args", "run"]
