"""What the figures were measured on: the machine and every version involved."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.stacks import PEERS, ROOT, TOCSIN


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "server_cpu": 0,
        "generator_cpu": 1,
    }


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unavailable"


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "node": _run(["node", "--version"])}
    for dist in (
        "picows",
        "uvloop",
        "orjson",
        "python-socketio",
        "python-engineio",
        "uvicorn",
        "websockets",
    ):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "missing"
    for pkg in ("socket.io", "engine.io", "ws"):
        path = PEERS / "node_modules" / pkg / "package.json"
        found[f"npm {pkg}"] = (
            json.loads(path.read_text())["version"] if path.exists() else "missing"
        )
    python = TOCSIN.parent / "python"
    found["tocsin"] = (
        _run(
            [str(python), "-c", "from importlib.metadata import version; print(version('tocsin'))"]
        )
        or "unavailable"
    )
    commit = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    # Tocsin runs from its editable install: uncommitted changes to src/ are measured too
    dirty = _run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"])
    changed = dirty not in ("", "unavailable")
    found["tocsin commit"] = (commit or "none") + (" (with uncommitted changes)" if changed else "")
    return found
