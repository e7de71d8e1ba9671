"""Server processes: started pinned to one core with a high fd limit, measured, and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path

SERVER_CPU = 0
GENERATOR_CPU = 1
FD_WANTED = 262_144


def fd_limit() -> int:
    """The most open files a process may have here: the hard limit, unless we can raise it
    (root with CAP_SYS_RESOURCE); this machine's sandbox holds it at 20,000."""
    import resource

    return min(FD_WANTED, resource.getrlimit(resource.RLIMIT_NOFILE)[1])


class ServerFailed(RuntimeError):
    """A server process could not be started or died."""


def pin_generator() -> None:
    """Pin this process (the load generator) to its core and raise its fd limit."""
    import resource

    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {GENERATOR_CPU})
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_WANTED, FD_WANTED))
    except (ValueError, OSError):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class ServerProcess:
    """One server under test, on `SERVER_CPU`, logging to a file next to its data."""

    def __init__(self, argv: list[str], *, env: dict[str, str], log: Path, cwd: Path | None = None):
        self.argv = argv
        self.log = log
        limit = fd_limit()
        wrapped = ["prlimit", f"--nofile={limit}:{limit}", "taskset", "-c", str(SERVER_CPU)]
        self._log_file = log.open("ab")
        # prlimit and taskset exec the server, so the pid is the server's own
        self.proc = subprocess.Popen(
            wrapped + argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def check_alive(self) -> None:
        if not self.alive():
            raise ServerFailed(
                f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.log_tail()}"
            )

    def rss_bytes(self) -> int:
        """VmRSS of the server and all its descendants."""
        return sum(_vm_rss(pid) for pid in _tree(self.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server and its descendants so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in _tree(self.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(self.proc.wait, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)  # stragglers of the group too
        await asyncio.to_thread(self.proc.wait)
        self._log_file.close()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _vm_rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
