"""Fan-out between nodes, chosen by URL scheme and imported lazily."""

from __future__ import annotations

from tocsin.broker.base import Broker, Delivery

DEFAULT_CHANNEL = "tocsin.deliveries"

__all__ = ["Broker", "Delivery", "open_broker"]


def open_broker(url: str, channel: str = DEFAULT_CHANNEL) -> Broker:
    """A broker for ``url``: ``memory://`` keeps everything in this process (one node);
    ``redis://`` / ``rediss://`` and ``nats://`` / ``tls://`` connect the nodes that share
    a database.

    Raises:
        ValueError: the scheme is not supported.
    """
    if url.startswith("memory://"):
        from tocsin.broker.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from tocsin.broker.redis import RedisBroker

        return RedisBroker(url, channel)
    if url.startswith(("nats://", "tls://")):
        from tocsin.broker.nats import NatsBroker

        return NatsBroker(url, channel)
    raise ValueError(f"unsupported broker URL scheme: {url.split(':', 1)[0]!r}")
