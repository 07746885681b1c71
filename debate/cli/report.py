"""``debate report``: a static HTML report of one run, or a comparison of several."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Write a self-contained HTML report (index.html: opens from disk, no server, no
network) of a run directory: accuracy and consensus per round, answer flips,
judge accuracy, tokens, time, cost and failures, plots, and every debate as a
grid of rounds and agents with filters and search. With several run
directories the report compares them. Plots are also saved as PNG files under
OUT/plots/. Needs matplotlib: pip install 'debate[report]'.
"""

EPILOG = """\
examples:
  debate report runs/rcr                                 # writes runs/rcr/report/index.html
  debate report runs/rcr runs/simultaneous --out reports/compare
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a static HTML report of one or more run directories",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories to report on")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="where to write the report (default: RUN_DIR/report for one run; required for several)",
    )
    parser.set_defaults(func=report)


def report(args: argparse.Namespace) -> int:
    from pathlib import Path

    if args.out is None and len(args.run_dirs) > 1:
        raise ValueError("--out: required when comparing several run directories")
    out = Path(args.out) if args.out else Path(args.run_dirs[0]) / "report"
    try:
        from debate.report import write_report

        index = write_report(args.run_dirs, out)
    except ImportError as error:
        print(f"debate report: error: {error}", file=sys.stderr)
        return 2
    print(index)
    return 0
