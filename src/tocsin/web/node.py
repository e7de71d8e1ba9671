"""One Tocsin node: storage, broker, hub, publisher and auth, wired and started together."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.auth import ApiKeys, Tickets, TokenVerifier
from tocsin.batching import Coalescer
from tocsin.broker import Broker, open_broker
from tocsin.broker.base import Delivery
from tocsin.delivery import Publisher
from tocsin.delivery.ordering import InOrder
from tocsin.delivery.publisher import delivery_of
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
    ordering: InOrder | None = None  # with a broker between nodes: deliveries put in order

    @classmethod
    def from_settings(cls, settings: Settings) -> Node:
        storage = open_storage(settings.resolved_database_url)
        broker = open_broker(settings.broker_url, settings.broker_channel)
        hub = Hub(heartbeat_seconds=settings.heartbeat_seconds)
        return cls(
            settings=settings,
            storage=storage,
            broker=broker,
            hub=hub,
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
            ordering=_ordering(settings, storage, hub) if broker.crosses_nodes else None,
        )

    async def start(self) -> None:
        await self.storage.open()
        try:
            if self.ordering is None:
                await self.broker.start(self.hub.dispatch)
            else:
                database = await self.storage.database_id()
                await self.broker.start(self.ordering.receive, database=database)
                try:
                    await self.ordering.start()
                except BaseException:
                    await self.broker.stop()
                    raise
        except BaseException:
            await self.storage.close()
            raise
        self.publisher.start()
        self.hub.start()

    async def stop(self) -> None:
        await self.hub.stop()
        await self.publisher.stop()
        if self.ordering is not None:
            await self.ordering.stop()
        await self.broker.stop()
        await self.storage.close()


async def check(settings: Settings) -> None:
    """Reach the database (bringing its schema up to date) and the broker once, then let
    go: what ``tocsin serve`` does before it starts serving, to fail with one clear line.

    Raises:
        StorageError: the database cannot be reached.
        BrokerUnavailable: the broker cannot be reached.
    """
    storage = open_storage(settings.resolved_database_url)
    await storage.open()
    try:
        broker = open_broker(settings.broker_url, settings.broker_channel)
        if broker.crosses_nodes:
            await broker.start(lambda deliveries: None, database=await storage.database_id())
            await broker.stop()
    finally:
        await storage.close()


def _ordering(settings: Settings, storage: Storage, hub: Hub) -> InOrder:
    """Deliveries from other nodes in seq order; what never came is read from storage for
    the users connected here."""

    async def fetch(after: int, upto: int, limit: int) -> list[Delivery]:
        users = hub.user_ids()
        events = await storage.events(after=after, upto=upto, limit=limit, users=users)
        return [delivery_of(event) for event in events]

    return InOrder(
        hub.dispatch,
        fetch=fetch,
        committed=storage.current_seq,
        gap_seconds=settings.broker_gap_seconds,
    )


def _starts(storage: Storage) -> Coalescer[str, tuple[int, Counts]]:
    """Streams that start together read the seq and their counts in one trip."""

    async def read(users: list[str]) -> list[tuple[int, Counts]]:
        seq, counts = await storage.snapshot(users, now=now_ms())
        return [(seq, one) for one in counts]

    return Coalescer(read)
