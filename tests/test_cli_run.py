"""`debate run` and `debate merge` from the command line: flags, run.toml, help, exit statuses, errors."""

import json
import subprocess
import sys

import pytest

from debate import ScriptedBackend, register_scheme
from debate.cli import main

FLAKY_CALLS: list[str] = []


def flaky(rest):
    """``test-flaky:ID,ID`` fails every request of the debates whose item id is listed."""
    failing = tuple(rest.split(","))
    return ScriptedBackend(
        default="#### 18", fail_if=lambda request: any(f"-{item}-" in request.debate_id for item in failing)
    )


register_scheme("test-flaky", flaky)


def results(run_dir):
    return [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]


def test_help_is_useful_on_its_own(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "run a scenario over a dataset" in top and "combine the run directories of shards" in top
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    run_help = capsys.readouterr().out
    for expected in (
        "exit status:",
        "--retry-failed",
        "NAME=URI",
        "gsm8k, gsm8k-train, gsm-plus, quality",
        "examples:",
    ):
        assert expected in run_help
    with pytest.raises(SystemExit):
        main(["merge", "--help"])
    assert "debate merge runs/part0 runs/part1 --out runs/all" in capsys.readouterr().out


def test_run_a_registered_scenario_on_a_builtin_dataset(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "run",
        "gsm8k_rcr",
        "--data",
        "gsm8k",
        "--limit",
        "5",
        "--out",
        str(out),
        "--backend",
        "scripted:#### 18",
    ]
    assert main([*argv, "--seed", "1", "--progress", "off"]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: 5/5 debates, 0 failed, accuracy 0.200")
    assert [row["metadata"]["item_id"] for row in results(out)] == [f"gsm8k-test-{i}" for i in range(5)]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sessions"][0]["command"] == ["debate", *argv, "--seed", "1", "--progress", "off"]
    assert manifest["dataset"] == {
        "source": "gsm8k", "split": None, "format": None, "fields": None, "items": 5, "limit": 5, "shard": None,
        "unread_gold": None,
    }  # fmt: skip


def test_named_backends_serve_agents_that_name_them(tmp_path):
    scenario = tmp_path / "judged.py"
    scenario.write_text(
        "from debate import Debater, Judge, Scenario\n"
        "scenario = Scenario(name='judged', agents=[Debater('a'), Debater('b')], judge=Judge('j', backend='strict'),\n"
        "                    protocol='simultaneous', rounds=1, stop='fixed', aggregate='judge')\n"
    )
    out = tmp_path / "run"
    argv = ["run", str(scenario), "--data", "gsm8k", "--limit", "2", "--out", str(out), "--progress", "off",
            "--backend", "scripted:#### 1", "--backend", "strict=scripted:Verdict: #### 18"]  # fmt: skip
    assert main(argv) == 0
    assert [row["final_answer"] for row in results(out)] == ["18", "18"]
    assert json.loads((out / "manifest.json").read_text())["backends"] == {
        "default": "scripted:#### 1",
        "strict": "scripted:Verdict: #### 18",
    }


def test_a_data_file_with_a_field_map(tmp_path):
    data = tmp_path / "problems.csv"
    data.write_text("uid,problem,solution,topic\nx1,What is 9 + 9?,18,add\nx2,What is 2 * 9?,18,mul\n")
    out = tmp_path / "run"
    argv = ["run", "gsm8k_rcr", "--data", str(data), "--out", str(out), "--backend", "scripted:#### 18",
            "--question-field", "problem", "--gold-field", "solution", "--gold-format", "number",
            "--id-field", "uid", "--metadata-field", "topic", "--progress", "off"]  # fmt: skip
    assert main(argv) == 0
    rows = results(out)
    assert [(row["metadata"], row["gold"], row["final_answer"]) for row in rows] == [
        ({"topic": "add", "item_id": "x1"}, "18", "18"),
        ({"topic": "mul", "item_id": "x2"}, "18", "18"),
    ]


def test_run_toml_does_the_same_and_flags_override_it(tmp_path):
    (tmp_path / "prices.toml").write_text("scripted = [1.0, 2.0]\n")
    config = tmp_path / "run.toml"
    config.write_text(
        f'scenario = "gsm8k_rcr"\ndata = "gsm8k"\nlimit = 4\nout = "{tmp_path / "run"}"\n'
        f'backend = "scripted:#### 18"\nconcurrency = 2\nseed = 0\nprogress = "off"\nprices = "{tmp_path / "prices.toml"}"\n'
    )
    assert main(["run", "--config", str(config), "--limit", "3"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["debates"] == 3 and summary["total_cost"] > 0
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert (
        manifest["concurrency"] == 2
        and manifest["seed"] == 0
        and manifest["prices"] == {"scripted": [1.0, 2.0]}
    )


def test_config_errors_name_the_bad_key_and_what_is_valid(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('scenario = "gsm8k_rcr"\ndata = "gsm8k"\nout = "x"\nconcurency = 8\nlimit = "ten"\n')
    assert main(["run", "--config", str(config)]) == 2
    error = capsys.readouterr().err
    valid = "backend, checkpoints, cohort_size, cohorts, concurrency"
    assert f"{config}: concurency: unknown key; valid keys: {valid}" in error
    assert f"{config}: limit: Input should be a valid integer" in error

    assert main(["run", "gsm8k_rcr", "--data", "gsm8k", "--out", "x", "--concurrency", "0"]) == 2
    assert "--concurrency: Input should be greater than or equal to 1" in capsys.readouterr().err
    assert main(["run", "gsm8k_rcr", "--out", "x"]) == 2
    assert "data: required (give it as a flag or in a --config file)" in capsys.readouterr().err
    assert main(["run", "gsm8k_rcr", "--data", "gsm8k", "--out", str(tmp_path / "none")]) == 2
    assert "--backend: no backend given; pass --backend URI" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()

    config.write_text("scenario = [unclosed\n")
    assert main(["run", "--config", str(config)]) == 2
    assert "not valid TOML" in capsys.readouterr().err

    prices = tmp_path / "prices.toml"
    prices.write_text('"gpt-x" = [1.0]\nok = [0.1, 0.2]\n')
    assert main(["run", "gsm8k_rcr", "--data", "gsm8k", "--out", "x", "--prices", str(prices)]) == 2
    assert (
        "prices for ['gpt-x'] must be [usd_per_1M_prompt_tokens, usd_per_1M_completion_tokens]"
        in capsys.readouterr().err
    )

    assert main(["run", "gsm8k_rcr", "--data", "gsm8k", "--out", "x", "--shard", "3/2"]) == 2
    assert "--shard: Value error, shard: index 3 must be below the shard count 2" in capsys.readouterr().err


def test_failed_debates_give_exit_status_1_and_retry_failed_fixes_them(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["run", "gsm8k_rcr", "--data", "gsm8k", "--limit", "6", "--out", str(out), "--progress", "off"]
    assert main([*base, "--backend", "test-flaky:1,4"]) == 1
    captured = capsys.readouterr()
    assert "6/6 debates, 2 failed" in captured.out and "rerun with --retry-failed" in captured.err
    assert main([*base, "--backend", "test-flaky:", "--retry-failed"]) == 0
    assert "6/6 debates, 0 failed" in capsys.readouterr().out
    assert sorted(row["metadata"]["item_id"] for row in results(out)) == [f"gsm8k-test-{i}" for i in range(6)]


def test_reusing_a_run_dir_for_another_scenario_is_refused_with_status_2(tmp_path, capsys):
    out = str(tmp_path / "run")
    common = [
        "--data",
        "gsm8k",
        "--limit",
        "2",
        "--out",
        out,
        "--backend",
        "scripted:#### 18",
        "--progress",
        "off",
    ]
    assert main(["run", "gsm8k_rcr", *common]) == 0
    assert main(["run", "gsm8k_simultaneous", *common]) == 2
    assert "holds a different run: the scenario changed" in capsys.readouterr().err
    assert main(["run", "gsm8k_simultaneous", *common, "--force"]) == 0


def test_reusing_a_run_dir_for_other_data_names_what_changed(tmp_path, capsys):
    common = ["run", "gsm8k_rcr", "--limit", "2", "--out", str(tmp_path / "run")]
    common += ["--backend", "scripted:#### 18", "--progress", "off"]
    assert main([*common, "--data", "gsm8k"]) == 0
    assert main([*common, "--data", "gsm-plus"]) == 2
    err = capsys.readouterr().err
    assert "the data changed (source: 'gsm8k' here, 'gsm-plus' requested" in err


def test_shards_then_merge_from_the_command_line(tmp_path, capsys):
    common = [
        "run",
        "gsm8k_rcr",
        "--data",
        "gsm8k",
        "--limit",
        "8",
        "--backend",
        "scripted:#### 18",
        "--progress",
        "off",
    ]
    for index in range(2):
        assert main([*common, "--shard", f"{index}/2", "--out", str(tmp_path / f"part{index}")]) == 0
    capsys.readouterr()
    parts = [str(tmp_path / "part0"), str(tmp_path / "part1")]
    assert main(["merge", *parts, "--out", str(tmp_path / "all")]) == 0
    assert capsys.readouterr().out.strip() == f"{tmp_path / 'all'}: 8/8 debates, 0 failed, accuracy 0.125"
    assert main(["merge", *parts, "--out", str(tmp_path / "all")]) == 2


def test_python_dash_m_debate_run_in_a_subprocess(tmp_path):
    argv = ["run", "gsm8k_rcr", "--data", "gsm-plus", "--limit", "3", "--out", str(tmp_path / "run")]
    completed = subprocess.run(
        [sys.executable, "-m", "debate", *argv, "--backend", "scripted:#### 4.33"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.startswith("debate run: 3/3 debates · acc 0.333")  # not a terminal: one-line logs
    assert results(tmp_path / "run")[0]["metadata"]["perturbation_type"] == "numerical substitution"


def test_replicas_behind_one_multi_endpoint_openai_uri(tmp_path, capsys):
    """The docs/running.md recipe with two stand-in `vllm serve` replicas: requests spread over both."""
    from fake_openai_server import FakeOpenAIServer

    def always_18(messages):
        return "18 eggs.\n#### 18"

    with FakeOpenAIServer(always_18, delay_s=0.01) as first, FakeOpenAIServer(always_18, delay_s=0.01) as second:
        endpoints = f"{first.base_url.removeprefix('http://')},{second.base_url.removeprefix('http://')}"
        uri = f"openai://{endpoints}?model=fake-model&max_concurrency=8"
        argv = ["run", "gsm8k_rcr", "--data", "gsm8k", "--limit", "12", "--out", str(tmp_path / "run")]
        assert main([*argv, "--backend", uri, "--concurrency", "8", "--progress", "off"]) == 0
    assert first.completions > 0 and second.completions > 0
    assert first.completions + second.completions == 12 * 3  # three debaters agree in round 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'run'}: 12/12 debates, 0 failed, accuracy 0.083")
