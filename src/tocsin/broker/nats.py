"""NATS core pub/sub between nodes (``nats://host:4222``, ``tls://`` for TLS).

Like Redis pub/sub it keeps nothing, and Tocsin needs nothing kept: storage is the log.
A NATS server caps the size of a message (1 MB by default): messages are split to fit it
(see ``remote.py``).
"""

from __future__ import annotations

import asyncio
import logging

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from tocsin.broker import DEFAULT_CHANNEL
from tocsin.broker.remote import CONNECT_TIMEOUT_SECONDS, RemoteBroker
from tocsin.errors import BrokerUnavailable

logger = logging.getLogger("tocsin.broker")


class NatsBroker(RemoteBroker):
    """Publishes each commit's deliveries on one subject; subscribes to it (no echo)."""

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        super().__init__(url, channel)
        self._client: Client | None = None
        self._closing = False

    async def _connect(self) -> None:
        # nats-py retries even the first connection forever when reconnecting is allowed,
        # so the first one is bounded here; later losses are retried without end.
        client = Client()
        self._client = client
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                await client.connect(
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
                await client.subscribe(self.channel, cb=self._on_message)
                await client.flush()  # the server has the subscription: nothing is missed
        except (NatsError, OSError, TimeoutError) as exc:
            await self._disconnect()
            reason = str(exc) or "no answer"
            raise BrokerUnavailable(f"NATS at {self.url} cannot be reached: {reason}") from exc

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

    def _max_message_bytes(self) -> int:
        client = self._client
        return client.max_payload if client is not None else 1_048_576

    async def _on_message(self, message: Msg) -> None:
        self._received(message.data)

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("NATS broker: %s", exc)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("NATS broker disconnected; reconnecting")

    async def _on_reconnected(self) -> None:
        logger.warning("NATS broker reconnected")
