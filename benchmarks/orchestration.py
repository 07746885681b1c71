"""Orchestration efficiency on CPU: how close does the framework get to the model's own latency?

The scripted backend answers every call after a fixed latency, like a model
server that is never the bottleneck. With N debates of K agents and R rounds
at concurrency C, the ideal wall time is ceil(N / C) * R * latency; anything
above it is the framework's own overhead. We report:

- efficiency = ideal / measured wall time,
- framework CPU time per message (process CPU / messages),
- peak RSS (each configuration runs in its own process, so peaks don't mix),
- the speedup over a faithful re-implementation of the loop of Du et al.'s
  code (one debate after another, one agent after another, same backend),
- a floor: the same calls as bare asyncio tasks (no graph, prompts or
  parsing), i.e. what the event loop and the message objects alone cost here.

Usage::

    python benchmarks/orchestration.py                       # the default table
    python benchmarks/orchestration.py --debates 1000 10000 --latency 0.2 --concurrency 1000
    python benchmarks/orchestration.py --json results.json

The baseline is sequential, so it runs on ``--baseline-debates`` debates only
(default 3); its per-debate time is exact, not extrapolated from ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import resource
import subprocess
import sys
import time
from typing import Any

AGENTS = "abcdefgh"


def scenario_for(agents: int, rounds: int):  # noqa: ANN201
    from debate import Debater, Scenario

    return Scenario(
        name="orchestration",
        agents=[Debater(name) for name in AGENTS[:agents]],
        protocol="rcr",
        rounds=rounds,
        stop="fixed",
    )


def script(request) -> str:  # noqa: ANN001
    return f"Agent {request.agent} reasons about it.\n#### {request.round + len(request.debate_id) % 7}"


async def measured(
    workers: Any, *, debates: int, concurrency: int, rounds: int, latency: float, gc_threshold: int, count: Any
) -> dict[str, Any]:  # noqa: ANN401
    """Run ``workers`` (coroutines) under the clocks; ``count()`` gives the messages they produced.

    ``gc_threshold``: the young-generation threshold of ``debate.relaxed_gc`` (0: CPython's defaults).
    """
    import contextlib

    from debate import relaxed_gc

    started_wall, started_cpu = time.perf_counter(), time.process_time()
    with relaxed_gc(gc_threshold) if gc_threshold else contextlib.nullcontext():
        await asyncio.gather(*workers)
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    ideal = math.ceil(debates / concurrency) * rounds * latency
    messages = count()
    return {
        "debates": debates,
        "messages": messages,
        "wall_s": wall,
        "cpu_s": cpu,
        "ideal_s": ideal,
        "efficiency": ideal / wall if wall else None,
        "cpu_ms_per_message": 1000 * cpu / messages,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def run_framework(
    debates: int, agents: int, rounds: int, concurrency: int, latency: float, gc_threshold: int
) -> dict[str, Any]:
    """Our path: one compiled graph, debates streamed through a bounded pool; results counted, not kept.

    As in the runner, the garbage collector is relaxed for the run (``debate.relaxed_gc``) unless ``gc_threshold`` is 0.
    """
    from debate import ScriptedBackend, arun_debate, compile_debate

    scenario = scenario_for(agents, rounds)
    backend = ScriptedBackend(script, latency_s=latency, record=False)
    graph = compile_debate(scenario, backend)
    questions = (f"Question number {index}: what is {index} + {index}?" for index in range(debates))
    messages = 0

    async def worker() -> None:
        nonlocal messages
        for question in questions:  # a shared generator: each worker pulls the next question
            result = await arun_debate(scenario, question, graph=graph)
            messages += len(result.transcript.messages)

    workers = [worker() for _ in range(min(concurrency, debates))]
    shape = {"debates": debates, "concurrency": concurrency, "rounds": rounds, "latency": latency}
    return await measured(workers, **shape, gc_threshold=gc_threshold, count=lambda: messages)


async def run_du_baseline(debates: int, agents: int, rounds: int, latency: float) -> dict[str, Any]:
    """The loop of Du et al.'s reference code: for each question, for each round, for each agent, call the model.

    Same scripted backend and latency; contexts grow by appending the other
    agents' previous answers, as in their code. No graph, no parsing layers.
    """
    from debate.agents.backends import ChatMessage, ChatRequest, ScriptedBackend, generate_one

    backend = ScriptedBackend(script, latency_s=latency, record=False)
    names = AGENTS[:agents]
    messages = 0
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    for index in range(debates):
        question = f"Question number {index}: what is {index} + {index}?"
        contexts = {name: [ChatMessage(role="user", content=question)] for name in names}
        for round_ in range(rounds):
            answers = {}
            for name in names:
                response = await generate_one(
                    backend,
                    ChatRequest(messages=contexts[name], agent=name, round=round_, debate_id=f"du-{index}"),
                )
                answers[name] = response.text
                messages += 1
            for name in names:
                others = "\n\n".join(f"One agent solution: {answers[o]}" for o in names if o != name)
                contexts[name] = [
                    *contexts[name],
                    ChatMessage(role="assistant", content=answers[name]),
                    ChatMessage(role="user", content=f"These are the solutions from other agents:\n{others}"),
                ]
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    return {
        "debates": debates,
        "messages": messages,
        "wall_s": wall,
        "cpu_s": cpu,
        "s_per_debate": wall / debates,
    }


async def run_floor(
    debates: int, agents: int, rounds: int, concurrency: int, latency: float
) -> dict[str, Any]:
    """The floor: all debates at once as bare asyncio tasks, no graph, no prompts, no parsing.

    Each call still builds a ``ChatRequest``, goes through the same scripted
    backend and yields a ``Message``, so this is what the per-message objects
    and the event loop alone cost; the GC is relaxed as in our path.
    """
    from debate.agents.backends import ChatMessage, ChatRequest, ScriptedBackend, generate_one

    from debate import Message, MessageKind, Role

    backend = ScriptedBackend(script, latency_s=latency, record=False)
    names = AGENTS[:agents]
    messages = 0

    async def one(index: int, name: str, round_: int) -> Message:
        nonlocal messages
        request = ChatRequest(
            messages=[ChatMessage(role="user", content=f"Question number {index}: round {round_}")],
            agent=name,
            round=round_,
            debate_id=f"floor-{index}",
        )
        response = await generate_one(backend, request)
        messages += 1
        return Message(
            id=f"floor-{index}/r{round_}/{name}",
            debate_id=f"floor-{index}",
            round=round_,
            author=name,
            role=Role.DEBATER,
            kind=MessageKind.ARGUMENT,
            text=response.text,
        )

    async def debate(index: int) -> None:
        for round_ in range(rounds):
            await asyncio.gather(*(one(index, name, round_) for name in names))

    indices = iter(range(debates))

    async def worker() -> None:
        for index in indices:
            await debate(index)

    workers = [worker() for _ in range(min(concurrency, debates))]
    shape = {"debates": debates, "concurrency": concurrency, "rounds": rounds, "latency": latency}
    from debate.gc_tuning import RELAXED_THRESHOLD

    return await measured(workers, **shape, gc_threshold=RELAXED_THRESHOLD, count=lambda: messages)


def in_subprocess(kind: str, **params: Any) -> dict[str, Any]:
    """Run one configuration in a fresh interpreter, so that its peak RSS is its own."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(params)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {package: version(package) for package in ("debate", "langgraph", "pydantic")} | {
        "python": platform.python_version()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debates", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per model call")
    parser.add_argument("--baseline-debates", type=int, default=3)
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=None,
        help="young-generation GC threshold for our path (default: the runner's, debate.gc_tuning.RELAXED_THRESHOLD; "
        "0: CPython's defaults)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, params = args.child[0], json.loads(args.child[1])
        runner = {"framework": run_framework, "floor": run_floor, "baseline": run_du_baseline}[kind]
        print(json.dumps(asyncio.run(runner(**params))))
        return 0

    shape = {"agents": args.agents, "rounds": args.rounds, "latency": args.latency}
    from debate.gc_tuning import RELAXED_THRESHOLD

    gc_threshold = RELAXED_THRESHOLD if args.gc_threshold is None else args.gc_threshold
    rows = [
        in_subprocess(
            "framework", debates=n, concurrency=args.concurrency, gc_threshold=gc_threshold, **shape
        )
        for n in args.debates
    ]
    floors = [in_subprocess("floor", debates=n, concurrency=args.concurrency, **shape) for n in args.debates]
    baseline = in_subprocess("baseline", debates=args.baseline_debates, **shape)
    print(
        f"{args.agents} agents x {args.rounds} rounds, {args.latency * 1000:.0f} ms per call, "
        f"concurrency {args.concurrency}, GC threshold {gc_threshold or 'CPython default'}, "
        f"{platform.processor() or platform.machine()}, {versions()}"
    )
    print(
        f"{'debates':>8} {'messages':>9} {'wall s':>8} {'ideal s':>8} {'effic.':>7} {'CPU ms/msg':>10} {'RSS MB':>7} {'vs Du':>8}"
    )
    for row in rows:
        speedup = baseline["s_per_debate"] / (row["wall_s"] / row["debates"])
        row["speedup_vs_du"] = speedup
        print(
            f"{row['debates']:>8} {row['messages']:>9} {row['wall_s']:>8.2f} {row['ideal_s']:>8.2f} "
            f"{row['efficiency']:>7.3f} {row['cpu_ms_per_message']:>10.3f} {row['peak_rss_mb']:>7.0f} {speedup:>7.0f}x"
        )
    for floor in floors:
        print(
            f"floor (bare asyncio tasks, same backend and Message objects), {floor['debates']} debates: "
            f"wall {floor['wall_s']:.2f} s, efficiency {floor['efficiency']:.3f}, "
            f"{floor['cpu_ms_per_message']:.3f} ms CPU/msg"
        )
    print(
        f"Du et al. loop: {baseline['debates']} debates in {baseline['wall_s']:.2f} s "
        f"({baseline['s_per_debate']:.2f} s per debate, {1000 * baseline['cpu_s'] / baseline['messages']:.3f} ms CPU/msg)"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "config": vars(args) | {"child": None, "gc_threshold": gc_threshold},
                    "versions": versions(),
                    "framework": rows,
                    "floor": floors,
                    "du_baseline": baseline,
                },
                handle,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
