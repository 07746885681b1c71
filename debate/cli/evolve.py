"""``debate evolve``: the DTE loop, debate -> export -> train -> evaluate, repeated with the trained model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from debate.cli.train import add_set_flag, parse_assignments

DESCRIPTION = """\
Evolve a local model as in "Debate, Train, Evolve": each round the current model debates fresh training
questions (as hf:MODEL debaters in the scenario), the debates are exported as consensus-labelled data,
the model is trained on them (GRPO by default), and the new model is evaluated alone on held-out
questions. The loop stops after --rounds, or when the held-out gain stays below --min-gain for
--patience rounds (DTE: 0.01 and 2). Every round's debates, data, model and scores are kept in --out,
summarised in evolution.json and evolution.md. Rerun the same command to resume.

--evolve-judge evolves a judge as well (Self-Rationalization): each round, after the debaters' step, the
current judge samples several rationales and verdicts on each of the round's debates, the rationales that
agree with its own majority verdict are preferred over those that do not (no gold answers), DPO trains
the judge on those pairs, and the new judge judges the next round. Every judge is scored on held-out
debates (the starting model's, on the --eval-data questions). Tune it with --set judge.KEY=VALUE
(samples, sampling.temperature, rounds, export.*, train.*; docs/training.md).
"""

EPILOG = """\
examples:
  debate evolve --model models/qwen-1.5b --out evolve/qwen --questions 500 --eval-limit 500
  debate evolve --model models/base --out evolve/sft --method sft --set train.max_steps=100 \\
      --set export.min_agreement=0.66
  debate evolve --model models/base --out evolve/judge --evolve-judge --set judge.samples=8 \\
      --set judge.train.max_steps=100
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evolve",
        help="repeat debate -> export -> train -> evaluate with the trained model as the debaters (DTE)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", metavar="PATH", help="starting model directory")
    parser.add_argument("--out", metavar="DIR", help="experiment directory")
    parser.add_argument("--config", metavar="TOML", help="settings file; flags override its keys")
    parser.add_argument("--scenario", help="debate scenario name or file (default gsm8k_rcr)")
    parser.add_argument("--train-data", metavar="DATA", help="questions to debate (default gsm8k-train)")
    parser.add_argument(
        "--questions", type=int, dest="questions_per_round", metavar="N", help="per round (500)"
    )
    parser.add_argument("--eval-data", metavar="DATA", help="held-out questions (default gsm-plus)")
    parser.add_argument("--eval-limit", type=int, metavar="N", help="evaluate on the first N only")
    parser.add_argument("--rounds", type=int, dest="max_rounds", metavar="N", help="at most N rounds (3)")
    parser.add_argument("--min-gain", type=float, metavar="F", help="held-out accuracy gain to go on (0.01)")
    parser.add_argument(
        "--patience", type=int, metavar="N", help="rounds below --min-gain before stopping (2)"
    )
    parser.add_argument("--method", choices=["grpo", "dpo", "kto", "sft"])
    parser.add_argument(
        "--no-lora",
        action="store_true",
        help="train every weight instead of a LoRA adapter (DTE: r=128, alpha=256)",
    )
    parser.add_argument(
        "--evolve-judge",
        action="store_true",
        help="evolve a judge too: self-agreement pairs of its sampled verdicts, DPO, every round",
    )
    parser.add_argument(
        "--judge-model", metavar="PATH", help="the starting judge (default: --model); implies --evolve-judge"
    )
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--concurrency", type=int, metavar="K")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--progress", choices=["auto", "bar", "log", "off"])
    add_set_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from debate.config import merge_layers
    from debate.train import EvolveSettings, MissingTrainingExtra, require_training_extra
    from debate.train.config import describe, layered

    keys = ["model", "out", "scenario", "train_data", "questions_per_round", "eval_data", "eval_limit"]
    keys += ["max_rounds", "min_gain", "patience", "method", "device", "concurrency", "seed", "progress"]
    flags: dict[str, Any] = {key: getattr(args, key) for key in keys}
    values = layered(args.config, merge_layers(parse_assignments(args.assignments), flags))
    if args.no_lora:
        values["lora"] = None
    if args.evolve_judge or args.judge_model:
        values["judge"] = merge_layers(values.get("judge") or {}, {"model": args.judge_model})
    try:
        settings = EvolveSettings.model_validate(values)
    except ValidationError as error:
        raise ValueError(describe(error, EvolveSettings, args.config)) from None
    try:
        require_training_extra()
    except MissingTrainingExtra as error:
        print(f"debate evolve: error: {error}", file=sys.stderr)
        return 2
    from debate.train import evolve

    report = evolve(settings)
    print((settings.out / "evolution.md").read_text(encoding="utf-8"))
    return 0 if report.rounds else 1
