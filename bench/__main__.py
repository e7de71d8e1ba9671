"""`python -m bench`: run the scenarios, write bench/results/<profile>.json and .png, and (for
the full profile) the results section of bench/README.md. `bench/run` installs, then calls this.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import uvloop

from bench import machine, report
from bench.measures import Table
from bench.plot import plot
from bench.procs import pin_generator
from bench.scenarios import SCENARIOS
from bench.sizes import PROFILES, Sizes
from bench.stacks import PEER_NAMES, ROOT, STACKS, TOCSIN_NAMES

RESULTS = ROOT / "bench" / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    size = p.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        dest="profile",
        action="store_const",
        const="quick",
        help="tiny sizes (50 clients, 1 run): a look in a couple of minutes",
    )
    size.add_argument(
        "--smoke",
        dest="profile",
        action="store_const",
        const="smoke",
        help="tinier still (20 clients): what tests/bench runs",
    )
    size.add_argument("--profile", choices=sorted(PROFILES))
    p.set_defaults(profile="full")
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated, of: {', '.join(SCENARIOS)}",
    )
    p.add_argument(
        "--stacks", default=",".join(STACKS), help=f"comma-separated, of: {', '.join(STACKS)}"
    )
    p.add_argument("--runs", type=int, help="repetitions (default: the profile's)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SIZE=VALUE",
        help="override one size of the profile, e.g. --set fanout_n=1000,2000 (see bench/sizes.py)",
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and PNG")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument(
        "--readme",
        choices=("auto", "yes", "no"),
        default="auto",
        help="rewrite the results in bench/README.md (auto: full profile only)",
    )
    p.add_argument("--keep", action="store_true", help="keep server logs and data dirs")
    args = p.parse_args(argv)
    for kind, given, known in (
        ("scenario", args.scenarios, SCENARIOS),
        ("stack", args.stacks, STACKS),
    ):
        unknown = set(given.split(",")) - set(known)
        if unknown:
            p.error(f"unknown {kind}: {', '.join(sorted(unknown))}")
    return args


def overrides(items: list[str], sizes: Sizes) -> dict[str, Any]:
    """`name=value` pairs as typed Sizes fields; tuples are comma-separated."""
    out: dict[str, Any] = {}
    for item in items:
        name, _, text = item.partition("=")
        current = getattr(sizes, name, None)
        if current is None or not text:
            raise SystemExit(f"bench/run: --set {item!r}: expected one of {list(asdict(sizes))}")
        if isinstance(current, tuple):
            out[name] = tuple(int(v) for v in text.split(","))
        else:
            out[name] = type(current)(float(text)) if isinstance(current, int) else float(text)
    return out


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _summary(measures: list[Any]) -> str:
    return "; ".join(
        f"{m.case} {m.metric} " + ("—" if m.value is None else f"{m.value:,.2f}")
        for m in measures[:4]
    ) + (" …" if len(measures) > 4 else "")


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    # SIGTERM/SIGINT cancel the run, so that every server started is stopped on the way out
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    sizes = PROFILES[args.profile]
    if args.runs:
        sizes = replace(sizes, runs=args.runs)
    sizes = replace(sizes, **overrides(args.set, sizes))
    chosen = args.stacks.split(",")
    started = datetime.datetime.now(datetime.UTC)
    versions = machine.versions()  # at the start: the code measured is the code of then
    tables = []
    for name in args.scenarios.split(","):
        scen = SCENARIOS[name]
        table = Table(name, scen.TITLE)
        table.params = scen.params(sizes)
        stacks = [s for s in scen.STACKS if s in chosen]
        for run_no in range(1, sizes.runs + 1):
            for stack_name in stacks:  # interleaved: every run sees every stack
                stack = STACKS[stack_name](workdir)
                adapt = getattr(scen, "adapt", None)
                if adapt:
                    stack = adapt(stack, workdir)
                say(f"{name} run {run_no}/{sizes.runs}: {stack.label} …")
                try:
                    budget = 60 + 20 * sizes.timeout
                    measures = await asyncio.wait_for(scen.measure(stack, sizes, workdir), budget)
                except Exception as exc:  # one broken stack must not sink the whole suite
                    error = f"{type(exc).__name__}: {exc}"
                    say(f"  FAILED {error}")
                    if not isinstance(exc, RuntimeError | asyncio.TimeoutError):
                        traceback.print_exc()
                    table.fail(run_no, stack_name, error[:500])
                else:
                    say(f"  {_summary(measures)}")
                    table.add(run_no, stack_name, measures)
                finally:
                    await stack.stop()
        tables.append(table)
    return {
        "profile": args.profile,
        "command": shlex.join(["bench/run", *sys.argv[1:]]),
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine.machine(),
        "versions": versions,
        "sizes": asdict(sizes),
        "scenarios": [t.to_json(TOCSIN_NAMES, PEER_NAMES) for t in tables],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    pin_generator()
    workdir = Path(tempfile.mkdtemp(prefix="tocsin-bench-"))
    try:
        result = uvloop.run(run(args, workdir))
    except asyncio.CancelledError:
        say("interrupted: servers stopped, nothing written")
        return 130
    finally:
        if args.keep:
            say(f"logs and data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out_json = args.out / f"{args.profile}.json"
    report.write_json(result, out_json)
    say(f"wrote {out_json}")
    image = None
    if not args.no_plot:
        out_png = args.out / f"{args.profile}.png"
        plot(result, out_png)
        image = out_png
        say(f"wrote {out_png}")
    if args.readme == "yes" or (args.readme == "auto" and args.profile == "full"):
        readme = ROOT / "bench" / "README.md"
        rel = (
            image.relative_to(readme.parent)
            if image and image.is_relative_to(readme.parent)
            else None
        )
        report.update_readme(readme, result, str(rel) if rel else None)
        say(f"updated {readme}")
    print(report.markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
