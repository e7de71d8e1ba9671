"""Deliveries put back in seq order: Reorder (pure) and InOrder (gaps filled from storage)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from tests.waiting import until
from tocsin.broker.base import Delivery
from tocsin.delivery.ordering import FILL_PAGE, InOrder, Reorder

GAP = 0.05


def n(seq: int) -> Delivery:
    """The notification delivery for ``seq``."""
    return Delivery(f"n{seq}".encode(), (f"user{seq % 3}",), False, seq)


def ns(*seqs: int) -> list[Delivery]:
    return [n(seq) for seq in seqs]


def span(first: int, last: int) -> list[Delivery]:
    return ns(*range(first, last + 1))


def state(name: str) -> Delivery:
    """A state delivery (no seq)."""
    return Delivery(f"state {name}".encode(), ("alice",), False, None)


def seqs(batches: Sequence[Sequence[Delivery]]) -> list[list[int | None]]:
    return [[delivery.seq for delivery in batch] for batch in batches]


def flat(batches: Sequence[Sequence[Delivery]]) -> list[int | None]:
    return [delivery.seq for batch in batches for delivery in batch]


# Reorder


def test_batches_in_order_pass_straight_through() -> None:
    """After begin, each batch that continues the sequence is released at once, unchanged."""
    reorder = Reorder()
    assert reorder.begin(0) == []
    assert seqs(reorder.push(ns(1, 2))) == [[1, 2]]
    assert seqs(reorder.push(ns(3))) == [[3]]
    assert reorder.push(ns(4, 5, 6)) == [ns(4, 5, 6)]
    assert reorder.next_seq == 7
    assert reorder.gap() is None


def test_begin_starts_after_the_committed_seq() -> None:
    """A reorder begun at 40 releases 41 at once and holds 43."""
    reorder = Reorder()
    reorder.begin(40)
    assert seqs(reorder.push(ns(41))) == [[41]]
    assert reorder.push(ns(43)) == []
    assert reorder.gap() == (41, 42)


def test_early_batches_are_held_then_released_in_order() -> None:
    """Batches that come before the seq they follow wait, then go out in seq order."""
    reorder = Reorder()
    reorder.begin(0)
    assert reorder.push(ns(4, 5)) == []
    assert reorder.push(ns(2)) == []
    assert reorder.push(ns(7)) == []
    assert seqs(reorder.push(ns(1))) == [[1], [2]]
    assert seqs(reorder.push(ns(3))) == [[3], [4, 5]]
    assert seqs(reorder.push(ns(6))) == [[6], [7]]
    assert reorder.next_seq == 8


def test_released_batches_keep_their_deliveries_intact() -> None:
    """What comes out is the deliveries that went in (payload, users, everyone), not copies."""
    reorder = Reorder()
    reorder.begin(0)
    second = [Delivery(b"two", ("bob", "carol"), False, 2), Delivery(b"three", (), True, 3)]
    reorder.push(second)
    first = [Delivery(b"one", ("alice",), False, 1)]
    assert reorder.push(first) == [first, second]


def test_duplicates_of_released_seqs_are_dropped() -> None:
    """A batch already released (or part of one) is not released again."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(1, 2, 3))
    assert reorder.push(ns(1, 2, 3)) == []
    assert reorder.push(ns(2)) == []
    assert reorder.push(ns(1, 2)) == []
    assert seqs(reorder.push(ns(4))) == [[4]]
    assert reorder.gap() is None


def test_duplicates_of_a_waiting_run_go_out_once() -> None:
    """The same early batch arriving twice is released once."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(3, 4))
    reorder.push(ns(3, 4))
    reorder.push(ns(4))
    reorder.push(ns(3))
    assert seqs(reorder.push(ns(1, 2))) == [[1, 2], [3, 4]]


def test_duplicate_seqs_inside_one_batch_go_out_once() -> None:
    """A batch that names a seq twice releases it once."""
    reorder = Reorder()
    reorder.begin(0)
    assert flat(reorder.push(ns(1, 1, 2, 2))) == [1, 2]


@pytest.mark.parametrize(
    ("pushes", "released"),
    [
        ([[5, 6], [5, 6, 7]], [[5, 6], [7]]),
        ([[5, 6], [6, 7]], [[5, 6], [7]]),
        ([[5, 6, 7], [6, 7, 8]], [[5, 6, 7], [8]]),
        ([[5, 6, 7], [4, 5, 6, 7, 8]], [[5, 6, 7], [8]]),
        ([[6, 7], [6, 7, 8], [7, 8, 9], [5]], [[5], [6, 7, 8], [9]]),
        ([[7, 8], [6, 7], [5, 6]], [[5, 6], [7], [8]]),
        ([[6, 7, 8, 9], [7], [8, 9, 10], [5]], [[5], [6, 7, 8, 9], [10]]),
        ([[6], [6, 7], [5]], [[5], [6, 7]]),
        ([[6, 7], [6]], []),
        ([[6, 7], [6], [5]], [[5], [6, 7]]),
    ],
)
def test_overlapping_runs_release_each_seq_exactly_once(
    pushes: list[list[int]], released: list[list[int]]
) -> None:
    """Runs that overlap what went out or what waits yield every seq once, in order."""
    reorder = Reorder()
    reorder.begin(4)
    out = [batch for push in pushes for batch in reorder.push(ns(*push))]
    assert seqs(out) == released
    assert all(flat(out).count(seq) == 1 for seq in flat(out))


def test_a_non_contiguous_batch_is_split_into_runs() -> None:
    """A batch with holes releases its first run; the rest waits for the missing seqs."""
    reorder = Reorder()
    reorder.begin(0)
    assert seqs(reorder.push(ns(1, 2, 4, 5, 7))) == [[1, 2]]
    assert reorder.gap() == (2, 3)
    assert seqs(reorder.push(ns(3))) == [[3], [4, 5]]
    assert reorder.gap() == (5, 6)
    assert seqs(reorder.push(ns(6))) == [[6], [7]]
    assert reorder.gap() is None


def test_a_batch_in_descending_order_is_released_ascending() -> None:
    """Seqs that are not increasing inside a batch still go out in seq order."""
    reorder = Reorder()
    reorder.begin(0)
    assert flat(reorder.push(ns(3, 2, 1))) == [1, 2, 3]


def test_gap_is_none_before_begin() -> None:
    """Before begin nothing is known to be missing, whatever has arrived."""
    reorder = Reorder()
    reorder.push(ns(5, 6))
    reorder.note_committed(9)
    assert reorder.gap() is None


def test_gap_is_none_when_everything_known_was_released() -> None:
    """After begin, with nothing held and nothing known beyond, there is no gap."""
    reorder = Reorder()
    reorder.begin(3)
    assert reorder.gap() is None
    reorder.push(ns(4, 5))
    assert reorder.gap() is None
    reorder.note_committed(5)
    assert reorder.gap() is None


def test_gap_names_the_seqs_before_the_first_waiting_run() -> None:
    """With runs waiting, the gap ends just before the lowest of them."""
    reorder = Reorder()
    reorder.begin(3)
    reorder.push(ns(9, 10))
    assert reorder.gap() == (3, 8)
    reorder.push(ns(6))
    assert reorder.gap() == (3, 5)
    reorder.push(ns(4, 5))
    assert reorder.gap() == (6, 8)


def test_gap_reaches_the_committed_seq_storage_reported() -> None:
    """note_committed beyond what was released is a gap up to it (a lost tail)."""
    reorder = Reorder()
    reorder.begin(3)
    reorder.note_committed(7)
    assert reorder.gap() == (3, 7)
    reorder.note_committed(5)  # an older answer never lowers what is known
    assert reorder.gap() == (3, 7)
    reorder.push(ns(4, 5))
    assert reorder.gap() == (5, 7)
    reorder.push(ns(6, 7))
    assert reorder.gap() is None


def test_a_waiting_run_is_the_gap_before_the_committed_tail() -> None:
    """With runs waiting and a higher committed seq, the gap first ends at the waiting run."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(5))
    reorder.note_committed(9)
    assert reorder.gap() == (0, 4)
    assert flat(reorder.push(span(1, 4))) == [1, 2, 3, 4, 5]
    assert reorder.gap() == (5, 9)


def test_a_waiting_run_above_the_committed_seq_still_raises_it() -> None:
    """Seqs seen on the broker count as committed even before storage says so."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(1))
    reorder.push(ns(3))
    assert reorder.known_seq == 3
    reorder.push(ns(2))
    assert reorder.gap() is None


def test_fill_releases_the_gap_and_the_runs_behind_it() -> None:
    """Deliveries read from storage for the gap go out, then the runs that waited on them."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(4, 5))
    assert reorder.gap() == (0, 3)
    assert seqs(reorder.fill(ns(1, 2, 3), 3)) == [[1, 2, 3], [4, 5]]
    assert reorder.next_seq == 6
    assert reorder.gap() is None


def test_fill_that_overlaps_a_waiting_run_releases_each_seq_once() -> None:
    """A storage page that also holds seqs the broker delivered does not double them."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(2, 3))
    reorder.push(ns(5))
    assert flat(reorder.fill(span(1, 4), 4)) == [1, 2, 3, 4, 5]


def test_fill_gives_up_on_purged_seqs_and_releases_the_runs_behind() -> None:
    """Seqs storage no longer has are skipped: the runs waiting after them go out."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(4, 5))
    reorder.push(ns(7))
    assert seqs(reorder.fill([], 3)) == [[4, 5]]
    assert reorder.next_seq == 6
    assert reorder.gap() == (5, 6)
    assert seqs(reorder.fill([], 6)) == [[7]]
    assert reorder.next_seq == 8
    assert reorder.gap() is None


def test_fill_gives_up_on_a_purged_tail() -> None:
    """A lost tail that storage no longer has is skipped; later seqs flow again."""
    reorder = Reorder()
    reorder.begin(2)
    reorder.note_committed(6)
    assert reorder.fill([], 6) == []
    assert reorder.next_seq == 7
    assert reorder.gap() is None
    assert seqs(reorder.push(ns(7))) == [[7]]


def test_fill_releases_what_storage_kept_after_purged_seqs() -> None:
    """When the oldest seqs of a gap are purged, the ones storage still has go out."""
    reorder = Reorder()
    reorder.begin(4)
    reorder.note_committed(10)
    released = reorder.fill(ns(8, 9, 10), 10)  # 5..7 purged
    assert flat(released) == [8, 9, 10]
    assert reorder.next_seq == 11


def test_fill_releases_what_storage_kept_on_both_sides_of_a_purged_seq() -> None:
    """A hole inside a storage page skips only the missing seq."""
    reorder = Reorder()
    reorder.begin(4)
    reorder.push(ns(9))
    released = reorder.fill(ns(5, 7, 8), 8)  # 6 purged
    assert flat(released) == [5, 7, 8, 9]
    assert reorder.next_seq == 10


def test_a_stale_fill_changes_nothing() -> None:
    """A fill for a gap that closed meanwhile releases nothing and does not move back."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(span(1, 5))
    assert reorder.fill(span(2, 3), 3) == []
    assert reorder.next_seq == 6


def test_deliveries_before_begin_are_held() -> None:
    """Nothing with a seq goes out before begin, even a batch that would be in order."""
    reorder = Reorder()
    assert reorder.push(ns(1)) == []
    assert reorder.push(ns(2, 3)) == []
    assert reorder.next_seq is None
    assert seqs(reorder.begin(0)) == [[1], [2, 3]]


def test_begin_drops_early_batches_at_or_below_the_committed_seq() -> None:
    """Early batches the committed seq already covers are dropped; later ones go out in order."""
    reorder = Reorder()
    for batch in (ns(5, 6), ns(2), ns(3), ns(1, 2)):
        assert reorder.push(batch) == []
    assert seqs(reorder.begin(2)) == [[3]]
    assert reorder.gap() == (3, 4)
    assert seqs(reorder.push(ns(4))) == [[4], [5, 6]]


def test_begin_trims_an_early_batch_that_straddles_the_committed_seq() -> None:
    """An early batch partly covered by the committed seq releases only the rest."""
    reorder = Reorder()
    reorder.push(ns(3, 4, 5, 6))
    assert seqs(reorder.begin(4)) == [[5, 6]]


def test_begin_after_every_early_batch_releases_nothing() -> None:
    """When storage already has all early seqs, begin releases nothing and has no gap."""
    reorder = Reorder()
    reorder.push(ns(3, 4))
    assert reorder.begin(9) == []
    assert reorder.next_seq == 10
    assert reorder.gap() is None


def test_state_deliveries_pass_through_before_begin() -> None:
    """Deliveries without a seq are not ordered: they go out even before begin."""
    reorder = Reorder()
    batch = [state("a"), state("b")]
    assert reorder.push(batch) == [batch]
    assert reorder.begin(0) == []


def test_state_deliveries_pass_while_seqs_wait() -> None:
    """A state-only batch goes out at once, even when notification runs are held."""
    reorder = Reorder()
    reorder.begin(0)
    reorder.push(ns(2))
    assert reorder.push([state("a")]) == [[state("a")]]
    assert reorder.gap() == (0, 1)


def test_a_mixed_batch_lets_its_states_go_and_holds_its_seqs() -> None:
    """In a batch of both kinds, the states go out now; the seqs obey the order."""
    reorder = Reorder()
    assert reorder.push([state("a"), n(1), state("b")]) == [[state("a"), state("b")]]
    assert seqs(reorder.begin(0)) == [[1]]
    assert seqs(reorder.push([n(3), state("c")])) == [[None]]
    assert seqs(reorder.push([state("d"), n(2)])) == [[None], [2], [3]]


def test_an_empty_batch_releases_nothing() -> None:
    """Pushing no deliveries is harmless, before and after begin."""
    reorder = Reorder()
    assert reorder.push([]) == []
    reorder.begin(0)
    assert reorder.push([]) == []


def cut(first: int, last: int, rng: random.Random) -> list[list[Delivery]]:
    """Seqs first..last as consecutive batches of random sizes."""
    batches: list[list[Delivery]] = []
    seq = first
    while seq <= last:
        size = rng.randint(1, 4)
        batches.append(span(seq, min(seq + size - 1, last)))
        seq += size
    return batches


def scramble(batches: list[list[Delivery]], rng: random.Random) -> list[list[Delivery]]:
    """The batches shuffled, some repeated, some overlapping, some merged (with holes)."""
    out = [list(batch) for batch in batches]
    top = max((_seq(b[-1]) for b in batches), default=0)
    for _ in range(rng.randint(0, 3)):
        if out:
            out.append(list(rng.choice(out)))  # a duplicate
    for _ in range(rng.randint(0, 3)):
        if top:
            low = rng.randint(1, top)
            out.append(span(low, min(top, low + rng.randint(0, 5))))  # an overlap
    for _ in range(rng.randint(0, 2)):
        if len(out) >= 2:
            a, b = out.pop(rng.randrange(len(out))), out.pop(rng.randrange(len(out)))
            out.append(a + b)  # one message with a hole (or reversed runs)
    rng.shuffle(out)
    for index, batch in enumerate(out):
        if rng.random() < 0.2:
            out[index] = [*batch[: len(batch) // 2], state("s"), *batch[len(batch) // 2 :]]
    return out


def _seq(delivery: Delivery) -> int:
    assert delivery.seq is not None
    return delivery.seq


def test_any_arrival_order_releases_every_seq_once_in_order() -> None:
    """Permuted, duplicated, overlapping and merged batches always come out as 1..top once."""
    for seed in range(500):
        rng = random.Random(seed)
        top = rng.randint(1, 40)
        committed = rng.randint(0, top)
        arrivals = scramble(cut(1, top, rng), rng)
        early = rng.randint(0, len(arrivals))
        reorder = Reorder()
        out = [batch for arrival in arrivals[:early] for batch in reorder.push(arrival)]
        out += reorder.begin(committed)
        out += [batch for arrival in arrivals[early:] for batch in reorder.push(arrival)]
        released = [seq for seq in flat(out) if seq is not None]
        assert released == list(range(committed + 1, top + 1)), f"seed {seed}"
        assert all(batch for batch in out), f"seed {seed}: an empty batch went out"
        assert reorder.gap() is None, f"seed {seed}"
        assert reorder.next_seq == top + 1, f"seed {seed}"
        states = sum(seq is None for seq in flat(out))
        assert states == sum(d.seq is None for b in arrivals for d in b), f"seed {seed}"


def test_lost_batches_filled_from_storage_complete_the_sequence() -> None:
    """Whatever the broker loses, filling each gap from the log releases 1..top once."""
    for seed in range(500):
        rng = random.Random(seed)
        top = rng.randint(1, 40)
        log = {seq: n(seq) for seq in range(1, top + 1)}
        arrivals = [b for b in scramble(cut(1, top, rng), rng) if rng.random() < 0.6]
        reorder = Reorder()
        out = list(reorder.begin(0))
        for batch in arrivals:
            out += reorder.push(batch)
        reorder.note_committed(top)
        for _ in range(top + 1):
            gap = reorder.gap()
            if gap is None:
                break
            after, upto = gap
            page = [log[seq] for seq in range(after + 1, upto + 1)][: rng.randint(1, 5)]
            end = upto if not page else _seq(page[-1])
            out += reorder.fill(page, end)
        released = [seq for seq in flat(out) if seq is not None]
        assert released == list(range(1, top + 1)), f"seed {seed}"
        assert reorder.gap() is None, f"seed {seed}"


# InOrder


class Log:
    """Storage as InOrder sees it: committed deliveries by seq, and the reads made."""

    def __init__(self, top: int = 0) -> None:
        self.top = 0
        self.deliveries: dict[int, Delivery] = {}
        self.fetches: list[tuple[int, int, int]] = []
        self.fetched_at: list[float] = []
        self.fail_fetches = 0
        self.commit(top)

    def commit(self, upto: int) -> list[Delivery]:
        """Commit seqs up to ``upto``; the new deliveries."""
        new = span(self.top + 1, upto)
        self.deliveries.update((_seq(d), d) for d in new)
        self.top = max(self.top, upto)
        return new

    async def committed(self) -> int:
        return self.top

    async def fetch(self, after: int, upto: int, limit: int) -> list[Delivery]:
        self.fetches.append((after, upto, limit))
        self.fetched_at.append(time.monotonic())
        if self.fail_fetches:
            self.fail_fetches -= 1
            raise OSError("storage is away")
        return [self.deliveries[s] for s in range(after + 1, upto + 1) if s in self.deliveries][
            :limit
        ]


class Dispatched:
    """The hub's side: every batch dispatched, optionally failing for some seqs."""

    def __init__(self) -> None:
        self.batches: list[list[Delivery]] = []
        self.fail_on: set[int] = set()

    def __call__(self, batch: Sequence[Delivery]) -> None:
        self.batches.append(list(batch))
        if any(d.seq in self.fail_on for d in batch):
            raise RuntimeError("this hub cannot take the batch")

    @property
    def seqs(self) -> list[int | None]:
        return flat(self.batches)


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def dispatched() -> Dispatched:
    return Dispatched()


@contextlib.asynccontextmanager
async def watching(
    log: Log, dispatched: Dispatched, check_seconds: float = 60.0, gap_seconds: float = GAP
) -> AsyncIterator[InOrder]:
    """A started InOrder over ``log``, stopped on exit."""
    in_order = InOrder(
        dispatched,
        fetch=log.fetch,
        committed=log.committed,
        gap_seconds=gap_seconds,
        check_seconds=check_seconds,
    )
    await in_order.start()
    try:
        yield in_order
    finally:
        stopping = time.monotonic()
        await asyncio.wait_for(in_order.stop(), 2)
        assert time.monotonic() - stopping < 1, "stop() waited for the watch to end by itself"


async def test_in_order_deliveries_are_dispatched_at_once(log: Log, dispatched: Dispatched) -> None:
    """Batches that arrive in order reach the hub synchronously, without storage reads."""
    async with watching(log, dispatched) as in_order:
        for batch in (log.commit(2), log.commit(3), log.commit(6)):
            in_order.receive(batch)
        assert dispatched.seqs == [1, 2, 3, 4, 5, 6]
        await asyncio.sleep(3 * GAP)
    assert log.fetches == []


async def test_a_missing_seq_is_read_from_storage_once_the_gap_persists(
    log: Log, dispatched: Dispatched
) -> None:
    """Seq 2 never arrives: after gap_seconds everything not released is read in one go and
    2, 3, 4 go out in order, once."""
    async with watching(log, dispatched) as in_order:
        log.commit(4)
        await asyncio.sleep(GAP / 2)  # the gap appears between two ticks
        in_order.receive(ns(1))
        in_order.receive(ns(3, 4))
        seen = time.monotonic()
        assert dispatched.seqs == [1]
        await until(lambda: dispatched.seqs == [1, 2, 3, 4])
        assert log.fetches == [(1, 4, FILL_PAGE)]
        assert log.fetched_at[0] - seen >= GAP
        assert in_order.filled == 3
        assert seqs(dispatched.batches) == [[1], [2, 3, 4]]


async def test_a_gap_that_closes_by_itself_is_not_read(log: Log, dispatched: Dispatched) -> None:
    """A seq that is only late (seen missing on one tick, there by the next) is not read."""
    tick = 0.2
    async with watching(log, dispatched, gap_seconds=tick) as in_order:
        log.commit(3)
        await asyncio.sleep(tick / 2)
        in_order.receive(ns(1))
        in_order.receive(ns(3))
        await asyncio.sleep(3 * tick / 4)  # past the tick that sees the gap
        in_order.receive(ns(2))
        assert dispatched.seqs == [1, 2, 3]
        await asyncio.sleep(2 * tick)
    assert log.fetches == []


async def test_a_lost_tail_is_found_through_the_committed_seq(
    log: Log, dispatched: Dispatched
) -> None:
    """The last messages never arrive: the committed seq reveals them and they are read."""
    async with watching(log, dispatched, check_seconds=GAP) as in_order:
        in_order.receive(log.commit(1))
        log.commit(3)  # committed, never published
        await until(lambda: dispatched.seqs == [1, 2, 3])
        assert log.fetches == [(1, 3, FILL_PAGE)]
        assert in_order.filled == 2


async def test_a_lost_tail_is_not_found_before_check_seconds(
    log: Log, dispatched: Dispatched
) -> None:
    """The committed seq is read every check_seconds, not on every tick."""
    async with watching(log, dispatched, check_seconds=10 * GAP) as in_order:
        in_order.receive(log.commit(1))
        log.commit(2)
        await asyncio.sleep(5 * GAP)
        assert dispatched.seqs == [1]
        await until(lambda: dispatched.seqs == [1, 2])


async def test_a_long_gap_is_read_in_pages(log: Log, dispatched: Dispatched) -> None:
    """A gap wider than a page is read page by page and released whole, in order."""
    total = 2 * FILL_PAGE + 500
    async with watching(log, dispatched) as in_order:
        log.commit(total)
        in_order.receive(ns(total + 1))
        await until(lambda: len(dispatched.seqs) == total + 1)
        assert dispatched.seqs == list(range(1, total + 2))
        assert log.fetches == [
            (0, total + 1, FILL_PAGE),
            (FILL_PAGE, total + 1, FILL_PAGE),
            (2 * FILL_PAGE, total + 1, FILL_PAGE),
        ]


async def test_a_failing_dispatch_does_not_stop_later_batches(
    log: Log, dispatched: Dispatched
) -> None:
    """The hub raising for one batch leaves the batches after it (and the watch) working."""
    dispatched.fail_on = {2, 5}
    async with watching(log, dispatched) as in_order:
        log.commit(6)
        in_order.receive(ns(1))
        in_order.receive(ns(3))
        in_order.receive(ns(2))  # raises, after which 3 must still go out
        assert dispatched.seqs == [1, 2, 3]
        in_order.receive(ns(4))
        in_order.receive(ns(6))  # 5 is lost; read from storage, its dispatch raises
        await until(lambda: dispatched.seqs == [1, 2, 3, 4, 5, 6])
        log.commit(7)
        in_order.receive(ns(7))
        assert dispatched.seqs[-1] == 7


async def test_a_storage_failure_is_retried_on_a_later_tick(
    log: Log, dispatched: Dispatched
) -> None:
    """When reading the gap fails, the watch keeps going and reads it again."""
    log.fail_fetches = 1
    async with watching(log, dispatched) as in_order:
        log.commit(3)
        in_order.receive(ns(1))
        in_order.receive(ns(3))
        await until(lambda: dispatched.seqs == [1, 2, 3])
        assert len(log.fetches) == 2


async def test_deliveries_received_before_start_go_out_after_the_committed_seq() -> None:
    """Before start everything is held; start releases only what storage did not cover."""
    log, dispatched = Log(top=4), Dispatched()
    in_order = InOrder(dispatched, fetch=log.fetch, committed=log.committed, gap_seconds=GAP)
    in_order.receive(ns(3, 4))
    in_order.receive(ns(5))
    in_order.receive([state("x")])
    assert dispatched.seqs == [None]
    await in_order.start()
    try:
        assert dispatched.seqs == [None, 5]
    finally:
        await asyncio.wait_for(in_order.stop(), 2)


async def test_stop_cancels_the_watch_cleanly(log: Log, dispatched: Dispatched) -> None:
    """stop() ends the watch task, even in the middle of a storage read, and is idempotent."""
    reading = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck_fetch(after: int, upto: int, limit: int) -> list[Delivery]:
        reading.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return []

    in_order = InOrder(dispatched, fetch=stuck_fetch, committed=log.committed, gap_seconds=GAP)
    await in_order.stop()  # before start: nothing to stop
    await in_order.start()
    assert len(asyncio.all_tasks()) == 2  # this test and the watch
    in_order.receive(ns(2))
    await asyncio.wait_for(reading.wait(), 2)
    stopping = time.monotonic()
    await asyncio.wait_for(in_order.stop(), 2)
    assert time.monotonic() - stopping < 1
    assert cancelled.is_set()
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await in_order.stop()


async def test_scattered_gaps_are_closed_by_one_read(log: Log, dispatched: Dispatched) -> None:
    """One node's messages lost between another's: every hole is read in one pass, not one
    hole per tick."""
    async with watching(log, dispatched) as in_order:
        log.commit(99)
        for seq in range(1, 100, 2):  # the odd seqs arrive, the even ones are lost
            in_order.receive(ns(seq))
        await until(lambda: len(dispatched.seqs) == 99)
        assert dispatched.seqs == list(range(1, 100))
        assert log.fetches == [(1, 99, FILL_PAGE)]


async def test_too_much_held_behind_a_gap_is_read_at_once(log: Log, dispatched: Dispatched) -> None:
    """Past max_waiting runs held, the gap is read without waiting gap_seconds."""
    in_order = InOrder(
        dispatched, fetch=log.fetch, committed=log.committed, gap_seconds=60, max_waiting=10
    )
    await in_order.start()
    try:
        log.commit(30)
        for seq in range(2, 31, 2):
            in_order.receive(ns(seq))
        await until(lambda: len(dispatched.seqs) == 30, seconds=2)
        assert dispatched.seqs == list(range(1, 31))
    finally:
        await in_order.stop()


async def test_a_database_gone_back_in_time_starts_the_order_over(
    log: Log, dispatched: Dispatched
) -> None:
    """The committed seq below what was released (a restore): later seqs flow again."""
    async with watching(log, dispatched, check_seconds=GAP) as in_order:
        in_order.receive(log.commit(5))
        assert dispatched.seqs == [1, 2, 3, 4, 5]
        log.top = 2  # restored from a backup taken at seq 2
        log.deliveries = {seq: d for seq, d in log.deliveries.items() if seq <= 2}
        await until(lambda: in_order.reorder.next_seq == 3)
        in_order.receive(log.commit(4))
        assert dispatched.seqs[-2:] == [3, 4]


def test_holding_many_runs_behind_a_gap_stays_cheap() -> None:
    """20,000 runs held behind one gap are held and released in well under a second."""
    reorder = Reorder()
    reorder.begin(0)
    started = time.monotonic()
    for seq in range(20_001, 1, -1):  # every run arrives early, the newest first
        assert reorder.push(ns(seq)) == []
    released = reorder.push(ns(1))
    assert flat(released) == list(range(1, 20_002))
    assert time.monotonic() - started < 1.0
