"""Training on exports with TRL: one optimisation step per format on the tiny model; rewards; settings; CLI."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from export_support import ONE_STEP, critic_results, gsm_results, judged_results, write_run

from debate.cli import main
from debate.export import export_run
from debate.train import RewardWeights, dte_rewards, load_train_settings, settings_for, train
from debate.train.rewards import completion_text, marker_count, numeric, soft_format, strict_format


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One export of every format, from scripted runs."""
    root = tmp_path_factory.mktemp("exports")
    gsm = write_run(root / "gsm", gsm_results())
    sources = {
        "dte": gsm,
        "sft": gsm,
        "dpo": gsm,
        "kto": gsm,
        "critique": write_run(root / "critic", critic_results()),
        "judge": write_run(root / "judged", judged_results()),
    }
    for format, run in sources.items():
        export_run(run, format, root / format)
    return {format: root / format for format in sources}


def weights(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(model_dir / "model.safetensors"))


def changed(before: Path, after: Path) -> bool:
    old, new = weights(before), weights(after)
    return any(not old[name].equal(new[name]) for name in old)


def distinct_characters(completions, **_) -> list[float]:
    """A reward that differs between random completions, so that GRPO's advantages are not all zero."""
    return [len(set(completion_text(completion))) / 10 for completion in completions]


@pytest.mark.parametrize(
    ("method", "format", "extra"),
    [
        ("sft", "sft", {"max_length": 256}),
        ("sft", "critique", {"max_length": 1024}),
        ("dpo", "dpo", {"max_length": 256}),
        ("dpo", "judge", {"max_length": 1024}),
        ("kto", "kto", {"max_length": 256}),
        ("grpo", "dte", {"num_generations": 2, "max_completion_length": 8}),
    ],
)
def test_each_export_trains_one_step_with_its_trl_trainer(
    tiny_model_dir, exports, tmp_path, method, format, extra
):
    settings = settings_for(
        method, {**ONE_STEP, **extra, "model": tiny_model_dir, "data": exports[format], "out": tmp_path}
    )
    rewards = [distinct_characters] if method == "grpo" else []

    report = train(settings, extra_rewards=rewards)

    assert report.steps == 1
    assert report.train_loss is not None and math.isfinite(report.train_loss)
    assert changed(tiny_model_dir, tmp_path)
    assert (tmp_path / "training.json").is_file() and (tmp_path / "tokenizer_config.json").is_file()
    if method == "grpo":  # DTE's rewards were computed and logged, the consensus reward among them
        logged = report.log_history[0]
        assert {"rewards/consensus/mean", "rewards/strict_format/mean", "rewards/marker_count/mean"} <= set(
            logged
        )


def test_lora_adapter_is_merged_into_a_plain_model(tiny_model_dir, exports, tmp_path):
    from transformers import AutoModelForCausalLM

    lora = {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}
    settings = settings_for(
        "sft", {**ONE_STEP, "model": tiny_model_dir, "data": exports["sft"], "out": tmp_path, "lora": lora}
    )
    train(settings)

    assert not (tmp_path / "adapter_config.json").exists()
    assert changed(tiny_model_dir, tmp_path)
    AutoModelForCausalLM.from_pretrained(tmp_path, local_files_only=True)  # loads as any model does


def test_wrong_data_for_the_method_says_which_export_to_make(tiny_model_dir, exports, tmp_path):
    settings = settings_for(
        "dpo", {**ONE_STEP, "model": tiny_model_dir, "data": exports["kto"], "out": tmp_path}
    )
    with pytest.raises(
        ValueError, match=r"needs prompt/chosen/rejected: export with `debate export RUN_DIR --format dpo"
    ):
        train(settings)


# -- rewards ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # consensus, numeric, strict, soft, marker count
        ("2 + 3 = 5\n#### 5", (1, 1, 1, 1, 1.0)),
        ("2 + 3 = 5\n#### 5\nHope this helps!", (1, 1, 0, 1, 1.0 - 0.002 * len("Hope this helps!"))),
        ("The answer is 5.", (1, 0, 0, 0, 0.0)),
        ("#### 6", (0, 1, 0, 1, 0.75)),
        ("I think 5 #### five", (1, 0, 0, 0, 0.25 + 0.25)),  # the parser still finds the last number
    ],
)
def test_dte_rewards_adapted_to_the_answer_line(text, expected):
    consensus, *formats = dte_rewards()[0]
    completions = [[{"role": "assistant", "content": text}]]  # TRL's conversational completions

    scores = (
        consensus(completions=completions, answer=["5"]),
        *(f(completions=completions) for f in formats),
    )

    assert [score[0] for score in scores] == pytest.approx(list(expected))


def test_reward_weights_carry_dtes_magnitudes_and_zero_leaves_a_reward_out():
    functions, weights = dte_rewards()
    assert [f.__name__ for f in functions] == [
        "consensus",
        "numeric",
        "strict_format",
        "soft_format",
        "marker_count",
    ]
    assert weights == [2.0, 0.5, 0.5, 0.5, 0.5]

    functions, weights = dte_rewards(RewardWeights(strict_format=0, marker_count=0))
    assert [f.__name__ for f in functions] == ["consensus", "numeric", "soft_format"]
    assert (
        [numeric, soft_format] == functions[1:]
        and strict_format not in functions
        and marker_count not in functions
    )


# -- settings ---------------------------------------------------------------------------------


def test_settings_come_from_defaults_then_toml_then_flags(tmp_path):
    config = tmp_path / "train.toml"
    config.write_text(
        'learning_rate = 1e-5\nmax_steps = 10\n[lora]\nr = 16\n[trl]\nlr_scheduler_type = "cosine"\n'
    )

    settings = load_train_settings(
        "grpo", config, {"model": "m", "data": "d", "out": "o", "max_steps": 3, "lora": {"alpha": 8}}
    )

    assert (settings.learning_rate, settings.max_steps) == (1e-5, 3)
    assert (settings.lora.r, settings.lora.alpha, settings.lora.dropout) == (16, 8, 0.05)
    assert settings.trl == {"lr_scheduler_type": "cosine"}
    assert (settings.num_generations, settings.beta, settings.epsilon, settings.temperature) == (
        4,
        0.02,
        0.2,
        0.7,
    )


def test_bad_settings_name_the_key(tmp_path):
    with pytest.raises(ValueError, match=r"learning_rte: unknown key; valid keys: .*learning_rate"):
        settings_for("sft", {"model": "m", "data": "d", "out": "o", "learning_rte": 1})
    with pytest.raises(ValueError, match=r"multiple of num_generations \(4\)"):
        settings_for(
            "grpo", {"model": "m", "data": "d", "out": "o", "batch_size": 3, "gradient_accumulation_steps": 1}
        )
    with pytest.raises(ValueError, match="unknown training method 'ppo'"):
        settings_for("ppo", {})


def test_unknown_trl_fields_are_refused_before_training(tiny_model_dir, exports, tmp_path):
    settings = settings_for(
        "sft",
        {**ONE_STEP, "model": tiny_model_dir, "data": exports["sft"], "out": tmp_path, "trl": {"lr": 1}},
    )
    with pytest.raises(ValueError, match=r"trl: \['lr'\] are not fields of trl.SFTConfig"):
        train(settings)


# -- the command line ---------------------------------------------------------------------------


def test_cli_train_runs_the_method_and_saves_a_loadable_model(tiny_model_dir, exports, tmp_path, capsys):
    out = tmp_path / "model"
    code = main([
        "train", "--method", "kto", "--data", str(exports["kto"]), "--model", str(tiny_model_dir), "--out", str(out),
        "--max-steps", "1", "--batch-size", "2", "--gradient-accumulation-steps", "1", "--device", "cpu",
        "--set", "warmup_steps=0", "--set", "max_length=256",
    ])  # fmt: skip

    assert code == 0
    assert f"--backend hf:{out}" in capsys.readouterr().out
    assert changed(tiny_model_dir, out)


@pytest.mark.slow
def test_cli_train_in_two_cpu_processes_under_accelerate_saves_a_loadable_model(
    tiny_model_dir, exports, tmp_path
):
    """--num-processes 2: `accelerate launch` runs two data-parallel processes (gloo on the CPU), one saves."""
    from transformers import AutoModelForCausalLM

    from debate.train import read_train_report

    out = tmp_path / "model"
    code = main([
        "train", "--method", "sft", "--data", str(exports["sft"]), "--model", str(tiny_model_dir), "--out", str(out),
        "--max-steps", "2", "--batch-size", "2", "--gradient-accumulation-steps", "1", "--device", "cpu",
        "--set", "warmup_steps=0", "--set", "max_length=256", "--num-processes", "2",
    ])  # fmt: skip

    assert code == 0
    report = read_train_report(out)
    assert report.processes == 2 and report.steps == 2
    assert changed(tiny_model_dir, out)
    model = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    assert model.num_parameters() > 0


def test_num_processes_reruns_the_command_under_accelerate_launch():
    from debate.cli.train import accelerate_launch

    argv = ["train", "--method", "sft", "--num-processes", "4", "--out", "m", "--num-processes=4"]
    command = accelerate_launch(4, argv)
    assert command[1:6] == ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "4"]
    assert command[-7:] == ["-m", "debate", "train", "--method", "sft", "--out", "m"]
    assert "--num-processes" not in " ".join(command)


def test_cli_train_without_the_train_extra_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "trl", None)  # as if trl were not installed
    code = main(["train", "--method", "grpo", "--data", "d", "--model", "m", "--out", str(tmp_path)])

    assert code == 2
    assert "needs trl, from the [train] extra: pip install 'debate[train]'" in capsys.readouterr().err
