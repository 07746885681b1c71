"""The self-improving judge (Self-Rationalization): sample a judge K times per debate, prefer the rationales
that agree with its own majority verdict over those that do not, train it with DPO, repeat.

The judges here are scripted: each debate's K verdicts are written out, so which pairs come out (and
which debates are skipped) is known exactly. Gold answers must never decide a pair.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from pathlib import Path

import pytest
from export_support import assistant_text, gsm_results, rows, train_one_step, write_run

from debate import BackendError, ScriptedBackend
from debate.cli import main
from debate.export import export_run
from debate.train.judging import (
    SELF_JUDGE,
    contested_verdict_accuracy,
    judge_run,
    read_judging,
    verdict_scores,
)
from debate.transcript import load_results

K = 4
"""Verdicts sampled per debate."""

# The gsm run's final rounds (gold in brackets): overturned 5 5 5 [5], all-agree 4 4 4 [4],
# tie 7 8 - [7], wrong-majority 10 10 12 [12].
VERDICTS = {
    # the judge's majority is 12 (gold): 12 over 10
    "wrong-majority": [
        "c checked 6 + 6.\n#### 12",
        "6 + 6 = 12\n#### 12",
        "a and b agree.\n#### 10",
        "#### 12",
    ],
    # 7 7 8 8: the judge ties with itself, no pair
    "tie": ["#### 7", "3 + 4 = 7\n#### 7", "#### 8", "b is right.\n#### 8"],
    # all four agree: nothing to prefer
    "all-agree": ["#### 4"] * K,
    # a majority of 6 against gold 5; one verdict unparsed. The pair follows the judge, not gold.
    "overturned": ["2 + 3 = 6\n#### 6", "#### 6", "They all say 5.\n#### 5", "I cannot decide."],
}


def scripted_judge(verdicts: dict[str, list[str]] = VERDICTS, **backend: object) -> ScriptedBackend:
    """Answers each debate's K samples in order (the backend reads a function script once per sample)."""
    drawn: dict[str, int] = {}

    def verdict(request) -> str:  # noqa: ANN001 - ChatRequest
        index = drawn.get(request.debate_id, 0)
        drawn[request.debate_id] = index + 1
        return verdicts[request.debate_id][index % K]

    return ScriptedBackend(verdict, **backend)  # type: ignore[arg-type]


@pytest.fixture
def judged(tmp_path: Path) -> Path:
    run = write_run(tmp_path / "run", gsm_results())
    judge_run(run, scripted_judge(), tmp_path / "judged", samples=K)
    return tmp_path / "judged"


def test_judging_adds_one_verdict_per_debate_with_all_k_samples_on_the_quoted_final_round(judged):
    results = {result.debate_id: result for result in load_results(judged / "results.jsonl")}

    assert sorted(results) == sorted(VERDICTS)
    verdict = results["wrong-majority"].transcript.verdicts()[-1]
    assert verdict.author == SELF_JUDGE and verdict.round == 1  # the last round of the two
    assert [sample.text for sample in verdict.samples] == VERDICTS["wrong-majority"]
    assert [sample.answer for sample in verdict.samples] == ["12", "12", "10", "12"]
    read = [m for m in results["wrong-majority"].transcript.messages if m.id in verdict.responds_to]
    assert [(m.author, m.round) for m in read] == [("a", 1), ("b", 1), ("c", 1)]
    assert read_judging(judged).judged == 4


def test_self_reference_prefers_the_judges_majority_and_skips_ties_and_unanimous_debates(judged, tmp_path):
    report = export_run(judged, "judge", tmp_path / "data", reference="self")
    pairs = {row["item_id"]: row for row in rows(tmp_path / "data")}

    assert sorted(pairs) == ["overturned", "wrong-majority"]
    majority = pairs["wrong-majority"]
    assert (majority["reference"], majority["chosen_verdict"], majority["rejected_verdict"]) == (
        "12",
        "12",
        "10",
    )
    assert assistant_text(majority["chosen"]) == "c checked 6 + 6.\n#### 12"  # the first agreeing sample
    assert assistant_text(majority["rejected"]) == "a and b agree.\n#### 10"
    user = majority["prompt"][1]["content"]
    assert (
        '<response agent="c">\n6 * 2 = 12\n#### 12\n</response>' in user
    )  # debater text quoted as untrusted
    assert report.skipped == {"judge tie": 1, "judge unanimous": 1}
    assert report.counts == {
        "unparsed verdicts": 1,
        "verdicts with the judge's majority": 5,
        "verdicts against the judge's majority": 2,
    }
    # the card reports the judge's majority against gold: right on wrong-majority, wrong on overturned
    assert (report.labeled, report.gold_checked, report.pseudo_label_accuracy) == (2, 2, 0.5)
    card = (tmp_path / "data" / "README.md").read_text()
    assert "| skipped: judge tie | 1 |" in card and "| skipped: judge unanimous | 1 |" in card


def test_self_reference_never_reads_gold(judged, tmp_path):
    """The same judged debates with the gold answers removed, or changed, give the very same pairs."""
    with_gold = export_run(judged, "judge", tmp_path / "gold", reference="self")
    overturned = next(row for row in rows(tmp_path / "gold") if row["item_id"] == "overturned")
    assert (overturned["chosen_verdict"], overturned["rejected_verdict"]) == ("6", "5")  # against gold 5

    for name, gold in (("no-gold", None), ("other-gold", "999")):
        results = [
            result.model_copy(update={"gold": gold}) for result in load_results(judged / "results.jsonl")
        ]
        export_run(write_run(tmp_path / name, results), "judge", tmp_path / f"{name}-data", reference="self")
        assert rows(tmp_path / f"{name}-data") == rows(tmp_path / "gold")
    assert with_gold.rows == 2


def test_the_most_confident_agreeing_rationale_is_chosen_first(tmp_path):
    run = write_run(
        tmp_path / "run", [result for result in gsm_results() if result.debate_id == "wrong-majority"]
    )
    verdicts = {"wrong-majority": ["maybe 12\n#### 12", "surely 12\n#### 12", "#### 12", "#### 10"]}
    # the judge is most sure of the words of "surely 12"
    judge = scripted_judge(verdicts, token_logprob=lambda word: -0.1 if "surely" in word else -2.0)
    judge_run(run, judge, tmp_path / "judged", samples=K)
    export_run(tmp_path / "judged", "judge", tmp_path / "data", reference="self", max_pairs_per_group=1)

    [pair] = rows(tmp_path / "data")
    assert assistant_text(pair["chosen"]) == "surely 12\n#### 12"


def test_judge_accuracy_scores_contested_debates_with_gold_among_the_answers(tmp_path):
    run = write_run(tmp_path / "run", gsm_results())
    greedy = {"wrong-majority": ["#### 12"] * K, "tie": ["#### 9"] * K, "all-agree": ["#### 4"] * K}
    greedy["overturned"] = ["#### 5"] * K
    report = judge_run(run, scripted_judge(greedy), tmp_path / "judged", samples=1)

    # contested: tie (7, 8; gold 7) and wrong-majority (10, 12; gold 12); 9 names neither side
    accuracy = report.accuracy
    assert (accuracy.verdicts, accuracy.contested, accuracy.scored, accuracy.correct, accuracy.outside) == (
        4,
        2,
        2,
        1,
        1,
    )
    assert accuracy.accuracy is not None and accuracy.accuracy.value == 0.5 and accuracy.accuracy.n == 2
    scores = verdict_scores(load_results(tmp_path / "judged" / "results.jsonl"))
    assert scores == {"tie/r1/self_judge/verdict": False, "wrong-majority/r1/self_judge/verdict": True}
    assert contested_verdict_accuracy(load_results(tmp_path / "judged" / "results.jsonl")) == accuracy


def test_a_verdict_the_backend_fails_on_is_kept_without_an_answer_and_the_others_are_judged(tmp_path):
    run = write_run(tmp_path / "run", gsm_results())
    greedy = {debate: ["#### 5"] * K for debate in VERDICTS}

    key = f"sk-test-{secrets.token_hex(16)}"

    def judge(request) -> str:  # noqa: ANN001 - ChatRequest
        if request.debate_id == "tie":
            raise BackendError(f"400 the prompt is longer than the model's 512 positions; key {key}")
        return greedy[request.debate_id][0]

    report = judge_run(run, ScriptedBackend(judge), tmp_path / "judged", samples=1)

    verdicts = {
        result.debate_id: result.transcript.verdicts()[-1]
        for result in load_results(tmp_path / "judged" / "results.jsonl")
    }
    assert report.judged == 4 and report.failed == 1
    assert {debate: verdict.answer for debate, verdict in verdicts.items()} == {
        "wrong-majority": "5",
        "tie": None,
        "all-agree": "5",
        "overturned": "5",
    }
    assert verdicts["tie"].parse_error.startswith("judge failed: BackendError: 400 the prompt is longer")
    assert key not in verdicts["tie"].parse_error  # errors are redacted like everything written


def test_judging_resumes_and_refuses_other_settings(judged, tmp_path):
    again = scripted_judge()
    report = judge_run(tmp_path / "run", again, judged, samples=K)

    assert again.calls == [] and report.judged == 4
    with pytest.raises(ValueError, match="samples: .* was judged with samples=4"):
        judge_run(tmp_path / "run", scripted_judge(), judged, samples=2)


def test_judge_prompt_can_be_reworded_but_must_read_the_responses(tmp_path):
    run = write_run(tmp_path / "run", gsm_results())
    judge = scripted_judge()
    short = {"system": "Pick the right answer.", "user": "{responses}\nQuestion: {question}"}
    judge_run(run, judge, tmp_path / "judged", samples=K, options={"judge_prompt": short})

    [system, user] = judge.calls[0].messages
    assert system.content == "Pick the right answer."
    assert user.content.startswith('<response agent="a">') and user.content.endswith(
        "Question: What is 2 + 3?"
    )
    export_run(tmp_path / "judged", "judge", tmp_path / "data", reference="self", judge_prompt=short)
    assert all(row["prompt"][1]["content"] == user.content for row in rows(tmp_path / "data")[:1])
    with pytest.raises(ValueError, match=r"judge_prompt.user: .*must contain \{responses\}"):
        judge_run(run, judge, tmp_path / "other", options={"judge_prompt": {"user": "{question}"}})


def test_cli_judge_then_export_then_one_dpo_step(tiny_model_dir, tmp_path, capsys):
    """The documented command sequence, with a scripted judge that always says 5, then a real DPO step."""
    run = write_run(tmp_path / "run", gsm_results())
    assert (
        main(
            ["judge", str(run), "--model", "scripted:#### 5", "--out", str(tmp_path / "j"), "--samples", "2"]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "4 debates judged (2 samples each)" in printed and "judge accuracy: 0.0% [0.0, 0.0]" in printed

    # an always-5 judge agrees with itself: nothing to prefer, the export says so
    assert main(["export", str(tmp_path / "j"), "--format", "judge", "--set", "reference=self", "--out", str(tmp_path / "none")]) == 1  # fmt: skip
    assert json.loads((tmp_path / "none" / "export.json").read_text())["skipped"] == {"judge unanimous": 4}

    judge_run(run, scripted_judge(), tmp_path / "k", samples=K)
    assert main(["export", str(tmp_path / "k"), "--format", "judge", "--set", "reference=self", "--out", str(tmp_path / "data")]) == 0  # fmt: skip
    train_one_step("dpo", tmp_path / "data", tiny_model_dir, tmp_path / "judge-1")


# -- debate evolve --evolve-judge ------------------------------------------------------------------


class Models:
    """Scripted stand-ins per model directory. Debater a says the gold answer, b one more; the scenario's
    judge (and every held-out verdict of a trained judge) the gold answer; the starting judge, judging
    held-out debates, b's. Sampled 3 times on training debates, every judge says gold, gold, gold + 1."""

    def __init__(self, golds: dict[str, str]) -> None:
        self.golds = golds
        self.backends: dict[str, ScriptedBackend] = {}

    def backend_for(self, model: Path) -> ScriptedBackend:
        trained_judge = model.parent.name == "judge"
        drawn = iter(range(10**6))

        def answer(request) -> str:  # noqa: ANN001 - ChatRequest
            prompt = "\n".join(message.content for message in request.messages)
            gold = Decimal(next(self.golds[question] for question in self.golds if question in prompt))
            if request.agent == SELF_JUDGE and request.sampling.n > 1:
                return f"#### {gold + 1 if next(drawn) % 3 == 2 else gold}"
            if request.agent == SELF_JUDGE:
                return f"#### {gold if trained_judge else gold + 1}"
            return f"#### {gold + 1 if request.agent == 'b' else gold}"

        return self.backends.setdefault(str(model), ScriptedBackend(answer))


def test_evolve_judge_trains_the_judge_on_its_own_majority_and_judges_with_it_next_round(
    tiny_model_dir, tmp_path
):
    from itertools import islice

    from export_support import JUDGED, ONE_STEP

    from debate.datasets import load_items
    from debate.train import EvolveSettings, evolve

    items = [*islice(load_items("gsm8k-train"), 4), *islice(load_items("gsm-plus"), 2)]
    models = Models({item.question: item.gold for item in items if item.gold is not None})
    settings = EvolveSettings(
        model=tiny_model_dir,
        out=tmp_path,
        questions_per_round=2,
        eval_limit=2,
        max_rounds=2,
        patience=3,
        method="sft",
        export={"label": "final"},
        train={**ONE_STEP, "max_length": 256},
        lora=None,
        concurrency=4,
        judge={"samples": 3, "train": {**ONE_STEP, "max_length": 512}},
    )

    report = evolve(settings, scenario=JUDGED, backend_for=models.backend_for)

    first, second = (entry.judge for entry in report.rounds)
    # held-out: the starting judge picks b's wrong answer, the trained one the gold answer
    assert report.judge_baseline.accuracy.value == 0.0 and report.judge_baseline.scored == 2
    assert first.accuracy.accuracy.value == 1.0
    # each training debate: gold, gold, gold + 1 -> the majority (gold) over the dissent, one pair
    assert (first.judge_model, first.judged, first.pairs) == (str(tiny_model_dir), 2, 2)
    # the scenario's judge read the same responses: its verdict (gold) joins the three samples
    assert (first.self_agreement, first.majority_accuracy) == (0.75, 1.0)
    assert first.model == str(tmp_path / "round-1" / "judge" / "model") and first.train_loss is not None
    # round 2: the trained judge judges the debates (the scenario's judge) and samples the verdicts
    assert second.judge_model == first.model
    scenario_judge_calls = [call for call in models.backends[first.model].calls if call.agent == "judge"]
    assert scenario_judge_calls and all(call.round == 0 for call in scenario_judge_calls)
    assert "## Judge" in (tmp_path / "evolution.md").read_text()


def test_evolve_judge_refuses_gold_as_the_judges_reference(tmp_path):
    from debate.train import EvolveSettings

    with pytest.raises(ValueError, match="judge evolves on its own majority verdict"):
        EvolveSettings(model=tmp_path, out=tmp_path, judge={"export": {"reference": "gold"}})


SHORT_JUDGE_PROMPT = [
    "--set", "judge.export.judge_prompt.system=Solve step by step. End with #### and the answer.",
    "--set", 'judge.export.judge_prompt.user="{responses}\\nQuestion: {question}"',
]  # fmt: skip
"""The judging prompt the testbed's demo model fits in its 512 positions (the framework's has 730 tokens)."""


@pytest.mark.slow
def test_the_judge_loop_end_to_end_on_cpu_with_the_demo_model(tmp_path, capsys):
    """debate evolve --evolve-judge for one round, with a real model on CPU: debates, the judge sampled 8
    times per debate, self-agreement pairs, one DPO step, the new judge scored on held-out debates.

    Uses the demo model of ``debate model build-demo`` when it is built, else builds it (minutes).
    """
    from debate.demo_model import build_demo_model, default_demo_dir, demo_model_ready

    model = default_demo_dir()
    if not demo_model_ready(model):
        model = build_demo_model(tmp_path / "demo", progress=False).path
    out = tmp_path / "evolve"

    code = main([
        "evolve", "--model", str(model), "--out", str(out), "--scenario", "arithmetic_rcr",
        "--train-data", "arithmetic-train", "--eval-data", "arithmetic", "--questions", "32", "--eval-limit", "32",
        "--rounds", "1", "--method", "sft", "--no-lora", "--device", "cpu", "--concurrency", "64",
        "--set", "train.max_steps=1", "--set", "train.batch_size=2", "--set", "train.gradient_accumulation_steps=1",
        "--set", "train.warmup_steps=0", "--set", "eval_sampling.max_tokens=64",
        "--evolve-judge", "--set", "judge.samples=8", "--set", "judge.sampling.max_tokens=64",
        "--set", "judge.train.max_steps=1", "--set", "judge.train.batch_size=2",
        "--set", "judge.train.gradient_accumulation_steps=1", "--set", "judge.train.warmup_steps=0",
        "--set", "judge.train.max_length=512", *SHORT_JUDGE_PROMPT,
    ])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "evolution.json").read_text())
    assert report["judge_baseline"]["verdicts"] == 32
    (round_,) = report["rounds"]
    judge = round_["judge"]
    assert judge["judged"] == 32 and judge["pairs"] > 0 and judge["train_loss"] is not None
    assert judge["model"] == str(out / "round-1" / "judge" / "model")
    assert judge["accuracy"]["verdicts"] == 32
    pairs = rows(out / "round-1" / "judge" / "data")
    assert all(row["chosen_verdict"] == row["reference"] != row["rejected_verdict"] for row in pairs)
