"""``debate model build-demo``: train the embedded demo model, so debates run on a real model without a download."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from debate.demo_model import DemoConfig, default_demo_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("model", help="build local models", description="Build local models.")
    commands = parser.add_subparsers(dest="model_command", metavar="MODEL_COMMAND", required=True)
    build = commands.add_parser(
        "build-demo",
        help="train the small demo model for the arithmetic testbed (under 3 minutes on 2 CPU cores)",
        description="Train a small chat model on the CPU for the bundled arithmetic task, in the prompts of the "
        "arithmetic_rcr and arithmetic_single scenarios: to solve in three methods (one per debater of "
        "arithmetic_rcr), and to revise in a debate (later rounds with its own and its peers' first answers in "
        "view, sometimes right and sometimes wrong, answered with the correct solution), then to revise in "
        "debates of its own (it debates unseen problems; where its answers disagree, it learns the correct "
        "solution after reading them, while its first answers are kept as it wrote them). "
        "Saved in Hugging Face format; use it with --backend hf:DIR. `debate demo` builds it when missing.",
    )
    defaults = DemoConfig()
    build.add_argument(
        "--out",
        default=None,
        help=f"output directory (default: $DEBATE_HOME/demo-model, here {default_demo_dir()})",
    )
    build.add_argument(
        "--turns",
        type=int,
        default=defaults.turns,
        help="training turns, one problem each (default: %(default)s)",
    )
    build.add_argument(
        "--revision-share",
        type=float,
        default=defaults.revision_share,
        help="share of the turns that are later-round revisions (default: %(default)s)",
    )
    build.add_argument(
        "--stop-when-solved",
        type=_share_or_off,
        default=defaults.stop_when_solved,
        metavar="SHARE",
        help="stage 1 stops once the model writes this share of held-out solutions exactly; the model learns "
        "in a sudden transition, so this decides how good it gets; 'off' trains for --steps (default: "
        "%(default)s)",
    )
    build.add_argument(
        "--steps",
        type=int,
        default=defaults.steps,
        help="stage 1 stops after this many steps at most (default: the whole schedule)",
    )
    build.add_argument(
        "--own-debates",
        type=int,
        default=defaults.own_debates,
        help="problems the stage-1 model debates to learn revising its own answers; 0 skips it "
        "(default: %(default)s)",
    )
    build.add_argument(
        "--revision-learning-rate",
        type=float,
        default=defaults.revision_learning_rate,
        help="stage 2's learning rate (default: %(default)s)",
    )
    build.add_argument(
        "--keep-first-answers",
        action=argparse.BooleanOptionalAction,
        default=defaults.keep_first_answers,
        help="stage 2 also trains on the model's first answers in its own debates as it wrote them, right or "
        "wrong, so that it learns to revise without getting better at answering first, and the debate has "
        "something to repair (docs/testbed.md, x24; default: on)",
    )
    build.add_argument(
        "--epochs",
        type=float,
        default=defaults.epochs,
        help="passes over the turns that the learning-rate schedule spans (default: %(default)s)",
    )
    build.add_argument(
        "--learning-rate",
        type=float,
        default=defaults.learning_rate,
        help="stage 1's peak learning rate for AdamW: the embedding and norms, or every weight with "
        "--muon-learning-rate off (default: %(default)s)",
    )
    build.add_argument(
        "--muon-learning-rate",
        type=_rate_or_off,
        default=defaults.muon_learning_rate,
        metavar="RATE",
        help="stage 1 trains the matrices inside the layers with Muon at this peak rate, the rest with AdamW "
        "at --learning-rate: its transition comes in less than half the steps of AdamW alone "
        "(docs/testbed.md, x22); 'off': AdamW for every weight (default: %(default)s)",
    )
    build.add_argument("--batch-size", type=int, default=defaults.batch_size)
    build.add_argument("--hidden-size", type=int, default=defaults.hidden_size)
    build.add_argument("--layers", type=int, default=defaults.layers)
    build.add_argument("--vocab-size", type=int, default=defaults.vocab_size)
    build.add_argument("--device", default=defaults.device, help="auto, cpu or cuda (default: %(default)s)")
    build.add_argument("--seed", type=int, default=defaults.seed)
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(func=build_demo)


def _number_or_off(valid: Callable[[float], bool], expected: str) -> Callable[[str], float | None]:
    """An argparse type: a number that ``valid`` accepts, or 'off' (None)."""

    def parse(text: str) -> float | None:
        if text.lower() in ("off", "none"):
            return None
        number = float(text)
        if not valid(number):
            raise argparse.ArgumentTypeError(f"expected {expected}, or 'off'; got {text}")
        return number

    return parse


_share_or_off = _number_or_off(lambda share: 0.0 <= share <= 1.0, "a share between 0 and 1")
_rate_or_off = _number_or_off(lambda rate: rate > 0, "a learning rate above 0")


def build_demo(args: argparse.Namespace) -> int:
    from debate.demo_model import build_demo_model

    config = DemoConfig(
        turns=args.turns,
        revision_share=args.revision_share,
        steps=args.steps,
        stop_when_solved=args.stop_when_solved,
        own_debates=args.own_debates,
        revision_learning_rate=args.revision_learning_rate,
        keep_first_answers=args.keep_first_answers,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        muon_learning_rate=args.muon_learning_rate,
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
        f"{build.revision_turns} revision, {build.own_revision_turns} own-debate revision and "
        f"{build.own_first_answers} own first-answer turns in {build.seconds:.0f} s, final loss "
        f"{build.final_loss:.3f}"
    )
    if build.solved is not None:
        print(
            f"  stage 1 stopped after {build.stage_one_steps} steps, writing {build.solved:.1%} "
            "of held-out solutions exactly"
        )
    print(
        f"try it: debate demo   (or: debate ask arithmetic_rcr 'Ana has 12 apples. Ana buys 5 more. "
        f"How many apples does Ana have now?' --backend hf:{build.path})"
    )
    return 0
