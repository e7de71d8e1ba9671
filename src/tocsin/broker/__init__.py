"""Fan-out between nodes, chosen by URL scheme and imported lazily."""

from __future__ import annotations

from tocsin.broker.base import Broker, Delivery

__all__ = ["Broker", "Delivery", "open_broker"]


def open_broker(url: str) -> Broker:
    """A broker for ``url`` (``memory://`` keeps everything in this process).

    Raises:
        ValueError: the scheme is not supported.
    """
    if url.startswith("memory://"):
        from tocsin.broker.memory import MemoryBroker

        return MemoryBroker()
    raise ValueError(f"unsupported broker URL scheme: {url.split(':', 1)[0]!r}")
