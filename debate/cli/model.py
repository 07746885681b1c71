"""``debate model build-demo``: train the embedded demo model, so debates run on a real model without a download."""

from __future__ import annotations

import argparse

from debate.demo_model import DemoConfig, default_demo_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="build local models", description="Build local models.")
    commands = parser.add_subparsers(dest="model_command", metavar="MODEL_COMMAND", required=True)
    build = commands.add_parser(
        "build-demo",
        help="train the small demo model for the arithmetic testbed (about 5 minutes on 2 CPU cores)",
        description="Train a small chat model on the CPU for the bundled arithmetic task, in the prompts of the "
        "arithmetic_rcr and arithmetic_single scenarios: first to solve (round 0), then to revise its own "
        "first answers in a debate (the model answers round 0 of unseen problems; where its answers disagree, "
        "it learns to write the correct solution after reading them). "
        "Saved in Hugging Face format; use it with --backend hf:DIR. `debate demo` builds it when missing.",
    )
    defaults = DemoConfig()
    build.add_argument(
        "--out",
        default=None,
        help=f"output directory (default: $DEBATE_HOME/demo-model, here {default_demo_dir()})",
    )
    build.add_argument(
        "--problems", type=int, default=defaults.problems, help="solving turns (default: %(default)s)"
    )
    build.add_argument(
        "--debates",
        type=int,
        default=defaults.debates,
        help="synthetic debates whose later rounds teach revision in stage 1 (default: %(default)s)",
    )
    build.add_argument(
        "--own-debates",
        type=int,
        default=defaults.own_debates,
        help="problems the stage-1 model debates on to learn revising its own answers; 0 skips it "
        "(default: %(default)s)",
    )
    build.add_argument(
        "--revision-learning-rate",
        type=float,
        default=defaults.revision_learning_rate,
        help="stage 2's learning rate (default: %(default)s)",
    )
    build.add_argument(
        "--epochs",
        type=float,
        default=defaults.epochs,
        help="passes over stage 1's turns (default: %(default)s)",
    )
    build.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, help="stage 1's (default: %(default)s)"
    )
    build.add_argument("--batch-size", type=int, default=defaults.batch_size)
    build.add_argument("--hidden-size", type=int, default=defaults.hidden_size)
    build.add_argument("--layers", type=int, default=defaults.layers)
    build.add_argument("--vocab-size", type=int, default=defaults.vocab_size)
    build.add_argument("--device", default=defaults.device, help="auto, cpu or cuda (default: %(default)s)")
    build.add_argument("--seed", type=int, default=defaults.seed)
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=build_demo)


def build_demo(args: argparse.Namespace) -> int:
    from debate.demo_model import build_demo_model

    config = DemoConfig(
        problems=args.problems,
        debates=args.debates,
        own_debates=args.own_debates,
        revision_learning_rate=args.revision_learning_rate,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        hidden_size=args.hidden_size,
        layers=args.layers,
        vocab_size=args.vocab_size,
        device=args.device,
        seed=args.seed,
    )
    build = build_demo_model(args.out, config, progress=not args.quiet)
    print(
        f"demo model: {build.path}\n"
        f"  {build.parameters / 1e6:.2f}M parameters, {build.steps} steps on {build.solving_turns} solving, "
        f"{build.revision_turns} synthetic revision and {build.own_revision_turns} own-answer revision turns "
        f"in {build.seconds:.0f} s, final loss {build.final_loss:.3f}"
    )
    print(
        f"try it: debate demo   (or: debate ask arithmetic_rcr 'Ana has 12 apples. Ana buys 5 more. "
        f"How many apples does Ana have now?' --backend hf:{build.path})"
    )
    return 0
