"""NATS core pub/sub between nodes (``nats://host:4222``, ``tls://`` for TLS).

Like Redis pub/sub it keeps nothing, and Tocsin needs nothing kept: storage is the log.
A NATS server caps the size of a message (1 MB by default), so a large commit is split
into several messages; one delivery larger than the cap is not sent at all, and the other
nodes read it from storage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import NoServersError

from tocsin.broker import DEFAULT_CHANNEL, wire
from tocsin.broker.base import Delivery
from tocsin.broker.remote import CONNECT_TIMEOUT_SECONDS, RemoteBroker
from tocsin.errors import BrokerUnavailable

logger = logging.getLogger("tocsin.broker")
HEADER_ALLOWANCE = 64  # bytes per delivery for its entry in the header line


class NatsBroker(RemoteBroker):
    """Publishes each commit's deliveries on one subject; subscribes to it (no echo)."""

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        super().__init__(url, channel)
        self._client: Client | None = None
        self._closing = False

    async def _connect(self) -> None:
        try:
            self._client = await nats.connect(
                self.url,
                name=f"tocsin-{self.node_id[:8]}",
                no_echo=True,
                connect_timeout=int(CONNECT_TIMEOUT_SECONDS),
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
            )
            await self._client.subscribe(self.channel, cb=self._on_message)
        except (NoServersError, NatsError, OSError, TimeoutError) as exc:
            await self._disconnect()
            raise BrokerUnavailable(f"NATS at {self.url} cannot be reached: {exc}") from exc

    async def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            self._closing = True
            await client.close()

    async def _send_many(self, messages: list[bytes]) -> None:
        client = self._client
        if client is None or client.is_closed:
            raise BrokerUnavailable("the NATS broker is stopped")
        for message in messages:
            await client.publish(self.channel, message)

    def _messages(self, deliveries: Sequence[Delivery]) -> list[bytes]:
        limit = self._client.max_payload if self._client is not None else 1_048_576
        messages: list[bytes] = []
        chunk: list[Delivery] = []
        size = 0
        for delivery in deliveries:
            users = sum(len(user) + 3 for user in delivery.users)
            cost = len(delivery.payload) + HEADER_ALLOWANCE + users
            if cost > limit:
                logger.warning("a delivery of %d bytes is over NATS' cap; not sent", cost)
                continue
            if chunk and size + cost > limit:
                messages.append(wire.encode(self.node_id, chunk))
                chunk, size = [], 0
            chunk.append(delivery)
            size += cost
        if chunk:
            messages.append(wire.encode(self.node_id, chunk))
        return messages

    async def _on_message(self, message: Msg) -> None:
        self._received(message.data)

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("NATS broker: %s", exc)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("NATS broker disconnected; reconnecting")

    async def _on_reconnected(self) -> None:
        logger.warning("NATS broker reconnected")
