"""Prototype x15 of docs/testbed.md: debaters taught different solving methods, revising from peers' answers.

Not the shipped demo model: the closest any build has come to debate beating
one agent on the testbed, kept so that the next attempt starts from it. One
model learns three ways to solve the same problem, one per system prompt
(question order, the default; last step first; changes first), and, from the
start, revision turns that show the peers' *answers* only
(``Agent b said: 50`` / ``You said: 49`` / ``Question: ...``), answered with
the correct solution in the debater's own method. Training stops at step
2,600 of a 4,000-step schedule, the middle of the model's learning curve.

    python benchmarks/testbed_methods.py build runs/x15/model        # about 5 minutes on 2 cores
    # one agent (the default method: exactly arithmetic_single's prompt)
    debate run arithmetic_single --data arithmetic --limit 500 --seed 0 --out runs/x15/single \\
        --backend 'hf:runs/x15/model?max_batch_size=128' --concurrency 256
    # the debate: one method per debater; TESTBED_TEMPERATURES sets the schedule (hot round 0 by default)
    TESTBED_TEMPERATURES=1.0,0,0 debate run benchmarks/testbed_methods.py --data arithmetic --limit 500 \\
        --seed 0 --out runs/x15/debate --backend 'hf:runs/x15/model?max_batch_size=128' --concurrency 256
    # DTE: with each trace under its author's prompt (what debate evolve does), see docs/testbed.md, x15
    TESTBED_TEMPERATURES=0,0,0 debate evolve --model runs/x15/model --scenario benchmarks/testbed_methods.py ...
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

from debate import Debater, SamplingParams, Scenario
from debate.arithmetic import _SLIPS, PROMPTS, Problem, problems, worked_solution

METHOD_PROMPTS = (
    "Solve step by step. End with #### and the answer.",  # the default: arithmetic_single's prompt
    "Solve step by step, last step first. End with #### and the answer.",
    "Solve step by step, changes first. End with #### and the answer.",
)
DEBATERS = ("a", "b", "c")
"""Debater ``DEBATERS[m]`` solves with method ``m``."""

ANSWER_PROMPTS = {
    **PROMPTS,
    "debater.later_round": "{context}{peers}You said: {own_answer}\nQuestion: {question}",
    "debater.peer": "Agent {author} said: {answer}\n",
}
"""Later rounds show answers, not solutions: short prompts the model can revise in with its solving skill."""


def method_solution(problem: Problem, method: int) -> str:
    """``problem``'s two-step solution written with ``method`` (an index into ``METHOD_PROMPTS``)."""
    first, second = problem.steps
    if method == 0:
        return problem.solution
    if method == 1:
        # last step first, unless that would go below zero
        order = (second, first) if second.apply(problem.start) >= 0 else (first, second)
        return worked_solution(problem.start, order)
    if first.symbol == second.symbol:
        net, sign = first.operand + second.operand, first.symbol
        change = f"{first.operand} + {second.operand} = {net}"
    else:
        plus, minus = (first, second) if first.symbol == "+" else (second, first)
        net, sign = abs(plus.operand - minus.operand), "+" if plus.operand >= minus.operand else "-"
        larger, smaller = sorted((plus.operand, minus.operand), reverse=True)
        change = f"{larger} - {smaller} = {net} {'more' if sign == '+' else 'fewer'}"
    start = problem.question.split(".")[0]  # "Eli has 27 pens": restated, as every line restates its sentence
    both = f"{first.action} and {second.action.split(' ', 1)[1]}"
    return (
        f"{both}: {change}\n{start}: {problem.start} {sign} {net} = {problem.answer}\n#### {problem.answer}"
    )


def training_turns(count: int, revision_share: float = 0.4, seed: int = 0) -> list[list[dict[str, str]]]:
    """Solving turns and answer-hint revision turns (hints right with probability 0.2-0.8, else slipped)."""
    rng = random.Random(seed)
    turns = []
    for problem in problems("build", limit=count):
        method = rng.randrange(len(METHOD_PROMPTS))
        user = f"Question: {problem.question}"
        if rng.random() < revision_share:
            right = rng.choice((0.2, 0.4, 0.6, 0.8))

            def hint(problem: Problem = problem, right: float = right) -> int:
                if rng.random() < right:
                    return problem.answer
                while (slipped := problem.answer + rng.choice(_SLIPS)) < 0:
                    pass
                return slipped

            peers = "".join(f"Agent {name} said: {hint()}\n" for name in DEBATERS if name != DEBATERS[method])
            user = f"{peers}You said: {hint()}\n{user}"
        turns.append(
            [
                {"role": "system", "content": METHOD_PROMPTS[method]},
                {"role": "user", "content": user},
                {"role": "assistant", "content": method_solution(problem, method)},
            ]
        )
    return turns


def build(out: Path, *, turns: int = 64_000, stop_at: int = 2_600, seed: int = 0) -> None:
    """Train from scratch on ``turns`` turns in the demo model's architecture; save after ``stop_at`` steps."""
    from jinja2 import Template

    from debate import demo_model
    from debate.runner.progress import resolve_mode
    from debate.tiny_model import CHAT_TEMPLATE, init_model, save_model, train_tokenizer

    conversations = training_turns(turns, seed=seed)
    template = Template(CHAT_TEMPLATE)
    tokenizer = train_tokenizer(
        (template.render(messages=c) for c in conversations[:3000]), vocab_size=512, digits=True
    )
    model = init_model(tokenizer, hidden_size=128, layers=3, heads=4, max_positions=512, seed=seed)
    config = demo_model.DemoConfig(seed=seed)
    batches = demo_model._length_bucketed_batches(demo_model._tokenize(tokenizer, conversations), config)

    class FirstSteps(list):
        """The whole schedule's length (the learning rate follows it), the first ``stop_at`` batches."""

        def __len__(self) -> int:
            return len(batches)

        def __iter__(self):  # noqa: ANN204
            return iter(batches[:stop_at])

    progress = resolve_mode(True)  # bars on a terminal, a line every 30 s otherwise
    demo_model._train(model, FirstSteps(), tokenizer.pad_token_id, config, "cpu", progress, "x15")
    save_model(model, tokenizer, out)


_temperatures = [float(t) for t in os.environ.get("TESTBED_TEMPERATURES", "1.0,0,0").split(",")]
scenario = Scenario(
    name="arithmetic-methods-rcr",
    agents=[
        Debater(name, sampling=SamplingParams(max_tokens=64), prompts={"debater.system": prompt})
        for name, prompt in zip(DEBATERS, METHOD_PROMPTS, strict=True)
    ],
    protocol="rcr",
    rounds=3,
    topology="full",
    stop="consensus",
    answer="number",
    prompts=ANSWER_PROMPTS,
    temperature_schedule=_temperatures,
    context_visibility={"solution": []},
)

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["build"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--stop-at", type=int, default=2_600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    build(args.out, stop_at=args.stop_at, seed=args.seed)
    print(f"model: {args.out}", file=sys.stderr)
