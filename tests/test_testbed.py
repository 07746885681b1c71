"""The testbed end to end on a CPU: build the demo model from a fixed seed, debate, evolve (slow: tens of minutes).

Each test asserts the direction of one effect of docs/testbed.md on held-out
problems, with a paired bootstrap interval that must exclude zero, so that a
test fails when the effect is not there. The numbers are printed; the
commands in docs/testbed.md reproduce them.
"""

import pytest

from debate.demo import run_demo
from debate.demo_model import build_demo_model
from debate.metrics import bootstrap_ci
from debate.train.evolve import EvolveSettings, evolve
from debate.transcript import load_results

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def demo_model(tmp_path_factory):
    return build_demo_model(tmp_path_factory.mktemp("testbed") / "demo-model", progress=False).path


@pytest.fixture(scope="module")
def demo(demo_model, tmp_path_factory):
    result = run_demo(tmp_path_factory.mktemp("demo-runs"), items=500, model_dir=demo_model, progress="off")
    accuracy = result.accuracy
    print(
        f"\nsingle {accuracy.single.value:.3f}  round-0 majority {accuracy.majority_per_round[0].value:.3f}  "
        f"debate {accuracy.debate.value:.3f}  debate-single {accuracy.debate_minus_single}  "
        f"debate-majority {accuracy.debate_minus_round_zero_majority}"
    )
    return result


def test_the_demo_model_is_partially_competent(demo):
    assert 0.25 <= demo.accuracy.single.value <= 0.75


def test_debate_beats_one_agent_by_eight_points(demo):
    gain = demo.accuracy.debate_minus_single
    assert gain.value >= 0.08 and gain.low > 0
    assert demo.accuracy.debate.low > demo.accuracy.single.high  # intervals apart


def test_debate_beats_the_vote_over_its_first_answers_by_eight_points(demo):
    gain = demo.accuracy.debate_minus_round_zero_majority
    assert gain.value >= 0.08 and gain.low > 0
    assert demo.accuracy.debate.low > demo.accuracy.majority_per_round[0].high  # intervals apart


def test_one_evolve_round_raises_single_agent_accuracy_without_gold(demo_model, tmp_path):
    settings = EvolveSettings.model_validate(
        {
            "model": demo_model,
            "out": tmp_path / "evolve",
            "scenario": "arithmetic_rcr",
            "train_data": "arithmetic-train",
            "questions_per_round": 1500,
            "eval_data": "arithmetic",
            "max_rounds": 1,
            "method": "sft",
            "lora": None,
            "train": {
                "learning_rate": 5e-4,
                "epochs": 2,
                "batch_size": 16,
                "gradient_accumulation_steps": 1,
                "warmup_steps": 10,
            },
            "eval_sampling": {"max_tokens": 64},
            "concurrency": 256,
            "max_batch_size": 128,
        }
    )
    report = evolve(settings)

    base = _correct_per_item(tmp_path / "evolve" / "baseline")
    trained = _correct_per_item(tmp_path / "evolve" / "round-1" / "eval")
    gain = bootstrap_ci([trained[item] - base[item] for item in base], seed=0)
    print(f"\nevolve: {report.baseline.accuracy:.3f} -> {report.rounds[0].accuracy:.3f}, gain {gain}")
    assert gain.low > 0


def _correct_per_item(run_dir):
    return {
        result.metadata["item_id"]: float(bool(result.correct))
        for result in load_results(run_dir / "results.jsonl")
    }
