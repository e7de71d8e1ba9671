"""The in-process broker: one node, deliveries handed straight to the local hub."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.broker.base import Broker, Delivery, OnDelivery


class MemoryBroker(Broker):
    """Delivers synchronously to the local subscriber; nothing crosses a process."""

    def __init__(self) -> None:
        self._on_delivery: OnDelivery | None = None

    async def start(self, on_delivery: OnDelivery, *, database: str = "") -> None:
        self._on_delivery = on_delivery

    async def stop(self) -> None:
        self._on_delivery = None

    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        on_delivery = self._on_delivery
        if on_delivery is not None and deliveries:
            on_delivery(deliveries)
