"""One Tocsin node: storage, broker, hub, publisher and auth, wired and started together."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.auth import ApiKeys, Tickets, TokenVerifier
from tocsin.batching import Coalescer
from tocsin.broker import Broker, open_broker
from tocsin.delivery import Publisher
from tocsin.hub import Hub
from tocsin.models import Counts, now_ms
from tocsin.settings import Settings
from tocsin.storage import Storage, open_storage


@dataclass(slots=True)
class Node:
    """The parts of a running server; created by :meth:`from_settings`."""

    settings: Settings
    storage: Storage
    broker: Broker
    hub: Hub
    publisher: Publisher
    tokens: TokenVerifier
    api_keys: ApiKeys
    tickets: Tickets
    starts: Coalescer[str, tuple[int, Counts]]  # a user's (seq, counts) when a stream starts

    @classmethod
    def from_settings(cls, settings: Settings) -> Node:
        storage = open_storage(settings.resolved_database_url)
        broker = open_broker("memory://")
        return cls(
            settings=settings,
            storage=storage,
            broker=broker,
            hub=Hub(heartbeat_seconds=settings.heartbeat_seconds),
            publisher=Publisher(
                storage, broker, idempotency_ttl_ms=int(settings.idempotency_hours * 3_600_000)
            ),
            tokens=TokenVerifier(
                [settings.jwt_secret],
                algorithms=settings.jwt_algorithms,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
            ),
            api_keys=ApiKeys(storage),
            tickets=Tickets(settings.jwt_secret, storage),
            starts=_starts(storage),
        )

    async def start(self) -> None:
        await self.storage.open()
        await self.broker.start(self.hub.dispatch)
        self.publisher.start()
        self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()
        await self.publisher.stop()
        await self.broker.stop()
        await self.storage.close()


def _starts(storage: Storage) -> Coalescer[str, tuple[int, Counts]]:
    """Streams that start together read the seq and their counts in one trip."""

    async def read(users: list[str]) -> list[tuple[int, Counts]]:
        seq, counts = await storage.snapshot(users, now=now_ms())
        return [(seq, one) for one in counts]

    return Coalescer(read)
