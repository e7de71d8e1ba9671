"""One PNG: throughput and latency per scenario, grouped bars per case, a colour per stack."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.report import stack_label
from bench.stacks import PEER_NAMES, TOCSIN_NAMES

COLOURS = {
    "tocsin": "#d62728",
    "tocsin-pg": "#ff9896",
    "tocsin-workers": "#8c564b",
    "socketio-node": "#1f77b4",
    "ws-node": "#7f7f7f",
    "python-socketio": "#2ca02c",
}
# (scenario, panel title, metrics shown side by side)
PANELS = (
    ("memory", "idle memory, KB per connection (lower is better)", ("KB/conn",)),
    ("fanout", "broadcast fan-out, deliveries/s", ("deliveries/s",)),
    ("fanout", "broadcast latency at 10/s, ms", ("p50 ms", "p99 ms")),
    ("targeted", "targeted delivery, notifications/s", ("notifications/s",)),
    ("targeted", "targeted publish-to-receive latency, ms", ("p50 ms", "p99 ms")),
    ("storm", "reconnect storm, s", ("s until all back", "s until all back, nothing lost")),
    ("million", "huge audience: replay to late users, ms", ("replay p50 ms", "replay p99 ms")),
    (
        "capacity",
        "live connections on one node (2 workers): broadcast latency to all, ms",
        ("broadcast @5/s p50 ms", "broadcast @5/s p99 ms"),
    ),
)


def plot(result: dict[str, Any], path: Path) -> None:
    """Draw the panels that have at least one figure; write them to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = {s["name"]: s for s in result["scenarios"]}
    panels = []
    for name, title, metrics in PANELS:
        if name not in scenarios:
            continue
        rows = [r for r in scenarios[name]["rows"] if r["metric"] in metrics]
        if any(c["median"] is not None for r in rows for c in r["stacks"].values()):
            panels.append((title, rows, len(metrics) > 1))
    if not panels:
        return
    cols = 2
    lines = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(lines, cols, squeeze=False, figsize=(8 * cols, 3.8 * lines))
    for ax, (title, rows, two) in zip(axes.flat, panels, strict=False):
        stacks = [s for s in (*TOCSIN_NAMES, *PEER_NAMES) if any(s in r["stacks"] for r in rows)]
        width = 0.8 / max(1, len(stacks))
        values = []
        for k, stack in enumerate(stacks):
            xs, ys = [], []
            for x, row in enumerate(rows):
                cell = row["stacks"].get(stack)
                if cell and cell["median"] is not None and cell["median"] > 0:
                    xs.append(x + (k - (len(stacks) - 1) / 2) * width)
                    ys.append(cell["median"])
            values += ys
            ax.bar(xs, ys, width, label=stack_label(stack), color=COLOURS.get(stack))
        cases = [r["case"].replace(", ", ",\n") for r in rows]
        labels = [f"{c}\n{r['metric']}" if two else c for c, r in zip(cases, rows, strict=True)]
        ax.set_xticks(range(len(rows)), labels, fontsize=8)
        if values and max(values) / min(values) > 50:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="y", labelsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="upper center", ncol=len(handles))
    m = result["machine"]
    fig.suptitle(
        f"{result['profile']} profile, medians of {result['sizes']['runs']} run(s); "
        f"{m['nproc']} vCPU {m['cpu']}: server on CPU 0, load generator on CPU 1",
        y=0.005,
        va="bottom",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.02, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
