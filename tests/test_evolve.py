"""The DTE loop: debate -> export -> train -> evaluate, repeated with the trained model as the debaters.

Training is real (TRL, one step on the tiny model). The models' answers come
from scripted backends chosen per model directory (``backend_for``), so each
round's held-out accuracy is known in advance and the stopping rule can be
checked; the tiny model itself only writes random text.
"""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest

from debate import SamplingParams, ScriptedBackend
from debate.arithmetic import METHOD_PROMPTS, PROMPTS
from debate.cli import main
from debate.datasets import load_items
from debate.train import EvolveSettings, evaluate, evolve, read_eval, read_train_report
from debate.train.evolve import train_settings

QUESTIONS = 4
EVAL_ITEMS = 4
ONE_GRPO_STEP = {
    "max_steps": 1,
    "batch_size": 2,
    "gradient_accumulation_steps": 1,
    "num_generations": 2,
    "max_completion_length": 8,
    "warmup_steps": 0,
    "device": "cpu",
}


def gold_answers() -> dict[str, str]:
    items = [*islice(load_items("gsm8k-train"), 3 * QUESTIONS), *islice(load_items("gsm-plus"), EVAL_ITEMS)]
    return {item.question: item.gold for item in items}


class Models:
    """Scripted stand-ins for each model directory: the base model solves 1 of the 4 held-out
    questions, every trained model 3 of 4; all of them solve the training questions, so debates agree."""

    def __init__(self) -> None:
        self.golds = gold_answers()
        self.held_out = [item.question for item in islice(load_items("gsm-plus"), EVAL_ITEMS)]
        self.backends: dict[str, ScriptedBackend] = {}

    def solved(self, model: Path) -> int:
        return 1 if model.name != "model" else 3  # trained models live in OUT/round-N/model

    def backend_for(self, model: Path) -> ScriptedBackend:
        solved = set(self.held_out[: self.solved(model)])

        def answer(request) -> str:
            prompt = "\n".join(message.content for message in request.messages)
            question = next(q for q in self.golds if q in prompt)
            gold = self.golds[question]
            wrong = question in self.held_out and question not in solved
            return f"Let me work it out.\n#### {int(float(gold)) + 1 if wrong else gold}"

        backend = self.backends.setdefault(str(model), ScriptedBackend(answer))
        return backend


def distinct_characters(completions, **_) -> list[float]:
    """Random completions of the tiny model all miss the consensus; this reward tells them apart."""
    return [len(set(str(completion))) / 10 for completion in completions]


def settings(tiny_model_dir: Path, out: Path, **changes) -> EvolveSettings:
    defaults = {"questions_per_round": QUESTIONS, "eval_limit": EVAL_ITEMS, "max_rounds": 3, "patience": 1}
    return EvolveSettings(
        model=tiny_model_dir, out=out, train=ONE_GRPO_STEP, concurrency=4, **{**defaults, **changes}
    )


def test_evolve_trains_each_round_on_its_own_debates_and_stops_when_the_gain_stalls(
    tiny_model_dir, tmp_path, capfd
):
    models = Models()

    report = evolve(
        settings(tiny_model_dir, tmp_path),
        backend_for=models.backend_for,
        extra_rewards=[distinct_characters],
    )

    assert report.baseline.accuracy == 0.25
    assert [(r.round, r.accuracy, r.gain) for r in report.rounds] == [(1, 0.75, 0.5), (2, 0.75, 0.0)]
    assert report.stop_reason == "held-out gain below 0.01 for 1 round(s) in a row"
    assert (report.best_round, report.best_model) == (1, str(tmp_path / "round-1" / "model"))
    first, second = report.rounds
    # Round 2 debates with the model round 1 trained, on the next questions of the training set.
    assert second.debater_model == first.model
    assert (first.questions, first.rows, first.mean_agreement) == (QUESTIONS, QUESTIONS, 1.0)
    debated = [
        json.loads(line)["transcript"]["question"]
        for n in (1, 2)
        for line in (tmp_path / f"round-{n}" / "debates" / "results.jsonl").read_text().splitlines()
    ]
    assert len(set(debated)) == 2 * QUESTIONS
    assert first.train_loss is not None and (tmp_path / "round-1" / "model" / "model.safetensors").is_file()
    trained = read_train_report(tmp_path / "round-1" / "model")  # DTE's LoRA adapter, merged into the model
    assert (
        trained.settings["lora"]["r"] == 128
        and not (tmp_path / "round-1" / "model" / "adapter_config.json").exists()
    )
    assert read_eval(tmp_path / "round-2" / "eval").accuracy == 0.75
    written = json.loads((tmp_path / "evolution.json").read_text())
    assert written["best_round"] == 1 and len(written["rounds"]) == 2
    assert "| 1 | 4 | 4 | 100.0% |" in (tmp_path / "evolution.md").read_text()
    assert "examples/s" not in capfd.readouterr().err  # without bars, no library draws its own (datasets')


def test_the_data_and_the_evaluation_ask_exactly_as_the_scenarios_debaters_were_asked_in_round_0(
    tiny_model_dir, tmp_path
):
    """``arithmetic_rcr`` gives its debaters short prompts of its own (``debate.arithmetic.PROMPTS``).

    The model is trained and evaluated on the chat it debates with: every exported prompt, and every
    evaluation request, is the round-0 chat the debate sent for the same question. (The held-out set
    is the debated questions here, so the two chats can be compared whole.)
    """
    golds = {item.question: item.gold for item in islice(load_items("arithmetic-train"), QUESTIONS)}
    backends: dict[str, ScriptedBackend] = {}

    def question_of(request) -> str:
        return next(question for question in golds if question in request.messages[-1].content)

    def backend_for(model: Path) -> ScriptedBackend:
        return backends.setdefault(str(model), ScriptedBackend(lambda r: f"#### {golds[question_of(r)]}"))

    report = evolve(
        settings(
            tiny_model_dir,
            tmp_path,
            scenario="arithmetic_rcr",
            train_data="arithmetic-train",
            eval_data="arithmetic-train",
            max_rounds=1,
            eval_sampling={"max_tokens": 48},
        ),
        backend_for=backend_for,
        extra_rewards=[distinct_characters],
    )

    def chat(request) -> list[dict[str, str]]:
        return [{"role": message.role, "content": message.content} for message in request.messages]

    requests = [request for backend in backends.values() for request in backend.calls]
    round_0 = [request for request in requests if request.round == 0 and request.agent in "abc"]
    assert {chat(request)[0]["content"] for request in round_0} == set(METHOD_PROMPTS.values())
    exported = (tmp_path / "round-1" / "data" / "data.jsonl").read_text()
    data = [json.loads(line) for line in exported.splitlines()]
    # each debater solves in its own method, so each has a trace, asked as it was asked
    by_author = {(request.debate_id, request.agent): chat(request) for request in round_0}
    assert len(data) == 3 * QUESTIONS
    assert all(row["prompt"] == by_author[row["debate_id"], row["author"]] for row in data)
    # one agent alone is asked as the first debater (the default method) is
    by_question = {question_of(request): chat(request) for request in round_0 if request.agent == "a"}
    assert {chat[0]["content"] for chat in by_question.values()} == {PROMPTS["debater.system"]}
    asked = [request for request in requests if request.agent == "solver"]  # the base model, then round 1's
    assert len(asked) == 2 * QUESTIONS and report.baseline.accuracy == report.rounds[0].accuracy == 1.0
    assert all(chat(request) == by_question[question_of(request)] for request in asked)
    assert {request.sampling for request in asked} == {SamplingParams(temperature=0.0, max_tokens=48)}


def test_evaluation_scores_missing_answers_and_failures_as_wrong_and_counts_them_apart(tmp_path):
    solved, unparsed, down = islice(load_items("arithmetic"), 3)

    def answer(request) -> str:
        return f"#### {solved.gold}" if solved.question in request.messages[-1].content else "No idea."

    backend = ScriptedBackend(answer, fail_if=lambda request: down.question in request.messages[-1].content)
    report = evaluate(backend, [solved, unparsed, down], tmp_path, group_by=None)

    assert (report.items, report.overall.scored, report.overall.correct) == (3, 3, 1)
    assert (report.no_answer, report.failed) == (1, 1)
    assert read_eval(tmp_path) == report


def test_rerunning_evolve_resumes_without_asking_or_training_again(tiny_model_dir, tmp_path):
    evolve(
        settings(tiny_model_dir, tmp_path, max_rounds=1),
        backend_for=Models().backend_for,
        extra_rewards=[distinct_characters],
    )
    trained = tmp_path / "round-1" / "model" / "model.safetensors"
    before = trained.stat().st_mtime_ns

    again = Models()
    report = evolve(
        settings(tiny_model_dir, tmp_path, max_rounds=1),
        backend_for=again.backend_for,
        extra_rewards=[distinct_characters],
    )

    assert [r.accuracy for r in report.rounds] == [0.75]
    assert all(backend.calls == [] for backend in again.backends.values())
    assert trained.stat().st_mtime_ns == before


def test_a_round_without_consensus_stops_the_loop_and_says_why(tiny_model_dir, tmp_path):
    def disagreeing(model: Path) -> ScriptedBackend:
        return ScriptedBackend(lambda request: f"#### {len(request.agent) + ord(request.agent[-1])}")

    report = evolve(settings(tiny_model_dir, tmp_path), backend_for=disagreeing)

    assert [r.rows for r in report.rounds] == [0]
    assert report.stop_reason.startswith("round 1 produced no training data")
    assert "tie" in (tmp_path / "round-1" / "data" / "README.md").read_text()


def test_a_typo_in_the_export_options_fails_before_any_debate(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match="min_agreemnt: unknown option"):
        evolve(
            settings(tiny_model_dir, tmp_path, export={"min_agreemnt": 0.5}), backend_for=Models().backend_for
        )
    assert not (tmp_path / "baseline").exists()


def test_lora_is_the_default_and_can_be_turned_off_or_tuned(tmp_path):
    def lora_of(evolve_settings: EvolveSettings):
        return train_settings(evolve_settings, tmp_path, tmp_path, tmp_path).lora

    assert (
        lora_of(EvolveSettings(model=tmp_path, out=tmp_path)).r,
        lora_of(EvolveSettings(model=tmp_path, out=tmp_path)).alpha,
    ) == (128, 256)
    assert lora_of(EvolveSettings(model=tmp_path, out=tmp_path, lora=None)) is None
    assert lora_of(EvolveSettings(model=tmp_path, out=tmp_path, train={"lora": {"r": 8}})).r == 8


def test_a_logged_evolve_trains_without_redrawing_bars_unless_told(tmp_path):
    def trl_of(**fields):
        return train_settings(
            EvolveSettings(model=tmp_path, out=tmp_path, **fields), tmp_path, tmp_path, tmp_path
        ).trl

    assert trl_of(progress="log") == {"disable_tqdm": True}
    assert trl_of(progress="bar") == {}
    assert trl_of(progress="log", train={"trl": {"disable_tqdm": False}}) == {"disable_tqdm": False}


def test_cli_evolve_validates_its_settings(tmp_path, capsys):
    code = main(["evolve", "--model", str(tmp_path), "--out", str(tmp_path / "out"), "--rounds", "0"])

    assert code == 2
    assert "max_rounds" in capsys.readouterr().err


def test_cli_evolve_set_reaches_settings_that_also_have_a_flag(tmp_path, capsys):
    """``--set max_rounds=0`` counts even though ``--rounds`` was not given (an absent flag changes nothing)."""
    code = main(["evolve", "--model", str(tmp_path), "--out", str(tmp_path / "out"), "--set", "max_rounds=0"])

    assert code == 2
    assert "max_rounds" in capsys.readouterr().err


@pytest.mark.slow
def test_the_dte_loop_end_to_end_on_cpu_with_the_demo_model(tmp_path, capsys):
    """debate -> export -> train (GRPO) -> evaluate, base vs trained, with a real model on CPU.

    Uses the demo model of ``debate model build-demo`` when it is built, else builds it (minutes), on the
    task it was built for (GSM8K's later-round prompts do not fit its 512 positions). The data is labelled
    by each debate's final answer, the documented alternative to DTE's majority.
    """
    from debate.demo_model import build_demo_model, default_demo_dir, demo_model_ready

    model = default_demo_dir()
    if not demo_model_ready(model):  # missing, or built by an earlier recipe
        model = build_demo_model(tmp_path / "demo", progress=False).path
    out = tmp_path / "evolve"

    code = main([
        "evolve", "--model", str(model), "--out", str(out), "--rounds", "1", "--questions", "12",
        "--scenario", "arithmetic_rcr", "--train-data", "arithmetic-train", "--eval-data", "arithmetic",
        "--eval-limit", "12", "--device", "cpu", "--concurrency", "12",
        "--set", "export.label=final", "--set", "export.min_agreement=0", "--set", "eval_sampling.max_tokens=64",
        "--set", "train.max_steps=2", "--set", "train.batch_size=4", "--set", "train.gradient_accumulation_steps=1",
        "--set", "train.num_generations=2", "--set", "train.max_completion_length=96",
        "--set", "train.warmup_steps=0",
    ])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "evolution.json").read_text())
    assert report["baseline"]["items"] == 12 and report["baseline"]["overall"]["scored"] == 12
    (round_,) = report["rounds"]
    assert round_["rows"] > 0 and round_["train_loss"] is not None and round_["accuracy"] is not None
    assert (out / "round-1" / "model" / "model.safetensors").is_file()
    print((out / "evolution.md").read_text())
