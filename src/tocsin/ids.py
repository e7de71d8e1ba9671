"""Notification ids: UUIDv7 (RFC 9562), a millisecond timestamp followed by random bits.

Ids made in the same moment sort together, so the unique index on them grows at its end
instead of touching a random page of the B-tree for every insert: a batch of notifications
dirties a page or two of that index rather than one page per notification.
"""

from __future__ import annotations

import os
import time

_RAND_B_MASK = (1 << 62) - 1


def new_id(now_ms: int | None = None) -> str:
    """A new UUIDv7 in its canonical text form; ``now_ms`` defaults to the wall clock."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")  # 12 bits of rand_a, 62 of rand_b
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | rand & _RAND_B_MASK
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
