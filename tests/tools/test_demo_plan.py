"""The demo's day plan, without a platform: what is drawn for a day depends only on the
seed and the name of what is drawn."""
from __future__ import annotations

import asyncio
import random
from datetime import date, timedelta

from tools import demo


def test_a_roadside_call_and_a_phoned_in_complaint_on_the_same_day_draw_from_their_own_streams():
    run = demo.Demo(demo.DemoConfig(seed=5, scale=8, days=366, stores=["SH-PD-01"], end=date(2026, 6, 30)))
    (store,) = run.stores
    store.draw_customers(400, run.first_day)
    store.operating = True
    handed: dict[str, random.Random] = {}

    async def roadside_call(vehicle, day, rng):
        handed["roadside"] = rng

    async def phoned_in(rng):
        handed["complaint"] = rng

    store.roadside.call = roadside_call
    store.complaints.phoned_in = phoned_in
    both_days = 0
    for index in range(run.config.days):
        store.plan_day(index, run.first_day + timedelta(days=index))
        planned = [p for entries in store.agenda.values() for p in entries
                   if p.key in (f"roadside:{index}", f"complaint:{index}")]
        store.agenda.clear()
        if len(planned) < 2:
            continue
        both_days += 1
        handed.clear()
        for p in planned:
            asyncio.run(p.action())
        for kind, stream in handed.items():
            expected = random.Random(f"{run.config.seed}:{store.code}:{index}:{kind}")
            assert stream.random() == expected.random(), (index, kind)
    assert both_days > 0  # the seed and scale give such days; otherwise the test proves nothing
