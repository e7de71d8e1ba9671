"""Publishing: store first, deliver after commit, answer last.

Concurrent publish calls are committed together (group commit): while one transaction is
being written, new requests queue up and go into the next one. Throughput grows with load
while each caller still learns only once its notification is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterator

from tocsin import tasks
from tocsin.batching import fail_waiting
from tocsin.broker.base import Broker, Delivery
from tocsin.errors import NotFound, TocsinError
from tocsin.models import Event, Mark, Published, PublishRequest, StateChange, now_ms
from tocsin.protocol import envelopes
from tocsin.storage.base import Storage

MAX_DRAFTS_PER_COMMIT = 2000
logger = logging.getLogger("tocsin.delivery")


class Publisher:
    """Stores notifications and state changes, then hands them to the broker."""

    def __init__(self, storage: Storage, broker: Broker, *, idempotency_ttl_ms: int) -> None:
        self._storage = storage
        self._broker = broker
        self._ttl_ms = idempotency_ttl_ms
        self._pending: deque[tuple[PublishRequest, asyncio.Future[Published]]] = deque()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_forever())

    async def stop(self) -> None:
        writer, self._writer = self._writer, None
        await tasks.cancel(writer)
        fail_waiting((future for _, future in self._pending), _shutting_down())
        self._pending.clear()

    async def publish(self, request: PublishRequest) -> Published:
        """Store ``request`` durably and deliver it to live connections.

        Raises:
            Conflict: the idempotency key was used with a different body.
            StorageError: the database failed; nothing was stored.
        """
        future: asyncio.Future[Published] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._wakeup.set()
        return await future

    async def mark(self, user: str, mark: Mark, item_id: str | None) -> StateChange:
        """Change read state and tell the user's other connections.

        Raises:
            NotFound: ``item_id`` is unknown or not the user's.
        """
        change = await self._storage.mark(user, mark, item_id, now=now_ms())
        if change is None:
            raise NotFound("No such notification.")
        await self._broker.publish([Delivery(payload=envelopes.state(change), users=(user,))])
        return change

    async def _write_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = list(self._take_batch())
                await self._commit(batch)

    def _take_batch(self) -> Iterator[tuple[PublishRequest, asyncio.Future[Published]]]:
        drafts = 0
        while self._pending and (drafts == 0 or drafts < MAX_DRAFTS_PER_COMMIT):
            request, future = self._pending.popleft()
            if future.cancelled():
                continue
            drafts += len(request.drafts)
            yield request, future

    async def _commit(self, batch: list[tuple[PublishRequest, asyncio.Future[Published]]]) -> None:
        if not batch:
            return
        try:
            outcomes = await self._storage.publish(
                [request for request, _ in batch], now=now_ms(), idempotency_ttl_ms=self._ttl_ms
            )
        except asyncio.CancelledError:  # stopping: the batch's callers must not wait forever
            fail_waiting((future for _, future in batch), _shutting_down())
            raise
        except Exception as exc:
            fail_waiting((future for _, future in batch), exc)
            return
        try:
            deliveries = [
                delivery_of(event)
                for outcome in outcomes
                if isinstance(outcome, Published) and not outcome.replayed
                for event in outcome.events
            ]
            await self._broker.publish(deliveries)
        except Exception:  # stored, so clients will get it on resume; keep the writer alive
            logger.exception("delivery after commit failed")
        finally:
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Published):
                    future.set_result(outcome)
                else:
                    future.set_exception(outcome)


def delivery_of(event: Event) -> Delivery:
    """The delivery announcing a stored event to its audience."""
    return Delivery(
        payload=envelopes.notification(event),
        users=event.audience.users,
        everyone=event.audience.everyone,
        seq=event.seq,
    )


def _shutting_down() -> TocsinError:
    return TocsinError("The server is shutting down.", code="shutdown")
