"""``debate demo``: does debating beat one agent? Built-in model, built-in task, one command."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Run the testbed end to end: build the embedded demo model if it is not there
yet (minutes, on the CPU), run the single-agent baseline (arithmetic_single)
and a 3-agent, 3-round debate (arithmetic_rcr) on the first N problems of the
arithmetic test split, and print the accuracy of one agent, of the debaters in
round 0, of their majority vote after each round and of the debate's final
answer, with 95% bootstrap intervals, and what the debate adds over one agent
and over voting on the first answers (paired intervals).

DIR (--out) holds a run directory per scenario (rerunning reuses every finished
debate; a rebuilt or different model starts them over), demo.json with the
numbers and report/index.html, the HTML report of both runs.
"""

EPILOG = """\
examples:
  debate demo                                    # the embedded model, 300 problems
  debate demo --items 500 --seed 1 --out runs/demo
  debate demo --model evolve/demo/round-1/model  # a model debate evolve trained
  debate demo --backend 'openai://127.0.0.1:8000/v1?model=Qwen/Qwen2.5-1.5B-Instruct'

exit status:
  0    done, no debate failed
  1    some debates failed (counted as wrong); rerun the same command to retry them
  2    bad arguments, or another process is running in DIR
  130  interrupted (Ctrl-C); rerun the same command to resume
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from debate.demo import DEFAULT_CONCURRENCY

    parser = subparsers.add_parser(
        "demo",
        help="build the embedded model if needed, then show whether debate beats one agent on the testbed",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--items", type=int, default=300, metavar="N", help="test problems (default 300)")
    parser.add_argument("--seed", type=int, default=0, help="sampling and bootstrap seed (default 0)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where the runs, demo.json and the report go (default $DEBATE_HOME/demo-runs)",
    )
    parser.add_argument(
        "--model",
        metavar="DIR",
        help="model directory (default: the embedded demo model in $DEBATE_HOME/demo-model); "
        "built there only when it is missing or empty",
    )
    parser.add_argument("--rebuild", action="store_true", help="build the demo model again first")
    parser.add_argument(
        "--backend",
        metavar="URI",
        help="debate with this backend instead of a local model directory (no build)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="K",
        help="debates in flight (%(default)s)",
    )
    parser.add_argument(
        "--progress",
        choices=["auto", "bar", "log", "off"],
        default="auto",
        help="progress bars on a terminal, one-line logs otherwise (auto)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from debate.demo import NUMBERS_FILE, format_table, run_demo
    from debate.runner import RunDirBusy
    from debate.runner.progress import format_duration

    try:
        demo = run_demo(
            args.out,
            items=args.items,
            seed=args.seed,
            model_dir=args.model,
            rebuild=args.rebuild,
            backend=args.backend,
            concurrency=args.concurrency,
            progress=args.progress,
            command=["debate", *getattr(args, "argv", sys.argv[1:])],
        )
    except RunDirBusy as error:
        print(f"debate demo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("debate demo: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    print(format_table(demo))
    print()
    if demo.report is not None:
        print(f"report: {demo.report}")
    print(f"numbers: {demo.out / NUMBERS_FILE}")
    print(f"wall time: {format_duration(demo.wall_time_s)}")
    failed = sum(demo.failed.values())
    if failed:
        print(
            f"debate demo: {failed} debates failed and count as wrong; rerun to retry them", file=sys.stderr
        )
    return 1 if failed else 0
