"""What the brokers between nodes share (Redis, NATS): local delivery, the outbox, the wire.

A node hands its own deliveries to its hub at once and sends them to the others through
the broker; its own messages coming back are recognised by the node id and skipped. A
message that does not decode is logged and dropped: the seqs it carried are read from
storage by the receiving nodes, so a bad message costs time, never a notification.
"""

from __future__ import annotations

import abc
import logging
import uuid
from collections.abc import Sequence

from tocsin.broker import DEFAULT_CHANNEL, wire
from tocsin.broker.base import Broker, Delivery, OnDelivery
from tocsin.broker.outbox import Outbox

logger = logging.getLogger("tocsin.broker")
CONNECT_TIMEOUT_SECONDS = 5.0


class RemoteBroker(Broker, abc.ABC):
    """A broker reached over the network; subclasses move the bytes."""

    crosses_nodes = True

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.node_id = uuid.uuid4().hex
        self._on_delivery: OnDelivery | None = None
        self._outbox = Outbox(self._send_many)
        self.received = 0  # messages from other nodes
        self.rejected = 0  # messages that did not decode

    async def start(self, on_delivery: OnDelivery) -> None:
        self._on_delivery = on_delivery
        await self._connect()
        self._outbox.start()

    async def stop(self) -> None:
        await self._outbox.stop()
        self._on_delivery = None
        await self._disconnect()

    async def publish(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        on_delivery = self._on_delivery
        if on_delivery is not None:
            on_delivery(deliveries)
        for message in self._messages(deliveries):
            self._outbox.put(message)

    def _messages(self, deliveries: Sequence[Delivery]) -> list[bytes]:
        """The messages carrying ``deliveries`` (one, unless the broker caps their size)."""
        return [wire.encode(self.node_id, deliveries)]

    def _received(self, message: bytes) -> None:
        """A message from the broker: decode it and hand it on, unless it is our own."""
        try:
            node, deliveries = wire.decode(message)
        except wire.WireError as exc:
            self.rejected += 1
            logger.warning("dropped a broker message that does not decode: %s", exc)
            return
        on_delivery = self._on_delivery
        if node == self.node_id or on_delivery is None or not deliveries:
            return
        self.received += 1
        on_delivery(deliveries)

    @abc.abstractmethod
    async def _connect(self) -> None:
        """Connect and subscribe; raise ``BrokerUnavailable`` when the broker cannot be
        reached at start. Later losses are retried in the background."""

    @abc.abstractmethod
    async def _disconnect(self) -> None:
        """Unsubscribe and close connections."""

    @abc.abstractmethod
    async def _send_many(self, messages: list[bytes]) -> None:
        """Publish ``messages`` in order; raise when they could not be sent."""
