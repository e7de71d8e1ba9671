"""Every broker keeps the same promises: in-process memory, and the real Redis and NATS.

The remote brokers run against the servers on 127.0.0.1 (Redis on 6379, NATS on 4222);
each test uses a channel of its own. A missing server fails the tests, never skips them.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import nats
import pytest
import redis.asyncio as aioredis

from tests.waiting import until
from tocsin.broker import Broker, Delivery, open_broker
from tocsin.broker.remote import RemoteBroker
from tocsin.errors import BrokerUnavailable

URLS = {
    "memory": "memory://",
    "redis": "redis://127.0.0.1:6379/0",
    "nats": "nats://127.0.0.1:4222",
}
REMOTE = ["redis", "nats"]
UNREACHABLE = {"redis": "redis://127.0.0.1:1/0", "nats": "nats://127.0.0.1:1"}
START_SECONDS = 10.0
NATS_DEFAULT_MAX_PAYLOAD = 1_048_576
PROBE = Delivery(b"probe", ("probe",), False, None)


class Received:
    """A broker subscriber that records every batch it is handed (probes apart)."""

    def __init__(self) -> None:
        self.batches: list[list[Delivery]] = []
        self.probes = 0

    def __call__(self, batch: Sequence[Delivery]) -> None:
        if list(batch) == [PROBE]:
            self.probes += 1
        else:
            self.batches.append(list(batch))

    @property
    def deliveries(self) -> list[Delivery]:
        return [delivery for batch in self.batches for delivery in batch]


@dataclass
class Node:
    """A started broker and what its subscriber received."""

    broker: Broker
    received: Received = field(default_factory=Received)

    @property
    def remote(self) -> RemoteBroker:
        assert isinstance(self.broker, RemoteBroker)
        return self.broker


Start = Callable[[], Awaitable[Node]]


@pytest.fixture(params=sorted(URLS))
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(params=REMOTE)
def remote_kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def channel() -> str:
    return f"test.{uuid.uuid4().hex}"


async def start_broker(url: str, channel: str) -> Node:
    """A started broker on ``channel``; fails the test when the server does not answer."""
    node = Node(open_broker(url, channel))
    try:
        async with asyncio.timeout(START_SECONDS):
            await node.broker.start(node.received)
    except TimeoutError:
        pytest.fail(f"the broker at {url} did not start within {START_SECONDS} s")
    except BrokerUnavailable as exc:
        pytest.fail(f"these tests need the broker at {url}: {exc}")
    return node


@pytest.fixture
async def nodes(channel: str) -> AsyncIterator[Callable[[str], Awaitable[Node]]]:
    """Starts brokers on this test's channel; stops them all afterwards, leaving no task."""
    started: list[Node] = []

    async def start(kind: str) -> Node:
        node = await start_broker(URLS[kind], channel)
        started.append(node)
        return node

    yield start
    for node in started:
        await node.broker.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def linked(*nodes: Node) -> None:
    """Wait until each node hears the others (their subscriptions are live at the server)."""
    for sender in nodes:
        for receiver in nodes:
            if receiver is sender:
                continue
            heard = receiver.received.probes
            deadline = time.monotonic() + 5
            while receiver.received.probes == heard:
                assert time.monotonic() < deadline, "the brokers never heard each other"
                await sender.broker.publish([PROBE])
                await asyncio.sleep(0.02)


async def publish_raw(kind: str, channel: str, messages: list[bytes]) -> None:
    """Put bytes on the channel with the broker's own client, bypassing Tocsin."""
    if kind == "redis":
        client = aioredis.from_url(URLS["redis"])
        try:
            for message in messages:
                await client.publish(channel, message)
        finally:
            await client.aclose()
    else:
        connection = await nats.connect(URLS["nats"], allow_reconnect=False)
        try:
            for message in messages:
                await connection.publish(channel, message)
            await connection.flush()
        finally:
            await connection.close()


def sample(count: int, first_seq: int = 1) -> list[list[Delivery]]:
    """Batches of varied deliveries: binary payloads, unicode users, broadcasts, states."""
    batches = []
    for index in range(count):
        seq = first_seq + index
        batches.append(
            [
                Delivery(b'{"seq":%d}\n\x00\xff' % seq, ("alice", "zoë", "用户😀"), False, seq),
                Delivery(b"", ("bob",), False, None),
                Delivery(b"all %d" % seq, (), True, None),
            ][: 1 + index % 3]
        )
    return batches


async def test_a_broker_hands_its_own_publishes_to_its_subscriber_once(
    kind: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """Local delivery is immediate, and the message coming back is not delivered again."""
    a = await nodes(kind)
    witness = await nodes(kind) if kind in REMOTE else None
    if witness is not None:
        await linked(a, witness)
        heard = a.remote.received  # the witness's probes
    batches = sample(5)
    for batch in batches:
        await a.broker.publish(batch)
    assert a.received.batches == batches  # synchronously, before any network trip
    if witness is not None:
        await until(lambda: len(witness.received.batches) == len(batches))
        await asyncio.sleep(0.2)  # the echo, if any, has had as long as the witness
        assert a.remote.received == heard
    assert a.received.batches == batches


async def test_an_empty_publish_delivers_nothing(
    kind: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """Publishing no deliveries calls no subscriber, here or elsewhere."""
    a = await nodes(kind)
    witness = await nodes(kind) if kind in REMOTE else None
    if witness is not None:
        await linked(a, witness)
    await a.broker.publish([])
    await a.broker.publish([Delivery(b"after", ("u",), False, 1)])
    if witness is not None:
        await until(lambda: len(witness.received.batches) >= 1)
        assert witness.received.batches == [[Delivery(b"after", ("u",), False, 1)]]
    assert a.received.batches == [[Delivery(b"after", ("u",), False, 1)]]


async def test_a_stopped_broker_no_longer_calls_its_subscriber(kind: str, channel: str) -> None:
    """After stop(), publishing does not reach the old subscriber."""
    node = await start_broker(URLS[kind], channel)
    await node.broker.publish([Delivery(b"one", ("u",), False, 1)])
    await node.broker.stop()
    await node.broker.publish([Delivery(b"two", ("u",), False, 2)])
    await asyncio.sleep(0.05)
    assert [d.payload for d in node.received.deliveries] == [b"one"]


async def test_another_node_receives_deliveries_in_order_and_intact(
    remote_kind: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """B gets each of A's publishes as one batch, in order, with every field as sent."""
    a, b = await nodes(remote_kind), await nodes(remote_kind)
    await linked(a, b)
    batches = sample(60)
    for batch in batches:
        await a.broker.publish(batch)
    await until(lambda: len(b.received.batches) >= len(batches))
    await asyncio.sleep(0.05)
    assert b.received.batches == batches
    assert a.received.batches == batches


async def test_both_nodes_hear_each_other_on_one_channel(
    remote_kind: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """Publishes go both ways; each node sees the other's once and its own once."""
    a, b = await nodes(remote_kind), await nodes(remote_kind)
    await linked(a, b)
    from_a = [Delivery(b"from a", ("u",), False, 1)]
    from_b = [Delivery(b"from b", ("u",), False, 2)]
    await a.broker.publish(from_a)
    await b.broker.publish(from_b)
    await until(lambda: len(a.received.batches) == 2 and len(b.received.batches) == 2)
    await asyncio.sleep(0.1)
    assert sorted(a.received.batches, key=lambda batch: batch[0].payload) == [from_a, from_b]
    assert sorted(b.received.batches, key=lambda batch: batch[0].payload) == [from_a, from_b]


async def test_a_node_on_another_channel_hears_nothing(
    remote_kind: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """Channels separate clusters: a broker on another channel gets none of this one's."""
    other = await start_broker(URLS[remote_kind], f"test.{uuid.uuid4().hex}")
    try:
        a, b = await nodes(remote_kind), await nodes(remote_kind)
        await linked(a, b)
        await a.broker.publish([Delivery(b"here", ("u",), False, 1)])
        await until(lambda: len(b.received.batches) == 1)
        await asyncio.sleep(0.1)
        assert other.received.batches == []
        assert other.received.probes == 0
    finally:
        await other.broker.stop()


async def test_a_commit_larger_than_a_broker_message_arrives_whole_and_in_order(
    remote_kind: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """3 MB in 2,000 deliveries (over NATS' max_payload) reach B complete and in seq order."""
    a, b = await nodes(remote_kind), await nodes(remote_kind)
    await linked(a, b)
    commit = [
        Delivery(b"%06d" % seq + bytes([seq % 256]) * 1494, (f"user{seq}",), seq % 7 == 0, seq)
        for seq in range(1, 2001)
    ]
    assert sum(len(d.payload) for d in commit) == 3_000_000
    await a.broker.publish(commit)
    await until(lambda: len(b.received.deliveries) >= len(commit), seconds=15)
    await asyncio.sleep(0.05)
    assert b.received.deliveries == commit
    if remote_kind == "nats":
        assert len(b.received.batches) >= 3  # split to fit the server's cap
    assert a.received.batches == [commit]


@pytest.mark.parametrize(
    "shape",
    ["over the cap", "at the cap by its estimate", "multibyte users under the estimate"],
)
async def test_a_delivery_near_the_size_cap_does_not_hold_up_later_ones(
    remote_kind: str, nodes: Callable[[str], Awaitable[Node]], shape: str
) -> None:
    """A delivery too big for one broker message may be left to storage, but the deliveries
    published after it still arrive, in order."""
    a, b = await nodes(remote_kind), await nodes(remote_kind)
    await linked(a, b)
    cap = NATS_DEFAULT_MAX_PAYLOAD
    if shape == "over the cap":
        big = Delivery(b"x" * (2 * cap), (), True, 1)
    elif shape == "at the cap by its estimate":  # payload + 64 bytes of header allowance
        big = Delivery(b"x" * (cap - 64), (), True, 1)
    else:  # 10,000 recipients of 42 characters, 38 of which take 3 bytes in UTF-8
        big = Delivery(b"x", tuple("用户" * 19 + f"{i:04d}" for i in range(10_000)), False, 1)
    after = [Delivery(b"small", ("u",), False, 2)]
    await a.broker.publish([big])
    await a.broker.publish(after)
    await until(lambda: b.received.deliveries[-1:] == after, seconds=5)
    assert b.received.deliveries in ([big, *after], after)


async def test_a_malformed_message_is_dropped_and_counted(
    remote_kind: str, channel: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """Bytes on the channel that do not decode are counted in rejected; good ones still flow."""
    a, b = await nodes(remote_kind), await nodes(remote_kind)
    await linked(a, b)
    await publish_raw(
        remote_kind,
        channel,
        [
            b"not a tocsin message",
            b'{"node":"other","d":[[1,false,["u"],9]]}\nshort',
            b'{"node":"other","d":[[0,false,["u"],0]]}\n',
            b"",
        ],
    )
    await until(lambda: b.remote.rejected == 4)
    good = [Delivery(b"still fine", ("u",), False, 1)]
    await a.broker.publish(good)
    await until(lambda: len(b.received.batches) == 1)
    assert b.received.batches == [good]
    assert b.remote.rejected == 4
    assert a.remote.rejected == 4


async def test_a_raw_message_from_another_node_is_delivered(
    remote_kind: str, channel: str, nodes: Callable[[str], Awaitable[Node]]
) -> None:
    """A well-formed message from a node id not its own is decoded and handed on."""
    a, b = await nodes(remote_kind), await nodes(remote_kind)
    await linked(a, b)  # b's subscription is live at the server
    heard = b.remote.received
    message = b'{"node":"elsewhere","d":[[7,true,[],2],[null,false,["zo\xc3\xab"],0]]}\nhi'
    await publish_raw(remote_kind, channel, [message])
    await until(lambda: len(b.received.batches) == 1)
    assert b.received.batches == [
        [Delivery(b"hi", (), True, 7), Delivery(b"", ("zoë",), False, None)]
    ]
    assert b.remote.received == heard + 1


async def test_start_against_an_unreachable_broker_raises_broker_unavailable(
    remote_kind: str, channel: str
) -> None:
    """Nothing listens on port 1: start() raises BrokerUnavailable within a few seconds."""
    broker = open_broker(UNREACHABLE[remote_kind], channel)
    started = time.monotonic()
    try:
        async with asyncio.timeout(8):
            with pytest.raises(BrokerUnavailable):
                await broker.start(Received())
    except TimeoutError:
        pytest.fail(f"start() against {UNREACHABLE[remote_kind]} was still waiting after 8 s")
    assert time.monotonic() - started < 8
    assert asyncio.all_tasks() == {asyncio.current_task()}


def test_an_unknown_scheme_is_refused() -> None:
    """open_broker names the scheme it does not support."""
    with pytest.raises(ValueError, match="'kafka'"):
        open_broker("kafka://127.0.0.1:9092")


@pytest.mark.parametrize(
    ("url", "cross"),
    [
        ("memory://", False),
        ("redis://127.0.0.1:6379/0", True),
        ("rediss://127.0.0.1:6379/0", True),
        ("nats://127.0.0.1:4222", True),
        ("tls://127.0.0.1:4222", True),
    ],
)
def test_the_scheme_chooses_the_broker(url: str, cross: bool) -> None:
    """Each scheme opens a broker that says whether it crosses nodes."""
    broker = open_broker(url, "test.scheme")
    assert broker.crosses_nodes is cross
    if cross:
        assert isinstance(broker, RemoteBroker)
        assert broker.channel == "test.scheme"


async def test_messages_of_another_database_are_ignored_and_counted(
    remote_kind: str, channel: str
) -> None:
    """Two deployments sharing a channel by mistake: each hears only its own database's
    deliveries; the others are counted in ``foreign``."""
    started: list[Node] = []
    try:
        for database in ("aaaa", "aaaa", "bbbb"):
            node = Node(open_broker(URLS[remote_kind], channel))
            async with asyncio.timeout(START_SECONDS):
                await node.broker.start(node.received, database=database)
            started.append(node)
        mine, same, other = started
        await linked(mine, same)
        foreign = other.remote.foreign
        batch = [Delivery(b"for aaaa", ("alice",), False, 1)]
        await mine.broker.publish(batch)
        await until(lambda: same.received.batches == [batch])
        await until(lambda: other.remote.foreign > foreign)
        assert other.received.batches == []
    finally:
        for node in started:
            await node.broker.stop()
