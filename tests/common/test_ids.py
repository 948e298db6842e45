"""Record and request identifiers are RFC 9562 UUIDv7 strings that sort by time."""
from __future__ import annotations

import uuid

import pytest

from services.common import ids


@pytest.mark.parametrize("make", [ids.new_id, ids.new_request_id])
def test_is_a_version_7_uuid_in_its_canonical_form(make):
    for _ in range(200):
        text = make()
        parsed = uuid.UUID(text)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert str(parsed) == text


@pytest.mark.parametrize("make", [ids.new_id, ids.new_request_id])
def test_sorts_by_the_millisecond_it_was_made_in(make, monkeypatch):
    now = [1_700_000_000_000_000_000]
    monkeypatch.setattr(ids.time, "time_ns", lambda: now[0])
    earlier = [make() for _ in range(50)]
    now[0] += 1_000_000  # one millisecond on
    later = [make() for _ in range(50)]
    assert max(earlier) < min(later)
    assert len(set(earlier + later)) == 100
    assert uuid.UUID(earlier[0]).int >> 80 == 1_700_000_000_000
