"""``debate run --ray --workers N``: does a second worker process make CPU-bound debates faster?

The debates cost only CPU: ``benchmarks/rcr_fixed.py`` (RCR, 3 debaters x 3
rounds, no early stop: 9 calls a debate) on its ``sleep:0`` scripted backend,
which answers at once. The benchmark writes N questions and runs
``python -m debate run`` through the real CLI, once per configuration, into a
fresh run directory:

- ``in-process``: no Ray (the default runner, one process);
- ``ray, 1 worker`` and ``ray, 2 workers`` (``--ray --workers N``): a local
  Ray runtime started by the run.

For each it reports the command's wall time (Ray's start-up included), the
run's own time from ``summary.json`` (``elapsed_s``: from the run directory's
opening to the summary, workers already started), debates/s over that time,
and the speed-up of each Ray configuration over ``ray, 1 worker``, both on run
time and end to end. It also samples ``/proc`` every 0.1 s for the CPU time
of the driver (the ``debate run`` process), of each ``ray::DebateWorker`` and
of Ray's other processes, as last seen before each exits: where the cores are
shared with other work, this says how the work divides between processes even
when the wall times cannot show a speed-up.

Usage::

    python benchmarks/ray_workers.py --debates 2000 --concurrency 64
    python benchmarks/ray_workers.py --debates 2000 --workers 1 2 4 --json ray.json

The speed-up can only be as large as the cores the processes may use: the
benchmark prints the CPU affinity it ran under (``taskset -c 1`` gives one
core, and then two workers can only share it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SCENARIO = Path(__file__).with_name("rcr_fixed.py")


def write_questions(path: Path, count: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for number in range(count):
            handle.write(
                json.dumps({"question": f"What is 17 * {number}?", "answer": str(17 * number)}) + "\n"
            )


def run_once(data: Path, out: Path, concurrency: int, workers: int | None) -> dict[str, Any]:
    """One ``debate run``; ``workers=None`` runs without Ray."""
    argv = [
        sys.executable, "-m", "debate", "run", str(SCENARIO), "--data", str(data), "--out", str(out),
        "--backend", "sleep:0", "--concurrency", str(concurrency), "--progress", "off",
    ]  # fmt: skip
    if workers is not None:
        argv += ["--ray", "--workers", str(workers)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu = CpuSampler(process.pid)
    cpu.start()
    _, stderr = process.communicate()
    wall = time.perf_counter() - started
    cpu.stop()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}):\n{stderr}")
    summary = json.loads((out / "summary.json").read_text())
    return {
        **cpu.totals(),
        "config": "in-process" if workers is None else f"ray, {workers} worker{'s' if workers > 1 else ''}",
        "workers": workers,
        "debates": summary["debates"],
        "wall_s": wall,
        "run_s": summary["elapsed_s"],
        "debates_per_s": summary["debates"] / summary["elapsed_s"],
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class CpuSampler(threading.Thread):
    """CPU seconds (user + system) of a process and its descendants, as last seen, by kind of process."""

    def __init__(self, root: int, every_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.every_s = every_s
        self.seen: dict[int, tuple[str, float]] = {}  # pid -> (kind, CPU seconds)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every_s):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        stats: dict[int, tuple[str, float]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as handle:
                    stat = handle.read()
                with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                    command = handle.read().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            stats[int(entry.name)] = (command, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
        for pid, (command, seconds) in stats.items():
            ancestor = pid
            while ancestor not in (self.root, 0, 1) and ancestor in parents:
                ancestor = parents[ancestor]
            if ancestor != self.root:
                continue
            kind = "driver" if pid == self.root else "worker" if "DebateWorker" in command else "ray other"
            if self.seen.get(pid, ("",))[0] == "worker":
                kind = "worker"  # the title changes back as the process exits
            self.seen[pid] = (kind, seconds)

    def totals(self) -> dict[str, Any]:
        workers = sorted(seconds for kind, seconds in self.seen.values() if kind == "worker")
        return {
            "cpu_driver_s": sum(seconds for kind, seconds in self.seen.values() if kind == "driver"),
            "cpu_workers_s": workers,
            "cpu_ray_other_s": sum(seconds for kind, seconds in self.seen.values() if kind == "ray other"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64, help="debates in flight per process")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Ray worker counts to compare")
    parser.add_argument("--no-in-process", action="store_true", help="skip the run without Ray")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()

    cores = sorted(os.sched_getaffinity(0))
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, may run on cores {cores}; "
        f"{args.debates} debates of {SCENARIO.name} (9 calls each, scripted, no latency), "
        f"concurrency {args.concurrency} per process"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as scratch:
        data = Path(scratch) / "questions.jsonl"
        write_questions(data, args.debates)
        configs: list[int | None] = ([] if args.no_in_process else [None]) + list(args.workers)
        for number, workers in enumerate(configs):
            rows.append(run_once(data, Path(scratch) / f"run{number}", args.concurrency, workers))
    baseline = next((row for row in rows if row["workers"] == 1), None)
    print(
        "\n| config | wall s | run s | debates/s (run) | speed-up vs 1 worker: run | end to end "
        "| CPU s: driver | workers | Ray's other processes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if baseline is not None:
            row["speedup_run"] = baseline["run_s"] / row["run_s"]
            row["speedup_wall"] = baseline["wall_s"] / row["wall_s"]
            speedups = f"{row['speedup_run']:.2f}x | {row['speedup_wall']:.2f}x"
        else:
            speedups = "– | –"
        workers = " + ".join(f"{seconds:.1f}" for seconds in row["cpu_workers_s"]) or "–"
        print(
            f"| {row['config']} | {row['wall_s']:.2f} | {row['run_s']:.2f} | {row['debates_per_s']:.1f} "
            f"| {speedups} | {row['cpu_driver_s']:.1f} | {workers} | {row['cpu_ray_other_s']:.1f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"cores": cores, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
