"""The benchmark suite (bench/) at tiny sizes, against the Node `ws` peer and Tocsin."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run"


def _figure(result: dict[str, Any], scenario: str, case: str, metric: str, stack: str) -> Any:
    (found,) = (s for s in result["scenarios"] if s["name"] == scenario)
    (row,) = (r for r in found["rows"] if r["case"] == case and r["metric"] == metric)
    return row["stacks"][stack]["median"]


def test_bench_smoke_measures_every_scenario_with_complete_deliveries(tmp_path: Path) -> None:
    """bench/run --smoke installs its peers, measures every scenario and loses nothing."""
    install = subprocess.run(
        [str(RUN), "--install-only"], capture_output=True, text=True, timeout=600
    )
    assert install.returncode == 0, install.stderr[-3000:]
    stacks = "tocsin,ws-node,tocsin-workers"
    argv = [str(RUN), "--smoke", "--stacks", stacks, "--out", str(tmp_path)]
    run = subprocess.run([*argv, "--readme", "no"], capture_output=True, text=True, timeout=110)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads((tmp_path / "smoke.json").read_text())
    assert (tmp_path / "smoke.png").stat().st_size > 10_000

    # any incomplete, repeated or out-of-order delivery is recorded as an error of its run
    assert {s["name"]: s["errors"] for s in result["scenarios"]} == {
        "memory": {},
        "fanout": {},
        "targeted": {},
        "storm": {},
        "million": {},
        "capacity": {},
    }
    for stack in ("tocsin", "ws-node"):
        # RSS moves by whole pages and with GC: at 20 clients only its order of magnitude holds
        assert abs(_figure(result, "memory", "WebSocket N=20", "KB/conn", stack)) < 1_000
        assert _figure(result, "fanout", "N=20", "deliveries/s", stack) > 1_000
        p50 = _figure(result, "fanout", "latency N=20 @10/s", "p50 ms", stack)
        p99 = _figure(result, "fanout", "latency N=20 @10/s", "p99 ms", stack)
        assert 0 < p50 <= p99 < 1_000
        assert 20 < _figure(result, "targeted", "100/s", "notifications/s", stack) < 150
        assert _figure(result, "targeted", "max, 4 senders", "notifications/s", stack) > 100
        assert 0 < _figure(result, "storm", "N=20", "s until all back", stack) < 20
    assert _figure(result, "storm", "N=20", "deliveries lost", "tocsin") == 0
    assert _figure(result, "storm", "N=20", "deliveries lost", "ws-node") > 0  # cannot resume
    for case in ("everyone, 100 users", "list of 100 users"):
        assert _figure(result, "million", case, "s until live users have it", "tocsin") > 0
    # the node of two workers holds every client and delivers every broadcast to each
    assert _figure(result, "capacity", "N=40", "connections held", "tocsin-workers") == 40
    assert _figure(result, "capacity", "N=40", "deliveries (all in order)", "tocsin-workers") == 400
    ratios = next(s for s in result["scenarios"] if s["name"] == "fanout")["rows"][0]["ratios"]
    assert ratios["tocsin/ws-node"]["median"] > 0
