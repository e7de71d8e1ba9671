"""Notification ids are RFC 9562 UUIDv7: valid UUIDs that sort by creation time."""

from __future__ import annotations

import uuid

from tocsin.ids import new_id


def test_ids_are_version_7_uuids_carrying_their_millisecond() -> None:
    now = 1_795_000_000_123
    text = new_id(now)
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert parsed.int >> 80 == now


def test_ids_sort_by_time_and_never_repeat() -> None:
    ids = [new_id(1_795_000_000_000 + ms) for ms in range(50) for _ in range(20)]
    assert len(set(ids)) == len(ids)
    by_ms = [ids[k] for k in range(0, len(ids), 20)]
    assert by_ms == sorted(by_ms)
    assert new_id() > new_id(1_000_000_000_000)  # the wall clock is later than 2001
