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
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class RemoteBroker(Broker, abc.ABC):
    """A broker reached over the network; subclasses move the bytes."""

    crosses_nodes = True

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        self.url = url
        self.channel = channel
        self.node_id = uuid.uuid4().hex
        self._on_delivery: OnDelivery | None = None
        self._outbox = Outbox(self._send_many)
        self.database = ""
        self.received = 0  # messages from other nodes
        self.rejected = 0  # messages that did not decode
        self.foreign = 0  # messages of another database (another deployment)

    async def start(self, on_delivery: OnDelivery, *, database: str = "") -> None:
        self._on_delivery = on_delivery
        self.database = database
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
        """The messages carrying ``deliveries``: one, unless it would be over the broker's
        size limit; then halves, in order. A delivery over the limit alone (an audience of
        many thousand long ids) is not sent: the other nodes read it from storage."""
        return self._within(list(deliveries), self._max_message_bytes())

    def _within(self, deliveries: list[Delivery], limit: int) -> list[bytes]:
        message = wire.encode(self.node_id, deliveries, database=self.database)
        if len(message) <= limit:
            return [message]
        if len(deliveries) == 1:
            logger.warning(
                "a delivery of %d bytes is over the broker's limit; not sent", len(message)
            )
            return []
        half = len(deliveries) // 2
        return self._within(deliveries[:half], limit) + self._within(deliveries[half:], limit)

    def _max_message_bytes(self) -> int:
        """The largest message to send (Redis disconnects subscribers that fall 8 MB behind
        for a minute, or 32 MB at once)."""
        return MAX_MESSAGE_BYTES

    def _received(self, message: bytes) -> None:
        """A message from the broker: decode it and hand it on, unless it is our own or
        another deployment's. Nothing it carries can break the listener."""
        try:
            node, database = wire.origin(message)
            if node == self.node_id or self._on_delivery is None:
                return
            if database != self.database:
                self.foreign += 1
                if self.foreign % 1000 == 1:
                    logger.warning(
                        "ignored %d broker messages of another database on channel %r: give "
                        "each deployment its own TOCSIN_BROKER_CHANNEL",
                        self.foreign,
                        self.channel,
                    )
                return
            _, deliveries = wire.decode(message)
        except wire.WireError as exc:
            self.rejected += 1
            logger.warning("dropped a broker message that does not decode: %s", exc)
            return
        on_delivery = self._on_delivery
        if on_delivery is None or not deliveries:
            return
        self.received += 1
        try:
            on_delivery(deliveries)
        except Exception:
            logger.exception("handling a broker message failed")

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
