"""Results as JSON, and as the markdown tables that bench/README.md shows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stacks import PEER_NAMES, STACKS, TOCSIN_NAMES

START = "<!-- results:start -->"
END = "<!-- results:end -->"


def write_json(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def stack_label(name: str) -> str:
    cls = STACKS.get(name)
    return cls.label if cls else name


def markdown(result: dict[str, Any]) -> str:
    """The tables: medians per stack, then Tocsin/peer ratios from the same runs."""
    m, v = result["machine"], result["versions"]
    lines = [
        f"Run `{result['command'].strip()}` on {result['started'][:16].replace('T', ' ')} UTC "
        f"({result['profile']} profile, {result['sizes']['runs']} runs, medians). "
        f"Machine: {m['nproc']} vCPU {m['cpu']}, {m['ram_gib']} GiB RAM, Linux {m['kernel']}; "
        f"server on CPU {m['server_cpu']}, load generator on CPU {m['generator_cpu']}.",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        "",
        "Ratios are Tocsin/peer, computed within each run, then the median: above 1 is better "
        "for rates, below 1 is better for latency, memory and times.",
    ]
    for scenario in result["scenarios"]:
        stacks: list[str] = []
        for row in scenario["rows"]:
            stacks += [s for s in row["stacks"] if s not in stacks]
        order = [s for s in (*TOCSIN_NAMES, *PEER_NAMES) if s in stacks]
        ratios = []
        for row in scenario["rows"]:
            ratios += [r for r in row["ratios"] if r not in ratios]
        lines += ["", f"### {scenario['title']}", ""]
        head = ["case", "metric", *(stack_label(s) for s in order)]
        times = "\N{MULTIPLICATION SIGN}"
        head += [f"{times}{r.split('/')[1]}{' (pg)' * r.startswith('tocsin-pg')}" for r in ratios]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        notes: list[str] = []
        for row in scenario["rows"]:
            cells = [row["case"], row["metric"]]
            for s in order:
                cell = row["stacks"].get(s)
                text = _fmt(cell["median"]) if cell else ""
                mine = [n for note in (cell or {}).get("notes", []) for n in note.split("; ")]
                for note in dict.fromkeys(mine):
                    if note not in notes:
                        notes.append(note)
                    text += f"[{notes.index(note) + 1}]"
                cells.append(text)
            for r in ratios:
                ratio = row["ratios"].get(r)
                cells.append(_fmt(ratio["median"]) if ratio else "")
            lines.append("| " + " | ".join(cells) + " |")
        for k, note in enumerate(notes, 1):
            lines.append(f"\n[{k}] {note}")
        for stack, errors in scenario.get("errors", {}).items():
            for error in errors:
                lines.append(f"\n**{stack_label(stack)} failed** {error}")
    return "\n".join(lines)


def update_readme(readme: Path, result: dict[str, Any], image: str | None) -> None:
    """Replace the results section of bench/README.md (between its two markers)."""
    text = readme.read_text()
    if START not in text or END not in text:
        raise ValueError(f"{readme} lacks the {START} / {END} markers")
    body = markdown(result)
    if image:
        body += f"\n\n![throughput and latency per scenario]({image})"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{body}\n{END}{tail}")
