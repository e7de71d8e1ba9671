"""How a batch of deliveries travels between nodes: one message per commit (sans-I/O).

A message is a JSON header line naming the sending node and its database (a random id
stored in it: nodes of another deployment on the same broker are told apart) and, per
delivery, its seq (or null), whether it is for everyone, its users and the length of its
payload; the payloads follow the newline, concatenated. Payloads are already-encoded frames,
so they are carried as bytes and never parsed or escaped again::

    {"node":"4f0c…","db":"9a1e…","d":[[17,false,["alice"],245],[null,false,["bob"],96]]}\\n
    <245 bytes><96 bytes>
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from tocsin.broker.base import Delivery


class WireError(ValueError):
    """A broker message that is not a well-formed batch of deliveries."""


_ORIGIN = re.compile(rb'\{"node":"([0-9a-f]{1,64})","db":"([0-9a-f]{0,64})",')


def encode(node: str, deliveries: Sequence[Delivery], *, database: str = "") -> bytes:
    """One message carrying ``deliveries`` from ``node`` (of ``database``), in order."""
    head = orjson.dumps(
        {
            "node": node,
            "db": database,
            "d": [
                [delivery.seq, delivery.everyone, delivery.users, len(delivery.payload)]
                for delivery in deliveries
            ],
        }
    )
    return b"".join([head, b"\n", *(delivery.payload for delivery in deliveries)])


def origin(message: bytes) -> tuple[str, str]:
    """The sending node and its database, read without decoding the deliveries (a node
    skips its own messages and those of other databases before paying for them).

    Raises:
        WireError: the header does not name them.
    """
    found = _ORIGIN.match(message)
    if found is not None:
        return found[1].decode(), found[2].decode()
    header = _header(message.partition(b"\n")[0])
    database = header.get("db", "")
    if not isinstance(database, str):
        raise WireError("db is not a string")
    return header["node"], database


def decode(message: bytes) -> tuple[str, list[Delivery]]:
    """The sending node and the deliveries of a message made by :func:`encode`.

    Raises:
        WireError: the message is truncated, has trailing bytes or fields of the wrong type.
    """
    head, newline, body = message.partition(b"\n")
    if not newline:
        raise WireError("no header line")
    header = _header(head)
    entries = header.get("d")
    if not isinstance(entries, list):
        raise WireError("header lists no deliveries")
    deliveries: list[Delivery] = []
    offset = 0
    for entry in entries:
        seq, everyone, users, size = _fields(entry)
        end = offset + size
        if end > len(body):
            raise WireError("payload truncated")
        deliveries.append(Delivery(body[offset:end], users, everyone, seq))
        offset = end
    if offset != len(body):
        raise WireError("bytes after the last payload")
    return header["node"], deliveries


def _header(head: bytes) -> dict[str, Any]:
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(header.get("node"), str):
        raise WireError("header names no node")
    return header


def _fields(entry: object) -> tuple[int | None, bool, tuple[str, ...], int]:
    if not isinstance(entry, list) or len(entry) != 4:
        raise WireError("a delivery is not [seq, everyone, users, size]")
    seq, everyone, users, size = entry
    if seq is not None and (type(seq) is not int or seq < 1):
        raise WireError("seq is not a positive integer or null")
    if type(everyone) is not bool:
        raise WireError("everyone is not a boolean")
    if not isinstance(users, list) or not all(type(user) is str for user in users):
        raise WireError("users is not a list of strings")
    if type(size) is not int or size < 0:
        raise WireError("size is not a non-negative integer")
    return seq, everyone, tuple(users), size
