"""A bundled task family: multi-step arithmetic word problems in GSM8K's answer format, from a seed.

The testbed of the framework. Real benchmarks need real models; on a laptop
CPU a model that can learn in minutes answers none of GSM8K, so nothing about
debate or DTE can be seen. These problems are small enough to learn in
minutes and hard enough that one sample is often wrong::

    Ana has 23 marbles. Ana finds 15 more. Ben has 12 shells. Then Ana loses 8.
    How many marbles does Ana have now?

    Ana finds 15 more: 23 + 15 = 38
    Ana loses 8: 38 - 8 = 30
    #### 30

Each problem is drawn from its own seeded random stream, so a split is the
same list on every machine. Splits never share a problem: a problem's
arithmetic (start, operations, operands), whatever its wording, hashes into
exactly one split. ``arithmetic`` (test), ``arithmetic-train`` (questions for
``debate evolve``) and ``build`` (what ``debate model build-demo`` learns
from, with its solutions) are disjoint.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Literal

from debate.datasets import Item

Method = Literal["in order", "last step first", "changes first"]
"""A way to solve a (two-step) problem: different arithmetic to the same answer."""

METHOD_PROMPTS: dict[Method, str] = {
    "in order": "Solve step by step. End with #### and the answer.",
    "last step first": "Solve step by step, last step first. End with #### and the answer.",
    "changes first": "Solve step by step, changes first. End with #### and the answer.",
}
"""The system prompt that asks for each method: ``arithmetic_rcr`` gives each debater one.

Debaters that solve the same way slip on the same digits, so their votes and
revisions add little; methods that do different arithmetic slip on different
problems (DMAD's diverse reasoning methods). ``in order`` is the default and
the baseline's (``arithmetic_single``).
"""

PROMPTS: dict[str, str] = {
    "debater.system": METHOD_PROMPTS["in order"],
    "debater.first_round": "{context}Question: {question}",
    "debater.later_round": "{context}{peers}\nYou said: {own_answer}\nQuestion: {question}",
    "debater.peer": "Agent {author} said: {answer}",
}
"""The testbed scenarios' prompts (``Scenario.prompts``), short because the demo model reads them on a CPU.

Every token of a prompt costs training time, and the demo model is taught on
exactly these. Later rounds show the peers' answers and the debater's own
(the ``rcr`` protocol fills ``{answer}`` and ``{own_answer}``), then the
question again: the model revises by solving once more with the answers in
view, the skill it was trained on from the start. Whole solutions in view
made revisions far worse than solving (docs/testbed.md).
"""

Split = Literal["test", "train", "build"]

SPLIT_SIZES: dict[Split, int] = {"test": 500, "train": 20_000, "build": 60_000}
"""How many problems each split holds by default."""

_SPLIT_BUCKETS: dict[Split, range] = {"test": range(0, 2), "train": range(2, 8), "build": range(8, 20)}
"""Which of 20 hash buckets belong to each split (test 10%, train 30%, build 60% of all problems)."""

_NAMES = (
    "Ana",
    "Ben",
    "Cara",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
)
_ITEMS = ("apples", "marbles", "stickers", "coins", "books", "shells", "cards", "pens", "stamps", "beads")
_ADD = ("buys {n} more", "finds {n} more", "gets {n} more", "wins {n} more")
_SUBTRACT = ("gives away {n}", "loses {n}", "sells {n}", "uses {n}")


@dataclass(frozen=True)
class Difficulty:
    """The knobs of the task family. The defaults are the testbed's (docs/testbed.md has what a CPU model reaches).

    - ``steps``: operations per problem (inclusive range).
    - ``start``: the first quantity.
    - ``operand``: each added or subtracted quantity (a subtraction never goes below zero).
    - ``distractors``: sentences about someone else's things, which the solution must ignore.
    """

    steps: tuple[int, int] = (2, 2)
    start: tuple[int, int] = (10, 50)
    operand: tuple[int, int] = (2, 20)
    distractors: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        for name in ("steps", "start", "operand", "distractors"):
            low, high = getattr(self, name)
            if low > high or low < 0:
                raise ValueError(
                    f"Difficulty.{name}: expected (low, high) with 0 <= low <= high, got {(low, high)}"
                )
        if self.steps[0] < 1 or self.operand[0] < 1:
            raise ValueError("Difficulty: steps and operands start at 1 or more")


@dataclass(frozen=True)
class Step:
    """One operation of a problem: the sentence that states it, and its arithmetic."""

    action: str
    """As the question says it, less ``Then`` and the full stop: ``"Nia wins 7 more"``."""
    symbol: Literal["+", "-"]
    operand: int

    def apply(self, value: int) -> int:
        return value + self.operand if self.symbol == "+" else value - self.operand


@dataclass(frozen=True)
class Problem:
    """One generated problem: its text and its steps, from which the worked solution follows."""

    question: str
    start: int
    steps: tuple[Step, ...]

    @property
    def solution(self) -> str:
        """One line per step, then ``#### <answer>``: GSM8K's format."""
        return worked_solution(self.start, self.steps)

    @property
    def answer(self) -> int:
        value = self.start
        for step in self.steps:
            value = step.apply(value)
        return value

    @property
    def key(self) -> str:
        """The arithmetic alone, whatever the wording: what decides the problem's split."""
        return " ".join([str(self.start), *(f"{step.symbol}{step.operand}" for step in self.steps)])

    def item(self, item_id: str) -> Item:
        return Item(
            id=item_id, question=self.question, gold=str(self.answer), context={"solution": self.solution}
        )


def worked_solution(start: int, steps: Sequence[Step], *, slip: tuple[int, int] | None = None) -> str:
    """The solution lines for ``steps`` from ``start``; ``slip=(step, error)`` adds ``error`` to that step's result.

    Each line restates its step before the arithmetic (``Nia wins 7 more: 17 + 7 = 24``), as worked
    solutions do; a small model finds the next operand by copying the question's next sentence far
    more easily than by counting sentences. Later lines start from what the earlier lines wrote,
    so a slip carries through to the answer.
    """
    lines, value = [], start
    for index, step in enumerate(steps):
        result = step.apply(value) + (slip[1] if slip and slip[0] == index else 0)
        lines.append(f"{step.action}: {value} {step.symbol} {step.operand} = {result}")
        value = result
    return "\n".join([*lines, f"#### {value}"])


def method_solution(problem: Problem, method: Method) -> str:
    """``problem``'s worked solution written with ``method``; every method ends in the same answer.

    - ``in order``: the question's order (``Problem.solution``);
    - ``last step first``: the steps in reverse order, unless a count would go below zero on the way;
    - ``changes first``: the two changes combined first, then applied to the start.

    The last two are defined for two-step problems (the testbed's default) and raise ``ValueError`` otherwise.
    """
    if method == "in order":
        return problem.solution
    if len(problem.steps) != 2:
        raise ValueError(f"method {method!r} needs a two-step problem, this one has {len(problem.steps)}")
    first, second = problem.steps
    if method == "last step first":
        order = (second, first) if second.apply(problem.start) >= 0 else (first, second)
        return worked_solution(problem.start, order)
    if method != "changes first":
        raise ValueError(f"method: expected one of {', '.join(METHOD_PROMPTS)}, got {method!r}")
    if first.symbol == second.symbol:
        net, sign = first.operand + second.operand, first.symbol
        change = f"{first.operand} + {second.operand} = {net}"
    else:
        plus, minus = (first, second) if first.symbol == "+" else (second, first)
        net, sign = abs(plus.operand - minus.operand), "+" if plus.operand >= minus.operand else "-"
        larger, smaller = sorted((plus.operand, minus.operand), reverse=True)
        change = f"{larger} - {smaller} = {net} {'more' if sign == '+' else 'fewer'}"
    owner = problem.question.split(".")[0]  # "Eli has 27 pens": each line restates its sentence
    both = f"{first.action} and {second.action.split(' ', 1)[1]}"
    return (
        f"{both}: {change}\n{owner}: {problem.start} {sign} {net} = {problem.answer}\n#### {problem.answer}"
    )


SLIPS = (-11, -10, -9, -2, -1, 1, 2, 9, 10, 11)
"""Result errors of a small model: off by one or two, a dropped or extra carry (the demo model's wrong hints)."""


def generate_problem(rng: random.Random, difficulty: Difficulty = Difficulty()) -> Problem:  # noqa: B008 - frozen
    """One problem drawn from ``rng``."""
    name, other = rng.sample(_NAMES, 2)
    thing, other_thing = rng.sample(_ITEMS, 2)
    start = value = rng.randint(*difficulty.start)
    sentences = [f"{name} has {value} {thing}."]
    steps: list[Step] = []
    for index in range(rng.randint(*difficulty.steps)):
        subtract = value >= difficulty.operand[0] and rng.random() < 0.5
        high = min(difficulty.operand[1], value) if subtract else difficulty.operand[1]
        operand = rng.randint(difficulty.operand[0], high)
        action = f"{name} {rng.choice(_SUBTRACT if subtract else _ADD).format(n=operand)}"
        sentences.append(f"{'Then ' if index else ''}{action}.")
        steps.append(Step(action=action, symbol="-" if subtract else "+", operand=operand))
        value = steps[-1].apply(value)
    for _ in range(rng.randint(*difficulty.distractors)):
        position = rng.randint(1, len(sentences))
        sentences.insert(position, f"{other} has {rng.randint(*difficulty.start)} {other_thing}.")
    sentences.append(f"How many {thing} does {name} have now?")
    return Problem(question=" ".join(sentences), start=start, steps=tuple(steps))


def split_of(problem: Problem) -> Split:
    """The one split a problem belongs to, from a hash of its arithmetic."""
    bucket = int.from_bytes(hashlib.sha256(problem.key.encode()).digest()[:4], "big") % 20
    return next(split for split, buckets in _SPLIT_BUCKETS.items() if bucket in buckets)


def problems(
    split: Split = "test",
    *,
    seed: int = 0,
    difficulty: Difficulty = Difficulty(),  # noqa: B008 - frozen
    limit: int | None = None,
) -> Iterator[Problem]:
    """The problems of ``split`` in order: the same sequence for the same seed and difficulty everywhere.

    ``limit`` is how many to yield; ``None`` means the split's size (``SPLIT_SIZES``).
    """
    wanted = SPLIT_SIZES[split] if limit is None else limit
    found = 0
    for index in count():
        if found >= wanted:
            return
        problem = generate_problem(random.Random(f"arithmetic:{seed}:{index}"), difficulty)
        if split_of(problem) == split:
            found += 1
            yield problem


def load_arithmetic(split: Split = "test", *, seed: int = 0, limit: int | None = None) -> Iterator[Item]:
    """Items of the arithmetic task: gold is the number, the worked solution a hidden ``solution`` field."""
    for index, problem in enumerate(problems(split, seed=seed, limit=limit)):
        yield problem.item(f"arithmetic-{split}-{index}")
