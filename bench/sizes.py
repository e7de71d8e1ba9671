"""Size profiles: `full` (the published figures), `quick` (a look in a minute), `smoke` (tests)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Sizes:
    runs: int  # repetitions; every figure is the median over them
    memory_n: tuple[int, ...]  # idle clients held, measured at each step
    fanout_n: tuple[int, ...]  # clients receiving the broadcast bursts
    burst_deliveries: int  # M = burst_deliveries // N messages per burst (at least 5)
    bursts: int  # measured bursts per run (the run's figure is their median)
    latency_n: int  # live clients for broadcast latency
    latency_rate: float  # broadcasts per second
    latency_seconds: float
    targeted_users: int  # live users, one connection each
    targeted_rate: int  # notifications per second in the paced phase
    targeted_seconds: float  # length of each phase
    targeted_senders: int  # HTTP connections publishing at once
    storm_n: int  # clients that drop and resume at once
    storm_rate: float  # targeted notifications per second published while they come back
    million_users: int  # the audience of the stored broadcast
    million_live: int  # of which connected while it is published
    million_offline: int  # of which connecting afterwards to fetch it
    capacity_n: int  # concurrent live connections on one node (of several workers)
    timeout: float  # seconds any one measurement may take
    settle: float = 2.0  # seconds for a server to go quiet before its RSS is read
    grace: float = 3.0  # seconds a stack that cannot resume gets for late deliveries


PROFILES = {
    "full": Sizes(
        runs=3,
        memory_n=(10_000, 20_000),
        fanout_n=(1_000, 10_000),
        burst_deliveries=200_000,
        bursts=3,
        latency_n=1_000,
        latency_rate=10,
        latency_seconds=10,
        targeted_users=1_000,
        targeted_rate=1_000,
        targeted_seconds=10,
        targeted_senders=32,
        storm_n=10_000,
        storm_rate=200,
        million_users=1_000_000,
        million_live=1_000,
        million_offline=1_000,
        capacity_n=20_000,
        timeout=120,
    ),
    "quick": Sizes(
        runs=1,
        memory_n=(50, 100),
        fanout_n=(50,),
        burst_deliveries=5_000,
        bursts=2,
        latency_n=50,
        latency_rate=10,
        latency_seconds=2,
        targeted_users=50,
        targeted_rate=200,
        targeted_seconds=2,
        targeted_senders=8,
        storm_n=50,
        storm_rate=100,
        million_users=1_000,
        million_live=20,
        million_offline=20,
        capacity_n=200,
        timeout=30,
        settle=1.0,
    ),
}
PROFILES["smoke"] = replace(
    PROFILES["quick"],
    memory_n=(20,),
    fanout_n=(20,),
    burst_deliveries=400,
    bursts=1,
    latency_n=20,
    latency_seconds=1,
    targeted_users=20,
    targeted_rate=100,
    targeted_seconds=0.5,
    targeted_senders=4,
    storm_n=20,
    million_users=100,
    million_live=5,
    million_offline=5,
    capacity_n=40,
    timeout=20,
    settle=0.2,
    grace=0.5,
)
