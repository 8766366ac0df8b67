"""Where the CPU of a confirmed order goes: the deadline-peak drive with py-spy sampling every
service's processes (gunicorn workers included), then per service the functions that hold
the most samples, by their own time and by time spent under them (project code and the
libraries it calls).

    pip install py-spy   # into any Python: it is a tool, not a dependency of the product
    .venv/bin/python -m bench.profile_peak --units 300 --concurrency 32 [--top 15]

Only the thread holding the GIL is sampled (py-spy --gil), so samples are shares of the
process's time running Python, a close proxy of its CPU (`--wall` samples waiting threads too:
where requests spend their time). Read them as shares, next to the CPU-seconds per order that
bench.deadline_peak prints; `--keep DIR` keeps the raw stacks."""
from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from bench.deadline_peak import json_line, run_topology
from deploy.stack import Stack, _group_pids

SERVICES = ("billing", "registration", "credentials", "notifications", "review")


def profile(stack: Stack, out: Path, pyspy: str, gil: bool = True) -> list[tuple[str, subprocess.Popen]]:
    """A py-spy per running Python process of every service (each gunicorn worker too)."""
    running = []
    for name, proc in stack.procs.items():
        if proc.popen is None or name.split("-")[0] not in SERVICES:
            continue
        for pid in _group_pids(proc.popen.pid):
            target = out / f"{name}-{pid}.txt"
            running.append((name, subprocess.Popen(
                [pyspy, "record", "--pid", str(pid), "--format", "raw", "--rate", "100", "--nonblocking", *(["--gil"] if gil else []),
                 "--output", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return running


def stop(running: list[tuple[str, subprocess.Popen]]) -> None:
    for _, p in running:
        p.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for _, p in running:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def frame_name(frame: str) -> str:
    """`func (path/to/file.py:123)` → `func (file.py)`, site-packages shortened to the package."""
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif "/work/" in path or path.startswith(("services/", "shared/")):
        path = path[path.find("services/"):] if "services/" in path else path[path.find("shared/"):]
    else:
        path = os.path.basename(path)
    return f"{func} ({path})"


def summarise(out: Path, top: int) -> dict[str, dict[str, list[tuple[str, float]]]]:
    own: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    under: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    totals: collections.Counter = collections.Counter()
    for file in out.glob("*.txt"):
        service = file.name.split("-")[0]
        for line in file.read_text(errors="replace").splitlines():
            stack_text, _, count_text = line.rpartition(" ")
            if not stack_text or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [frame_name(f) for f in stack_text.split(";")[1:]]  # the first is the thread
            if not frames:
                continue
            totals[service] += count
            own[service][frames[-1]] += count
            for f in set(frames):
                under[service][f] += count
    return {s: {"own": [(f, n / totals[s]) for f, n in own[s].most_common(top)],
                "under": [(f, n / totals[s]) for f, n in under[s].most_common(top * 3)
                          if "services/" in f or "shared/" in f][:top],
                "samples": [("samples", float(totals[s]))]} for s in totals}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--wall", action="store_true",
                        help="sample every thread, waiting ones too (default: only the thread holding the GIL, "
                             "which is where Python spends CPU)")
    parser.add_argument("--keep", help="a folder to keep py-spy's raw stacks in (for a flame graph)")
    args = parser.parse_args()
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        raise SystemExit("py-spy is not on PATH: pip install py-spy (a tool, not a product dependency)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep or tmp)
        out.mkdir(parents=True, exist_ok=True)
        holder: list = []

        def observe(stack: Stack):
            holder.extend(profile(stack, out, pyspy, gil=not args.wall))
            return lambda: stop(holder)

        result = run_topology(1, args.units, args.concurrency, observe=observe)
        print(json_line(1, args.units, args.concurrency, result), flush=True)
        for service, parts in sorted(summarise(out, args.top).items()):
            print(f"\n== {service}: {int(parts['samples'][0][1])} samples")
            print("  own time:")
            for name, share in parts["own"]:
                print(f"    {share:6.1%}  {name}")
            print("  under (project code):")
            for name, share in parts["under"]:
                print(f"    {share:6.1%}  {name}")


if __name__ == "__main__":
    main()
