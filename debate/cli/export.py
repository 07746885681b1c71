"""``debate export``: turn run directories into training datasets (TRL formats, with a dataset card)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from debate.cli.train import add_set_flag, parse_assignments

DESCRIPTION = """\
Read RUN_DIR/results.jsonl (one or more run directories) and write a Hugging Face dataset into --out:
the dataset (datasets.save_to_disk), the same rows as data.jsonl, a dataset card (README.md) with counts,
agreement rates and the pseudo-label accuracy against gold where the run has gold, and export.json.

  dte       consensus traces + pseudo-label (prompt, completion, answer)      -> debate train --method grpo|sft
  sft       the same traces as conversations (messages)                       -> debate train --method sft
  dpo       settled-on vs overturned responses (prompt, chosen, rejected)     -> debate train --method dpo
  kto       each response, desirable or not (prompt, completion, label)       -> debate train --method kto
  critique  wrong solution -> critique + corrected solution (messages)        -> debate train --method sft
  judge     judge rationales, right vs wrong verdict (prompt, chosen, rejected) -> debate train --method dpo
            (right: gold by default, the debaters' majority, or with reference=self the judge's own)
  step_dpo  correct prefix + right next step vs first wrong step (Step-DPO)    -> debate train --method dpo
  stance    a position to argue -> a side's strongest statement (DEBATUNE)     -> debate train --method sft
  pbt       accept right / resist wrong persuasion (prompt, chosen, rejected)  -> debate train --method dpo
  aidsafe   request -> refined policy-embedded chain of thought (messages)    -> debate train --method sft
  aidsafe_dpo  refined chain vs belief-augmented or unrefined one (prompt, chosen, rejected) -> debate train --method dpo

Labels come from the debate (majority of the last round, or its final answer), never from gold answers
(step_dpo, pbt, aidsafe and aidsafe_dpo take --label gold when asked).
Prompts are the round-0 solver prompt: the framework's, or with --scenario the one that scenario's debaters read.
Ties and all-agree debates follow documented rules (docs/training.md); the card counts what was skipped.
"""

EPILOG = """\
examples:
  debate export runs/rcr --format dte --out data/dte --min-agreement 0.6
  debate export runs/arith --format dte --out data/arith --scenario arithmetic_rcr
  debate export runs/rcr --format dpo --out data/dpo --set max_pairs_per_question=2
  debate export runs/judge-a runs/judge-b --format judge --out data/judge --set pair_by=question
  debate export runs/judged --format judge --out data/self-judge --set reference=self   # after debate judge
  debate export runs/rcr --format step_dpo --out data/steps
  debate export runs/mad --format stance --out data/stance --set sides=winner
  debate export runs/pbt --format pbt --out data/pbt                  # a run of gsm8k_pbt: branch pairs
  debate export runs/aidsafe --format aidsafe_dpo --out data/aidsafe-dpo --set rejected=belief
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    from debate.export import FORMATS

    parser = subparsers.add_parser(
        "export",
        help="turn run directories into training data (dte, sft, dpo, kto, critique, judge, step_dpo, stance, pbt, "
        "aidsafe, aidsafe_dpo)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directory (or its results.jsonl)")
    parser.add_argument("--format", required=True, choices=list(FORMATS))
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory (created)")
    parser.add_argument(
        "--label",
        choices=["majority", "final", "gold"],
        help="label source (not for judge or stance); gold only for step_dpo, pbt, aidsafe and aidsafe_dpo",
    )
    parser.add_argument(
        "--min-agreement", type=float, metavar="F", help="skip questions below this agreement"
    )
    parser.add_argument("--rounds", metavar="final|all|0,2", help="which rounds' responses to use")
    parser.add_argument("--no-dedupe", dest="dedupe", action="store_false", default=None)
    parser.add_argument("--max-words", type=int, metavar="N", help="drop rows with longer assistant text")
    parser.add_argument(
        "--context-field", action="append", dest="context_fields", metavar="NAME", help="show in prompts"
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME|FILE",
        help="ask in prompts as this scenario's debaters were asked in round 0 (its prompts and answer format)",
    )
    add_set_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from debate.config import merge_layers
    from debate.export import export_run
    from debate.export.prompts import scenario_solver_options
    from debate.loading import load_scenario

    flags: dict[str, Any] = {
        "label": args.label,
        "min_agreement": args.min_agreement,
        "rounds": args.rounds,
        "dedupe": args.dedupe,
        "max_words": args.max_words,
        "context_fields": args.context_fields,
    }
    assignments = parse_assignments(args.assignments)
    options = merge_layers(assignments, flags)
    if args.scenario is not None:
        solver = scenario_solver_options(load_scenario(args.scenario), assignments.get("answer"))
        options = merge_layers(solver, options)
    try:
        report = export_run(args.run_dirs, args.format, args.out, **options)
    except ImportError as error:  # the datasets library is missing: the message says what to install
        print(f"debate export: error: {error}", file=sys.stderr)
        return 2
    skipped = ", ".join(f"{reason}: {count}" for reason, count in sorted(report.skipped.items())) or "none"
    print(
        f"{report.rows} {args.format} rows from {report.debates} debates into {args.out} "
        f"(questions labeled: {report.labeled}; skipped: {skipped})"
    )
    if report.pseudo_label_accuracy is not None:
        print(f"pseudo-label accuracy against gold: {100 * report.pseudo_label_accuracy:.1f}%")
    if report.rows == 0:
        print(f"debate export: no rows written; see {args.out}/README.md for why", file=sys.stderr)
        return 1
    return 0
