"""Redis pub/sub between nodes (``redis://host:port/db``, ``rediss://`` for TLS).

Pub/sub keeps nothing: a node that is disconnected for a moment misses what was sent
meanwhile and reads it from storage (the log) once it notices the gap.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tocsin import tasks
from tocsin.broker import DEFAULT_CHANNEL
from tocsin.broker.remote import CONNECT_TIMEOUT_SECONDS, RemoteBroker
from tocsin.errors import BrokerUnavailable

logger = logging.getLogger("tocsin.broker")
MAX_RETRY_SECONDS = 5.0
KEEPALIVE = {
    getattr(socket, name): value
    for name, value in (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if hasattr(socket, name)
}


class RedisBroker(RemoteBroker):
    """Publishes each commit's deliveries to one Redis channel; subscribes to it."""

    def __init__(self, url: str, channel: str = DEFAULT_CHANNEL) -> None:
        super().__init__(url, channel)
        self._client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        client = aioredis.from_url(
            self.url,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            health_check_interval=10,
            socket_keepalive=True,  # a half-open connection is noticed within ~25 s
            socket_keepalive_options=KEEPALIVE,
        )
        subscribed = asyncio.get_running_loop().create_future()
        self._client = client
        self._listener = asyncio.get_running_loop().create_task(self._listen(subscribed))
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                await asyncio.shield(subscribed)
        except (TimeoutError, RedisError, OSError) as exc:
            await self._disconnect()
            raise BrokerUnavailable(f"Redis at {_safe(self.url)} cannot be reached: {exc}") from exc

    async def _disconnect(self) -> None:
        listener, self._listener = self._listener, None
        await tasks.cancel(listener)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _send_many(self, messages: list[bytes]) -> None:
        client = self._client
        if client is None:
            raise BrokerUnavailable("the Redis broker is stopped")
        async with client.pipeline(transaction=False) as pipe:
            for message in messages:
                pipe.publish(self.channel, message)
            await pipe.execute()

    async def _listen(self, subscribed: asyncio.Future[None]) -> None:
        delay = 0.1
        assert self._client is not None
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    async for message in pubsub.listen():
                        kind, data = message.get("type"), message.get("data")
                        if kind == "message" and isinstance(data, bytes):
                            self._received(data)
                        elif kind == "subscribe":  # confirmed: nothing sent from now is missed
                            if not subscribed.done():
                                subscribed.set_result(None)
                            elif delay > 0.1:
                                logger.warning("Redis broker reconnected")
                            delay = 0.1
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if not subscribed.done():
                    subscribed.set_exception(exc)
                    return
                logger.warning("Redis broker connection lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    return f"{head.split('://', 1)[0]}://***@{tail}" if at else url
