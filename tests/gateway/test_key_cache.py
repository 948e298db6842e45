"""The key cache: TTLs, invalidation by events, races with in-flight introspection,
stale answers while network is down, and nothing raw kept."""
from __future__ import annotations

import asyncio

import pytest

from gateway.keys import IntrospectionFailed, KeyCache, NetworkUnavailable, key_hash, well_formed


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Network:
    def __init__(self) -> None:
        self.answers: dict[str, dict] = {}
        self.calls = 0
        self.down = False
        self.gate: asyncio.Event | None = None

    async def introspect(self, token: str) -> dict:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise IntrospectionFailed("network is down")
        return dict(self.answers.get(token, {"active": False, "reason": "unknown key"}))


def make(network: Network, clock: Clock, live: bool = True, **kw) -> KeyCache:
    options = dict(ttl=30, fallback_ttl=2, stale=600)
    options.update(kw)
    return KeyCache(network.introspect, feed_live=lambda: live, clock=clock, **options)


TOKEN = "ak_abcdefghijklmnop"


async def _until(condition, turns: int = 1000) -> None:
    """Let the event loop run until `condition` holds (no wall-clock waiting)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


def active(key_id="k1", store_id="s1", role="service_advisor") -> dict:
    return {"active": True, "id": key_id, "role": role, "store_id": store_id, "name": "advisor"}


async def test_answers_from_cache_within_the_ttl_and_asks_again_after():
    network, clock = Network(), Clock()
    network.answers[TOKEN] = active()
    cache = make(network, clock)
    assert (await cache.resolve(TOKEN))[1] == "network"
    clock.now += 29
    info, source = await cache.resolve(TOKEN)
    assert source == "cache" and info.active and info.id == "k1"
    clock.now += 2
    assert (await cache.resolve(TOKEN))[1] == "network"
    assert network.calls == 2


async def test_short_ttl_while_the_invalidation_feed_is_not_live():
    network, clock = Network(), Clock()
    network.answers[TOKEN] = active()
    cache = make(network, clock, live=False)
    await cache.resolve(TOKEN)
    clock.now += 1.5
    assert (await cache.resolve(TOKEN))[1] == "cache"
    clock.now += 1
    assert (await cache.resolve(TOKEN))[1] == "network"


async def test_a_revocation_event_refuses_the_key_at_once_even_with_network_down():
    network, clock = Network(), Clock()
    network.answers[TOKEN] = active()
    cache = make(network, clock)
    await cache.resolve(TOKEN)
    assert cache.key_revoked("k1") == 1
    network.down = True
    info, source = await cache.resolve(TOKEN)
    assert source == "cache" and not info.active and info.reason == "revoked"
    assert cache.key_revoked("someone-else") == 0


async def test_store_suspension_and_reactivation():
    network, clock = Network(), Clock()
    other = "ak_otherstore_0123456789"
    network.answers[TOKEN] = active("k1", "s1")
    network.answers[other] = active("k2", "s2")
    cache = make(network, clock)
    await cache.resolve(TOKEN), await cache.resolve(other)
    assert cache.store_suspended("s1") == 1
    info, _ = await cache.resolve(TOKEN)
    assert not info.active and info.reason == "store suspended"
    assert (await cache.resolve(other))[0].active
    assert cache.store_reactivated("s1") == 1
    calls = network.calls
    info, source = await cache.resolve(TOKEN)
    assert source == "network" and info.active and network.calls == calls + 1


async def test_an_answer_overtaken_by_an_event_is_not_cached():
    network, clock = Network(), Clock()
    network.answers[TOKEN] = active()
    cache = make(network, clock)
    network.gate = asyncio.Event()
    pending = asyncio.create_task(cache.resolve(TOKEN))
    await _until(lambda: network.calls == 1)  # network's answer is on its way
    # The key is revoked while network's (old) answer is on its way.
    cache.key_revoked("k1")
    network.answers[TOKEN] = {"active": False, "id": "k1", "role": "service_advisor", "store_id": "s1",
                              "reason": "revoked"}
    network.gate.set()
    info, _ = await pending
    assert not info.active  # asked again, and got the new truth
    assert network.calls == 2


async def test_concurrent_lookups_of_one_key_share_one_introspection():
    network, clock = Network(), Clock()
    network.answers[TOKEN] = active()
    network.gate = asyncio.Event()
    cache = make(network, clock)
    tasks = [asyncio.create_task(cache.resolve(TOKEN)) for _ in range(20)]
    await _until(lambda: network.calls >= 1)  # the lookups are all under way (they start in one loop turn)
    network.gate.set()
    results = await asyncio.gather(*tasks)
    assert all(info.active for info, _ in results)
    assert network.calls == 1


async def test_stale_entries_serve_while_network_is_down_up_to_the_bound():
    network, clock = Network(), Clock()
    network.answers[TOKEN] = active()
    cache = make(network, clock, stale=600)
    await cache.resolve(TOKEN)
    network.down = True
    clock.now += 599
    info, source = await cache.resolve(TOKEN)
    assert source == "stale" and info.active
    clock.now += 2
    with pytest.raises(NetworkUnavailable):
        await cache.resolve(TOKEN)
    with pytest.raises(NetworkUnavailable):
        await cache.resolve("ak_neverseen_0123456789")


async def test_entries_are_keyed_by_sha256_and_bounded():
    network, clock = Network(), Clock()
    cache = make(network, clock, max_entries=3)
    for i in range(5):
        token = f"ak_token_{i}_0123456789"
        network.answers[token] = active(f"k{i}")
        await cache.resolve(token)
    assert len(cache) == 3
    assert set(cache._entries) == {key_hash(f"ak_token_{i}_0123456789") for i in (2, 3, 4)}
    assert all("ak_token" not in repr(e) for e in cache._entries.values())


def test_only_plausible_tokens_are_sent_for_introspection():
    assert well_formed("ak_" + "A" * 43)
    for bad in ("", "short", "x" * 201, "ak_has space", "ak_ünïcode_0123456", "ak_new\nline_0123"):
        assert not well_formed(bad)
