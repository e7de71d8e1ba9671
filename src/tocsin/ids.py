"""Notification ids: UUIDv7 (RFC 9562), a millisecond timestamp followed by random bits.

Ids made in the same moment sort together, so the unique index on them grows at its end
instead of touching a random page of the B-tree for every insert: a batch of notifications
dirties a page or two of that index rather than one page per notification.
"""

from __future__ import annotations

import os
import time


def new_id(now_ms: int | None = None) -> str:
    """A new UUIDv7 in its canonical text form; ``now_ms`` defaults to the wall clock."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    stamp = f"{ms & 0xFFFF_FFFF_FFFF:012x}"  # unix_ts_ms, 48 bits
    rand = _random_hex()  # 80 random bits: 12 of rand_a, 62 of rand_b, 6 dropped
    variant = "89ab"[int(rand[3], 16) & 3]  # 0b10 and 2 random bits
    return f"{stamp[:8]}-{stamp[8:]}-7{rand[:3]}-{variant}{rand[4:7]}-{rand[7:19]}"


_pool: list[str] = []  # 20 hex digits each, from one system call per 256 ids


def _random_hex() -> str:
    try:
        return _pool.pop()  # atomic: no two callers get the same bits
    except IndexError:
        block = os.urandom(10 * 256).hex()
        _pool.extend(block[start : start + 20] for start in range(20, len(block), 20))
        return block[:20]
