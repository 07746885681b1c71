"""The embedded demo model: trained locally for the arithmetic testbed, in the prompts its debaters actually see."""

import json
import random
import re

import pytest

from debate import ScriptedBackend, run_debate
from debate.arithmetic import problems
from debate.cli import main
from debate.demo_model import (
    BUILD_INFO_FILE,
    TASK,
    DemoConfig,
    default_demo_dir,
    demo_model_ready,
    own_revision_conversations,
    revision_conversations,
    solving_conversations,
)
from debate.loading import load_scenario

TINY_BUILD = ["--epochs", "1", "--problems", "64", "--debates", "16", "--own-debates", "8", "--hidden-size", "32", "--layers", "1", "--vocab-size", "300"]  # fmt: skip


def test_solving_turns_are_the_prompt_a_debater_sees_in_round_zero_answered_correctly():
    problem = next(problems("build"))
    [conversation] = solving_conversations([problem])
    backend = ScriptedBackend(default="#### 1")

    run_debate(load_scenario("arithmetic_rcr"), problem.question, backend=backend)

    system, user = backend.calls[0].messages
    assert [turn["role"] for turn in conversation] == ["system", "user", "assistant"]
    assert (conversation[0]["content"], conversation[1]["content"]) == (system.content, user.content)
    assert conversation[2]["content"] == problem.solution
    assert conversation[:2] == run_debate_single_prompt(problem.question)


def run_debate_single_prompt(question: str) -> list[dict[str, str]]:
    """The baseline scenario asks exactly as round 0 of the debate does."""
    backend = ScriptedBackend(default="#### 1")
    run_debate(load_scenario("arithmetic_single"), question, backend=backend)
    return backend.calls[0].chat()


def test_revision_turns_come_from_real_debates_where_peers_are_sometimes_right_and_sometimes_wrong():
    items = list(problems("build", limit=40))
    solutions = {problem.question: problem.solution for problem in items}

    conversations = revision_conversations(items, seed=0)

    assert len(conversations) > 40  # most debates go past round 0: some debater slipped
    right_peers = wrong_peers = 0
    for *prompt, answer in conversations:
        user = prompt[-1]["content"]
        question = re.search(r"Question: (.*)\Z", user).group(1)
        assert answer == {"role": "assistant", "content": solutions[question]}  # always the correct solution
        assert "Your solution:" in user and user.count("Agent ") == 2
        for peer in re.findall(r"Agent \w+:\n(.*?#### -?\d+)", user, flags=re.DOTALL):
            if peer == solutions[question]:
                right_peers += 1
            else:
                wrong_peers += 1
    assert right_peers > 20 and wrong_peers > 20


def test_revision_turns_are_reproducible_from_the_seed():
    items = list(problems("build", limit=10))
    assert revision_conversations(items, seed=3) == revision_conversations(items, seed=3)
    assert revision_conversations(items, seed=3) != revision_conversations(items, seed=4)


def test_own_answer_revision_turns_quote_the_models_real_first_answers_and_answer_correctly():
    from debate.arithmetic import flawed_solution

    items = list(problems("build", limit=5))
    by_question = {problem.question: problem for problem in items}
    agreeing = items[0].question

    def first_answers(request):
        assert request.round == 0  # later rounds never reach the model
        problem = by_question[request.messages[-1].content.removeprefix("Question: ")]
        if request.agent == "a" or problem.question == agreeing:
            return problem.solution
        return flawed_solution(problem, random.Random(request.agent))

    model = ScriptedBackend(first_answers)
    conversations = own_revision_conversations(model, items, seed=0)

    assert len(model.calls) == 3 * len(items)
    assert len(conversations) == 3 * (len(items) - 1)  # the debate that agreed at once has no round 1
    for *prompt, answer in conversations:
        user = prompt[-1]["content"]
        problem = by_question[re.search(r"Question: (.*)\Z", user).group(1)]
        assert problem.question != agreeing
        assert answer == {"role": "assistant", "content": problem.solution}
        quoted = re.findall(r"(?:Agent \w+:|Your solution:)\n(.*?#### -?\d+)", user, flags=re.DOTALL)
        round_zero = {
            call.agent: call
            for call in model.completed
            if call.messages[-1].content.endswith(problem.question)
        }
        assert sorted(quoted) == sorted(first_answers(call) for call in round_zero.values())


def test_the_default_location_follows_debate_home(monkeypatch, tmp_path):
    monkeypatch.setenv("DEBATE_HOME", str(tmp_path))
    assert default_demo_dir() == tmp_path / "demo-model"
    monkeypatch.delenv("DEBATE_HOME")
    assert str(default_demo_dir()).endswith(".cache/debate/demo-model")


def test_build_demo_trains_saves_and_the_model_debates_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "demo"
    assert not demo_model_ready(out)

    assert main(["model", "build-demo", "--out", str(out), *TINY_BUILD, "--quiet"]) == 0

    printed = capsys.readouterr().out
    assert f"demo model: {out}" in printed and f"--backend hf:{out}" in printed
    info = json.loads((out / BUILD_INFO_FILE).read_text())
    assert (info["solving_turns"], info["config"]["hidden_size"], info["task"]) == (64, 32, TASK)
    stage_one, stage_two = -(-(64 + info["revision_turns"]) // 16), -(-2 * info["own_revision_turns"] // 16)
    assert info["revision_turns"] > 16 and info["steps"] == stage_one + stage_two
    assert demo_model_ready(out)
    assert {"config.json", "tokenizer.json", "tokenizer_config.json"} <= {path.name for path in out.iterdir()}

    question = "Ana has 12 apples. Ana buys 5 more. How many apples does Ana have now?"
    assert main(["ask", "arithmetic_rcr", question, "--backend", f"hf:{out}?device=cpu"]) == 0
    assert "=== final answer:" in capsys.readouterr().out


def test_without_a_terminal_the_build_logs_lines_instead_of_drawing_bars(tmp_path, capsys):
    assert main(["model", "build-demo", "--out", str(tmp_path / "demo"), *TINY_BUILD]) == 0

    logged = capsys.readouterr().err
    assert "\r" not in logged and "Loading weights" not in logged and "it/s" not in logged
    assert re.search(r"^debate model build-demo: training the demo model: (\d+)/\1 steps, loss", logged, re.M)
    assert "debate model build-demo: learning to revise: the model answers round 0 of 8 debates" in logged


def test_the_tokenizer_keeps_digits_apart(tmp_path):
    from transformers import AutoTokenizer

    out = tmp_path / "demo"
    assert main(["model", "build-demo", "--out", str(out), *TINY_BUILD, "--quiet"]) == 0
    tokenizer = AutoTokenizer.from_pretrained(out)
    pieces = [tokenizer.decode([token]) for token in tokenizer("47 + 158 = 205")["input_ids"]]
    assert [piece for piece in pieces if piece.strip().isdigit()] == list("47158205")


def test_a_model_built_for_another_task_is_not_ready(tmp_path):
    (tmp_path / BUILD_INFO_FILE).write_text(json.dumps({"config": {}, "steps": 468}))  # the GSM8K demo model
    assert not demo_model_ready(tmp_path)


def test_invalid_build_settings_name_the_field(capsys):
    with pytest.raises(ValueError, match=r"hidden_size \(30\) must be a multiple of heads \(4\)"):
        DemoConfig(hidden_size=30)
    with pytest.raises(ValueError, match=r"peer_error_rates must be probabilities"):
        DemoConfig(peer_error_rates=(0.5, 1.5))
    assert main(["model", "build-demo", "--problems", "0"]) == 2
    assert "problems must be at least 1" in capsys.readouterr().err
