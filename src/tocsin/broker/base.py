"""The broker contract: committed deliveries reach every node's hub, in publish order."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivery:
    """An encoded frame for some users (or everyone), already committed to storage.

    ``seq`` is set for notification frames and None for state frames.
    """

    payload: bytes
    users: tuple[str, ...] = ()
    everyone: bool = False
    seq: int | None = None


OnDelivery = Callable[[Sequence[Delivery]], None]


class Broker(abc.ABC):
    """Carries deliveries from the node that committed them to every node.

    ``crosses_nodes`` is False for the in-process broker: deliveries then arrive in commit
    order by construction. A broker shared by several nodes interleaves their messages and
    may lose some; the node puts them back in seq order and reads what is missing from
    storage (:mod:`tocsin.delivery.ordering`).
    """

    crosses_nodes = False

    @abc.abstractmethod
    async def start(self, on_delivery: OnDelivery, *, database: str = "") -> None:
        """Begin receiving; ``on_delivery`` is called with the deliveries of each publish, in
        order (those of one commit arrive together). ``database`` (``Storage.database_id``)
        keeps apart deployments that share a broker."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop receiving and release connections."""

    @abc.abstractmethod
    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        """Send deliveries to every node (this one included), preserving their order."""
