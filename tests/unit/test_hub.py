"""The hub: frames encoded once, runs of broadcasts written once per connection, and a
connection's cursor respected inside a run (nothing twice, nothing skipped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import make_settings
from tocsin.broker.base import Delivery
from tocsin.hub import Frame, Hub
from tocsin.protocol import sse, websocket
from tocsin.web.node import Node
from tocsin.web.transports.sse import SseConnection
from tocsin.web.transports.stream import State
from tocsin.web.transports.websocket import WebSocketConnection


class FakeTransport:
    """Records writes; never full."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False


def live(conn: WebSocketConnection | SseConnection, user: str, cursor: int) -> FakeTransport:
    transport = FakeTransport()
    conn.transport = transport  # type: ignore[assignment]
    conn.user = user
    conn.state = State.LIVE
    conn._cursor = conn._low = cursor
    conn.node.hub.add(conn)
    return transport


def frames(*seqs: int) -> list[Frame]:
    return [Frame(b'{"n":%d}' % seq, seq) for seq in seqs]


def test_a_run_joins_its_parts_framings_once() -> None:
    parts = frames(4, 5, 6)
    run = Frame.run(parts)
    assert (run.first_seq, run.seq, run.parts) == (4, 6, tuple(parts))
    assert run.ws == b"".join(websocket.text_frame(p.payload) for p in parts)
    assert run.sse == b"".join(sse.event(p.payload, p.seq) for p in parts)
    assert run.ws is run.ws  # built once


async def test_broadcasts_of_one_commit_reach_each_connection_in_one_write(
    tmp_path: Path,
) -> None:
    node = Node.from_settings(make_settings(tmp_path))
    ws_transport = live(WebSocketConnection(node), "alice", cursor=3)
    sse_transport = live(SseConnection(node, None), "bob", cursor=3)
    payloads = [b'{"n":%d}' % seq for seq in (4, 5, 6)]
    node.hub.dispatch(
        [Delivery(payload=p, everyone=True, seq=4 + i) for i, p in enumerate(payloads)]
    )
    # Written at once (no loop tick needed), one write per connection, all three in order.
    assert ws_transport.writes == [b"".join(websocket.text_frame(p) for p in payloads)]
    assert sse_transport.writes == [b"".join(sse.event(p, 4 + i) for i, p in enumerate(payloads))]


async def test_a_run_partly_sent_by_a_replay_sends_only_the_rest(tmp_path: Path) -> None:
    node = Node.from_settings(make_settings(tmp_path))
    conn = WebSocketConnection(node)
    transport = live(conn, "alice", cursor=5)  # a replay already sent up to seq 5
    parts = frames(4, 5, 6, 7)
    conn.deliver(Frame.run(parts))
    await asyncio.sleep(0)  # the rest is queued and flushed at the end of the tick
    assert b"".join(transport.writes) == parts[2].ws + parts[3].ws
    conn.deliver(Frame.run(frames(6, 7)))  # all of it seen: nothing
    conn.send(Frame.run(frames(8, 9)))
    await asyncio.sleep(0)
    assert b"".join(transport.writes).endswith(frames(8)[0].ws + frames(9)[0].ws)
    assert conn._cursor == 9


async def test_a_starting_connection_holds_a_run_frame_by_frame(tmp_path: Path) -> None:
    node = Node.from_settings(make_settings(tmp_path))
    conn = WebSocketConnection(node)
    transport = live(conn, "alice", cursor=0)
    conn.state = State.STARTING
    node.hub.dispatch([Delivery(payload=b"{}", everyone=True, seq=seq) for seq in (1, 2, 3)])
    assert transport.writes == []
    assert [frame.seq for frame in conn._held or ()] == [1, 2, 3]
    conn._cursor = 2  # the replay covered 1 and 2
    conn._go_live()
    await asyncio.sleep(0)
    assert transport.writes == [websocket.text_frame(b"{}")]  # only seq 3


async def test_targeted_deliveries_are_coalesced_per_connection_and_written_at_once(
    tmp_path: Path,
) -> None:
    node = Node.from_settings(make_settings(tmp_path))
    alice = live(WebSocketConnection(node), "alice", cursor=0)
    bob = live(WebSocketConnection(node), "bob", cursor=0)
    node.hub.dispatch(
        [
            Delivery(payload=b"1", users=("alice", "bob"), seq=1),
            Delivery(payload=b"2", users=("alice",), seq=2),
            Delivery(payload=b"3", everyone=True, seq=3),
            Delivery(payload=b"s", users=("bob",)),  # a state change: no seq
        ]
    )
    text = websocket.text_frame
    assert alice.writes == [text(b"1") + text(b"2") + text(b"3")]
    assert bob.writes == [text(b"1") + text(b"3") + text(b"s")]


def test_an_empty_dispatch_writes_nothing(tmp_path: Path) -> None:
    hub = Hub()
    hub.dispatch([])


async def test_connections_of_a_user_come_and_go_in_any_order(tmp_path: Path) -> None:
    node = Node.from_settings(make_settings(tmp_path))
    hub = node.hub
    first, second, third = (WebSocketConnection(node) for _ in range(3))
    transports = [live(conn, "alice", cursor=0) for conn in (first, second, third)]
    hub.add(first)  # again: no duplicate
    assert (len(hub), hub.users, hub.connections("alice")) == (3, 1, 3)
    hub.dispatch([Delivery(payload=b"1", users=("alice",), seq=1)])
    assert [len(t.writes) for t in transports] == [1, 1, 1]
    hub.remove(second)
    hub.dispatch([Delivery(payload=b"2", everyone=True, seq=2)])
    assert [len(t.writes) for t in transports] == [2, 1, 2]
    hub.remove(first)
    assert (len(hub), hub.connections("alice")) == (1, 1)
    hub.remove(first)  # gone already: nothing happens
    hub.dispatch([Delivery(payload=b"3", users=("alice",), seq=3)])
    assert [len(t.writes) for t in transports] == [2, 1, 3]
    hub.remove(third)
    assert (len(hub), hub.users, hub.connections("alice")) == (0, 0, 0)
