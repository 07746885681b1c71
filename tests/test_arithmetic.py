"""The testbed task (``debate.arithmetic``): seeded GSM8K-style problems, disjoint splits, three solving methods."""

import re
from itertools import islice

import pytest

from debate.arithmetic import (
    METHOD_PROMPTS,
    Difficulty,
    load_arithmetic,
    method_solution,
    problems,
    split_of,
)
from debate.datasets import BUILTIN_DATASETS, load_items
from debate.loading import load_scenario

SOLUTION_LINE = re.compile(r"^[A-Z][a-z]+ [a-z ]+ \d+(?: more)?: -?\d+ [+-] \d+ = -?\d+$")
"""One worked step, as GSM8K writes them: ``38 - 8 = 30``."""


def final_line(solution: str) -> str:
    return solution.splitlines()[-1]


def test_the_same_seed_gives_the_same_problems_everywhere():
    first = list(problems("test", seed=0, limit=50))
    assert list(problems("test", seed=0, limit=50)) == first
    assert [problem.question for problem in problems("test", seed=1, limit=50)] != [p.question for p in first]
    assert [item.id for item in load_arithmetic("test", limit=3)] == [
        "arithmetic-test-0",
        "arithmetic-test-1",
        "arithmetic-test-2",
    ]


def test_the_splits_never_share_a_problem_whatever_its_wording():
    keys = {
        split: {problem.key for problem in problems(split, limit=3000)}
        for split in ("test", "train", "build")
    }
    assert not keys["test"] & keys["train"]
    assert not keys["test"] & keys["build"]
    assert not keys["train"] & keys["build"]
    assert all(split_of(problem) == "train" for problem in problems("train", limit=200))


def test_every_gold_is_what_the_scenarios_parser_reads_from_the_solutions_last_line():
    parse = load_scenario("arithmetic_rcr").parser
    for item in load_arithmetic("test"):
        solution = item.context["solution"]
        assert final_line(solution) == f"#### {item.gold}"
        assert parse(solution).answer == item.gold
        assert all(SOLUTION_LINE.match(line) for line in solution.splitlines()[:-1])


def test_every_method_does_correct_arithmetic_of_its_own_and_ends_in_the_gold():
    parse = load_scenario("arithmetic_rcr").parser
    arithmetic = re.compile(r"(\d+) ([+-]) (\d+) = (\d+)")
    differ = 0
    for problem in problems("test", limit=300):
        sums = {}
        for method in METHOD_PROMPTS:
            solution = method_solution(problem, method)
            assert parse(solution).answer == str(problem.answer)
            lines = arithmetic.findall(solution)
            for left, sign, right, result in lines:
                assert int(left) + (int(right) if sign == "+" else -int(right)) == int(result) >= 0
            sums[method] = [result for *_, result in lines[:-1]]  # the intermediate results
        differ += len({tuple(middle) for middle in sums.values()}) == 3
    assert differ > 250  # three methods, three different ways to the answer


def test_methods_other_than_in_order_need_two_steps():
    three_steps = next(problems("test", difficulty=Difficulty(steps=(3, 3))))
    assert method_solution(three_steps, "in order") == three_steps.solution
    with pytest.raises(ValueError, match="needs a two-step problem, this one has 3"):
        method_solution(three_steps, "last step first")


def test_harder_problems_have_more_steps_and_distractors():
    hard = Difficulty(steps=(4, 4), distractors=(2, 2))
    for problem in problems("test", difficulty=hard, limit=20):
        assert len(problem.steps) == 4
        assert len(problem.solution.splitlines()) == 5
        assert problem.question.count(" has ") == 3  # the subject's start, and two distractors


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        ({"steps": (3, 2)}, "Difficulty.steps"),
        ({"start": (-1, 5)}, "Difficulty.start"),
        ({"operand": (9, 1)}, "Difficulty.operand"),
        ({"distractors": (2, 1)}, "Difficulty.distractors"),
        ({"steps": (0, 2)}, "steps"),
        ({"operand": (0, 5)}, "operand"),
    ],
)
def test_difficulty_errors_name_the_knob(knobs, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        Difficulty(**knobs)


def test_the_builtin_datasets_are_the_test_and_train_splits():
    assert {"arithmetic", "arithmetic-train"} <= set(BUILTIN_DATASETS)
    test = list(load_items("arithmetic"))
    assert len(test) == 500
    assert test[0] == next(load_arithmetic("test"))
    train = list(islice(load_items("arithmetic-train"), 5))
    assert [item.id for item in train] == [f"arithmetic-train-{index}" for index in range(5)]
    assert all(item.gold is not None and item.context["solution"] for item in train)
