"""``debate train``: fine-tune a local model on exported debate data with TRL (GRPO, DPO, KTO, SFT)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

DESCRIPTION = """\
Train a local model (a save_pretrained directory) on a `debate export` directory with TRL, and save the
trained model (LoRA merged) into --out, loadable as --backend hf:OUT.

  grpo  DTE: reward agreement with the debate's consensus + format rewards  (data: --format dte)
  dpo   preference pairs                                   (data: --format dpo, judge, step_dpo, pbt or aidsafe_dpo)
  kto   desirable / undesirable responses                                    (data: --format kto)
  sft   imitate the consensus traces                  (data: --format sft, dte, critique, stance or aidsafe)

Defaults come from DTE's code (see docs/training.md); a TOML file (--config) and the flags override them,
and --set reaches every setting, e.g. --set lora.r=16 --set rewards.consensus=3 --set trl.optim=adamw_torch.
Needs the [train] extra: pip install 'debate[train]'.

--num-processes N trains data-parallel in N processes under `accelerate launch` (one per GPU; on CPU,
gloo). `accelerate launch [its flags] -m debate train ...` works as well, for several machines or a
config made with `accelerate config`.
"""

EPILOG = """\
examples:
  debate train --method grpo --data data/dte --model models/base --out models/dte-1
  debate train --method dpo --data data/dpo --model models/base --out models/dpo-1 --lora --max-steps 200
  debate train --method sft --data data/sft --model models/base --out models/sft-1 --num-processes 8  # 8 GPUs
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a local model on exported debate data (GRPO, DPO, KTO, SFT via TRL)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--method", required=True, choices=["grpo", "dpo", "kto", "sft"])
    parser.add_argument("--data", required=True, metavar="DIR", help="a `debate export` output directory")
    parser.add_argument("--model", required=True, metavar="PATH", help="local model directory to start from")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the trained model goes")
    parser.add_argument("--config", metavar="TOML", help="settings file; flags override its keys")
    parser.add_argument("--learning-rate", type=float, metavar="LR")
    parser.add_argument("--epochs", type=float)
    parser.add_argument("--max-steps", type=int, metavar="N", help="optimizer steps (overrides --epochs)")
    parser.add_argument("--batch-size", type=int, metavar="N", help="per device (GRPO: completions)")
    parser.add_argument("--gradient-accumulation-steps", type=int, metavar="N")
    parser.add_argument("--lora", action="store_true", help="train a LoRA adapter (DTE: r=128, alpha=256)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--num-processes",
        type=int,
        metavar="N",
        help="train data-parallel in N processes under `accelerate launch` (GPUs, or CPU with gloo)",
    )
    add_set_flag(parser)
    parser.set_defaults(func=run)


def add_set_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        action="append",
        dest="assignments",
        metavar="KEY=VALUE",
        help="any setting; dotted keys reach tables (lora.r=16); values are JSON or text (repeatable)",
    )


def parse_assignments(values: list[str] | None) -> dict[str, Any]:
    """``["lora.r=16", "trl.optim=adamw_torch"]`` -> ``{"lora": {"r": 16}, "trl": {"optim": "adamw_torch"}}``.

    Values are read as JSON when they parse (numbers, booleans, lists), else taken as text.
    """
    result: dict[str, Any] = {}
    for assignment in values or []:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {assignment!r}: expected KEY=VALUE, e.g. --set learning_rate=1e-5")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, leaf = key.strip().split(".")
        table = result
        for parent in parents:
            table = table.setdefault(parent, {})
            if not isinstance(table, dict):
                raise ValueError(f"--set {assignment!r}: {parent!r} is both a value and a table")
        table[leaf] = value
    return result


def accelerate_launch(num_processes: int, argv: list[str]) -> list[str]:
    """The command that reruns ``debate ARGV`` (``--num-processes`` left out) in ``num_processes`` processes.

    ``accelerate launch --multi_gpu`` starts them with torchrun; TRL's trainer then runs data-parallel over
    NCCL on GPUs, or over gloo when it trains on the CPU (``--device cpu``, or no GPU).
    """
    passed: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--num-processes":
            skip = True
        elif not arg.startswith("--num-processes="):
            passed.append(arg)
    return [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(num_processes),
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "debate", *passed,
    ]  # fmt: skip


def launched_by_accelerate() -> bool:
    """True in a process that a distributed launcher (accelerate, torchrun) started."""
    return "LOCAL_RANK" in os.environ


def run(args: argparse.Namespace) -> int:
    if args.num_processes is not None and args.num_processes < 1:
        raise ValueError(f"--num-processes: must be at least 1, got {args.num_processes}")
    if args.num_processes and args.num_processes > 1 and not launched_by_accelerate():
        import subprocess

        return subprocess.call(accelerate_launch(args.num_processes, list(args.argv)))
    from debate.config import merge_layers
    from debate.train import MissingTrainingExtra, load_train_settings, require_training_extra, train

    flags = {
        "model": args.model,
        "data": args.data,
        "out": args.out,
        "learning_rate": args.learning_rate,
        "epochs": args.epochs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "device": args.device,
        "seed": args.seed,
    }
    overrides = merge_layers(parse_assignments(args.assignments), flags)
    if args.lora:
        overrides["lora"] = overrides.get("lora", {})
    settings = load_train_settings(args.method, args.config, overrides)
    try:
        require_training_extra(settings)
    except MissingTrainingExtra as error:
        print(f"debate train: error: {error}", file=sys.stderr)
        return 2
    report = train(settings)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # one report, from the main process
    loss = f"{report.train_loss:.4f}" if report.train_loss is not None else "n/a"
    print(
        f"trained {args.method} on {report.rows} rows: {report.steps} steps in {report.runtime_s:.0f} s, "
        f"final loss {loss}\nmodel: {report.out}  (use it with --backend hf:{report.out})"
    )
    return 0
