"""Measurements, their medians over runs, and Tocsin/peer ratios taken within the same run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Measure:
    """One figure of one run: `value` is None when the stack cannot do it (see `note`)."""

    case: str  # e.g. "N=1000"
    metric: str  # e.g. "deliveries/s"
    value: float | None
    better: str = "higher"  # or "lower"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    compare: bool = True  # False: a Tocsin/peer ratio would mean nothing (e.g. a count of 0)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return float(ordered[rank])


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


class Table:
    """All runs of one scenario: rows keyed by (case, metric), a column per stack."""

    def __init__(self, scenario: str, title: str):
        self.scenario = scenario
        self.title = title
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.params: dict[str, Any] = {}
        self.errors: dict[str, list[str]] = {}

    def add(self, run: int, stack: str, measures: Sequence[Measure]) -> None:
        for m in measures:
            row = self.rows.setdefault(
                (m.case, m.metric),
                {
                    "case": m.case,
                    "metric": m.metric,
                    "better": m.better,
                    "stacks": {},
                    "compare": m.compare,
                },
            )
            cell = row["stacks"].setdefault(stack, {"runs": {}, "notes": [], "extra": []})
            cell["runs"][run] = m.value
            for note in filter(None, m.note.split("; ")):
                if note not in cell["notes"]:
                    cell["notes"].append(note)
            if m.extra:
                cell["extra"].append({"run": run, **m.extra})

    def fail(self, run: int, stack: str, error: str) -> None:
        """Record a run of a stack that broke; its figures for that run are missing."""
        self.errors.setdefault(stack, []).append(f"run {run}: {error}")

    def to_json(self, tocsin: Sequence[str], peers: Sequence[str]) -> dict[str, Any]:
        rows = []
        for row in self.rows.values():
            stacks = {}
            for name, cell in row["stacks"].items():
                runs = [cell["runs"][r] for r in sorted(cell["runs"])]
                stacks[name] = {
                    "runs": runs,
                    "median": median(runs),
                    "notes": cell["notes"],
                    "extra": cell["extra"],
                }
            ratios = {}
            for t in tocsin if row["compare"] else ():
                for p in peers:
                    if t not in row["stacks"] or p not in row["stacks"]:
                        continue
                    mine, theirs = row["stacks"][t]["runs"], row["stacks"][p]["runs"]
                    per_run = [
                        mine[r] / theirs[r] if mine.get(r) is not None and theirs.get(r) else None
                        for r in sorted(set(mine) & set(theirs))
                    ]
                    if any(v is not None for v in per_run):
                        ratios[f"{t}/{p}"] = {"runs": per_run, "median": median(per_run)}
            rows.append(
                {
                    **{k: row[k] for k in ("case", "metric", "better")},
                    "stacks": stacks,
                    "ratios": ratios,
                }
            )
        return {
            "name": self.scenario,
            "title": self.title,
            "params": self.params,
            "rows": rows,
            "errors": self.errors,
        }
