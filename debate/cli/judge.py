"""``debate judge``: sample a judge on a run's finished debates (the self-improving judge's first step)."""

from __future__ import annotations

import argparse
from typing import Any

from debate.cli.train import add_set_flag, parse_assignments

DESCRIPTION = """\
Read RUN_DIR/results.jsonl and ask a judge model to judge each debate again: it reads the question and the
debaters' responses of the judged round (quoted as untrusted text, in the judge export's judging prompt)
and writes a rationale and a verdict, --samples times. --out becomes a run directory holding the same
debates, each with one more verdict (author self_judge, all samples kept), and judging.json with the
judge's accuracy against gold on contested debates (for reporting; see docs/training.md).

Self-Rationalization: export the judged run with --format judge --set reference=self (rationales that
agree with the judge's own majority verdict over those that do not; no gold answers), train with
debate train --method dpo, and judge again with the new model. debate evolve --evolve-judge repeats it.
"""

EPILOG = """\
examples:
  debate judge runs/arith --model models/judge --out runs/arith-judged --samples 8
  debate export runs/arith-judged --format judge --set reference=self --out data/judge
  debate train --method dpo --data data/judge --model models/judge --out models/judge-1
  debate judge runs/held-out --model models/judge-1 --out runs/held-out-judged-1 --samples 1 --temperature 0
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "judge",
        help="sample a judge's rationales and verdicts on a run's debates (self-rationalization)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="run directory (or its results.jsonl)")
    parser.add_argument(
        "--model", required=True, metavar="DIR|URI", help="judge model directory or backend URI"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="the judged run (created; rerun to resume)"
    )
    parser.add_argument("--samples", type=int, default=8, metavar="K", help="verdicts per debate round (8)")
    parser.add_argument("--temperature", type=float, metavar="T", help="sampling temperature (1.0)")
    parser.add_argument("--max-tokens", type=int, metavar="N", help="per verdict (512)")
    parser.add_argument(
        "--rounds", default="final", metavar="final|all|0,2", help="debate rounds to judge (final)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=64, metavar="K", help="requests per batch (64)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--max-batch-size", type=int, metavar="N", help="sequences a local model generates at once"
    )
    add_set_flag(
        parser
    )  # judge export options: answer, context_fields, judge_prompt.system, judge_prompt.user
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from debate.export.base import ExportOptions
    from debate.train.judging import JUDGE_SAMPLING, judge_run

    changes: dict[str, Any] = {"temperature": args.temperature, "max_tokens": args.max_tokens}
    sampling = JUDGE_SAMPLING.model_copy(update={k: v for k, v in changes.items() if v is not None})
    rounds = ExportOptions(rounds=args.rounds).rounds
    report = judge_run(
        args.run_dir,
        args.model,
        args.out,
        samples=args.samples,
        sampling=sampling,
        rounds=rounds,
        options=parse_assignments(args.assignments),
        seed=args.seed,
        concurrency=args.concurrency,
        device=args.device,
        max_batch_size=args.max_batch_size,
    )
    skipped = ", ".join(f"{reason}: {count}" for reason, count in sorted(report.skipped.items())) or "none"
    failed = f"; {report.failed} verdicts failed, kept without an answer" if report.failed else ""
    print(
        f"{report.judged} debates judged ({args.samples} samples each) into {args.out} "
        f"(skipped: {skipped}{failed})"
    )
    scored = report.accuracy
    if scored.accuracy is None:
        print(
            f"judge accuracy: no contested debate with its gold answer among the responses ({scored.contested} contested)"
        )
    else:
        estimate = scored.accuracy
        print(
            f"judge accuracy: {100 * estimate.value:.1f}% [{100 * estimate.low:.1f}, {100 * estimate.high:.1f}] "
            f"on {scored.scored} contested debates with gold among the answers "
            f"({scored.outside} verdicts named none of them)"
        )
    print(f"next: debate export {args.out} --format judge --set reference=self --out DATA")
    return 0
