"""End to end: ``debate run`` through the real CLI, against a local OpenAI-compatible server.

What a user pays, start-up included: the benchmark writes a dataset of N
questions, starts a server on 127.0.0.1 in its own process (its CPU is not
counted) that answers every ``POST /v1/chat/completions`` after a fixed
latency, and runs ``python -m debate run benchmarks/rcr_fixed.py`` (RCR, 3
debaters x 3 rounds, no early stop: 9 calls a debate) as a subprocess, once
per configuration. For each it reports:

- **CPU per model call**: the CLI process's CPU (user + system, from
  ``wait4``) beyond start-up, divided by the calls beyond start-up. Start-up
  is measured by the same command on ``--startup-debates`` debates (default
  1), so CPU/call = (CPU(N) - CPU(start-up run)) / (9 * (N - start-up debates));
- **efficiency**: ideal / run wall, where ideal = ceil(N / C) * 3 rounds *
  latency and run wall = wall(N) - start-up overhead (the start-up run's wall
  less its own 3 x latency); and ``server eff.``, ideal over the span from the
  server's first request to its last answer;
- **peak RSS** of the CLI process;
- **the floor**: the same 9 calls per debate as bare asyncio tasks in a fresh
  interpreter (C debates at a time, 3 concurrent calls per round, rounds one
  after another), on a minimal keep-alive HTTP/1.1 client, with CPU per call
  and efficiency measured the same way (no start-up to subtract);
- ``debate run --help`` wall time (best of three) and the start-up overhead.

``--repeat R`` runs every configuration (its start-up run included) and the
floor R times; each row is the median of R runs, measured against the median
start-up run. ``--run-args`` adds a row per set of extra ``debate run``
arguments (``--run-args=--no-cohorts``: one graph per debate).

``--backend sleep`` runs the CLI on the scripted backend instead (answers
after the same latency, no HTTP) and the floor on ``asyncio.sleep``.
``--params`` adds a row per query string appended to the ``openai://`` URI
(``''`` is the default settings).

Usage::

    python benchmarks/run_cli.py --latency-ms 200 --concurrency 500 --debates 500
    python benchmarks/run_cli.py --debates 500 --params '' 'transport=lean' 'max_concurrency=64'
    python benchmarks/run_cli.py --backend sleep --debates 500
    python benchmarks/run_cli.py --debates 100 500 --run-args= --run-args=--no-cohorts
    PYTHONPATH=/tmp/before python benchmarks/run_cli.py ...   # another tree's code (see docs/benchmarks.md)

On a shared machine pin it: ``taskset -c 1 python benchmarks/run_cli.py ...``
(the server, the CLI and the floor inherit the pinning and share that core).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from _fake_server import MODEL, keep_alive_client, server_stats, serving

ROUNDS = 3
AGENTS = 3
CALLS_PER_DEBATE = ROUNDS * AGENTS
SCENARIO = Path(__file__).with_name("rcr_fixed.py")


# -- the CLI under test --------------------------------------------------------------------------


def write_dataset(path: Path, debates: int) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for index in range(debates):
            question = f"Question {index}: a farmer has {index} hens and buys 17 * 23 more. How many now?"
            handle.write(
                json.dumps({"id": f"q{index}", "question": question, "answer": str(index + 391)}) + "\n"
            )


def run_cli(command: list[str], workdir: Path) -> dict[str, Any]:
    """Run ``command``; its wall time, CPU (user + system) and peak RSS from ``wait4``."""
    with open(workdir / "stdout.txt", "wb") as stdout, open(workdir / "stderr.txt", "wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "returncode": process.returncode,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "stderr": (workdir / "stderr.txt").read_text(errors="replace")[-3000:],
    }


def debate_run(
    backend: str,
    debates: int,
    concurrency: int,
    workdir: Path,
    *,
    port: int | None,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """One ``debate run`` of ``debates`` items into a fresh run directory; checks every line is there."""
    out = workdir / f"run-{debates}"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        sys.executable, "-m", "debate", "run", str(SCENARIO), "--data", str(workdir / "questions.jsonl"),
        "--limit", str(debates), "--out", str(out), "--backend", backend, "--concurrency", str(concurrency),
        *extra,
    ]  # fmt: skip
    if port is not None:
        server_stats(port, reset=True)
    row = run_cli(command, workdir)
    if row["returncode"] != 0:
        raise RuntimeError(f"{' '.join(command)} exited {row['returncode']}:\n{row['stderr']}")
    with open(out / "results.jsonl", encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    if lines != debates:
        raise RuntimeError(f"{out}/results.jsonl holds {lines} lines, expected {debates}")
    if port is not None:
        stats = server_stats(port, reset=False)
        if stats["requests"] != debates * CALLS_PER_DEBATE:
            raise RuntimeError(f"the server answered {stats['requests']} requests, expected {debates * 9}")
        row["server_span_s"] = stats["last"] - stats["first"]
    shutil.rmtree(out, ignore_errors=True)
    return row


def help_wall_s(tries: int = 3) -> float:
    best = math.inf
    for _ in range(tries):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "debate", "run", "--help"], capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def cli_row(
    label: str, backend: str, *, debates: int, concurrency: int, latency: float, startup: dict[str, Any],
    startup_debates: int, workdir: Path, port: int | None, extra: Sequence[str] = (),
) -> dict[str, Any]:  # fmt: skip
    run = debate_run(backend, debates, concurrency, workdir, port=port, extra=extra)
    ideal = math.ceil(debates / concurrency) * ROUNDS * latency
    overhead_s = startup["wall_s"] - ROUNDS * latency  # start-up and shut-down of the start-up run
    calls = CALLS_PER_DEBATE * (debates - startup_debates)
    row = {
        "label": label,
        "backend": backend,
        "debates": debates,
        "concurrency": concurrency,
        "calls": CALLS_PER_DEBATE * debates,
        "wall_s": run["wall_s"],
        "run_wall_s": run["wall_s"] - overhead_s,
        "ideal_s": ideal,
        "efficiency": ideal / (run["wall_s"] - overhead_s),
        "server_efficiency": ideal / run["server_span_s"] if "server_span_s" in run else None,
        "cpu_s": run["cpu_s"],
        "cpu_ms_per_call": 1000 * (run["cpu_s"] - startup["cpu_s"]) / calls,
        "peak_rss_mb": run["peak_rss_mb"],
        "startup_wall_s": overhead_s,
        "startup_cpu_s": startup["cpu_s"],
    }
    return row


# -- the floor: bare asyncio tasks, same calls ---------------------------------------------------


def bare_http(base_url: str) -> Callable[[], Awaitable[str]]:
    """The bare client, posting the body a debate's first round sends."""
    messages = [{"role": "user", "content": "Question 7: a farmer has 7 hens and buys 17 * 23 more. " * 4}]
    return keep_alive_client(
        base_url, {"model": MODEL, "messages": messages, "temperature": 0.7, "max_tokens": 512}
    )


async def floor(base_url: str | None, debates: int, concurrency: int, latency: float) -> dict[str, Any]:
    """C debates at a time; each is 3 rounds of 3 concurrent calls, as the scenario's, with nothing else."""
    if base_url is not None:
        call = bare_http(base_url)
    else:

        async def call() -> str:
            await asyncio.sleep(latency)
            return "#### 391"

    pending = iter(range(debates))
    answers = 0

    async def worker() -> None:
        nonlocal answers
        for _ in pending:
            for _round in range(ROUNDS):
                texts = await asyncio.gather(*(call() for _ in range(AGENTS)))
                answers += len(texts)

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, debates))))
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    ideal = math.ceil(debates / concurrency) * ROUNDS * latency
    return {
        "label": "floor (bare asyncio)",
        "debates": debates,
        "concurrency": concurrency,
        "calls": answers,
        "wall_s": wall,
        "run_wall_s": wall,
        "ideal_s": ideal,
        "efficiency": ideal / wall,
        "cpu_s": cpu,
        "cpu_ms_per_call": 1000 * cpu / answers,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def floor_in_subprocess(**params: Any) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--floor-child", json.dumps(params)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"floor {params} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# -- the table ------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("langgraph", "pydantic", "openai", "aiohttp", "httpx", "httpx2"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def median_row(tries: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each number over repeated tries (every try kept under ``tries``); labelled so when more than one."""
    if len(tries) == 1:
        return tries[0]
    row = dict(tries[0])
    for key, value in row.items():
        if isinstance(value, float) or (
            isinstance(value, int) and key not in ("debates", "concurrency", "calls")
        ):
            row[key] = statistics.median(t[key] for t in tries if t.get(key) is not None)
    row["label"] = f"{row['label']} (median of {len(tries)})"
    row["tries"] = tries
    return row


def print_row(row: dict[str, Any]) -> None:
    server = row.get("server_efficiency")
    print(
        f"{row['label'][:44]:<44} {row['debates']:>6} {row['concurrency']:>5} {row['wall_s']:>7.2f} "
        f"{row['ideal_s']:>6.2f} {row['efficiency']:>6.3f} {'' if server is None else f'{server:.3f}':>7} "
        f"{row['cpu_ms_per_call']:>8.3f} {row['peak_rss_mb']:>7.0f}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency-ms", type=float, default=200.0, help="server latency per call (200)")
    parser.add_argument("--concurrency", type=int, default=500, help="debate run --concurrency (500)")
    parser.add_argument("--debates", type=int, nargs="+", default=[500], help="debates per run (500)")
    parser.add_argument(
        "--backend", choices=["http", "sleep"], default="http", help="OpenAI-compatible server, or scripted"
    )
    parser.add_argument(
        "--params",
        nargs="+",
        default=[""],
        metavar="QUERY",
        help="one row per query string added to the openai:// URI, e.g. 'transport=lean' ('' = defaults)",
    )
    parser.add_argument(
        "--run-args",
        action="append",
        metavar="ARGS",
        help="extra debate run arguments, one row each; repeat it, with '=' for arguments that start with "
        "a dash: --run-args= --run-args=--no-cohorts --run-args='--cohort-size 500' (default: none)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each configuration (and the floor); rows are medians (1)",
    )
    parser.add_argument("--startup-debates", type=int, default=1, help="debates of the start-up run (1)")
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip the bare-asyncio floor")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--floor-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000

    if args.floor_child:
        print(json.dumps(asyncio.run(floor(**json.loads(args.floor_child)))))
        return 0

    rows: list[dict[str, Any]] = []
    server: contextlib.AbstractContextManager[int | None] = (
        serving(latency, prompt_tokens=60) if args.backend == "http" else contextlib.nullcontext()
    )
    with server as port, tempfile.TemporaryDirectory(prefix="bench-run-cli-") as directory:
        base_url = None if port is None else f"http://127.0.0.1:{port}/v1"
        workdir = Path(directory)
        write_dataset(workdir / "questions.jsonl", max(args.debates))
        help_s = help_wall_s()
        print(
            f"latency {args.latency_ms:.0f} ms, {ROUNDS} rounds x {AGENTS} agents, {os.cpu_count()} CPUs "
            f"(affinity {sorted(os.sched_getaffinity(0))}), {versions()}"
        )
        print(f"debate run --help: {help_s:.2f} s (best of 3)")
        print(
            f"{'configuration':<44} {'debates':>6} {'C':>5} {'wall s':>7} {'ideal':>6} {'eff.':>6} "
            f"{'server':>7} {'CPU ms':>8} {'RSS MB':>7}"
        )
        print(f"{'':<44} {'':>6} {'':>5} {'':>7} {'':>6} {'':>6} {'eff.':>7} {'/call':>8} {'':>7}")
        backends = (
            [(f"sleep:{args.latency_ms:g}", f"scripted, {args.latency_ms:g} ms")]
            if args.backend == "sleep"
            else [
                (
                    f"openai://127.0.0.1:{port}/v1?model={MODEL}" + (f"&{query}" if query else ""),
                    query or "defaults",
                )
                for query in args.params
            ]
        )
        for (backend, backend_label), run_args in itertools.product(backends, args.run_args or [""]):
            extra = shlex.split(run_args)
            label = f"{backend_label} {run_args}" if run_args else backend_label
            startups = []
            for _ in range(args.repeat):
                startups.append(
                    debate_run(
                        backend, args.startup_debates, args.concurrency, workdir, port=port, extra=extra
                    )
                )
                print(
                    f"{label}: start-up run ({args.startup_debates} debate) wall {startups[-1]['wall_s']:.2f} s, "
                    f"CPU {startups[-1]['cpu_s']:.2f} s, RSS {startups[-1]['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
            startup = {key: statistics.median(run[key] for run in startups) for key in ("wall_s", "cpu_s")}
            tries: dict[int, list[dict[str, Any]]] = {debates: [] for debates in args.debates}
            for _ in range(args.repeat):
                for debates in args.debates:
                    row = cli_row(
                        label, backend, debates=debates, concurrency=args.concurrency, latency=latency,
                        startup=startup, startup_debates=args.startup_debates, workdir=workdir, port=port,
                        extra=extra,
                    )  # fmt: skip
                    row["help_wall_s"] = help_s
                    tries[debates].append(row)
                    if args.repeat > 1:
                        print_row(row)
            for debates in args.debates:
                rows.append(median_row(tries[debates]))
                print_row(rows[-1])
        if args.floor:
            for debates in args.debates:
                floors = [
                    floor_in_subprocess(
                        base_url=base_url, debates=debates, concurrency=args.concurrency, latency=latency
                    )
                    for _ in range(args.repeat)
                ]
                rows.append(median_row(floors))
                print_row(rows[-1])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            config = {name: value for name, value in vars(args).items() if name != "floor_child"}
            json.dump({"config": config, "versions": versions(), "results": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
