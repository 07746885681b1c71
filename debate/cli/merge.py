"""``debate merge``: join the run directories of shards into one."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Combine run directories written by `debate run --shard I/N` (on several machines
or processes) into one run directory with one results.jsonl, a merged
manifest.json and a recomputed summary.json. The parts must be the same run
(scenario fingerprint, data, seed); a debate found in several parts is kept
once, a finished line winning over a failed one.
"""

EPILOG = """\
example:
  debate run --config run.toml --shard 0/2 --out runs/part0     # machine 1
  debate run --config run.toml --shard 1/2 --out runs/part1     # machine 2
  debate merge runs/part0 runs/part1 --out runs/all
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="combine the run directories of shards into one",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("parts", nargs="+", metavar="RUN_DIR", help="run directories to combine")
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="the merged run directory (must not hold a run)"
    )
    parser.add_argument(
        "--prices", metavar="PRICES_TOML", help="price table for the cost (default: the parts' own)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace a run already in --out (moved aside, not deleted)"
    )
    parser.set_defaults(func=merge)


def merge(args: argparse.Namespace) -> int:
    from debate.config import load_prices
    from debate.runner import merge_runs

    prices = load_prices(args.prices) if args.prices else None
    merged = merge_runs(args.parts, args.out, prices=prices, force=args.force)
    for note in merged.notes:
        print(f"debate merge: {note}", file=sys.stderr)
    summary = merged.summary
    print(f"{args.out}: {summary.outcomes_line()}")
    return 0 if summary.complete and not summary.failed else 1
